"""Clocks: the only place time is read or waited on. Live code uses `WallClock`; backtests, accelerated
paper runs and tests use a `ManualClock` that market data (or the test) moves forward.

Pure layers never read a clock: time is passed in as epoch milliseconds.
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Protocol

import anyio
import anyio.lowlevel


class Clock(Protocol):
    def now_ms(self) -> int:
        """Epoch milliseconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for durations and rate limits."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))


class ManualClock:
    """A clock that moves only when told: market data drives it in replay, tests drive it by hand.

    `sleep` waits until the clock has been moved past the deadline, so timers (reconcile periods, margin
    locks, retry backoff) run in market time: an hour of replay takes no wall time and stays deterministic.
    """

    def __init__(self, start_ms: int = 0) -> None:
        self._ms = start_ms
        self._waiters: list[tuple[int, int, anyio.Event]] = []
        self._seq = itertools.count()

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._ms / 1000.0

    def set_ms(self, ms: int) -> None:
        """Move to `ms`; time never goes backwards (an older timestamp is ignored)."""
        if ms > self._ms:
            self._ms = ms
            self._wake()

    def advance(self, seconds: float) -> None:
        self.set_ms(self._ms + round(seconds * 1000))

    async def sleep(self, seconds: float) -> None:
        deadline = self._ms + max(0, round(seconds * 1000))
        if deadline <= self._ms:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._waiters, (deadline, next(self._seq), event))
        await event.wait()

    def next_deadline(self) -> int | None:
        """The earliest time a sleeper waits for (lets a driver jump straight to it)."""
        return self._waiters[0][0] if self._waiters else None

    def _wake(self) -> None:
        while self._waiters and self._waiters[0][0] <= self._ms:
            heapq.heappop(self._waiters)[2].set()
