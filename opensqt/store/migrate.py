"""The built-in migration runner: applies `migrations/` as `atlas migrate apply` does, where Atlas is absent.

It verifies `atlas.sum`, applies pending files in version order (each file in one transaction), and records
`atlas_schema_revisions` with Atlas's own columns, so the Atlas CLI can take over the same database.
`check_schema` is what programs call at start-up: it refuses a database that is behind or newer.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from loguru import logger
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError, SQLAlchemyError

import opensqt
from opensqt.store.atlas import MigrationFile, hash_files, verify_directory
from opensqt.store.engine import create_store_engine, is_sqlite, redact
from opensqt.store.errors import MigrationError, SchemaBehindError, SchemaNewerError, StoreError

#: The repository's migrations directory (an editable install or a source checkout).
DEFAULT_MIGRATIONS_DIR = Path(opensqt.__file__).resolve().parent.parent / "migrations"
REVISIONS_TABLE = "atlas_schema_revisions"
#: Atlas keeps revisions in their own schema when its URL is not bound to one (PostgreSQL).
PG_REVISIONS_SCHEMA = "atlas_schema_revisions"
#: migrate.RevisionTypeExecute in Atlas: the file's statements were executed.
REVISION_TYPE_EXECUTE = 2
OPERATOR_VERSION = f"opensqt-migrate v{getattr(opensqt, '__version__', '0.1.0')}"

_SQLITE_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{REVISIONS_TABLE}" ("version" text NOT NULL, "description" text NOT NULL, '
    '"type" integer NOT NULL DEFAULT 2, "applied" integer NOT NULL DEFAULT 0, '
    '"total" integer NOT NULL DEFAULT 0, "executed_at" datetime NOT NULL, "execution_time" integer NOT NULL, '
    '"error" text NULL, "error_stmt" text NULL, "hash" text NOT NULL, "partial_hashes" json NULL, '
    '"operator_version" text NOT NULL, PRIMARY KEY ("version"))'
)
_PG_DDL = (
    f'CREATE TABLE IF NOT EXISTS "{PG_REVISIONS_SCHEMA}"."{REVISIONS_TABLE}" ('
    '"version" character varying NOT NULL, "description" character varying NOT NULL, '
    '"type" bigint NOT NULL DEFAULT 2, "applied" bigint NOT NULL DEFAULT 0, '
    '"total" bigint NOT NULL DEFAULT 0, '
    '"executed_at" timestamptz NOT NULL, "execution_time" bigint NOT NULL, "error" text NULL, '
    '"error_stmt" text NULL, "hash" character varying NOT NULL, "partial_hashes" jsonb NULL, '
    '"operator_version" character varying NOT NULL, PRIMARY KEY ("version"))'
)


@dataclass(frozen=True, slots=True)
class Revision:
    """One row of `atlas_schema_revisions` (execution_time in nanoseconds, as Go's time.Duration)."""

    version: str
    description: str
    type: int
    applied: int
    total: int
    executed_at: str
    execution_time: int
    error: str | None
    error_stmt: str | None
    hash: str
    partial_hashes: tuple[str, ...] | None
    operator_version: str

    @property
    def complete(self) -> bool:
        return self.applied == self.total and not self.error


@dataclass(frozen=True, slots=True)
class MigrationStatus:
    """Where a database stands against the migration directory."""

    applied: tuple[Revision, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]
    latest_file: str | None

    @property
    def current(self) -> str | None:
        done = [r.version for r in self.applied if r.complete]
        return max(done) if done else None

    @property
    def state(self) -> str:
        if self.unknown:
            return "NEWER"
        if any(not r.complete for r in self.applied):
            return "PARTIAL"
        return "PENDING" if self.pending else "OK"


def _table_ref(conn: Connection) -> str:
    if conn.dialect.name == "sqlite":
        return f'"{REVISIONS_TABLE}"'
    return f'"{PG_REVISIONS_SCHEMA}"."{REVISIONS_TABLE}"'


def _revisions_exist(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        q = text("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = :n")
        return bool(conn.execute(q, {"n": REVISIONS_TABLE}).scalar_one())
    q = text("SELECT count(*) FROM information_schema.tables WHERE table_schema = :s AND table_name = :n")
    return bool(conn.execute(q, {"s": PG_REVISIONS_SCHEMA, "n": REVISIONS_TABLE}).scalar_one())


def _read_revisions(conn: Connection) -> list[Revision]:
    if not _revisions_exist(conn):
        return []
    rows = conn.execute(
        text(
            "SELECT version, description, type, applied, total, executed_at, execution_time, error, "
            f"error_stmt, hash, partial_hashes, operator_version FROM {_table_ref(conn)} ORDER BY version"
        )
    ).all()
    out = []
    for r in rows:
        partial = r.partial_hashes
        if isinstance(partial, str):
            partial = json.loads(partial)
        out.append(
            Revision(
                version=r.version,
                description=r.description,
                type=int(r.type),
                applied=int(r.applied),
                total=int(r.total),
                executed_at=str(r.executed_at),
                execution_time=int(r.execution_time),
                error=r.error,
                error_stmt=r.error_stmt,
                hash=r.hash,
                partial_hashes=tuple(partial) if partial is not None else None,
                operator_version=r.operator_version,
            )
        )
    # Atlas's own bookkeeping rows (e.g. `.atlas_cloud_identifier`) are not migrations.
    return [r for r in out if not r.version.startswith(".")]


def _write_revision(conn: Connection, rev: Revision) -> None:
    params = {
        "version": rev.version,
        "description": rev.description,
        "type": rev.type,
        "applied": rev.applied,
        "total": rev.total,
        "executed_at": rev.executed_at,
        "execution_time": rev.execution_time,
        "error": rev.error,
        "error_stmt": rev.error_stmt,
        "hash": rev.hash,
        "partial_hashes": None if rev.partial_hashes is None else json.dumps(list(rev.partial_hashes)),
        "operator_version": rev.operator_version,
    }
    cast = "CAST(:partial_hashes AS jsonb)" if conn.dialect.name == "postgresql" else ":partial_hashes"
    when = "CAST(:executed_at AS timestamptz)" if conn.dialect.name == "postgresql" else ":executed_at"
    conn.execute(text(f"DELETE FROM {_table_ref(conn)} WHERE version = :version"), {"version": rev.version})
    conn.execute(
        text(
            f"INSERT INTO {_table_ref(conn)} (version, description, type, applied, total, executed_at, "
            "execution_time, error, error_stmt, hash, partial_hashes, operator_version) VALUES (:version, "
            f":description, :type, :applied, :total, {when}, :execution_time, :error, :error_stmt, :hash, "
            f"{cast}, :operator_version)"
        ),
        params,
    )


def _ensure_revisions_table(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{PG_REVISIONS_SCHEMA}"')
            conn.exec_driver_sql(_PG_DDL)
        else:
            conn.exec_driver_sql(_SQLITE_DDL)


def _now_text() -> str:
    # mattn/go-sqlite3 (Atlas's driver) parses this layout back into a time.Time.
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f+00:00")


def _status(conn: Connection, files: list[MigrationFile]) -> MigrationStatus:
    revs = _read_revisions(conn)
    versions = {f.version for f in files}
    done = {r.version for r in revs if r.complete}
    latest = max(versions) if versions else None
    unknown = tuple(r.version for r in revs if r.version not in versions)
    pending = tuple(f.name for f in files if f.version not in done)
    return MigrationStatus(applied=tuple(revs), pending=pending, unknown=unknown, latest_file=latest)


def _engine_for(url_or_engine: str | URL | Engine) -> tuple[Engine, bool]:
    if isinstance(url_or_engine, Engine):
        return url_or_engine, False
    return create_store_engine(url_or_engine), True


def status(url_or_engine: str | URL | Engine, directory: Path | None = None) -> MigrationStatus:
    """Applied revisions, pending files and unknown (newer) versions of a database."""
    files = verify_directory(directory or DEFAULT_MIGRATIONS_DIR)
    engine, owned = _engine_for(url_or_engine)
    try:
        with engine.connect() as conn:
            result = _status(conn, files)
            conn.rollback()
            return result
    except OperationalError as exc:
        raise _unreachable(engine, exc) from None
    finally:
        if owned:
            engine.dispose()


def migrate(url_or_engine: str | URL | Engine, directory: Path | None = None) -> list[str]:
    """Apply every pending migration file; return the versions applied (empty when up to date).

    Refuses (SchemaNewerError) a database that holds a version this directory does not know, and
    (ChecksumError) a directory whose files do not match `atlas.sum`.
    """
    directory = directory or DEFAULT_MIGRATIONS_DIR
    files = verify_directory(directory)
    hashes = dict(hash_files(files))
    engine, owned = _engine_for(url_or_engine)
    where = redact(engine.url)
    try:
        _ensure_revisions_table(engine)
        with engine.connect() as conn:
            st = _status(conn, files)
            conn.rollback()
        if st.unknown:
            raise SchemaNewerError(
                f"database {where} has migration version(s) {', '.join(st.unknown)} that {directory} "
                f"does not contain (latest here: {st.latest_file}): it was migrated by a newer OpenSQT; "
                "upgrade this program instead of migrating"
            )
        by_version = {r.version: r for r in st.applied}
        applied: list[str] = []
        for f in files:
            prior = by_version.get(f.version)
            if prior is not None and prior.complete:
                continue
            if f.name not in hashes:
                continue  # `atlas:sum ignore` files are not executed by Atlas either
            _apply_file(engine, f, hashes[f.name], where)
            applied.append(f.version)
        return applied
    except OperationalError as exc:
        raise _unreachable(engine, exc) from None
    finally:
        if owned:
            engine.dispose()


def _unreachable(engine: Engine, exc: OperationalError) -> StoreError:
    reason = str(exc.orig if exc.orig is not None else exc).strip().splitlines()[0]
    return StoreError(f"database {redact(engine.url)}: cannot read or write the schema: {reason}")


def _apply_file(engine: Engine, f: MigrationFile, file_hash: str, where: str) -> None:
    """Run one file in one transaction; on failure roll back and record the error like Atlas does."""
    stmts = f.statements()
    started = time.perf_counter_ns()
    current = ""
    logger.info("migrate {}: applying {} ({} statements)", where, f.name, len(stmts))
    try:
        with engine.connect() as conn:
            if is_sqlite(engine):
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                for stmt in stmts:
                    current = stmt
                    conn.exec_driver_sql(stmt)
                _write_revision(
                    conn,
                    Revision(
                        version=f.version,
                        description=f.description,
                        type=REVISION_TYPE_EXECUTE,
                        applied=len(stmts),
                        total=len(stmts),
                        executed_at=_now_text(),
                        execution_time=time.perf_counter_ns() - started,
                        error=None,
                        error_stmt=None,
                        hash=file_hash,
                        partial_hashes=None,
                        operator_version=OPERATOR_VERSION,
                    ),
                )
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        # The file's transaction rolled back, so nothing of it applied (applied=0): Atlas resumes from there.
        with engine.begin() as conn:
            _write_revision(
                conn,
                Revision(
                    version=f.version,
                    description=f.description,
                    type=REVISION_TYPE_EXECUTE,
                    applied=0,
                    total=len(stmts),
                    executed_at=_now_text(),
                    execution_time=time.perf_counter_ns() - started,
                    error=reason,
                    error_stmt=current,
                    hash=file_hash,
                    partial_hashes=(),
                    operator_version=OPERATOR_VERSION,
                ),
            )
        raise MigrationError(
            f"migration {f.name} failed on {where} and was rolled back: {reason} "
            f"(statement: {current[:200]!r})"
        ) from None


def check_schema(url_or_engine: str | URL | Engine, directory: Path | None = None) -> MigrationStatus:
    """Refuse to run on a database that is behind (or ahead of) this program's migrations.

    Raises SchemaBehindError naming `market_maker db migrate --url ...`, or SchemaNewerError.
    """
    directory = directory or DEFAULT_MIGRATIONS_DIR
    engine, owned = _engine_for(url_or_engine)
    where = redact(engine.url)
    try:
        st = status(engine, directory)
    finally:
        if owned:
            engine.dispose()
    command = f"market_maker db migrate --url '{where}'"
    if st.unknown:
        raise SchemaNewerError(
            f"database {where} is at schema version {max(st.unknown)}, newer than this program's latest "
            f"{st.latest_file}: "
            "it was migrated by a newer OpenSQT; run that version (never downgrade the schema)"
        )
    broken = [r for r in st.applied if not r.complete]
    if broken:
        r = broken[0]
        raise SchemaBehindError(
            f"database {where}: migration {r.version}_{r.description} is incomplete ({r.applied}/{r.total} "
            f"statements, error: {r.error or 'none'}); fix the cause and run `{command}`"
        )
    if st.pending:
        raise SchemaBehindError(
            f"database {where} is behind: schema {st.current or 'empty'}, this program needs "
            f"{st.latest_file} ({len(st.pending)} pending migration(s): {', '.join(st.pending)}); "
            f"run `{command}` first"
        )
    return st
