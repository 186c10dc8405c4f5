"""Clocks: the only place time is read. Live code uses `WallClock`; backtests and tests a `ManualClock`.

Pure layers never read a clock: time is passed in as epoch milliseconds.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Epoch milliseconds."""
        ...

    def monotonic(self) -> float:
        """Seconds on a monotonic scale, for durations and rate limits."""
        ...


class WallClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that moves only when told: market data drives it in replay, tests drive it by hand."""

    def __init__(self, start_ms: int = 0) -> None:
        self._ms = start_ms

    def now_ms(self) -> int:
        return self._ms

    def monotonic(self) -> float:
        return self._ms / 1000.0

    def set_ms(self, ms: int) -> None:
        """Move to `ms`; time never goes backwards (an older timestamp is ignored)."""
        if ms > self._ms:
            self._ms = ms

    def advance(self, seconds: float) -> None:
        self._ms += round(seconds * 1000)
