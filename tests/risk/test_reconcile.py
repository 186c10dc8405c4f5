"""Reconciliation decisions: injected 2% and 8% divergences, orphan, vanished and adopted orders, exact
reports."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import (
    CancelOrder,
    Order,
    OrderStatus,
    OrderType,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
)
from opensqt.risk import (
    AdoptOrder,
    ForceSyncPosition,
    LocalView,
    QueryOrder,
    ReconcileConfig,
    TripBreaker,
    VenueView,
    grid_slot_decoder,
    reconcile,
)
from opensqt.trading.logic import client_order_id

D = Decimal
SYM = "BTC/USDT:USDT"
TICK = D("0.1")
TAG = "osqt"
NOW = 1_000_000
PARAMS = ReconcileConfig(
    client_id_prefix=TAG, position_floor=D("0.3"), grace_ms=5_000, slot_price_of=grid_slot_decoder(TICK)
)


def cid(side: Side, price: str, attempt: int = 1) -> str:
    return client_order_id(TAG, side, D(price), attempt, TICK)


def locked(price: str, side: Side = Side.BUY, qty: str = "0.3", ts: int = 0, filled: str = "0") -> Slot:
    return Slot(
        price=D(price),
        slot_status=SlotStatus.LOCKED,
        client_order_id=cid(side, price),
        venue_order_id=f"v{price}",
        order_side=side,
        order_price=D(price),
        order_qty=D(qty),
        order_status=OrderStatus.NEW,
        filled_qty=D(filled),
        attempt=1,
        ts_update=ts,
    )


def order(client_id: str, side: Side, price: str, qty: str = "0.3", vid: str | None = None) -> Order:
    return Order(client_id, SYM, side, OrderType.LIMIT, D(qty), D(price), venue_order_id=vid)


def test_clean_state_gives_an_empty_report() -> None:
    local = LocalView(SYM, (locked("99"),), D(0))
    venue = VenueView(SYM, (order(cid(Side.BUY, "99"), Side.BUY, "99", vid="v99"),), D(0))
    report = reconcile(local, venue, NOW, PARAMS)
    assert report.clean
    assert report.actions == ()
    assert report.findings == ("position 0 matches the venue",)
    assert (report.matched, report.foreign, report.divergence) == (1, 0, D(0))


def test_orphan_vanished_adopted_and_foreign_orders() -> None:
    held = Slot(
        D("101"), position_status=PositionStatus.FILLED, position_qty=D("0.3"), position_side=Side.BUY
    )
    local = LocalView(
        SYM,
        (
            locked("99"),  # on the venue: matched
            locked("98"),  # gone from the venue: query
            Slot(D("97")),  # free: the venue's unknown order for it is adopted
            held,
        ),
        D("0.3"),
    )
    adopted = order(cid(Side.BUY, "97", attempt=4), Side.BUY, "97", vid="x97")
    orphan = order(cid(Side.BUY, "50"), Side.BUY, "50", vid="x50")  # decodes to a price with no slot
    duplicate = order(cid(Side.BUY, "99", attempt=0), Side.BUY, "99", vid="x99")  # slot 99 works attempt 1
    foreign = order("manual-1", Side.SELL, "120")
    matched = order(cid(Side.BUY, "99"), Side.BUY, "99", vid="v99")
    venue = VenueView(SYM, (foreign, orphan, matched, adopted, duplicate), D("0.3"))

    report = reconcile(local, venue, NOW, PARAMS)

    assert report.actions == (
        CancelOrder(
            client_order_id=orphan.client_order_id,
            symbol=SYM,
            venue_order_id="x50",
            reason=f"reconcile: orphan order {orphan.client_order_id} (buy 0.3 @ 50): ours by prefix, "
            "in no slot -> cancel",
        ),
        AdoptOrder(
            slot_price=D("97"),
            order=adopted,
            reason=f"order {adopted.client_order_id} (buy 0.3 @ 97) is ours and unknown locally; "
            "slot 97 is free -> adopt",
        ),
        CancelOrder(
            client_order_id=duplicate.client_order_id,
            symbol=SYM,
            venue_order_id="x99",
            reason=f"reconcile: orphan order {duplicate.client_order_id} (buy 0.3 @ 99): ours by prefix, "
            "its slot 99 already works another order -> cancel",
        ),
        QueryOrder(
            symbol=SYM,
            slot_price=D("98"),
            client_order_id=cid(Side.BUY, "98"),
            venue_order_id="v98",
            reason=f"slot 98: LOCKED order {cid(Side.BUY, '98')} is no longer open on the venue -> query it, "
            "then apply its fill or free the slot",
        ),
    )
    assert report.cancels == (report.actions[0], report.actions[2])
    assert report.adoptions == (report.actions[1],)
    assert report.queries == (report.actions[3],)
    assert report.position_action is None
    assert (report.matched, report.foreign) == (1, 1)
    assert report.findings[3] == "1 open order(s) without our prefix 'osqt' left alone"
    assert report.findings[-1] == "position 0.3 matches the venue"


def test_injected_2_percent_divergence_force_syncs() -> None:
    local = LocalView(SYM, (), D("0.98"))
    report = reconcile(local, VenueView(SYM, (), D("1.00")), NOW, PARAMS)
    assert report.actions == (ForceSyncPosition(SYM, local=D("0.98"), venue=D("1.00"), divergence=D("0.02")),)
    assert report.divergence == D("0.02")
    assert report.findings == (
        "position local 0.98 vs venue 1.00: divergence 0.02 < 0.05 -> force-sync local to the venue",
    )


def test_injected_8_percent_divergence_trips_the_breaker() -> None:
    local = LocalView(SYM, (), D("0.92"))
    report = reconcile(local, VenueView(SYM, (), D("1.00")), NOW, PARAMS)
    detail = "position local 0.92 vs venue 1.00: divergence 0.08 >= 0.05 -> trip the circuit breaker"
    assert report.actions == (TripBreaker(SYM, D("0.92"), D("1.00"), D("0.08"), detail),)
    assert report.position_action == report.actions[0]
    assert report.findings == (detail,)


def test_exactly_5_percent_trips_and_the_floor_bounds_a_near_flat_venue() -> None:
    five = reconcile(LocalView(SYM, (), D("0.95")), VenueView(SYM, (), D("1")), NOW, PARAMS)
    assert isinstance(five.position_action, TripBreaker) and five.divergence == D("0.05")
    # Venue flat, local 0.01 left over: 0.01 / floor 0.3, not 0.01 / 0.
    dust = reconcile(LocalView(SYM, (), D("0.01")), VenueView(SYM, (), D("0")), NOW, PARAMS)
    assert dust.position_action == ForceSyncPosition(SYM, D("0.01"), D("0"), D("0.01") / D("0.3"))


def test_a_fill_missed_while_the_stream_was_down_is_queried_not_escalated() -> None:
    # The buy at 98 filled while the order stream was down: venue +0.3, our order gone from the book.
    local = LocalView(SYM, (locked("98"),), D("0.3"))
    report = reconcile(local, VenueView(SYM, (), D("0.6")), NOW, PARAMS)
    assert [type(a) for a in report.actions] == [QueryOrder]
    assert report.findings[-1] == (
        "position local 0.3 vs venue 0.6: divergence 0.5 may come from fills of vanished orders -> judged "
        "after their queries"
    )
    # A difference larger than the vanished orders could explain is escalated at once.
    worse = reconcile(local, VenueView(SYM, (), D("0.7")), NOW, PARAMS)
    assert isinstance(worse.position_action, TripBreaker)
    # A vanished sell explains a lower venue position, not a higher one.
    sell = LocalView(SYM, (locked("102", Side.SELL, qty="0.3", filled="0.1"),), D("0.6"))
    assert reconcile(sell, VenueView(SYM, (), D("0.4")), NOW, PARAMS).position_action is None
    assert isinstance(
        reconcile(sell, VenueView(SYM, (), D("0.35")), NOW, PARAMS).position_action, TripBreaker
    )
    assert isinstance(reconcile(sell, VenueView(SYM, (), D("0.8")), NOW, PARAMS).position_action, TripBreaker)


def test_recently_changed_slots_are_left_for_the_next_run() -> None:
    pending = Slot(
        D("96"),
        slot_status=SlotStatus.PENDING,
        client_order_id=cid(Side.BUY, "96"),
        order_side=Side.BUY,
        order_qty=D("0.3"),
        ts_update=NOW - 4_999,
    )
    report = reconcile(LocalView(SYM, (pending,), D(0)), VenueView(SYM, (), D(0)), NOW, PARAMS)
    assert report.actions == ()
    assert report.findings[0] == (
        f"slot 96: PENDING order {pending.client_order_id} not on the venue, changed 4999 ms ago "
        "(< grace 5000 ms) -> left for the next run"
    )
    later = reconcile(LocalView(SYM, (pending,), D(0)), VenueView(SYM, (), D(0)), NOW + 1, PARAMS)
    assert later.queries == (
        QueryOrder(
            SYM,
            D("96"),
            pending.client_order_id or "",
            None,
            f"slot 96: PENDING order {pending.client_order_id} is no longer open on the venue -> query it, "
            "then apply its fill or free the slot",
        ),
    )


def test_a_slot_matched_by_venue_order_id_and_a_slot_without_client_id() -> None:
    renamed = order("osqtXXX", Side.BUY, "99", vid="v99")  # our prefix, odd id, but the venue id matches
    broken = Slot(D("95"), slot_status=SlotStatus.LOCKED)
    report = reconcile(
        LocalView(SYM, (locked("99"), broken), D(0)), VenueView(SYM, (renamed,), D(0)), NOW, PARAMS
    )
    assert report.actions == ()
    assert report.matched == 1
    assert report.findings[0] == "slot 95: LOCKED without a client order id -> nothing to query"


def test_without_a_decoder_unknown_orders_of_ours_are_orphans() -> None:
    params = ReconcileConfig(client_id_prefix=TAG, position_floor=D(1))
    stray = order(cid(Side.BUY, "97"), Side.BUY, "97")
    report = reconcile(LocalView(SYM, (Slot(D("97")),), D(0)), VenueView(SYM, (stray,), D(0)), NOW, params)
    assert report.cancels == (
        CancelOrder(
            stray.client_order_id,
            SYM,
            None,
            f"reconcile: orphan order {stray.client_order_id} (buy 0.3 @ 97): ours by prefix, in no slot "
            "-> cancel",
        ),
    )


def test_two_unknown_orders_for_one_free_slot_adopt_one_and_cancel_the_other() -> None:
    first = order(cid(Side.BUY, "97", 1), Side.BUY, "97")
    second = order(cid(Side.BUY, "97", 2), Side.BUY, "97")
    report = reconcile(
        LocalView(SYM, (Slot(D("97")),), D(0)), VenueView(SYM, (second, first), D(0)), NOW, PARAMS
    )
    assert [type(a) for a in report.actions] == [AdoptOrder, CancelOrder]
    assert report.adoptions[0].order == first
    assert report.cancels[0].client_order_id == second.client_order_id


def test_closed_orders_in_the_venue_list_are_ignored() -> None:
    done = order(cid(Side.BUY, "50"), Side.BUY, "50").with_status(OrderStatus.CANCELED)
    assert reconcile(LocalView(SYM, (), D(0)), VenueView(SYM, (done,), D(0)), NOW, PARAMS).clean


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match=r"venue.symbol 'ETH/USDT:USDT' differs from local.symbol"):
        reconcile(LocalView(SYM, (), D(0)), VenueView("ETH/USDT:USDT", (), D(0)), NOW, PARAMS)
    eth = Order("x", "ETH/USDT:USDT", Side.BUY, OrderType.LIMIT, D(1), D(1))
    with pytest.raises(ValueError, match=r"venue.open_orders\[0\].symbol is 'ETH/USDT:USDT'"):
        reconcile(LocalView(SYM, (), D(0)), VenueView(SYM, (eth,), D(0)), NOW, PARAMS)
    with pytest.raises(ValueError, match=r"local.slots\[1\] repeats slot price 97"):
        reconcile(LocalView(SYM, (Slot(D(97)), Slot(D(97))), D(0)), VenueView(SYM, (), D(0)), NOW, PARAMS)
    cases: list[tuple[dict[str, object], str]] = [
        ({"client_id_prefix": ""}, "client_id_prefix: expected a non-empty prefix"),
        ({"position_floor": D(0)}, "position_floor: expected a Decimal > 0"),
        ({"divergence_limit": D(0)}, "divergence_limit: expected a Decimal > 0"),
        ({"grace_ms": -1}, "grace_ms: expected >= 0, got -1"),
    ]
    for kwargs, message in cases:
        base: dict[str, object] = {"client_id_prefix": TAG, "position_floor": D(1)}
        with pytest.raises(ValueError, match=message):
            ReconcileConfig(**(base | kwargs))  # type: ignore[arg-type]


def test_grid_slot_decoder_maps_our_ids_and_refuses_others() -> None:
    decode = grid_slot_decoder(TICK)
    assert decode(cid(Side.SELL, "101.5", 7)) == D("101.5")
    assert decode("manual-1") is None


# --- Hypothesis ------------------------------------------------------------------------------

prices = st.integers(min_value=90, max_value=110).map(str)


@given(
    slot_prices=st.sets(prices, max_size=8),
    locked_mask=st.lists(st.booleans(), min_size=8, max_size=8),
    venue_prices=st.lists(st.tuples(prices, st.integers(0, 3), st.booleans()), max_size=10),
    local_pos=st.integers(0, 100),
    venue_pos=st.integers(0, 100),
)
def test_every_venue_order_of_ours_is_matched_adopted_or_cancelled_exactly_once(
    slot_prices: set[str],
    locked_mask: list[bool],
    venue_prices: list[tuple[str, int, bool]],
    local_pos: int,
    venue_pos: int,
) -> None:
    slots = tuple(
        locked(p, ts=0) if locked_mask[i] else Slot(D(p)) for i, p in enumerate(sorted(slot_prices))
    )
    orders: dict[str, Order] = {}
    for p, attempt, ours in venue_prices:
        client_id = cid(Side.BUY, p, attempt) if ours else f"manual-{p}-{attempt}"
        orders[client_id] = order(client_id, Side.BUY, p)
    local = LocalView(SYM, slots, D(local_pos) / 10)
    venue = VenueView(SYM, tuple(orders.values()), D(venue_pos) / 10)
    report = reconcile(local, venue, NOW, PARAMS)

    ours_ids = [c for c in orders if c.startswith(TAG)]
    cancelled = [a.client_order_id for a in report.cancels]
    adopted = [a.order.client_order_id for a in report.adoptions]
    assert len(cancelled) == len(set(cancelled))
    assert report.matched + len(adopted) + len(cancelled) == len(ours_ids)
    assert report.foreign == len(orders) - len(ours_ids)
    assert all(c.startswith(TAG) for c in cancelled)  # foreign orders are never touched
    adopted_slots = [a.slot_price for a in report.adoptions]
    assert len(adopted_slots) == len(set(adopted_slots))
    assert all(s.slot_status is SlotStatus.FREE for s in slots if s.price in adopted_slots)
    action = report.position_action
    if action is not None:
        assert isinstance(action, TripBreaker) is (report.divergence >= PARAMS.divergence_limit)
    if local.position == venue.position:
        assert action is None and report.divergence == 0
