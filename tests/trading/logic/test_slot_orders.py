"""decide_slot_orders: a filled slot's next order alone, exactly as the whole decision would place it.

The engine sends it first and the whole decision after; the property below proves the two together send
exactly what one whole decision would, on random books, modes, flags and quotas.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import (
    CancelOrder,
    Command,
    GridMode,
    OrderStatus,
    PlaceOrder,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
)
from opensqt.trading.logic import GridSnapshot, decide_grid_orders, decide_slot_orders, parse_client_order_id
from tests.trading.logic.test_grid_decision import INST, held, params, resting, snap, summary

D = Decimal


def places(commands: list[Command]) -> list[PlaceOrder]:
    return [c for c in commands if isinstance(c, PlaceOrder)]


def test_a_filled_buy_slot_gets_its_close_alone_as_the_whole_decision_places_it() -> None:
    slots = {D(99): held("99"), D(98): resting("98", Side.BUY, "98", "b98")}
    s = snap("99.4", slots)
    first = decide_slot_orders(s, params(), INST, [D(99)])
    assert summary(first) == [("place", "sell", "100.0", "0.3", "PO", "reduce")]
    assert first[0] in decide_grid_orders(s, params(), INST)  # the whole decision also opens 97


def test_a_slot_whose_close_filled_gets_its_opening_order_again() -> None:
    slots = {D(99): Slot(price=D(99), attempt=2), D(98): resting("98", Side.BUY, "98", "b98")}
    s = snap("99.6", slots)
    first = decide_slot_orders(s, params(), INST, [D(99)])
    assert summary(first) == [("place", "buy", "99", "0.303", "PO", "open")]
    assert first[0].client_order_id.endswith("N3")
    assert first[0] in decide_grid_orders(s, params(), INST)


def test_nothing_first_when_the_quota_could_bind_or_the_price_is_stale() -> None:
    slots = {D(99): held("99")}
    # 3 buy levels + 1 close need a quota of 4: 46 open of 50 leaves exactly that, 47 not
    assert decide_slot_orders(snap("99.4", slots, open_orders=46), params(), INST, [D(99)])
    assert decide_slot_orders(snap("99.4", slots, open_orders=47), params(), INST, [D(99)]) == []
    assert decide_slot_orders(snap("99.4", slots, price_stale=True), params(), INST, [D(99)]) == []


def test_paused_or_defensive_still_closes_first_but_opens_nothing() -> None:
    s_hold = snap("99.4", {D(99): held("99")}, paused=True)
    assert summary(decide_slot_orders(s_hold, params(), INST, [D(99)]))[0][1:3] == ("sell", "100.0")
    for flag in ("paused", "margin_locked", "risk_triggered"):
        s_free = snap("99.6", {D(99): Slot(price=D(99))}, **{flag: True})
        assert decide_slot_orders(s_free, params(), INST, [D(99)]) == []


def test_a_busy_slot_or_a_level_outside_the_window_gets_nothing() -> None:
    s = snap("99.6", {D(99): resting("99", Side.BUY, "99", "b99"), D(90): Slot(price=D(90))})
    assert decide_slot_orders(s, params(), INST, [D(99), D(90), D(101)]) == []


# --- the split equals the whole -------------------------------------------------------------------

LEVELS = [D(p) for p in range(92, 109)]
FLAGS = ("paused", "margin_locked", "risk_triggered")


@st.composite
def books(draw: st.DrawFn) -> tuple[GridSnapshot, GridMode, dict[str, Any], list[Decimal]]:
    mode = draw(st.sampled_from(list(GridMode)))
    price = D(draw(st.integers(min_value=960, max_value=1040))) / 10
    slots: dict[Decimal, Slot] = {}
    for i, level in enumerate(LEVELS):
        kind = draw(st.sampled_from(["none", "free", "held", "locked", "pending"]))
        attempt = draw(st.integers(min_value=0, max_value=3))
        if kind == "none":
            continue
        side = draw(st.sampled_from([Side.BUY, Side.SELL]))
        holds = kind == "held" or (kind in ("locked", "pending") and draw(st.booleans()))
        position: dict[str, Any] = {}
        if holds:
            position = {
                "position_status": PositionStatus.FILLED,
                "position_qty": D("0.3"),
                "position_side": draw(st.sampled_from([side, None])),
            }
        if kind in ("free", "held"):
            slots[level] = Slot(price=level, attempt=attempt, **position)
            continue
        cid = f"x{i}"
        slots[level] = Slot(
            price=level,
            slot_status=SlotStatus.LOCKED if kind == "locked" else SlotStatus.PENDING,
            client_order_id=cid,
            venue_order_id="v" + cid if kind == "locked" else None,
            order_side=side,
            order_price=level + draw(st.sampled_from([-1, 0, 1])),
            order_qty=D("0.3"),
            order_status=OrderStatus.NEW if kind == "locked" else None,
            attempt=max(attempt, 1),
            **position,
        )
    flags = draw(
        st.fixed_dictionaries({f: st.booleans() for f in ("paused", "margin_locked", "risk_triggered")})
    )
    open_orders = draw(st.integers(min_value=0, max_value=12))
    threshold = draw(st.integers(min_value=1, max_value=30))
    # mostly the FREE levels, the ones a fill leaves (a busy level is also tried: it must get nothing)
    free = [level for level in LEVELS if level not in slots or slots[level].slot_status is SlotStatus.FREE]
    chosen = draw(st.lists(st.sampled_from(free or LEVELS), max_size=3, unique=True))
    if draw(st.booleans()):
        chosen.append(draw(st.sampled_from(LEVELS)))
        chosen = list(dict.fromkeys(chosen))
    s = GridSnapshot(price=price, slots=slots, open_orders=open_orders, interval=D(1), **flags)
    return s, mode, {"order_cleanup_threshold": threshold}, chosen


def reserved(s: GridSnapshot, orders: list[PlaceOrder]) -> GridSnapshot:
    """The snapshot once the engine reserved `orders` (FREE -> PENDING, position kept), as the book does."""
    slots = dict(s.slots)
    for order in orders:
        level = _slot_of(order)
        slot = slots.get(level) or Slot(price=level)
        slots[level] = slot.evolve(
            slot_status=SlotStatus.PENDING,
            client_order_id=order.client_order_id,
            order_side=order.side,
            order_price=order.price,
            order_qty=order.quantity,
            attempt=slot.attempt + 1,
        )
    return GridSnapshot(
        price=s.price,
        slots=slots,
        open_orders=s.open_orders + len(orders),
        interval=s.interval,
        paused=s.paused,
        margin_locked=s.margin_locked,
        risk_triggered=s.risk_triggered,
    )


def _slot_of(order: PlaceOrder) -> Decimal:
    return parse_client_order_id(order.client_order_id, INST.tick_size).slot_price


@given(books())
def test_the_slot_orders_then_the_whole_decision_send_what_one_whole_decision_would(
    book: tuple[GridSnapshot, GridMode, dict[str, Any], list[Decimal]],
) -> None:
    s, mode, overrides, chosen = book
    p = params(mode, **overrides)
    whole = decide_grid_orders(s, p, INST)
    first = decide_slot_orders(s, p, INST, chosen)
    assert all(_slot_of(order) in chosen for order in first)
    if not first:
        return
    rest = decide_grid_orders(reserved(s, first), p, INST)
    assert Counter(places(whole)) == Counter(first + places(rest))
    assert [c for c in whole if isinstance(c, CancelOrder)] == [c for c in rest if isinstance(c, CancelOrder)]
