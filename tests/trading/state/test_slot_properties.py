"""Invariants under random price paths and random delivery of venue updates (Hypothesis)."""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.model import (
    Fill,
    GridMode,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Side,
    SlotStatus,
    TimeInForce,
)
from opensqt.trading.logic import MAX_CLIENT_ID_LENGTH, GridParams, parse_client_order_id
from opensqt.trading.state import SlotBookSnapshot, SlotManager
from tests.trading.state.grid_harness import Harness

D = Decimal


def _unversioned(snapshot: SlotBookSnapshot) -> SlotBookSnapshot:
    return replace(snapshot, version=0)


@settings(max_examples=120)
@given(
    mode=st.sampled_from(list(GridMode)),
    steps=st.lists(st.integers(-25, 25), min_size=1, max_size=50),
    buy_window=st.integers(1, 5),
    sell_window=st.integers(1, 5),
    threshold=st.integers(2, 30),
    chaos=st.none() | st.integers(0, 2**32),
    shift=st.integers(-20, 20),
)
def test_random_paths_keep_the_grid_invariants(
    mode: GridMode,
    steps: list[int],
    buy_window: int,
    sell_window: int,
    threshold: int,
    chaos: int | None,
    shift: int,
) -> None:
    params = GridParams(
        interval=D(1),
        order_amount=D(30),
        buy_window=buy_window,
        sell_window=sell_window,
        grid_mode=mode,
        order_cleanup_threshold=threshold,
    )
    h = Harness(params, rng=None if chaos is None else random.Random(chaos))
    h.shift = D(shift) / 10  # an inventory skew can put the centre on the other side of the price
    price = D(100)
    for step in steps:
        price = max(price + D(step) / 10, D(60))
        commands = h.step(price)
        for c in commands:
            if isinstance(c, PlaceOrder):
                assert c.price is not None
                # no buy at or above the price, no sell at or below it
                assert c.price < price if c.side is Side.BUY else c.price > price
                assert len(c.client_order_id) <= MAX_CLIENT_ID_LENGTH
        # never two live orders for one slot
        assert all(len(cids) == 1 for cids in h.resting_by_slot().values())
        # reduce-only closes never exceed what is held: the venue position never flips
        if mode is GridMode.LONG:
            assert h.position >= 0
        elif mode is GridMode.SHORT:
            assert h.position <= 0
        if chaos is None:
            assert h.manager.inventory == h.position
            assert h.manager.open_order_count == len(h.resting)
        _indexes_agree_with_the_slots(h.manager)
    h.deliver(everything=True)
    m = h.manager
    # once quiet, local slots agree with the venue's orders and position
    assert m.inventory == h.position
    locked = {s.client_order_id for s in m.slots.values() if s.slot_status is SlotStatus.LOCKED}
    assert locked == set(h.resting)
    assert all(s.slot_status is not SlotStatus.PENDING for s in m.slots.values())
    for cid in h.resting:
        assert m.slot_price_of(cid) == parse_client_order_id(cid, h.inst.tick_size).slot_price
    # replaying every update (twice) changes nothing
    before = _unversioned(m.snapshot())
    for update in h.updates + h.updates:
        assert m.apply(update) == []
    assert _unversioned(m.snapshot()) == before


SYM = "BTC/USDT:USDT"


def _lifecycle(
    cid: str, side: Side, price: Decimal, parts: list[int], cancel: bool, venue_id: str
) -> list[OrderUpdated]:
    """NEW, one update per execution (lots of 0.001), then FILLED or CANCELED."""
    qty = D(sum(parts) + (1 if cancel else 0)) / 1000
    base = Order(cid, SYM, side, OrderType.LIMIT, qty, price, venue_id, time_in_force=TimeInForce.POST_ONLY)
    out = [OrderUpdated(base)]
    filled = D(0)
    for i, lots in enumerate(parts):
        q = D(lots) / 1000
        filled += q
        status = OrderStatus.FILLED if filled == qty else OrderStatus.PARTIALLY_FILLED
        fill = Fill(f"{cid}-{i}", cid, SYM, side, price, q, q * price / 5000, "USDT", LiquiditySide.MAKER)
        out.append(OrderUpdated(replace(base, filled=filled, status=status), fill))
    if cancel:
        out.append(OrderUpdated(replace(base, filled=filled, status=OrderStatus.CANCELED)))
    return out


def _shuffled(updates: list[OrderUpdated], data: st.DataObject) -> list[OrderUpdated]:
    dupes = data.draw(st.lists(st.sampled_from(updates), max_size=len(updates)))
    return data.draw(st.permutations(updates + dupes))


@settings(max_examples=200)
@given(
    buy_parts=st.lists(st.integers(1, 5), min_size=1, max_size=5),
    sell_parts=st.lists(st.integers(1, 3), max_size=4),
    buy_cancel=st.booleans(),
    sell_cancel=st.booleans(),
    data=st.data(),
)
def test_any_delivery_order_gives_the_state_of_in_order_delivery(
    buy_parts: list[int], sell_parts: list[int], buy_cancel: bool, sell_cancel: bool, data: st.DataObject
) -> None:
    buys = _lifecycle("b1", Side.BUY, D(99), buy_parts, buy_cancel, "v1")
    held = D(sum(buy_parts)) / 1000
    sell_parts = sell_parts[: max(1, len(sell_parts))]
    while D(sum(sell_parts)) / 1000 + (D("0.001") if sell_cancel else 0) > held:
        sell_parts = sell_parts[:-1]
    sells = _lifecycle("s1", Side.SELL, D(100), sell_parts, sell_cancel or not sell_parts, "v2")

    def run(first: list[OrderUpdated], second: list[OrderUpdated]) -> SlotManager:
        m = SlotManager()
        m.reserve(D(99), PlaceOrder("b1", SYM, Side.BUY, buys[0].order.quantity, D(99)))
        for u in first:
            m.apply(u)
        m.reserve(D(99), PlaceOrder("s1", SYM, Side.SELL, sells[0].order.quantity, D(100), reduce_only=True))
        for u in second:
            m.apply(u)
        return m

    in_order = run(buys, sells)
    shuffled = run(_shuffled(buys, data), _shuffled(sells, data))
    assert _unversioned(shuffled.snapshot()) == _unversioned(in_order.snapshot())
    sold = D(sum(sell_parts)) / 1000
    assert in_order.inventory == held - sold
    assert in_order.realized_pnl == sold  # one quote unit per base unit: 100 − 99
    before = _unversioned(shuffled.snapshot())
    for u in buys + sells:
        assert shuffled.apply(u) == []
    assert _unversioned(shuffled.snapshot()) == before


def _indexes_agree_with_the_slots(m: SlotManager) -> None:
    """What the slot book keeps with every store (for the decision's speed) equals a walk over its slots."""
    slots = list(m.slots.values())
    assert dict(m.working) == {s.price: s for s in slots if s.slot_status is not SlotStatus.FREE}
    for side in (Side.BUY, Side.SELL, None):
        held = sorted(
            s.price
            for s in slots
            if s.slot_status is SlotStatus.FREE and s.position_qty and s.position_side is side
        )
        assert list(m.holds_by_side[side]) == held
    signed = sum(
        (-s.position_qty if s.position_side is Side.SELL else s.position_qty for s in slots), Decimal(0)
    )
    assert m.inventory == signed
    idle = sum(1 for s in slots if s.slot_status is SlotStatus.FREE and not s.position_qty)
    assert m.idle_count == idle
