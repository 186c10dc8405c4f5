"""Per-API-key token buckets: each key may make `rate` calls per second with bursts up to `burst`."""

from __future__ import annotations

import time
from collections.abc import Callable

from opensqt.runtime.limits import TokenBucket


class KeyRateLimiter:
    """`allow(key_id)` spends one token of that key's bucket, or answers False when it is empty."""

    def __init__(
        self, rate_per_s: float, burst: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_limit_per_key: expected > 0 requests per second, got {rate_per_s}")
        if burst is not None and burst < 1:
            raise ValueError(f"rate limit burst: expected >= 1, got {burst}")
        self.rate_per_s = rate_per_s
        self.burst = burst if burst is not None else max(1, round(rate_per_s))
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def allow(self, key_id: str) -> bool:
        bucket = self._buckets.get(key_id)
        if bucket is None:
            bucket = TokenBucket(self.rate_per_s, float(self.burst), clock=self._clock)
            self._buckets[key_id] = bucket
        return bucket.try_acquire()
