"""Rate limiting and retry timing for venue calls. One `TokenBucket` per venue instance, never shared."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable

import anyio

# Refills are float sums: without a tolerance a wait could come out a hair short, and with a clock that does
# not move by less than its resolution, the bucket would sleep ~0 s forever.
_EPSILON = 1e-9


class TokenBucket:
    """A token bucket: `rate` tokens per second, bursts up to `capacity`. `acquire` waits for a token.

    `penalise(seconds)` empties the bucket until then (a venue said "too many requests").
    A request costing more than `capacity` (a venue's heavy endpoint) waits for a full bucket and leaves it
    in debt: the average rate holds and the call cannot wait forever.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate limit must be > 0 per second, got {rate}")
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._clock = clock or anyio.current_time
        self._sleep = sleep or anyio.sleep
        self._tokens = self.capacity
        self._last: float | None = None
        self._blocked_until = 0.0
        self._lock = anyio.Lock()

    def _refill(self, now: float) -> None:
        if self._last is None:
            self._last = now
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def try_acquire(self, cost: float = 1.0) -> bool:
        now = self._clock()
        if now < self._blocked_until:
            return False
        self._refill(now)
        if self._tokens >= min(cost, self.capacity) - _EPSILON:
            self._tokens -= cost
            return True
        return False

    async def acquire(self, cost: float = 1.0) -> None:
        # fast path: a token is there and nobody queues for one; no lock, no yield to the event loop
        if not self._lock.locked() and self.try_acquire(cost):
            return
        async with self._lock:
            while True:
                now = self._clock()
                if now < self._blocked_until:
                    await self._sleep(self._blocked_until - now)
                    continue
                self._refill(now)
                need = min(cost, self.capacity)
                if self._tokens >= need - _EPSILON:
                    self._tokens -= cost
                    return
                await self._sleep((need - self._tokens) / self.rate)

    def penalise(self, seconds: float) -> None:
        self._blocked_until = max(self._blocked_until, self._clock() + seconds)
        self._tokens = 0.0


def backoff_delays(
    base: float = 0.2, factor: float = 2.0, cap: float = 10.0, rng: random.Random | None = None
) -> Callable[[int], float]:
    """Exponential backoff with full jitter: attempt n waits uniform(0, min(cap, base × factor^n))."""
    generator = rng or random.Random()

    def delay(attempt: int) -> float:
        return generator.uniform(0.0, min(cap, base * factor**attempt))

    return delay
