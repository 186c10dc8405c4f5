"""Restart with a partially filled order (the e2e crash test's "local 0.001 vs venue 0.002"): the store knows
an order that had filled part of its quantity when market_maker died. Restore must re-attach it to its slot
without booking the part twice, then apply what the venue says happened to the rest while it was down."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from pathlib import Path

import anyio

from opensqt.clock import ManualClock
from opensqt.engines.grid_engine import GridEngine
from opensqt.engines.store_journal import StoreJournal
from opensqt.exchanges.sim import BTC_USDT_PERP, MarketPlayer, SimExchange, SimVenue
from opensqt.model import SlotStatus
from opensqt.runtime.settle import settle
from opensqt.store import BotRecord, StoreWriter, migrate, open_store
from opensqt.testing.tapes import Row, make_tape
from tests.engines.harness import SYMBOL, T0, config, play

BUY = Decimal("59900.0")  # the first buy level under a 60000 start (interval 100): 0.016 BTC


async def _session(url: str, exchange: SimExchange, clock: ManualClock, rows: list[Row]) -> GridEngine:
    store = open_store(url)
    store.bots.register(BotRecord("bot", "grid", "sim", "x", T0, T0))
    writer = StoreWriter(store)
    paused: list[str] = []
    journal = StoreJournal(store, writer, bot="bot", venue="sim", quote="USDT", on_failure=paused.append)
    engine = GridEngine(exchange, config(cancel_on_exit=False), clock, journal=journal)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await tg.start(journal.run)
        tg.start_soon(engine.run)
        await settle()
        await play(engine, exchange, clock, rows)
        # everything the engine decided is written, then it stops without cancelling (as under kill -9)
        await journal.flush()
        tg.cancel_scope.cancel()
    assert paused == []
    store.close()
    return engine


def _venue_position(venue: SimVenue) -> Decimal:
    return sum((p.size for p in venue.positions([SYMBOL])), Decimal(0))


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
    first = await _session(
        url,
        exchange,
        clock,
        [("trade", T0 + 1000, "60000", "0.5", "buy"), ("trade", T0 + 2000, "59900", "0.010", "sell")],
    )
    slot = first.slots.slot(BUY)
    assert slot is not None and slot.slot_status is SlotStatus.LOCKED and slot.client_order_id is not None
    assert slot.position_qty == slot.filled_qty == Decimal("0.010") == _venue_position(venue)
    return venue, exchange, clock, slot.client_order_id


async def test_a_partial_buy_that_filled_while_down_is_booked_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    venue, exchange, clock, cid = await _first_session_leaves_a_partial_buy(url)
    # down: the rest of the buy fills
    await MarketPlayer(make_tape([("trade", T0 + 3000, "59850", "1", "sell")]), [exchange], clock=clock).run()
    assert _venue_position(venue) == Decimal("0.016")
    second = await _session(url, exchange, clock, [("trade", T0 + 5000, "59870", "0.001", "buy")])
    assert second.slots.inventory == _venue_position(venue) == Decimal("0.016")
    slot = second.slots.slot(BUY)
    assert slot is not None and slot.position_qty == Decimal("0.016")
    assert second.last_reconcile is not None and second.last_reconcile.position_action is None
    assert not second.breaker.is_open
    assert _store_fills(url) == _venue_fills(venue)
    assert _store_fills(url)[cid] == Decimal("0.016")


async def test_a_partial_buy_still_resting_at_restart_keeps_working(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    venue, exchange, clock, cid = await _first_session_leaves_a_partial_buy(url)
    second = await _session(url, exchange, clock, [("trade", T0 + 5000, "59950", "0.001", "buy")])
    # the order rests on, still the slot's, and its partial fill is held once
    slot = second.slots.slot(BUY)
    assert slot is not None and slot.slot_status is SlotStatus.LOCKED and slot.client_order_id == cid
    assert slot.position_qty == slot.filled_qty == Decimal("0.010")
    assert [o.client_order_id for o in venue.open_orders(SYMBOL) if o.price == BUY] == [cid]
    assert second.slots.inventory == _venue_position(venue) == Decimal("0.010")
    # the rest fills after the restart, on the stream
    await MarketPlayer(make_tape([("trade", T0 + 6000, "59850", "1", "sell")]), [exchange], clock=clock).run()
    await settle()
    assert second.slots.inventory == Decimal("0.010")  # the second engine has stopped: nothing applied
    third = await _session(url, exchange, clock, [("trade", T0 + 7000, "59870", "0.001", "buy")])
    assert third.slots.inventory == _venue_position(venue) == Decimal("0.016")
    assert _store_fills(url) == _venue_fills(venue)
