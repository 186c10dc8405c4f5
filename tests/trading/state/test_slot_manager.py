"""SlotManager: the slot lifecycle, idempotent updates, fills in any order, PnL and housekeeping."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from opensqt.model import (
    Fill,
    GridMode,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
    TimeInForce,
)
from opensqt.trading.state import RejectReason, SlotManager, SlotStateError, restore_slots_from_position
from tests.trading.state.grid_harness import instrument

D = Decimal
SYM = "BTC/USDT:USDT"


def place(cid: str, side: Side, qty: str, price: str, post_only: bool = True) -> PlaceOrder:
    tif = TimeInForce.POST_ONLY if post_only else TimeInForce.GTC
    return PlaceOrder(cid, SYM, side, D(qty), D(price), OrderType.LIMIT, tif)


def order(
    cid: str,
    side: Side,
    qty: str,
    price: str,
    status: OrderStatus = OrderStatus.NEW,
    filled: str = "0",
    venue_id: str | None = "v1",
    post_only: bool = True,
) -> Order:
    tif = TimeInForce.POST_ONLY if post_only else TimeInForce.GTC
    return Order(cid, SYM, side, OrderType.LIMIT, D(qty), D(price), venue_id, D(filled), None, status, tif)


def fill(cid: str, trade: str, side: Side, qty: str, price: str, fee: str = "0") -> Fill:
    return Fill(trade, cid, SYM, side, D(price), D(qty), D(fee), "USDT", LiquiditySide.MAKER)


def bought(m: SlotManager, price: str = "99", qty: str = "1", cid: str = "b1") -> None:
    """Slot `price` bought `qty` at `price` (reserve, ack, fill)."""
    m.reserve(D(price), place(cid, Side.BUY, qty, price))
    m.apply(OrderUpdated(order(cid, Side.BUY, qty, price, venue_id=f"v-{cid}")))
    m.apply(
        OrderUpdated(
            order(cid, Side.BUY, qty, price, OrderStatus.FILLED, qty, venue_id=f"v-{cid}"),
            fill(cid, f"t-{cid}", Side.BUY, qty, price, "0.01"),
        )
    )


def test_reserve_moves_free_to_pending_and_refuses_otherwise() -> None:
    m = SlotManager()
    slot = m.reserve(D(99), place("b1", Side.BUY, "1", "99"), now_ms=5)
    assert (slot.slot_status, slot.client_order_id, slot.attempt, slot.ts_update) == (
        SlotStatus.PENDING,
        "b1",
        1,
        5,
    )
    with pytest.raises(SlotStateError, match="reserve needs FREE, it is PENDING"):
        m.reserve(D(99), place("b2", Side.BUY, "1", "99"))
    with pytest.raises(SlotStateError, match="already used"):
        m.reserve(D(98), place("b1", Side.BUY, "1", "98"))
    assert m.open_order_count == 1
    assert m.counts() == {SlotStatus.FREE: 0, SlotStatus.PENDING: 1, SlotStatus.LOCKED: 0}


def test_closing_more_than_held_or_adding_to_a_held_slot_is_refused() -> None:
    m = SlotManager()
    bought(m)
    with pytest.raises(SlotStateError, match="closing 2 exceeds the held 1"):
        m.reserve(D(99), place("s1", Side.SELL, "2", "100"))
    with pytest.raises(SlotStateError, match="holds 1"):
        m.reserve(D(99), place("b2", Side.BUY, "1", "99"))
    m.reserve(D(99), place("s1", Side.SELL, "1", "100"))


def test_ack_locks_and_replays_change_nothing() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    [change] = m.on_ack("b1", order("b1", Side.BUY, "1", "99"))
    assert (change.before.slot_status, change.after.slot_status) == (SlotStatus.PENDING, SlotStatus.LOCKED)
    assert change.after.venue_order_id == "v1" and change.reason == "acknowledged"
    assert m.on_ack("b1", order("b1", Side.BUY, "1", "99")) == []
    assert m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99"))) == []
    assert m.on_ack("nope") == []


def test_ack_without_detail_locks_once() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    assert [c.after.slot_status for c in m.on_ack("b1")] == [SlotStatus.LOCKED]
    assert m.on_ack("b1") == []


def test_post_only_rejection_frees_the_slot_and_counts_a_failure() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    [change] = m.on_rejected("b1", RejectReason.POST_ONLY)
    assert (change.after.slot_status, change.after.post_only_failures, change.after.client_order_id) == (
        SlotStatus.FREE,
        1,
        None,
    )
    m.reserve(D(99), place("b2", Side.BUY, "1", "99"))
    m.on_rejected("b2", RejectReason.INSUFFICIENT_FUNDS)
    assert m.slot(D(99)) == replace(change.after, attempt=2, order_status=OrderStatus.REJECTED)
    assert m.on_rejected("b2", RejectReason.POST_ONLY) == []  # already settled


def test_rejection_after_the_stream_showed_the_order_is_ignored() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99")))
    assert m.on_rejected("b1", RejectReason.OTHER) == []
    assert m.slot(D(99)).slot_status is SlotStatus.LOCKED  # type: ignore[union-attr]


def test_ambiguous_submit_stays_pending_until_proof() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    m.on_ambiguous("b1")
    assert m.ambiguous_orders() == ["b1"]
    assert m.slot(D(99)).slot_status is SlotStatus.PENDING  # type: ignore[union-attr]
    [change] = m.on_order_missing("b1")
    assert change.after.slot_status is SlotStatus.FREE and change.reason == "missing on venue"
    assert m.ambiguous_orders() == [] and m.on_order_missing("b1") == []


def test_ambiguous_submit_resolved_by_the_stream() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    m.on_ambiguous("b1")
    m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99")))
    assert m.ambiguous_orders() == []
    assert m.slot(D(99)).slot_status is SlotStatus.LOCKED  # type: ignore[union-attr]


def test_fill_before_ack_books_the_position_and_the_late_ack_changes_nothing() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    filled = order("b1", Side.BUY, "1", "99", OrderStatus.FILLED, "1")
    [change] = m.apply(OrderUpdated(filled, fill("b1", "t1", Side.BUY, "1", "99", "0.02")))
    after = change.after
    assert (after.slot_status, after.position_status, after.position_qty, after.position_side) == (
        SlotStatus.FREE,
        PositionStatus.FILLED,
        D(1),
        Side.BUY,
    )
    assert change.fee == D("0.02")
    assert m.on_ack("b1", order("b1", Side.BUY, "1", "99")) == []
    assert m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99", OrderStatus.PARTIALLY_FILLED, "0.5"))) == []
    assert (m.inventory, m.fees) == (D(1), D("0.02"))


def test_cancelled_buy_with_partial_fill_keeps_the_partial_position() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99")))
    m.apply(
        OrderUpdated(
            order("b1", Side.BUY, "1", "99", OrderStatus.PARTIALLY_FILLED, "0.4"),
            fill("b1", "t1", Side.BUY, "0.4", "99"),
        )
    )
    assert m.slot(D(99)).filled_qty == D("0.4")  # type: ignore[union-attr]
    m.request_cancel("b1")
    assert m.cancels_in_flight() == frozenset({"b1"})
    m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99", OrderStatus.CANCELED, "0.4")))
    slot = m.slot(D(99))
    assert slot is not None
    assert (slot.slot_status, slot.position_status, slot.position_qty, slot.post_only_failures) == (
        SlotStatus.FREE,
        PositionStatus.FILLED,
        D("0.4"),
        0,
    )
    assert m.cancels_in_flight() == frozenset()
    assert m.slot_pnl(D(99)).cost_basis == D("39.6")


def test_cancelled_sell_keeps_the_position_and_counts_only_a_post_only_reject() -> None:
    m = SlotManager()
    bought(m)
    m.reserve(D(99), place("s1", Side.SELL, "1", "100"))
    # a post-only sell the venue expired without us asking: it would have crossed
    [change] = m.apply(OrderUpdated(order("s1", Side.SELL, "1", "100", OrderStatus.EXPIRED, venue_id="v2")))
    assert (change.after.position_qty, change.after.post_only_failures) == (D(1), 1)
    assert "post-only failure" in change.reason
    m.reserve(D(99), place("s2", Side.SELL, "1", "100"))
    m.apply(OrderUpdated(order("s2", Side.SELL, "1", "100", venue_id="v3")))
    assert m.slot(D(99)).post_only_failures == 0  # type: ignore[union-attr]  # resting post-only resets
    m.request_cancel("s2")
    [change] = m.apply(OrderUpdated(order("s2", Side.SELL, "1", "100", OrderStatus.CANCELED, venue_id="v3")))
    assert (change.after.slot_status, change.after.position_qty, change.after.post_only_failures) == (
        SlotStatus.FREE,
        D(1),
        0,
    )


def test_request_cancel_only_when_locked() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    with pytest.raises(SlotStateError, match="is PENDING"):
        m.request_cancel("b1")
    with pytest.raises(SlotStateError, match="no slot works this order"):
        m.request_cancel("zz")
    m.on_ack("b1")
    assert m.request_cancel("b1").slot_status is SlotStatus.LOCKED
    m.on_cancel_failed("b1")
    assert m.cancels_in_flight() == frozenset()


def test_round_trip_pnl_with_partial_closes_and_average_price() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    avg = replace(order("b1", Side.BUY, "1", "99", OrderStatus.FILLED, "1"), average_price=D("98.5"))
    m.apply(OrderUpdated(avg))  # filled better than the limit: cost is 98.5
    m.reserve(D(99), place("s1", Side.SELL, "1", "100"))
    m.apply(
        OrderUpdated(
            order("s1", Side.SELL, "1", "100", OrderStatus.PARTIALLY_FILLED, "0.25", "v2"),
            fill("s1", "t1", Side.SELL, "0.25", "100", "0.005"),
        )
    )
    assert m.realized_pnl == D("0.375")  # (100 − 98.5) × 0.25
    m.apply(
        OrderUpdated(
            order("s1", Side.SELL, "1", "100", OrderStatus.FILLED, "1", "v2"),
            fill("s1", "t2", Side.SELL, "0.75", "101", "0.015"),
        )
    )
    assert m.realized_pnl == D("2.25")  # + (101 − 98.5) × 0.75
    assert (m.fees, m.net_pnl, m.round_trips, m.inventory) == (D("0.020"), D("2.230"), 1, D(0))
    assert m.slot(D(99)).position_status is PositionStatus.EMPTY  # type: ignore[union-attr]


def test_short_slot_pnl() -> None:
    m = SlotManager()
    m.reserve(D(101), place("s1", Side.SELL, "2", "101"))
    m.apply(OrderUpdated(order("s1", Side.SELL, "2", "101", OrderStatus.FILLED, "2")))
    assert m.inventory == D(-2)
    m.reserve(D(101), place("b1", Side.BUY, "2", "100"))
    m.apply(OrderUpdated(order("b1", Side.BUY, "2", "100", OrderStatus.FILLED, "2", "v2")))
    assert (m.realized_pnl, m.inventory) == (D(2), D(0))


def test_out_of_order_and_duplicate_updates_apply_once() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "2", "99"))
    updates = [
        OrderUpdated(order("b1", Side.BUY, "2", "99")),
        OrderUpdated(
            order("b1", Side.BUY, "2", "99", OrderStatus.PARTIALLY_FILLED, "1"),
            fill("b1", "t1", Side.BUY, "1", "99", "0.01"),
        ),
        OrderUpdated(
            order("b1", Side.BUY, "2", "99", OrderStatus.FILLED, "2"),
            fill("b1", "t2", Side.BUY, "1", "99", "0.01"),
        ),
    ]
    for u in [updates[2], updates[0], updates[2], updates[1], updates[1], updates[0]]:
        m.apply(u)
    slot = m.slot(D(99))
    assert slot is not None
    assert (slot.slot_status, slot.position_qty, m.fees) == (SlotStatus.FREE, D(2), D("0.02"))
    assert slot.order_status is OrderStatus.FILLED


def test_fill_without_cumulative_quantity_counts_by_trade_ids() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "2", "99"))
    stale = order("b1", Side.BUY, "2", "99")  # snapshot still says filled 0
    m.apply(OrderUpdated(stale, fill("b1", "t1", Side.BUY, "1", "99")))
    m.apply(OrderUpdated(stale, fill("b1", "t1", Side.BUY, "1", "99")))
    assert m.inventory == D(1)


def test_update_found_by_venue_id_when_the_client_id_is_missing() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "1", "99"))
    m.apply(OrderUpdated(order("b1", Side.BUY, "1", "99", venue_id="V9")))
    m.apply(OrderUpdated(order("", Side.BUY, "1", "99", OrderStatus.FILLED, "1", venue_id="V9")))
    assert m.inventory == D(1)
    assert m.apply(OrderUpdated(order("other", Side.BUY, "1", "99", venue_id="V0"))) == []


def test_overfill_is_recorded_never_a_negative_position() -> None:
    m = SlotManager()
    bought(m)
    m.reserve(D(99), place("s1", Side.SELL, "1", "100"))
    # a reconciliation mends the slot to a smaller position meanwhile: the venue reports the full close
    m._store(replace(m.slots[D(99)], position_qty=D("0.5")))
    m.apply(OrderUpdated(order("s1", Side.SELL, "1", "100", OrderStatus.FILLED, "1", "v2")))
    assert (m.inventory, m.overfilled_qty) == (D(0), D("0.5"))


def test_late_fill_of_a_finished_order_still_counts() -> None:
    m = SlotManager()
    m.reserve(D(99), place("b1", Side.BUY, "2", "99"))
    m.apply(OrderUpdated(order("b1", Side.BUY, "2", "99", OrderStatus.CANCELED)))
    m.reserve(D(99), place("b2", Side.BUY, "2", "99"))
    # the venue's cancel report missed an execution that happened just before it
    m.apply(
        OrderUpdated(
            order("b1", Side.BUY, "2", "99", OrderStatus.PARTIALLY_FILLED, "1"),
            fill("b1", "t1", Side.BUY, "1", "99"),
        )
    )
    slot = m.slot(D(99))
    assert slot is not None
    assert (slot.slot_status, slot.client_order_id, slot.position_qty) == (SlotStatus.PENDING, "b2", D(1))


def test_finished_orders_are_forgotten_beyond_the_memory() -> None:
    m = SlotManager(finished_order_memory=1)
    for i in range(2):
        m.reserve(D(99), place(f"b{i}", Side.BUY, "1", "99"))
        m.apply(OrderUpdated(order(f"b{i}", Side.BUY, "1", "99", OrderStatus.CANCELED, venue_id=f"v{i}")))
    assert m.slot_price_of("b0") is None and m.slot_price_of("b1") == D(99)
    assert m.apply(OrderUpdated(order("b0", Side.BUY, "1", "99", OrderStatus.FILLED, "1", "v0"))) == []
    with pytest.raises(ValueError, match="finished_order_memory"):
        SlotManager(finished_order_memory=0)


def test_prune_drops_far_empty_slots_but_keeps_their_attempts() -> None:
    m = SlotManager()
    m.reserve(D(90), place("b1", Side.BUY, "1", "90"))
    m.on_rejected("b1", RejectReason.OTHER)
    bought(m, "80", cid="b2")
    version = m.version
    assert m.prune(D(95), D(105)) == 1  # 80 holds a position: kept
    assert sorted(m.slots) == [D(80)] and dict(m.retired_attempts) == {D(90): 1}
    assert m.version > version
    assert m.reserve(D(90), place("b3", Side.BUY, "1", "90")).attempt == 2
    assert m.prune(D(0), D(200)) == 0


def test_snapshot_counts_inventory_and_pnl() -> None:
    m = SlotManager()
    bought(m, "99", cid="b1")
    m.reserve(D(98), place("b2", Side.BUY, "1", "98"))
    m.on_ack("b2")
    m.reserve(D(97), place("b3", Side.BUY, "1", "97"))
    snap = m.snapshot()
    assert [s.price for s in snap.slots] == [D(97), D(98), D(99)]
    assert (snap.free, snap.pending, snap.locked, snap.filled) == (1, 1, 1, 1)
    assert (snap.inventory, snap.fees, snap.net_pnl, snap.version) == (D(1), D("0.01"), D("-0.01"), m.version)
    assert snap.pnl[0].net_pnl == D("-0.01")


def test_restore_spreads_a_position_in_base_units() -> None:
    inst = instrument()
    slots = restore_slots_from_position(D("0.6"), D(100), D(1), D(30), inst, GridMode.LONG)
    assert [(s.price, s.position_qty, s.position_side) for s in slots] == [
        (D(101), D("0.3"), Side.BUY),
        (D(102), D("0.3"), Side.BUY),
    ]
    short = restore_slots_from_position(D("-0.4"), D(100), D(1), D(30), inst, GridMode.NEUTRAL)
    assert [(s.price, s.position_qty, s.position_side) for s in short] == [
        (D(99), D("0.3"), Side.SELL),
        (D(98), D("0.1"), Side.SELL),
    ]
    assert restore_slots_from_position(D(0), D(100), D(1), D(30), inst, GridMode.LONG) == []
    m = SlotManager()
    m.load(short)
    assert (m.inventory, m.slot_pnl(D(99)).cost_basis) == (D("-0.4"), D("29.7"))


@pytest.mark.parametrize(
    ("position", "anchor", "amount", "mode", "message"),
    [
        ("1", "0", "30", GridMode.LONG, "must be > 0"),
        ("1", "100", "30", GridMode.SHORT, "does not fit grid mode short"),
        ("0.0005", "100", "30", GridMode.LONG, "not a multiple of the lot"),
        ("1", "100", "0.01", GridMode.LONG, "less than one lot"),
        ("-1", "1", "30", GridMode.SHORT, "at or below zero"),
    ],
)
def test_restore_refuses_bad_input(
    position: str, anchor: str, amount: str, mode: GridMode, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        restore_slots_from_position(D(position), D(anchor), D(1), D(amount), instrument(), mode)


def test_load_refuses_a_busy_slot() -> None:
    with pytest.raises(SlotStateError, match="must be FREE"):
        SlotManager().load([Slot(price=D(1), slot_status=SlotStatus.LOCKED)])


def test_post_only_failures_can_be_reset_for_a_paused_slot() -> None:
    m = SlotManager()
    for i in range(3):
        m.reserve(D(99), place(f"b{i}", Side.BUY, "1", "99"))
        m.on_rejected(f"b{i}", RejectReason.POST_ONLY)
    assert m.slot(D(99)).post_only_failures == 3  # type: ignore[union-attr]
    [change] = m.reset_post_only_failures(D(99))
    assert (change.before.post_only_failures, change.after.post_only_failures) == (3, 0)
    assert m.reset_post_only_failures(D(99)) == [] and m.reset_post_only_failures(D(1)) == []
