"""`Workers`: a bounded pool of long-lived tasks, owned by a task group, that run submitted jobs in order.

Why: the engine hands every venue call to its own task so a slow request never blocks the order stream.
Starting an anyio task costs ~13 us (task, cancel scope, bookkeeping); waking a worker that already waits
costs a deque append and an event. On the tick-to-order path (a fill's closing order) that is most of the
engine's own share. Workers start lazily up to `limit`; when all are busy, jobs queue and the first worker
to finish takes the next one, so at most `limit` jobs run at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from anyio.abc import TaskGroup

Job = tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]]


class Workers:
    def __init__(self, task_group: TaskGroup, limit: int, name: str = "workers") -> None:
        if limit < 1:
            raise ValueError(f"{name}: limit must be >= 1, got {limit}")
        self._tg = task_group
        self.limit = limit
        self.name = name
        self._jobs: deque[Job] = deque()
        self._idle: list[anyio.Event] = []
        self.started = 0
        self.busy = 0

    @property
    def queued(self) -> int:
        return len(self._jobs)

    def submit(self, fn: Callable[..., Awaitable[Any]], *args: Any) -> None:
        """Run `fn(*args)` on a worker: an idle one is woken, else one is started (up to `limit`), else the
        job waits for the first worker to finish."""
        self._jobs.append((fn, args))
        if self._idle:
            self._idle.pop().set()
        elif self.started < self.limit:
            self.started += 1
            self._tg.start_soon(self._work, name=f"{self.name}-{self.started}")

    async def _work(self) -> None:
        jobs = self._jobs
        while True:
            while jobs:
                fn, args = jobs.popleft()
                self.busy += 1
                try:
                    await fn(*args)
                finally:
                    self.busy -= 1
            wake = anyio.Event()
            self._idle.append(wake)
            await wake.wait()
