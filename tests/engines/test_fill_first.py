"""After a fill, the filled slot's next order goes to the venue first, alone; the rest of the decision
(re-quoting and re-centring) follows in a second call, and together they are what one decision sends."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio

from opensqt.clock import ManualClock
from opensqt.engines.grid_engine import GridEngine
from opensqt.exchanges.sim import BTC_USDT_PERP, SimExchange, SimVenue
from opensqt.runtime.settle import settle
from tests.engines.harness import SYMBOL, T0, config, params, play

D = Decimal


class RecordingExchange(SimExchange):
    """Records each create call as the (side, price, reduce-only) of its orders."""

    def __init__(self, venue: SimVenue) -> None:
        super().__init__(venue)
        self.creates: list[list[tuple[str, str, bool]]] = []

    def _record(self, commands: Any) -> None:
        self.creates.append([(c.side.value, str(c.price), c.reduce_only) for c in commands])

    async def create_order(self, command):  # type: ignore[no-untyped-def]
        self._record([command])
        return await super().create_order(command)

    async def create_orders(self, commands):  # type: ignore[no-untyped-def]
        self._record(commands)
        return await super().create_orders(commands)


async def run(rows: list[tuple[Any, ...]], **cfg: Any) -> tuple[GridEngine, RecordingExchange, SimVenue]:
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": D(100_000)})
    exchange = RecordingExchange(venue)
    engine = GridEngine(exchange, config(cancel_on_exit=False, **cfg), clock)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await settle()  # the engine subscribes and waits for its first price
        await play(engine, exchange, clock, rows)
        tg.cancel_scope.cancel()
    return engine, exchange, venue


OPENED = [("buy", "59900.0", False), ("buy", "59800.0", False), ("buy", "59700.0", False)]
RISE = ("trade", T0 + 1000, "60000", "0.5", "buy")
DIP = ("trade", T0 + 2000, "59850", "1", "sell")  # fills the 59900 buy; the centre moves down to 59900
BACK = ("trade", T0 + 3000, "60050", "1", "buy")  # fills its 60000 close; the centre moves up to 60100


def resting(venue: SimVenue) -> list[tuple[str, str]]:
    return sorted((o.side.value, str(o.price)) for o in venue.open_orders(SYMBOL))


async def test_a_filled_buy_sends_its_close_alone_then_the_re_centred_buy() -> None:
    engine, exchange, venue = await run([RISE, DIP])
    assert exchange.creates == [
        OPENED,
        [("sell", "60000.0", True)],  # the close of the filled 59900 slot, first and alone
        [("buy", "59600.0", False)],  # then the rest of the decision: the new far level
    ]
    assert engine.core.stats["slot_orders_first"] == 1
    assert resting(venue) == [("buy", "59600.0"), ("buy", "59700.0"), ("buy", "59800.0"), ("sell", "60000.0")]


async def test_a_filled_close_sends_its_slots_new_buy_first() -> None:
    engine, exchange, venue = await run([RISE, DIP, BACK])
    assert exchange.creates[3:] == [
        [("buy", "59900.0", False)],  # the slot whose close filled opens again, first
        [("buy", "60000.0", False)],  # then the new near level of the re-centred window
    ]
    assert engine.core.stats["slot_orders_first"] == 2
    # 59700 and 59600 fell below the window's far edge (59800) and were cancelled
    assert resting(venue) == [("buy", "59800.0"), ("buy", "59900.0"), ("buy", "60000.0")]


async def test_when_the_quota_could_bind_the_whole_decision_goes_out_at_once() -> None:
    # after the fill 2 buys rest: a cleanup threshold of 5 leaves a quota of 3, short of 3 levels + 1 close
    engine, exchange, venue = await run([RISE, DIP], params=params(order_cleanup_threshold=5))
    assert exchange.creates == [OPENED, [("buy", "59600.0", False), ("sell", "60000.0", True)]]
    assert engine.core.stats["slot_orders_first"] == 0
    assert resting(venue) == [("buy", "59600.0"), ("buy", "59700.0"), ("buy", "59800.0"), ("sell", "60000.0")]
