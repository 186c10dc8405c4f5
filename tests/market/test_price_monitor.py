"""PriceMonitor: websocket only, latest readable at once, first-price gate, reconnect with backoff."""

from __future__ import annotations

from decimal import Decimal

import anyio

from opensqt.clock import ManualClock
from opensqt.exchanges.errors import NetworkError
from opensqt.market.price_monitor import PriceMonitor
from opensqt.model import Side, Trade


class ScriptedTrades:
    """Answers `watch_trades` from a script; anything else would be REST polling and fails the test."""

    def __init__(self, script: list[list[Trade] | Exception | anyio.Event]) -> None:
        self.script = script
        self.calls = 0

    async def watch_trades(self, symbol: str) -> list[Trade]:
        self.calls += 1
        if not self.script:
            await anyio.sleep_forever()
        item = self.script.pop(0)
        while isinstance(item, anyio.Event):
            await item.wait()
            item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"PriceMonitor must not call {name}")


def _trade(price: str, ts: int) -> Trade:
    return Trade("BTC/USDT:USDT", Decimal(price), Decimal("0.01"), Side.BUY, ts_event=ts)


async def test_first_price_latest_and_reconnect() -> None:
    gate = anyio.Event()
    venue = ScriptedTrades(
        [[_trade("100.0", 1), _trade("100.5", 2)], gate, NetworkError("ws dropped"), [_trade("99.9", 3)]]
    )
    clock = ManualClock(1_000)
    monitor = PriceMonitor(venue, "BTC/USDT:USDT", clock, backoff=lambda n: 0.0)  # type: ignore[arg-type]
    sub = monitor.subscribe()
    assert monitor.latest is None and monitor.is_stale(1_000)
    async with anyio.create_task_group() as tg:
        await tg.start(monitor.run)
        first = await monitor.wait_first_price()
        assert first.price == Decimal("100.5") and first.ts_event == 2 and first.ts_init == 1_000
        assert (await sub.receive()).price == Decimal("100.5")
        gate.set()
        assert (await sub.receive()).price == Decimal("99.9")
        tg.cancel_scope.cancel()
    assert monitor.reconnects == 1
    assert monitor.latest is not None and monitor.latest.price == Decimal("99.9")
    assert not monitor.is_stale(1_000 + 30_000)
    assert monitor.is_stale(1_000 + 30_001)
