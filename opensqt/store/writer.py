"""`StoreWriter`: the single writer task that takes persistence off the trading hot path.

Producers `await submit(...)` into a bounded queue (full queue = backpressure, nothing is ever dropped);
the writer commits what is queued in batches (many updates, one transaction, one fsync). `flush()`
returns once everything submitted before it is committed. On a failed commit (disk full, database
locked, constraint broken) the writer stops: it reports the error once through `on_failure` so the
engine pauses trading, refuses further submissions, and never acknowledges a write it did not commit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
from anyio.abc import TaskStatus
from loguru import logger
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from opensqt.store.errors import StoreWriteError
from opensqt.store.records import AuditRecord, OrderUpdateWrite
from opensqt.store.rows import audit_to_row
from opensqt.store.store import Store
from opensqt.store.tables import audit_log
from opensqt.store.updates import apply_order_updates, insert_ignore

#: A write that is not an order update: a function run inside the batch's transaction.
WriteFn = Callable[[Connection], None]


@dataclass(frozen=True, slots=True)
class WriterStats:
    submitted: int
    committed: int
    batches: int
    last_commit_ms: float
    failed: bool


class StoreWriter:
    """One writer per store. Run it in a task group: `await tg.start(writer.run)`."""

    def __init__(
        self,
        store: Store,
        *,
        max_queue: int = 10_000,
        max_batch: int = 1_000,
        on_failure: Callable[[StoreWriteError], None] | None = None,
    ) -> None:
        if max_queue < 1 or max_batch < 1:
            raise ValueError("StoreWriter: max_queue and max_batch must be >= 1")
        self._store = store
        self._max_batch = max_batch
        self._on_failure = on_failure
        self._send, self._receive = anyio.create_memory_object_stream[tuple[int, Any]](max_queue)
        self._submitted = 0
        self._committed = 0
        self._batches = 0
        self._last_commit_ms = 0.0
        self._error: StoreWriteError | None = None
        self._closed = False
        self._progress = anyio.Event()
        self.commit_latencies_ms: list[float] = []

    # --- producer side ------------------------------------------------------------------------------

    @property
    def error(self) -> StoreWriteError | None:
        """The failure that stopped the writer, or None while healthy. Trading must pause when set."""
        return self._error

    @property
    def committed(self) -> int:
        """Sequence number of the last write known to be committed (writes are numbered from 1)."""
        return self._committed

    def stats(self) -> WriterStats:
        return WriterStats(
            self._submitted, self._committed, self._batches, self._last_commit_ms, self._error is not None
        )

    async def submit(self, item: OrderUpdateWrite | AuditRecord | WriteFn) -> int:
        """Queue a write, waiting while the queue is full; returns its sequence number (`wait_committed`)."""
        if self._error is not None:
            raise self._error
        if self._closed:
            raise StoreWriteError("store writer is closed: no further writes are accepted")
        self._submitted += 1
        seq = self._submitted
        try:
            await self._send.send((seq, item))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            # The writer failed while we waited for room in the queue: this write was never taken.
            raise self._error or StoreWriteError("store writer stopped: write not accepted") from None
        return seq

    async def wait_committed(self, seq: int) -> None:
        """Return once write `seq` is committed; raise StoreWriteError if the writer failed first."""
        while self._committed < seq:
            if self._error is not None:
                raise self._error
            event = self._progress
            await event.wait()
        # Committed before any failure: acknowledged.

    async def flush(self) -> None:
        """Return once every write submitted so far is committed (raise StoreWriteError if not)."""
        await self.wait_committed(self._submitted)

    async def aclose(self) -> None:
        """Stop accepting writes; the writer commits what is queued, then `run` returns."""
        self._closed = True
        await self._send.aclose()

    # --- the writer task ----------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Commit batches until the queue is closed (clean stop) or a commit fails (writer stops)."""
        task_status.started()
        async with self._receive:
            while True:
                try:
                    first = await self._receive.receive()
                except anyio.EndOfStream:
                    return
                batch = [first]
                while len(batch) < self._max_batch:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                try:
                    await anyio.to_thread.run_sync(self._commit, [item for _, item in batch])
                except StoreWriteError as exc:
                    self._fail(exc)
                    return
                self._committed = batch[-1][0]
                self._wake()

    def _commit(self, items: Sequence[Any]) -> None:
        """One transaction for the whole batch (runs in a worker thread: commits block on fsync)."""
        started = time.perf_counter()
        updates = [i for i in items if isinstance(i, OrderUpdateWrite)]
        audits = [audit_to_row(i) for i in items if isinstance(i, AuditRecord)]
        others = [i for i in items if callable(i)]
        try:
            with self._store.write() as conn:
                # Order updates keep their relative order; other writes touch other tables.
                apply_order_updates(conn, updates)
                insert_ignore(conn, audit_log, audits)
                for fn in others:
                    fn(conn)
        except (SQLAlchemyError, OSError, ValueError) as exc:
            reason = (
                str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
            )
            raise StoreWriteError(
                f"store write failed on {self._store.url}: {reason}; {len(items)} queued write(s) were not "
                "committed and the writer stopped: pause trading, fix the cause (disk space, lock holder), "
                "then restart and reconcile"
            ) from exc
        elapsed = (time.perf_counter() - started) * 1000
        self._last_commit_ms = elapsed
        self._batches += 1
        self.commit_latencies_ms.append(elapsed)
        if len(self.commit_latencies_ms) > 100_000:
            del self.commit_latencies_ms[:50_000]

    def _fail(self, exc: StoreWriteError) -> None:
        self._error = exc
        logger.error("{}", exc)
        # Producers blocked on a full queue are released with the error instead of waiting forever.
        self._send.close()
        self._wake()
        if self._on_failure is not None:
            try:
                self._on_failure(exc)
            except Exception:  # the callback must not hide the original failure
                logger.exception("StoreWriter on_failure callback raised")

    def _wake(self) -> None:
        self._progress.set()
        self._progress = anyio.Event()


def p99(values: Sequence[float]) -> float:
    """The 99th percentile (nearest rank) of `values`; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
