"""Our token bucket in place of ccxt's own request throttler, one per client.

ccxt's throttler is a leaky bucket of capacity 1: every REST call waits for a queue task to wake it, and two
calls in a row are spaced `rateLimit` ms apart even when the account has budget left (at 100 requests/s a
fill's follow-up order queued behind two cancels waited ~30 ms). A token bucket with a one-second burst keeps
the same average rate, costs no task hop while tokens remain, and can be held back when the venue answers 429.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from opensqt.runtime.limits import TokenBucket


def install_token_bucket(
    client: Any,
    burst_seconds: float = 1.0,
    *,
    clock: Callable[[], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> TokenBucket | None:
    """Make `client` (a ccxt exchange) throttle REST calls through a new `TokenBucket`; return it.

    The rate is ccxt's own (`rateLimit` ms per unit of endpoint cost, so heavy endpoints still cost more);
    the burst is `burst_seconds` worth of requests. A client with no limit configured (`rateLimit` <= 0 or
    `enableRateLimit` off) is left unthrottled and gets None. `clock` and `sleep` are for tests.
    """
    if not getattr(client, "enableRateLimit", False):
        return None
    per_unit_ms = float(getattr(client, "rateLimit", 0) or 0)
    if per_unit_ms <= 0:
        client.enableRateLimit = False  # no limit asked for: skip the throttler's queue hop too
        return None
    rate = 1000.0 / per_unit_ms
    bucket = TokenBucket(rate, capacity=max(1.0, rate * burst_seconds), clock=clock, sleep=sleep)

    async def throttle(cost: Any = None) -> None:
        await bucket.acquire(float(cost) if cost is not None else 1.0)

    client.throttle = throttle  # ccxt's fetch2 awaits `self.throttle(cost)` before every REST request
    return bucket
