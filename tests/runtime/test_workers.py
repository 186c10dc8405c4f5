"""Workers: jobs run in submission order on at most `limit` long-lived tasks, idle workers are reused, and
the pool ends with its task group."""

from __future__ import annotations

import anyio
import pytest

from opensqt.runtime.settle import settle
from opensqt.runtime.workers import Workers


async def test_jobs_run_in_order_and_idle_workers_are_reused() -> None:
    done: list[int] = []

    async def job(i: int) -> None:
        done.append(i)

    async with anyio.create_task_group() as tg:
        pool = Workers(tg, 4)
        for i in range(3):
            pool.submit(job, i)
            await settle()
        # each job found the first worker idle again: one task served all three
        assert (done, pool.started, pool.busy) == ([0, 1, 2], 1, 0)
        tg.cancel_scope.cancel()


async def test_at_most_limit_jobs_run_at_once_and_the_rest_queue() -> None:
    release = anyio.Event()
    running: list[int] = []
    finished: list[int] = []

    async def job(i: int) -> None:
        running.append(i)
        await release.wait()
        finished.append(i)

    async with anyio.create_task_group() as tg:
        pool = Workers(tg, 2)
        for i in range(5):
            pool.submit(job, i)
        await settle()
        assert (running, pool.started, pool.busy, pool.queued) == ([0, 1], 2, 2, 3)
        release.set()
        await settle()
        assert (sorted(finished), pool.started, pool.busy, pool.queued) == ([0, 1, 2, 3, 4], 2, 0, 0)
        tg.cancel_scope.cancel()


async def test_the_pool_ends_with_its_task_group() -> None:
    before = len(anyio.get_running_tasks())

    async def job() -> None:
        await anyio.sleep_forever()

    with anyio.move_on_after(5):
        async with anyio.create_task_group() as tg:
            pool = Workers(tg, 3)
            for _ in range(3):
                pool.submit(job)
            await settle()
            assert len(anyio.get_running_tasks()) == before + 3
            tg.cancel_scope.cancel()
    assert len(anyio.get_running_tasks()) == before


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="executor: limit must be >= 1, got 0"):
        Workers(None, 0, "executor")  # type: ignore[arg-type]
