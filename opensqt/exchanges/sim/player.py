"""`MarketPlayer`: plays market data into simulated venues under anyio, as fast as possible or paced
to real time (`speed`); `run_paper` plays the synthetic generator on the wall clock (paper trading)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import anyio
import anyio.lowlevel

from opensqt.clock import Clock, ManualClock, WallClock
from opensqt.data.market_data import MarketData
from opensqt.data.synthetic import SyntheticMarket
from opensqt.exchanges.sim.exchange import SimExchange
from opensqt.runtime.settle import settle


class MarketPlayer:
    """Feeds every row of `source` to each exchange's venue, then publishes it to that exchange's streams.

    Between rows it yields to the event loop; when a row reached any subscriber it waits until every other
    task is blocked again (`settle`), so consumers react (and place orders) before the next row. With `speed`
    (1.0 = real time) rows are paced on `wall`; `clock`, when given, is moved to each row's time.
    """

    def __init__(
        self,
        source: MarketData | Iterable[MarketData],
        exchanges: Sequence[SimExchange],
        *,
        speed: float | None = None,
        clock: ManualClock | None = None,
        wall: Clock | None = None,
        settle: bool = True,
    ) -> None:
        if speed is not None and speed <= 0:
            raise ValueError(f"speed: expected > 0 (1.0 = real time), got {speed}")
        self.source = [source] if isinstance(source, MarketData) else source
        self.exchanges = list(exchanges)
        self.speed = speed
        self.clock = clock
        self.wall = wall or WallClock()
        self.settle = settle
        self.rows = 0
        self._stop = False

    def stop(self) -> None:
        """Finish after the current row."""
        self._stop = True

    async def _run_timers(self, clock: ManualClock, ts: int) -> None:
        """Timers due by the next row's time fire at their own time and run to rest before the row is played,
        as they would in real time (a timer and a print in the same millisecond: the timer first), instead
        of waking late and together with the row. Only with `settle`: without it nothing waits for them."""
        if not self.settle:
            return
        while (due := clock.next_deadline()) is not None and due <= ts:
            clock.set_ms(due)
            await settle()

    async def run(self, until_ms: int | None = None) -> int:
        """Play until the source ends, `until_ms` (market time) or `stop()`; returns the rows played."""
        start_wall: float | None = None
        start_ts = 0
        for data in self.source:
            for ex in self.exchanges:
                ex.venue.attach(data)
            ts_col = data.ts
            for i in range(len(data)):
                ts = int(ts_col[i])
                if self._stop or (until_ms is not None and ts > until_ms):
                    return self.rows
                if self.speed is not None:
                    if start_wall is None:
                        start_wall, start_ts = self.wall.monotonic(), ts
                    delay = start_wall + (ts - start_ts) / 1000 / self.speed - self.wall.monotonic()
                    if delay > 0:
                        await anyio.sleep(delay)
                if self.clock is not None:
                    await self._run_timers(self.clock, ts)
                    self.clock.set_ms(ts)
                reached = False
                for ex in self.exchanges:
                    events = ex.venue.step()
                    # the public print first, then our fills: a venue's market stream shows the trade that
                    # filled us no later than the user stream reports the fill
                    reached = ex.publish_row(i) or reached
                    ex.publish(events)
                    reached = reached or bool(events)
                self.rows += 1
                if reached and self.settle:
                    await settle()
                else:
                    await anyio.lowlevel.checkpoint()
        return self.rows


async def run_paper(
    exchanges: Sequence[SimExchange],
    market: SyntheticMarket,
    *,
    speed: float = 1.0,
    wall: Clock | None = None,
    duration_ms: int | None = None,
) -> int:
    """Paper mode: the seeded synthetic market, timestamped from now on the wall clock, played in real time
    (`speed` > 1 compresses it) into `exchanges` until `duration_ms` of market time or cancellation."""
    wall = wall or WallClock()
    start = wall.now_ms()
    player = MarketPlayer(market.chunks(start), exchanges, speed=speed, wall=wall)
    return await player.run(None if duration_ms is None else start + duration_ms)
