"""`settle()`: let every runnable task run until the event loop has nothing ready, without sleeping.

anyio's `wait_all_tasks_blocked` polls with 0.1 s sleeps on asyncio, which caps a replay at a few rows per
second. In-process replays (no sockets) only need the ready queue drained: that is quick and deterministic.

The waiting side checks the ready queue from a plain loop callback, not from a task of its own: a task step
per loop iteration (the settling player's) would sit between every two steps of the tasks it waits for.
"""

from __future__ import annotations

import asyncio

import anyio.lowlevel


async def settle(max_rounds: int = 10_000) -> None:
    """Return once no other task is ready to run (or after `max_rounds` loop iterations, against a busy
    loop)."""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:  # another event loop implementation: fall back to anyio's polling
        await anyio.wait_all_tasks_blocked()
        return
    await anyio.lowlevel.checkpoint()
    if not ready:
        return
    idle: asyncio.Future[None] = loop.create_future()
    rounds = 0

    def check() -> None:
        # `ready` holds what is still to run in this iteration and what was scheduled for the next one
        nonlocal rounds
        if idle.done():
            return  # the waiter was cancelled
        if ready and rounds < max_rounds:
            rounds += 1
            loop.call_soon(check)
        else:
            idle.set_result(None)

    loop.call_soon(check)
    await idle
