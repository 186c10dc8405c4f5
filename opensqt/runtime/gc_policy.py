"""Garbage collection off the trading path.

CPython's collector runs whenever allocations pass a threshold, that is in the middle of whatever allocates:
on a fill's way to its closing order, a collection of the older generations stalls that order for
milliseconds. A trading process instead freezes its start-up objects (they live for the whole run), turns
automatic collection off and collects on its own timer: the young generations every `every_seconds`, all of
them every `full_every` ticks. Reference cycles still go; they just go at a moment of our choosing.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable


async def collect_on_a_timer(
    sleep: Callable[[float], Awaitable[None]], every_seconds: float = 1.0, full_every: int = 60
) -> None:
    """Run forever (a task of the program's task group); automatic collection is restored on exit."""
    if every_seconds <= 0 or full_every < 1:
        raise ValueError(
            f"gc policy: every_seconds must be > 0 and full_every >= 1, got {every_seconds}, {full_every}"
        )
    gc.freeze()
    was_enabled = gc.isenabled()
    gc.disable()
    ticks = 0
    try:
        while True:
            await sleep(every_seconds)
            ticks += 1
            gc.collect(2 if ticks % full_every == 0 else 1)
    finally:
        if was_enabled:
            gc.enable()
