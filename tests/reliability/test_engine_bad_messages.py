"""The grid engine trading through the real ccxt client on the loopback Binance server receives malformed
pushes about its own orders and the market: nothing crashes, no slot or position changes, no bad price is
taken, and trading continues (a real fill afterwards gets its closing order)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import anyio

from opensqt.clock import WallClock
from opensqt.engines.grid_engine import GridEngine
from opensqt.model import Order, Side, SlotStatus
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from tests.engines.harness import config, params
from tests.reliability.test_bad_venue_messages import BOOK, TRADE, VALID

BTC = "BTC/USDT:USDT"


def _open(venue: MemoryVenue) -> list[Order]:
    return [o for o in venue._orders.values() if o.is_open and o.symbol == BTC]


async def _until(cond: Any, timeout: float = 20.0, tick: Any = None) -> None:
    with anyio.fail_after(timeout):
        while not cond():
            if tick is not None:
                tick()
            await anyio.sleep(0.1)


async def test_malformed_pushes_change_nothing_and_trading_continues() -> None:
    venue = MemoryVenue(default_instruments(3), balance=Decimal(100_000))
    venue.set_book(BTC, Decimal("60009.9"), Decimal("60010.0"))
    cfg = config(symbol=BTC, params=params(buy_window=3, sell_window=3), cancel_on_exit=False)
    async with loopback_binance(venue) as (server, ex):
        engine = GridEngine(ex, cfg, WallClock())
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run)
            tick = lambda: venue.publish_trade(BTC, Decimal("60010.0"), Decimal("0.1"), Side.BUY)  # noqa: E731
            await _until(lambda: engine.phase == "trading", tick=tick)
            await _until(lambda: len(_open(venue)) == 3, tick=tick)
            resting = sorted(o.client_order_id for o in _open(venue))
            version, inventory = engine.slots.version, engine.slots.inventory

            # malformed updates about our own resting orders, then malformed market prints
            own = resting[0]
            for field, value in [("q", "NaN"), ("z", "abc"), ("X", "FILLED"), ("l", "NaN"), ("S", None)]:
                message = copy.deepcopy(VALID)
                message["o"].update(
                    {"c": own, "x": "TRADE", "X": "PARTIALLY_FILLED", "l": "0.001", "L": "59900"}
                )
                message["o"]["z"] = "0.001"
                message["o"][field] = value
                if field == "X":  # a FILLED status whose fill fields cannot be read
                    message["o"].update({"l": "NaN", "z": "NaN"})
                await server.hub.publish_user(message)
            for field, value in [("p", "-5"), ("p", None), ("q", "NaN"), ("p", "0")]:
                await server.hub.publish("btcusdt@trade", {**TRADE, field: value})
                await server.hub.publish("btcusdt@bookTicker", {**BOOK, "b": value})
            await anyio.sleep(1.0)

            assert engine.phase == "trading"
            assert engine.prices.latest is not None and engine.prices.latest.price == Decimal("60010.0")
            assert (engine.slots.version, engine.slots.inventory) == (version, inventory)
            assert sorted(o.client_order_id for o in _open(venue)) == resting

            # the price stream still delivers: a real print moves the engine's price
            await _until(
                lambda: engine.prices.latest.price == Decimal("60020.0"),
                timeout=10,
                tick=lambda: venue.publish_trade(BTC, Decimal("60020.0"), Decimal("0.1"), Side.BUY),
            )
            # trading continues: a real print through the top buy fills it and its closing sell rests
            top = max(_open(venue), key=lambda o: o.price or 0)
            assert top.price is not None
            venue.set_book(
                BTC, top.price - 10, top.price - Decimal("9.9")
            )  # the market fell: a sell can rest
            venue.publish_trade(BTC, top.price, Decimal("1"), Side.SELL)
            # the venue holds the closing sell, and the engine has applied its ack (on a slow machine the
            # ack may still be on its way when the venue already shows the order)
            await _until(
                lambda: any(o.side is Side.SELL and o.price == top.price + 100 for o in _open(venue))
                and not any(s.slot_status is SlotStatus.PENDING for s in engine.slots.slots.values())
            )
            held = [s for s in engine.slots.slots.values() if s.position_qty > 0]
            assert [(s.price, s.position_qty, s.slot_status) for s in held] == [
                (top.price, top.quantity, SlotStatus.LOCKED)
            ]
            tg.cancel_scope.cancel()
