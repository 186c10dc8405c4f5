"""Restart with a partially filled order (the e2e crash test's "local 0.001 vs venue 0.002"): the store knows
an order that had filled part of its quantity when market_maker died. Restore must re-attach it to its slot
without booking the part twice, then apply what the venue says happened to the rest while it was down."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

from opensqt.clock import ManualClock
from opensqt.exchanges.sim import BTC_USDT_PERP, MarketPlayer, SimExchange, SimVenue
from opensqt.model import SlotStatus
from opensqt.runtime.settle import settle
from opensqt.store import migrate, open_store
from opensqt.testing.tapes import make_tape
from tests.engines.harness import SYMBOL, T0, store_session, venue_position

BUY = Decimal("59900.0")  # the first buy level under a 60000 start (interval 100): 0.016 BTC


def _store_fills(url: str) -> Counter[str]:
    store = open_store(url)
    try:
        per_order: Counter[str] = Counter()
        for fill in store.fills.list("bot", SYMBOL):
            per_order[fill.client_order_id] += fill.quantity  # type: ignore[assignment]
        return per_order
    finally:
        store.close()


def _venue_fills(venue: SimVenue) -> Counter[str]:
    per_order: Counter[str] = Counter()
    for live in venue.orders.values():
        order = live.snapshot(venue.now_ms)
        if order.filled:
            per_order[order.client_order_id] += order.filled  # type: ignore[assignment]
    return per_order


async def _first_session_leaves_a_partial_buy(url: str) -> tuple[SimVenue, SimExchange, ManualClock, str]:
    migrate(url)
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": Decimal(100_000)})
    exchange = SimExchange(venue)
    # a print of 0.010 at the 59900 buy's own price fills 0.010 of its 0.016
    first = await store_session(
        url,
        exchange,
        clock,
        [("trade", T0 + 1000, "60000", "0.5", "buy"), ("trade", T0 + 2000, "59900", "0.010", "sell")],
        crash=False,
    )
    slot = first.slots.slot(BUY)
    assert slot is not None and slot.slot_status is SlotStatus.LOCKED and slot.client_order_id is not None
    assert slot.position_qty == slot.filled_qty == Decimal("0.010") == venue_position(venue)
    return venue, exchange, clock, slot.client_order_id


async def test_a_partial_buy_that_filled_while_down_is_booked_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    venue, exchange, clock, cid = await _first_session_leaves_a_partial_buy(url)
    # down: the rest of the buy fills
    await MarketPlayer(make_tape([("trade", T0 + 3000, "59850", "1", "sell")]), [exchange], clock=clock).run()
    assert venue_position(venue) == Decimal("0.016")
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "59870", "0.001", "buy")], crash=False
    )
    assert second.slots.inventory == venue_position(venue) == Decimal("0.016")
    slot = second.slots.slot(BUY)
    assert slot is not None and slot.position_qty == Decimal("0.016")
    assert second.last_reconcile is not None and second.last_reconcile.position_action is None
    assert not second.breaker.is_open
    assert _store_fills(url) == _venue_fills(venue)
    assert _store_fills(url)[cid] == Decimal("0.016")


async def test_a_partial_buy_still_resting_at_restart_keeps_working(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    venue, exchange, clock, cid = await _first_session_leaves_a_partial_buy(url)
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "59950", "0.001", "buy")], crash=False
    )
    # the order rests on, still the slot's, and its partial fill is held once
    slot = second.slots.slot(BUY)
    assert slot is not None and slot.slot_status is SlotStatus.LOCKED and slot.client_order_id == cid
    assert slot.position_qty == slot.filled_qty == Decimal("0.010")
    assert [o.client_order_id for o in venue.open_orders(SYMBOL) if o.price == BUY] == [cid]
    assert second.slots.inventory == venue_position(venue) == Decimal("0.010")
    # the rest fills after the restart, on the stream
    await MarketPlayer(make_tape([("trade", T0 + 6000, "59850", "1", "sell")]), [exchange], clock=clock).run()
    await settle()
    assert second.slots.inventory == Decimal("0.010")  # the second engine has stopped: nothing applied
    third = await store_session(
        url, exchange, clock, [("trade", T0 + 7000, "59870", "0.001", "buy")], crash=False
    )
    assert third.slots.inventory == venue_position(venue) == Decimal("0.016")
    assert _store_fills(url) == _venue_fills(venue)
