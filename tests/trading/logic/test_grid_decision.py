"""decide_grid_orders: windows, modes, flags, quota, post-only fallback and closing prices, exactly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import (
    CancelOrder,
    Command,
    GridMode,
    Instrument,
    InstrumentKind,
    OrderStatus,
    PlaceOrder,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
    TimeInForce,
)
from opensqt.trading.logic import (
    GridParams,
    GridSnapshot,
    PostOnlyFallback,
    buy_levels,
    client_order_id,
    decide_grid_orders,
    grid_window,
    sell_levels,
)
from opensqt.trading.logic.grid import _lattice

D = Decimal
INST = Instrument(
    symbol="BTC/USDT:USDT",
    venue_symbol="BTCUSDT",
    kind=InstrumentKind.LINEAR_PERPETUAL,
    base="BTC",
    quote="USDT",
    tick_size=D("0.1"),
    lot_size=D("0.001"),
    min_qty=D("0.001"),
    min_notional=D("5"),
)


def params(mode: GridMode = GridMode.LONG, **kw: Any) -> GridParams:
    base = GridParams(interval=D(1), order_amount=D(30), buy_window=3, sell_window=3, grid_mode=mode)
    return replace(base, **kw)


def snap(price: str, slots: Mapping[Decimal, Slot] | None = None, **kw: Any) -> GridSnapshot:
    base = GridSnapshot(price=D(price), slots=slots or {}, open_orders=0, interval=D(1))
    return replace(base, **kw)


def held(price: str, qty: str = "0.3", side: Side = Side.BUY) -> Slot:
    return Slot(
        price=D(price),
        position_status=PositionStatus.FILLED,
        position_qty=D(qty),
        position_side=side,
        attempt=1,
    )


def resting(price: str, side: Side, order_price: str, cid: str) -> Slot:
    return Slot(
        price=D(price),
        slot_status=SlotStatus.LOCKED,
        client_order_id=cid,
        venue_order_id="v" + cid,
        order_side=side,
        order_price=D(order_price),
        order_qty=D("0.3"),
        order_status=OrderStatus.NEW,
        attempt=1,
    )


def summary(commands: list[Command]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    for c in commands:
        if isinstance(c, PlaceOrder):
            out.append(
                (
                    "place",
                    c.side.value,
                    str(c.price),
                    str(c.quantity),
                    c.time_in_force.value,
                    "reduce" if c.reduce_only else "open",
                )
            )
        elif isinstance(c, CancelOrder):
            out.append(("cancel", c.client_order_id, c.reason))
    return out


def test_levels_and_window_around_the_centre() -> None:
    w = grid_window(D("100.4"), D(1), params(), INST)
    assert (w.centre, w.buy_floor, w.sell_ceiling) == (D(100), D(97), D(103))
    assert buy_levels(w, D(1), params()) == (D(99), D(98), D(97))
    assert sell_levels(w, D(1), params()) == (D(101), D(102), D(103))
    assert grid_window(D("100.5"), D(1), params(), INST).centre == D(101)  # half away from zero, as legacy
    assert buy_levels(grid_window(D(2), D(1), params(), INST), D(1), params()) == (D(1),)


def test_first_round_places_closest_buys_first_with_exact_sizes_and_ids() -> None:
    commands = decide_grid_orders(snap("100"), params(), INST)
    assert summary(commands) == [
        ("place", "buy", "99.0", "0.303", "PO", "open"),
        ("place", "buy", "98.0", "0.306", "PO", "open"),
        ("place", "buy", "97.0", "0.309", "PO", "open"),
    ]
    assert commands[0] == PlaceOrder(
        "osqtBriN1", INST.symbol, Side.BUY, D("0.303"), D(99), time_in_force=TimeInForce.POST_ONLY
    )


def test_stale_price_gives_no_command_at_all() -> None:
    slots = {D(90): resting("90", Side.BUY, "90", "x")}
    assert decide_grid_orders(snap("100", slots, price_stale=True), params(), INST) == []
    assert summary(decide_grid_orders(snap("100", slots), params(), INST))[0] == (
        "cancel",
        "x",
        "below the buy window",
    )


def test_resting_buy_stays_inside_and_below_the_near_edge_until_beyond_the_far_edge() -> None:
    # centre 100: a buy at 99.9 sits above centre − interval, yet it is not cancelled
    slots = {
        D("99.9"): resting("99.9", Side.BUY, "99.9", "near"),
        D(97): resting("97", Side.BUY, "97", "far"),
    }
    assert [
        c for c in decide_grid_orders(snap("100.2", slots), params(), INST) if isinstance(c, CancelOrder)
    ] == []
    cancels = [
        c for c in decide_grid_orders(snap("101", slots), params(), INST) if isinstance(c, CancelOrder)
    ]
    assert cancels == [CancelOrder("far", INST.symbol, "vfar", "below the buy window")]


def test_pending_slots_are_left_alone() -> None:
    slots = {D(99): Slot(price=D(99), slot_status=SlotStatus.PENDING, client_order_id="p", attempt=1)}
    assert [c[2] for c in summary(decide_grid_orders(snap("100", slots), params(), INST))] == ["98.0", "97.0"]


def test_paused_places_no_opening_order_but_still_closes() -> None:
    slots = {D(99): held("99")}
    assert summary(decide_grid_orders(snap("99.2", slots, paused=True), params(), INST)) == [
        ("place", "sell", "100.0", "0.3", "PO", "reduce"),
    ]


@pytest.mark.parametrize(
    ("flag", "reason"), [("risk_triggered", "risk triggered"), ("margin_locked", "margin locked")]
)
def test_risk_or_margin_lock_cancels_opening_orders_and_keeps_closes(flag: str, reason: str) -> None:
    slots = {
        D(98): resting("98", Side.BUY, "98", "open"),
        D(97): replace(
            held("97"),
            **{
                f: getattr(resting("97", Side.SELL, "98", "close"), f)
                for f in (
                    "slot_status",
                    "client_order_id",
                    "venue_order_id",
                    "order_side",
                    "order_price",
                    "order_status",
                )
            },
        ),
        D(96): held("96"),
    }
    commands = decide_grid_orders(snap("99", slots, **{flag: True}), params(), INST)
    # the resting close of 97 stays; 96's close (97) is below the price, so it rests at the next level, 100
    assert summary(commands) == [
        ("cancel", "open", reason),
        ("place", "sell", "100.0", "0.3", "PO", "reduce"),
    ]


def test_cancels_in_flight_are_not_repeated() -> None:
    slots = {D(90): resting("90", Side.BUY, "90", "x")}
    assert (
        decide_grid_orders(
            snap("100", slots, cancels_in_flight=frozenset({"x"}), open_orders=50), params(), INST
        )
        == []
    )


def test_quota_allots_opening_orders_first() -> None:
    slots = {D(95): held("95")}
    commands = decide_grid_orders(
        snap("96.2", slots, open_orders=47), params(order_cleanup_threshold=50), INST
    )
    assert [c[1:3] for c in summary(commands)] == [("buy", "94.0"), ("buy", "93.0"), ("sell", "97.0")]
    commands = decide_grid_orders(
        snap("96.2", slots, open_orders=48), params(order_cleanup_threshold=50), INST
    )
    assert [c[1:3] for c in summary(commands)] == [("buy", "94.0"), ("buy", "93.0")]
    assert (
        decide_grid_orders(snap("96.2", slots, open_orders=50), params(order_cleanup_threshold=50), INST)
        == []
    )


def test_min_distance_keeps_buys_off_the_price_when_the_centre_is_shifted_up() -> None:
    # shift +0.6 moves the centre from 100 to 101: levels 100.0 would sit above 99.95 − 0.1
    commands = decide_grid_orders(snap("100.05", centre_shift=D("0.6")), params(), INST)
    assert [c[2] for c in summary(commands)] == ["99.0", "98.0"]


def test_levels_below_the_minimum_value_are_skipped() -> None:
    assert decide_grid_orders(snap("100"), params(order_amount=D(4)), INST) == []  # notional < 5
    # floored to the lot: 0.303 × 99 = 29.997, 0.306 × 98 = 29.988, 0.309 × 97 = 29.973
    commands = decide_grid_orders(snap("100"), params(min_order_value=D("29.98")), INST)
    assert [c[2] for c in summary(commands)] == ["99.0", "98.0"]


def test_post_only_fallback_after_the_failure_limit() -> None:
    tired = {D(99): Slot(price=D(99), post_only_failures=3, attempt=3)}
    limit = summary(decide_grid_orders(snap("100", tired), params(), INST))
    assert limit[0] == ("place", "buy", "99.0", "0.303", "GTC", "open")
    paused = summary(
        decide_grid_orders(snap("100", tired), params(post_only_fallback=PostOnlyFallback.PAUSE), INST)
    )
    assert [c[2] for c in paused] == ["98.0", "97.0"]
    plain = summary(decide_grid_orders(snap("100"), params(post_only=False), INST))
    assert {c[4] for c in plain} == {"GTC"}
    closing_paused = {D(99): replace(held("99"), post_only_failures=5)}
    pause = params(post_only_fallback=PostOnlyFallback.PAUSE)
    assert decide_grid_orders(snap("99.2", closing_paused, paused=True), pause, INST) == []


def test_close_rests_at_the_first_passive_level_when_the_price_passed_it() -> None:
    slots = {D(95): held("95"), D(105): held("105", side=Side.SELL)}
    # neutral (both sides held); the long close (96) and the short close (104) were both passed by the price
    commands = decide_grid_orders(snap("100", slots, paused=True), params(GridMode.NEUTRAL), INST)
    assert summary(commands) == [
        ("place", "sell", "101.0", "0.3", "PO", "open"),
        ("place", "buy", "99.0", "0.3", "PO", "open"),
    ]


def test_closes_are_sorted_closest_first_and_skipped_beyond_the_window() -> None:
    slots = {D(99): held("99"), D(97): held("97"), D(101): held("101")}
    commands = decide_grid_orders(snap("98.2", slots, paused=True), params(), INST)
    # centre 98: ceiling 101 — the close of 101 (at 102) waits; 97 closes at 98.0 < 98.3, bumped to 99
    assert summary(commands) == [
        ("place", "sell", "99.0", "0.3", "PO", "reduce"),
        ("place", "sell", "100.0", "0.3", "PO", "reduce"),
    ]


def test_resting_close_above_the_window_is_cancelled() -> None:
    slot = replace(
        held("99"),
        slot_status=SlotStatus.LOCKED,
        client_order_id="c",
        order_side=Side.SELL,
        order_price=D(100),
    )
    commands = decide_grid_orders(snap("96", {D(99): slot}, paused=True), params(), INST)
    assert summary(commands) == [("cancel", "c", "above the sell window")]


def test_short_close_and_window() -> None:
    slots = {D(101): held("101", side=Side.SELL), D(104): resting("104", Side.SELL, "104", "s")}
    commands = decide_grid_orders(snap("100.6", slots, paused=True), params(GridMode.SHORT), INST)
    assert summary(commands) == [("place", "buy", "100.0", "0.3", "PO", "reduce")]  # centre 101, ceiling 104
    commands = decide_grid_orders(snap("99.4", slots, paused=True), params(GridMode.SHORT), INST)
    # centre 99, ceiling 102: the sell at 104 goes; the close (100) is above 99.3, so it rests at 99
    assert summary(commands) == [
        ("cancel", "s", "above the sell window"),
        ("place", "buy", "99.0", "0.3", "PO", "reduce"),
    ]
    # a close below the buy floor waits
    assert (
        decide_grid_orders(
            snap("104.6", {D(101): held("101", side=Side.SELL)}, paused=True), params(GridMode.SHORT), INST
        )
        == []
    )


def test_neutral_interleaves_and_closes_without_reduce_only() -> None:
    slots = {D(99): held("99")}
    commands = decide_grid_orders(snap("99.2", slots), params(GridMode.NEUTRAL), INST)
    assert summary(commands) == [
        ("place", "buy", "98.0", "0.306", "PO", "open"),
        ("place", "sell", "101.0", "0.297", "PO", "open"),
        ("place", "buy", "97.0", "0.309", "PO", "open"),
        ("place", "sell", "102.0", "0.294", "PO", "open"),
        ("place", "buy", "96.0", "0.312", "PO", "open"),
        ("place", "sell", "100.0", "0.3", "PO", "open"),
    ]
    shorted = {D(101): held("101", side=Side.SELL)}
    commands = decide_grid_orders(snap("100.8", shorted), params(GridMode.NEUTRAL), INST)
    assert ("place", "buy", "100.0", "0.3", "PO", "open") in summary(commands)
    assert [c for c in summary(commands) if c[2] == "100.0"] == [
        ("place", "buy", "100.0", "0.3", "PO", "open")
    ]


def test_slot_without_side_takes_it_from_the_mode() -> None:
    slots = {D(99): replace(held("99"), position_side=None)}
    assert summary(decide_grid_orders(snap("99.2", slots, paused=True), params(), INST)) == [
        ("place", "sell", "100.0", "0.3", "PO", "reduce")
    ]
    assert decide_grid_orders(snap("99.2", slots, paused=True), params(GridMode.NEUTRAL), INST) == []
    short = {D(101): replace(held("101", side=Side.SELL), position_side=None)}
    assert summary(decide_grid_orders(snap("100.8", short, paused=True), params(GridMode.SHORT), INST)) == [
        ("place", "buy", "100.0", "0.3", "PO", "reduce")
    ]


def test_dust_below_the_minimum_quantity_is_not_closed() -> None:
    inst = replace(INST, min_qty=D("0.01"))
    assert decide_grid_orders(snap("99.2", {D(99): held("99", "0.005")}, paused=True), params(), inst) == []


def test_attempt_counters_continue_from_the_slot_or_the_retired_level() -> None:
    slots = {D(99): Slot(price=D(99), attempt=7)}
    commands = decide_grid_orders(snap("100", slots, retired_attempts={D(98): 4}), params(), INST)
    ids = [c.client_order_id for c in commands if isinstance(c, PlaceOrder)]
    assert ids == [
        client_order_id("osqt", Side.BUY, D(99), 8, INST.tick_size),
        client_order_id("osqt", Side.BUY, D(98), 5, INST.tick_size),
        client_order_id("osqt", Side.BUY, D(97), 1, INST.tick_size),
    ]


def test_bad_price_or_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="price and interval must be > 0"):
        decide_grid_orders(snap("100", interval=D(0)), params(), INST)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("interval", D(0), "interval must be a positive Decimal"),
        ("order_amount", 30, "order_amount must be a positive Decimal"),
        ("min_order_value", D(-1), "min_order_value must be a Decimal >= 0"),
        ("min_distance_ratio", D(1), "min_distance_ratio must be < 1"),
        ("buy_window", 0, "buy_window must be an integer >= 1"),
        ("sell_window", True, "sell_window must be an integer >= 1"),
        ("grid_mode", "long", "grid_mode must be long, short or neutral"),
        ("post_only_fallback", "limit", "post_only_fallback must be limit or pause"),
        ("bot_tag", "My-Bot", "bot_tag must be 1-8 characters"),
    ],
)
def test_params_name_the_bad_field(field: str, value: object, message: str) -> None:
    kw: dict[str, object] = dict(interval=D(1), order_amount=D(30))
    kw[field] = value
    with pytest.raises(ValueError, match=message):
        GridParams(**kw)  # type: ignore[arg-type]


@given(
    centres=st.lists(st.integers(0, 40), min_size=1, max_size=30),
    step=st.sampled_from([D(1), D("0.5"), D("2.5")]),
    count=st.integers(1, 8),
)
def test_reused_lattice_equals_a_fresh_one(centres: list[int], step: Decimal, count: int) -> None:
    # the memo shifts the previous lattice when the centre moves; it must equal a plain recomputation
    for c in centres:
        centre = c * step
        for direction in (step, -step):
            levels = [centre + i * direction for i in range(1, count + 1)]
            # stops before zero: everything from the first non-positive level on is dropped
            expected = tuple(levels[: next((i for i, x in enumerate(levels) if x <= 0), count)])
            assert _lattice(centre, direction, count) == expected
