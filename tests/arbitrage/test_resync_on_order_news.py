"""Order news from a venue re-reads the legs' sizes between decision rounds (the LegManager re-syncs after
every order update): the order stream requests it, the trading loop runs `engine.sync(only_idle=True)`."""

from __future__ import annotations

from typing import Any

import anyio

from opensqt.clock import ManualClock
from opensqt.engines.arbitrage_runtime import SyncRequest, VenueStreams, _trade


class _Engine:
    def __init__(self) -> None:
        self.calls: list[str] = []
        self.synced = anyio.Event()

    async def step(self, now_ms: int) -> None:
        self.calls.append("step")

    async def sync(self, now_ms: int, *, only_idle: bool = False) -> None:
        self.calls.append(f"sync only_idle={only_idle}")
        self.synced.set()


class _Funding:
    async def poll(self, now_ms: int) -> int:
        return 0


class _Exchange:
    """One batch of order news, then silence."""

    def __init__(self) -> None:
        self.batches: list[list[Any]] = [["an order update"]]

    async def watch_orders(self, symbol: str | None = None) -> list[Any]:
        if self.batches:
            return self.batches.pop()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")


async def test_order_news_requests_a_resync_and_the_loop_runs_it_before_the_next_round() -> None:
    resync = SyncRequest()
    streams = VenueStreams("va", _Exchange(), ManualClock(0), [], [], resync=resync)  # type: ignore[arg-type]
    engine = _Engine()
    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            await tg.start(streams.run_orders)
            tg.start_soon(_trade, engine, _Funding(), ManualClock(0), 3600.0, resync)
            await engine.synced.wait()
            tg.cancel_scope.cancel()
    assert (streams.order_updates, resync.requests) == (1, 1)
    # one round, then the re-sync the news asked for, long before the next round (an hour away)
    assert engine.calls == ["step", "sync only_idle=True"]


async def test_no_news_no_resync() -> None:
    resync = SyncRequest()
    assert await resync.wait(0) is False
    resync.request()
    assert await resync.wait(0) is True
    assert await resync.wait(0) is False  # cleared once taken
