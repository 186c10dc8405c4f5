"""`settle()`: let every runnable task run until the event loop has nothing ready, without sleeping.

anyio's `wait_all_tasks_blocked` polls with 0.1 s sleeps on asyncio, which caps a replay at a few rows per
second. In-process replays (no sockets) only need the ready queue drained: that is quick and deterministic.
"""

from __future__ import annotations

import asyncio

import anyio.lowlevel


async def settle(max_rounds: int = 10_000) -> None:
    """Yield until no other task is ready to run (or `max_rounds` yields, against a busy loop)."""
    loop = asyncio.get_running_loop()
    ready = getattr(loop, "_ready", None)
    if ready is None:  # another event loop implementation: fall back to anyio's polling
        await anyio.wait_all_tasks_blocked()
        return
    await anyio.lowlevel.checkpoint()
    rounds = 0
    while ready and rounds < max_rounds:
        await anyio.lowlevel.checkpoint()
        rounds += 1
