"""Garbage collection off the trading path.

CPython's collector runs whenever allocations pass a threshold, that is in the middle of whatever allocates:
on a fill's way to its closing order, a collection of the older generations stalls that order for
milliseconds. A trading process instead turns automatic collection off and collects on its own timer.

What survives stays out of the way. A full collection walks every tracked object and empties the interpreter's
free lists; over a heap of thousands of remembered orders it also pushes the trading path's working set out
of the CPU caches, so the fill that comes next ran 2-3x slower (bench/bench_engine.py: every 60th fill, the
whole of the p99). So the policy keeps the walk small:

- every `every_seconds`: the young generations;
- every `full_every` ticks: the old generation, which then holds only what survived since the last one,
  and its survivors are frozen (`gc.freeze`) like the start-up objects, out of every later walk;
- every `complete_every` ticks: everything frozen is thawed and collected once, so a reference cycle among
  long-lived objects is reclaimed within that bound instead of never. Reference counting frees frozen
  objects as usual; only cycles among them wait for this.
"""

from __future__ import annotations

import gc
from collections.abc import Awaitable, Callable


async def collect_on_a_timer(
    sleep: Callable[[float], Awaitable[None]],
    every_seconds: float = 1.0,
    full_every: int = 60,
    complete_every: int = 3600,
) -> None:
    """Run forever (a task of the program's task group); on exit the frozen objects are thawed and
    automatic collection is restored (an embedding process, such as a notebook, gets its collector back)."""
    if every_seconds <= 0 or full_every < 1 or complete_every < full_every:
        raise ValueError(
            "gc policy: every_seconds must be > 0, full_every >= 1 and complete_every >= full_every, "
            f"got {every_seconds}, {full_every}, {complete_every}"
        )
    gc.freeze()
    was_enabled = gc.isenabled()
    gc.disable()
    ticks = 0
    try:
        while True:
            await sleep(every_seconds)
            ticks += 1
            if ticks % complete_every == 0:
                gc.unfreeze()
                gc.collect(2)
                gc.freeze()
            elif ticks % full_every == 0:
                gc.collect(2)
                gc.freeze()
            else:
                gc.collect(1)
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()
