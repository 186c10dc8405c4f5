"""TokenBucket: bursts up to capacity, then the configured rate; a cost above capacity cannot wait forever."""

from __future__ import annotations

import anyio

from opensqt.runtime.limits import TokenBucket
from tests.support.clocks import FakeTime


async def test_a_burst_passes_at_once_then_the_rate_holds() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=100, capacity=100, clock=t.clock, sleep=t.sleep)
    for _ in range(100):
        await bucket.acquire()
    assert t.sleeps == []  # the whole burst without waiting
    await bucket.acquire(4)  # an order (ccxt cost 4) on an empty bucket waits for 4 tokens at 100/s
    assert t.sleeps == [0.04]


async def test_a_cost_above_capacity_waits_for_a_full_bucket_and_leaves_debt() -> None:
    t = FakeTime()
    bucket = TokenBucket(rate=10, capacity=10, clock=t.clock, sleep=t.sleep)
    await bucket.acquire(40)  # full bucket: granted, 30 tokens in debt
    assert t.sleeps == []
    with anyio.fail_after(1):
        await bucket.acquire(1)  # the debt is repaid at the rate: (1 + 30) / 10 s
    assert t.sleeps == [3.1]
    t.sleeps.clear()
    t.now += 0.5  # half a second later: 5 tokens back
    await bucket.acquire(40)  # needs a full bucket again (10), waits for the other 5
    assert t.sleeps == [0.5]


def test_try_acquire_grants_a_heavy_cost_only_on_a_full_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=10, capacity=10, clock=lambda: now[0])
    assert bucket.try_acquire(40)
    now[0] = 3.0  # 30 tokens back: the debt is repaid, the bucket empty
    assert not bucket.try_acquire(1)
    now[0] = 4.0
    assert bucket.try_acquire(40)
