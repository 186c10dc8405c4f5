"""Channels: newest-wins mailboxes count what they drop; limiters wait exactly as configured."""

from __future__ import annotations

from typing import TypeVar

import anyio
import pytest

from opensqt.runtime.channels import Broadcast, LatestValue
from opensqt.runtime.limits import TokenBucket, backoff_delays

T = TypeVar("T")


async def _consume(box: LatestValue[T], got: list[T]) -> None:
    async for value in box:
        got.append(value)


async def test_latest_value_keeps_the_newest_and_counts_drops() -> None:
    box: LatestValue[int] = LatestValue()
    for i in range(5):
        box.send_nowait(i)
    assert await box.receive() == 4
    assert box.drops == 4
    box.send_nowait(9)
    assert await box.receive() == 9
    assert box.drops == 4


async def test_latest_value_wakes_a_waiting_consumer_and_ends_on_close() -> None:
    box: LatestValue[str] = LatestValue()
    got: list[str] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_consume, box, got)
        await anyio.sleep(0)
        box.send_nowait("a")
        await anyio.sleep(0)
        await anyio.sleep(0)
        box.send_nowait("b")
        await anyio.sleep(0)
        await anyio.sleep(0)
        box.close()
    assert got == ["a", "b"]


async def test_broadcast_fans_out_to_every_subscriber() -> None:
    hub: Broadcast[int] = Broadcast()
    a, b = hub.subscribe(), hub.subscribe()
    hub.publish(1)
    hub.publish(2)
    assert await a.receive() == 2 and await b.receive() == 2
    assert hub.drops == 2
    hub.unsubscribe(a)
    hub.publish(3)
    assert await b.receive() == 3
    with pytest.raises(anyio.EndOfStream):
        await a.receive()


def test_token_bucket_with_a_manual_clock() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2, capacity=2, clock=lambda: now[0])
    assert bucket.try_acquire() and bucket.try_acquire()
    assert not bucket.try_acquire()
    now[0] = 0.5
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    bucket.penalise(3.0)
    now[0] = 3.0
    assert not bucket.try_acquire()
    now[0] = 4.0
    assert bucket.try_acquire()
    with pytest.raises(ValueError, match="rate limit"):
        TokenBucket(rate=0)


def test_backoff_is_bounded_and_grows() -> None:
    import random

    delay = backoff_delays(base=0.1, factor=2, cap=1.0, rng=random.Random(1))
    values = [delay(n) for n in range(10)]
    assert all(0 <= v <= 1.0 for v in values)
    assert all(delay(0) <= 0.1 for _ in range(20))


async def test_a_value_marked_seen_wakes_nobody_and_the_next_one_does() -> None:
    box: LatestValue[int] = LatestValue()
    got: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(_consume, box, got)
        await anyio.sleep(0)
        box.send_nowait(1)
        box.seen()  # read by other means before the consumer ran
        for _ in range(3):
            await anyio.sleep(0)
        assert got == []
        box.send_nowait(2)
        for _ in range(3):
            await anyio.sleep(0)
        assert got == [2]
        box.send_nowait(3)
        box.send_nowait(4)  # one wake for both: the newest wins, one drop
        for _ in range(3):
            await anyio.sleep(0)
        box.close()
    assert got == [2, 4] and box.drops == 1


def test_a_value_sent_without_a_running_loop_is_received() -> None:
    async def make() -> LatestValue[int]:
        return LatestValue()

    box = anyio.run(make)
    box.send_nowait(7)  # no loop running: the wake cannot be deferred

    async def take() -> int:
        return await box.receive()

    assert anyio.run(take) == 7


async def test_redeliver_hands_the_current_value_over_once_more_without_a_drop() -> None:
    box: LatestValue[int] = LatestValue()
    got: list[int] = []
    box.redeliver()  # nothing sent yet: nothing to hand over
    async with anyio.create_task_group() as tg:
        tg.start_soon(_consume, box, got)
        for _ in range(3):
            await anyio.sleep(0)
        assert got == []
        box.send_nowait(5)
        box.seen()
        box.redeliver()  # seen by other means, then asked for again: delivered
        box.redeliver()  # already pending: still one delivery
        for _ in range(3):
            await anyio.sleep(0)
        assert got == [5]
        box.close()
        box.redeliver()  # closed: ignored
    assert got == [5] and box.drops == 0
