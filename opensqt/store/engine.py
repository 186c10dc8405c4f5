"""Database engines for the store: SQLite in WAL mode (embedded default) or PostgreSQL by URL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from opensqt.store.errors import StoreError

#: How long a SQLite connection waits for another writer before failing with "database is locked".
DEFAULT_BUSY_TIMEOUT_MS = 5_000


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL; plain `postgres://`/`postgresql://` mean psycopg 3, the driver we ship."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise StoreError(
            f"database url: expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB, got {redact(url)!r}"
        ) from None
    if parsed.drivername in {"postgres", "postgresql"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername == "sqlite+aiosqlite":
        # The store is synchronous (the writer runs commits in a worker thread): use the stdlib driver.
        parsed = parsed.set(drivername="sqlite")
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise StoreError(
            f"database url: expected a sqlite or postgresql url, got backend {parsed.get_backend_name()!r}"
        )
    return parsed


def redact(url: str | URL) -> str:
    """The URL with its password masked, for logs and errors (secrets never appear in either)."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        return "<unparseable url>"
    return parsed.render_as_string(hide_password=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def create_store_engine(
    url: str | URL,
    *,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    pragmas: Mapping[str, str | int] | None = None,
) -> Engine:
    """An engine configured for the store.

    SQLite: WAL journal, `synchronous=NORMAL`, foreign keys on, a busy timeout, and explicit `BEGIN` so
    DDL and DML share real transactions (pysqlite would otherwise autocommit DDL). `pragmas` adds
    per-connection pragmas (tests use `max_page_count` to simulate a full disk).
    PostgreSQL: psycopg 3, READ COMMITTED, pre-ping so a restarted server is noticed.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        # No server-side prepared statements: after psycopg's default 5 executions PostgreSQL would switch
        # the idempotency lookups to a generic plan that scans the whole (growing) table.
        return create_engine(
            parsed, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"prepare_threshold": None}
        )
    database = parsed.database or ""
    if database in {"", ":memory:"}:
        raise StoreError("database url: an in-memory SQLite store cannot be shared; give a file path")
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        parsed, connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
    )
    extra = dict(pragmas or {})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; SQLAlchemy's "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cursor.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode syncs at checkpoints, not on every commit: a process crash loses
            # nothing committed; a power loss may lose the last few commits (docs/STORAGE.md).
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            for name, value in extra.items():
                if not name.isidentifier():
                    raise StoreError(f"sqlite pragma: expected an identifier, got {name!r}")
                cursor.execute(f"PRAGMA {name} = {int(value) if isinstance(value, int) else repr(value)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers ask for IMMEDIATE so the write lock is taken up front (no deadlock on lock upgrade).
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine
