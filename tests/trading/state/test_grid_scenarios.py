"""Scripted grid scenarios through decide -> reserve -> venue -> apply: exact orders, slots and PnL."""

from __future__ import annotations

from decimal import Decimal

from opensqt.model import GridMode, PositionStatus, Side, SlotStatus
from opensqt.trading.logic import GridParams, dynamic_interval, inventory_skew
from opensqt.trading.state import restore_slots_from_position
from tests.trading.state.grid_harness import Harness, cancels, places

D = Decimal


def params(mode: GridMode, **kw: object) -> GridParams:
    base: dict[str, object] = dict(interval=D(1), order_amount=D(30), buy_window=3, sell_window=3)
    base.update(kw)
    return GridParams(grid_mode=mode, **base)  # type: ignore[arg-type]


def test_long_round_trip_exact_orders_slots_and_pnl() -> None:
    h = Harness(params(GridMode.LONG))
    assert places(h.step(D(100))) == [
        ("buy", "99.0", "0.303", False),
        ("buy", "98.0", "0.306", False),
        ("buy", "97.0", "0.309", False),
    ]
    assert h.step(D("99.5")) == []
    # the buy at 99 fills: a reduce-only sell one interval up for exactly the held 0.303, a new buy at 96
    assert places(h.step(D(99))) == [("buy", "96.0", "0.312", False), ("sell", "100.0", "0.303", True)]
    slot = h.manager.slot(D(99))
    assert slot is not None
    assert (slot.slot_status, slot.position_status, slot.position_qty, slot.order_side) == (
        SlotStatus.LOCKED,
        PositionStatus.FILLED,
        D("0.303"),
        Side.SELL,
    )
    assert h.manager.inventory == D("0.303") == h.position
    commands = h.step(D(100))  # the sell fills; the buy at 96 is now below the window: cancelled
    assert cancels(commands) == [("osqtBqoN1", "below the buy window")]
    assert places(commands) == [("buy", "99.0", "0.303", False)]
    m = h.manager
    assert m.realized_pnl == D("0.303")  # (100 − 99) × 0.303
    assert m.fees == D("0.0120594")  # 0.0002 × (99 × 0.303 + 100 × 0.303)
    assert m.net_pnl.quantize(D("0.01")) == D("0.29")
    assert m.net_pnl == D("0.2909406")
    assert m.round_trips == 1 and m.inventory == 0 == h.position
    assert [(s.price, s.slot_status, s.attempt) for s in m.snapshot().slots] == [
        (D(96), SlotStatus.FREE, 1),
        (D(97), SlotStatus.LOCKED, 1),
        (D(98), SlotStatus.LOCKED, 1),
        (D(99), SlotStatus.LOCKED, 3),
    ]
    pnl = m.slot_pnl(D(99))
    assert (pnl.realized_pnl, pnl.fees, pnl.round_trips, pnl.cost_basis) == (
        D("0.303"),
        D("0.0120594"),
        1,
        D(0),
    )


def test_short_round_trip_mirrors_long() -> None:
    h = Harness(params(GridMode.SHORT))
    assert places(h.step(D(100))) == [
        ("sell", "101.0", "0.297", False),
        ("sell", "102.0", "0.294", False),
        ("sell", "103.0", "0.291", False),
    ]
    assert places(h.step(D("100.5"))) == [("sell", "104.0", "0.288", False)]
    assert places(h.step(D(101))) == [("buy", "100.0", "0.297", True)]
    assert h.manager.inventory == D("-0.297") == h.position
    commands = h.step(D(100))
    assert cancels(commands) == [("osqtSswN1", "above the sell window")]
    assert places(commands) == [("sell", "101.0", "0.297", False)]
    m = h.manager
    assert (m.realized_pnl, m.fees, m.net_pnl) == (D("0.297"), D("0.0119394"), D("0.2850606"))
    assert m.inventory == 0 == h.position


def test_neutral_opens_both_sides_and_closes_each_one_interval_inwards() -> None:
    h = Harness(params(GridMode.NEUTRAL))
    assert places(h.step(D(100))) == [
        ("buy", "99.0", "0.303", False),
        ("sell", "101.0", "0.297", False),
        ("buy", "98.0", "0.306", False),
        ("sell", "102.0", "0.294", False),
        ("buy", "97.0", "0.309", False),
        ("sell", "103.0", "0.291", False),
    ]
    commands = h.step(D(99))
    # the long slot 99 closes with a (not reduce-only) sell at 100, so no opening sell there
    assert places(commands) == [("buy", "96.0", "0.312", False), ("sell", "100.0", "0.303", False)]
    assert cancels(commands) == [("osqtSsmN1", "above the sell window")]
    commands = h.step(D(101))  # the close at 100 and the opening sell at 101 both fill
    assert places(commands) == [
        ("buy", "99.0", "0.303", False),
        ("sell", "103.0", "0.291", False),
        ("sell", "104.0", "0.288", False),
        ("buy", "100.0", "0.297", False),
    ]
    assert h.manager.inventory == D("-0.297") == h.position
    h.step(D(100))
    m = h.manager
    assert (m.realized_pnl, m.fees, m.net_pnl) == (D("0.600"), D("0.0239988"), D("0.5760012"))
    assert m.round_trips == 2
    assert m.inventory == 0 == h.position


def test_buys_fill_on_a_smooth_decline() -> None:
    # the legacy bug cancelled each buy as it left [centre − window, centre − interval], just before the
    # price reached it; here every level on the way down fills and no buy is ever cancelled
    h = Harness(params(GridMode.LONG, buy_window=5, sell_window=5))
    price = D(100)
    while price >= D(90):
        h.step(price)
        price -= D("0.1")
    bought = sorted((f.price for f in h.fills if f.side is Side.BUY), reverse=True)
    assert bought == [D(p) for p in range(99, 89, -1)]
    assert [c for c in h.cancelled if c.reason == "below the buy window"] == []
    assert h.manager.inventory == h.position == sum((f.quantity for f in h.fills if f.side is Side.BUY), D(0))


def test_grid_widens_in_a_volatile_regime() -> None:
    calm = dynamic_interval(D(1), D(1), D(2), D(2), D("0.5"), D(5), D("0.1"))
    wild = dynamic_interval(D(1), D(1), D(6), D(2), D("0.5"), D(5), D("0.1"))
    assert (calm, wild) == (D(1), D(3))
    h_calm, h_wild = Harness(params(GridMode.LONG)), Harness(params(GridMode.LONG))
    h_calm.interval, h_wild.interval = calm, wild
    assert [p[1] for p in places(h_calm.step(D(100)))] == ["99.0", "98.0", "97.0"]
    # centre round(100 / 3) × 3 = 99: three intervals of 3 below it
    assert [p[1] for p in places(h_wild.step(D(100)))] == ["96.0", "93.0", "90.0"]


def test_grid_shifts_down_with_long_inventory() -> None:
    h = Harness(params(GridMode.LONG))
    h.shift = inventory_skew(D(3), D(3), D(1), D(2), max_shift_intervals=D(2))
    assert h.shift == D(-2)
    assert [p[1] for p in places(h.step(D(100)))] == ["97.0", "96.0", "95.0"]


def test_restored_position_closes_one_interval_above_each_slot() -> None:
    h = Harness(params(GridMode.LONG, sell_window=5))
    inst = h.inst
    slots = restore_slots_from_position(D("0.75"), D(100), D(1), D(30), inst, GridMode.LONG)
    assert [(s.price, s.position_qty) for s in slots] == [
        (D(101), D("0.3")),
        (D(102), D("0.3")),
        (D(103), D("0.15")),
    ]
    h.manager.load(slots, entry_price=D(104))
    h.position = D("0.75")
    commands = h.step(D(100))
    assert places(commands) == [
        ("buy", "99.0", "0.303", False),
        ("buy", "98.0", "0.306", False),
        ("buy", "97.0", "0.309", False),
        ("sell", "102.0", "0.3", True),
        ("sell", "103.0", "0.3", True),
        ("sell", "104.0", "0.15", True),
    ]
    h.step(D(102))
    # sold 0.3 at 102 against an entry of 104
    assert h.manager.realized_pnl == D("-0.6")
    assert h.manager.inventory == D("0.45") == h.position
