"""StoreWriter: batched commits, backpressure, flush, and a safe stop when a write fails (lock, full disk)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import pytest
from anyio import wait_all_tasks_blocked
from sqlalchemy import Connection, func, select, text

from opensqt.model import OrderStatus
from opensqt.store import AuditRecord, Store, StoreWriteError, StoreWriter, open_store
from opensqt.store import tables as t
from tests.store.conftest import VENUE, fresh_store, order_update, write_for


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _count(store: Store, table: object) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def _write(n: int) -> object:
    update = order_update(
        n, filled="0.010", status=OrderStatus.FILLED, trade=f"t{n}", price=f"{100 + n}.10", ts=n
    )
    return write_for(update, n)


@pytest.mark.anyio
async def test_queued_updates_commit_in_batches_and_flush_waits_for_them(store: Store) -> None:
    writer = StoreWriter(store, max_queue=5_000, max_batch=500)
    for n in range(1, 2_001):
        await writer.submit(_write(n))  # type: ignore[arg-type]
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await writer.flush()
        assert (writer.committed, writer.stats().batches) == (2_000, 4)
        await writer.aclose()
    assert [_count(store, tbl) for tbl in (t.orders, t.fills, t.slots, t.pnl_history)] == [2_000] * 4


@pytest.mark.anyio
async def test_a_full_queue_blocks_the_producer_instead_of_dropping(store: Store) -> None:
    writer = StoreWriter(store, max_queue=2, max_batch=10)
    await writer.submit(_write(1))  # type: ignore[arg-type]
    await writer.submit(_write(2))  # type: ignore[arg-type]
    accepted: list[int] = []

    async def third() -> None:
        accepted.append(await writer.submit(_write(3)))  # type: ignore[arg-type]

    async with anyio.create_task_group() as tg:
        tg.start_soon(third)
        await wait_all_tasks_blocked()
        assert accepted == []  # waiting for room, not dropped
        await tg.start(writer.run)
        await writer.flush()
        assert accepted == [3]
        await writer.aclose()
    assert _count(store, t.fills) == 3


@pytest.mark.anyio
async def test_audit_entries_and_custom_writes_share_the_batch(store: Store) -> None:
    writer = StoreWriter(store)

    def mark(conn: Connection) -> None:
        conn.execute(text("UPDATE bots SET config_hash = 'changed'"))

    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await writer.submit(AuditRecord("a1", 10, "operator", "config_change", "grid-1", "ok", {"k": "v"}))
        await writer.submit(mark)
        await writer.flush()
        await writer.aclose()
    assert [(a.id, a.details) for a in store.audit.list()] == [("a1", {"k": "v"})]
    assert store.bots.get("grid-1").config_hash == "changed"  # type: ignore[union-attr]
    with pytest.raises(StoreWriteError, match="store writer is closed"):
        await writer.submit(mark)


@pytest.mark.anyio
async def test_a_locked_database_stops_the_writer_and_signals_without_acknowledging(
    sqlite_url: str, tmp_path: Path
) -> None:
    fresh_store(sqlite_url).close()
    store = open_store(sqlite_url, busy_timeout_ms=50)
    failures: list[StoreWriteError] = []
    writer = StoreWriter(store, on_failure=failures.append)
    holder = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(writer.run)
            seq = await writer.submit(_write(1))  # type: ignore[arg-type]
            with pytest.raises(
                StoreWriteError,
                match=r"store write failed on sqlite:///.*: database is locked; "
                r"1 queued write\(s\) were not committed and the writer stopped: pause trading",
            ):
                await writer.wait_committed(seq)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert failures == [writer.error] and writer.committed == 0
    with pytest.raises(StoreWriteError, match="database is locked"):
        await writer.submit(_write(2))  # type: ignore[arg-type]
    assert store.orders.get(VENUE, "c1") is None
    store.close()


@pytest.mark.anyio
async def test_a_full_disk_stops_the_writer_and_keeps_every_acknowledged_write(sqlite_url: str) -> None:
    fresh_store(sqlite_url).close()
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as c:
        pages = c.execute("PRAGMA page_count").fetchone()[0]
    # A database that may grow by a few pages only: SQLite then fails with SQLITE_FULL, as on a full disk.
    store = open_store(sqlite_url, pragmas={"max_page_count": pages + 8})
    failures: list[StoreWriteError] = []
    writer = StoreWriter(store, max_queue=4, max_batch=50, on_failure=failures.append)
    acknowledged: list[int] = []
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        with pytest.raises(StoreWriteError, match="database or disk is full"):
            for n in range(1, 5_000):
                seq = await writer.submit(_write(n))  # type: ignore[arg-type]
                if n % 10 == 0:
                    await writer.flush()
                    acknowledged.append(seq)
    assert len(failures) == 1 and acknowledged
    store.close()
    check = fresh_connection(sqlite_url)
    stored = {r[0] for r in check.execute("SELECT client_order_id FROM orders")}
    check.close()
    assert {f"c{n}" for n in range(1, acknowledged[-1] + 1)} <= stored  # nothing acknowledged was lost
    assert len(stored) < 5_000


def fresh_connection(url: str) -> sqlite3.Connection:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    return conn
