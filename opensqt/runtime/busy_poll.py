"""An event loop that polls its sockets instead of sleeping (`concurrency.busy_poll`).

A trading process that sleeps in `epoll_wait` between messages pays twice when the next one lands: the kernel
must wake it (on a VM, the host must first run the halted vCPU again), and it then runs its path on caches
and predictors that the idle time let go cold. Measured on the 2-vCPU VM of docs/PERFORMANCE.md, parsing
one order push takes ~30 us back to back and ~280 us after 50 ms asleep. Polling without sleeping keeps
the CPU running our code. It costs that whole CPU: pin the process to a CPU of its own
(`concurrency.cpu_affinity`), or the spinning loop takes time from whatever shares it.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from typing import Any


class BusyPollSelector(selectors.DefaultSelector):
    """The platform's default selector, asked with a zero timeout until something is ready or the timeout
    the event loop wanted has passed."""

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        deadline = None if timeout is None else time.monotonic() + timeout
        poll = super().select
        while True:
            ready = poll(0)
            if ready or (deadline is not None and time.monotonic() >= deadline):
                return ready


def busy_poll_loop() -> asyncio.AbstractEventLoop:
    """A new asyncio event loop on `BusyPollSelector`."""
    return asyncio.SelectorEventLoop(BusyPollSelector())


def loop_options(busy_poll: bool) -> dict[str, Any]:
    """`anyio.run`'s backend options for the configured event loop: the default one, or the polling one."""
    return {"loop_factory": busy_poll_loop} if busy_poll else {}
