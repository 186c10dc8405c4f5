"""The built-in runner: applies pending files once, records Atlas's revisions, refuses behind/newer DBs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from opensqt.store import (
    ChecksumError,
    MigrationError,
    SchemaBehindError,
    SchemaNewerError,
    StoreError,
    check_schema,
    migrate,
    open_store,
    status,
)
from opensqt.store.atlas import parse_sum, read_files, render_sum
from opensqt.store.engine import create_store_engine
from opensqt.store.migrate import DEFAULT_MIGRATIONS_DIR

ATLAS_REVISION_COLUMNS = [
    "version",
    "description",
    "type",
    "applied",
    "total",
    "executed_at",
    "execution_time",
    "error",
    "error_stmt",
    "hash",
    "partial_hashes",
    "operator_version",
]


def _revisions(url: str) -> list[dict[str, object]]:
    engine = create_store_engine(url)
    table = (
        "atlas_schema_revisions"
        if url.startswith("sqlite")
        else "atlas_schema_revisions.atlas_schema_revisions"
    )
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(text(f"SELECT * FROM {table} ORDER BY version")).mappings()]
    finally:
        engine.dispose()


def _check_revisions(url: str) -> None:
    assert migrate(url) == ["20261130000001"]
    assert migrate(url) == []  # nothing pending the second time
    (rev,) = _revisions(url)
    assert list(rev) == ATLAS_REVISION_COLUMNS
    expected_hash = dict(parse_sum((DEFAULT_MIGRATIONS_DIR / "atlas.sum").read_text()))[
        "20261130000001_init.sql"
    ]
    n = len(read_files(DEFAULT_MIGRATIONS_DIR)[0].statements())
    assert (rev["version"], rev["description"], rev["type"], rev["applied"], rev["total"]) == (
        "20261130000001",
        "init",
        2,
        n,
        n,
    )
    assert (rev["error"], rev["error_stmt"], rev["partial_hashes"], rev["hash"]) == (
        None,
        None,
        None,
        expected_hash,
    )
    assert isinstance(rev["execution_time"], int) and rev["execution_time"] > 0
    assert str(rev["operator_version"]).startswith("opensqt-migrate v")
    st = check_schema(url)
    assert (st.state, st.current, st.pending) == ("OK", "20261130000001", ())


def test_sqlite_migrate_applies_once_and_records_atlas_revisions(sqlite_url: str) -> None:
    _check_revisions(sqlite_url)


@pytest.mark.real_part
def test_postgres_migrate_applies_once_and_records_atlas_revisions(postgres_url: str) -> None:
    _check_revisions(postgres_url)


def test_an_empty_database_is_behind_and_the_error_names_the_command(sqlite_url: str) -> None:
    with pytest.raises(SchemaBehindError) as info:
        open_store(sqlite_url)
    assert str(info.value).endswith(
        f"is behind: schema empty, this program needs 20261130000001 (1 pending migration(s): "
        f"20261130000001_init.sql); run `market_maker db migrate --url '{sqlite_url}'` first"
    )


def test_a_database_missing_a_newer_file_is_behind(sqlite_url: str, tmp_path: Path) -> None:
    migrate(sqlite_url)
    newer = tmp_path / "m"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, newer)
    (newer / "20261201000000_add_notes.sql").write_text(
        'CREATE TABLE "notes" ("id" text NOT NULL, PRIMARY KEY ("id"));'
    )
    (newer / "atlas.sum").write_text(render_sum(read_files(newer)))
    with pytest.raises(SchemaBehindError, match=r"schema 20261130000001, this program needs 20261201000000"):
        check_schema(sqlite_url, newer)
    assert migrate(sqlite_url, newer) == ["20261201000000"]
    assert check_schema(sqlite_url, newer).current == "20261201000000"


def test_a_database_from_a_newer_schema_is_refused_by_open_and_by_migrate(
    sqlite_url: str, tmp_path: Path
) -> None:
    newer = tmp_path / "m"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, newer)
    (newer / "20270101000000_future.sql").write_text('CREATE TABLE "future" ("id" text NOT NULL);')
    (newer / "atlas.sum").write_text(render_sum(read_files(newer)))
    assert migrate(sqlite_url, newer) == ["20261130000001", "20270101000000"]
    with pytest.raises(
        SchemaNewerError, match=r"schema version 20270101000000, newer than this program's latest"
    ):
        open_store(sqlite_url)
    with pytest.raises(SchemaNewerError, match=r"has migration version\(s\) 20270101000000"):
        migrate(sqlite_url)
    assert status(sqlite_url).state == "NEWER"


def test_an_edited_migration_is_refused_before_touching_the_database(sqlite_url: str, tmp_path: Path) -> None:
    edited = tmp_path / "m"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, edited)
    path = edited / "20261130000001_init.sql"
    path.write_text(path.read_text().replace('"fee" text NOT NULL', '"fee" real NOT NULL'))
    with pytest.raises(ChecksumError, match=r"20261130000001_init\.sql: checksum mismatch"):
        migrate(sqlite_url, edited)
    assert _table_names(sqlite_url) == []


def _table_names(url: str) -> list[str]:
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                ).scalars()
            )
    finally:
        engine.dispose()


def _failing_dir(tmp_path: Path) -> Path:
    d = tmp_path / "bad"
    d.mkdir()
    (d / "1_ok.sql").write_text('CREATE TABLE "a" ("x" text NOT NULL);\n')
    (d / "2_broken.sql").write_text('CREATE TABLE "b" ("x" text NOT NULL);\nINSERT INTO "nope" VALUES (1);\n')
    (d / "atlas.sum").write_text(render_sum(read_files(d)))
    return d


def _check_failure_rolls_back(url: str, tmp_path: Path) -> None:
    d = _failing_dir(tmp_path)
    with pytest.raises(MigrationError, match=r"migration 2_broken.sql failed on .* rolled back: .*nope"):
        migrate(url, d)
    revs = {r["version"]: r for r in _revisions(url)}
    assert (revs["1"]["applied"], revs["1"]["total"], revs["1"]["error"]) == (1, 1, None)
    assert (revs["2"]["applied"], revs["2"]["total"], revs["2"]["error_stmt"]) == (
        0,
        2,
        'INSERT INTO "nope" VALUES (1);',
    )
    assert "nope" in str(revs["2"]["error"])
    with pytest.raises(SchemaBehindError, match=r"migration 2_broken is incomplete \(0/2 statements"):
        check_schema(url, d)
    # The broken file's first statement was rolled back with it: table "b" does not exist.
    engine = create_store_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text('SELECT count(*) FROM "a"')).scalar_one()
            with pytest.raises(DBAPIError, match=r"no such table: b|relation \"b\" does not exist"):
                conn.execute(text('SELECT count(*) FROM "b"'))
    finally:
        engine.dispose()


def test_sqlite_a_failing_file_is_rolled_back_and_recorded_like_atlas(
    sqlite_url: str, tmp_path: Path
) -> None:
    _check_failure_rolls_back(sqlite_url, tmp_path)


@pytest.mark.real_part
def test_postgres_a_failing_file_is_rolled_back_and_recorded_like_atlas(
    postgres_url: str, tmp_path: Path
) -> None:
    _check_failure_rolls_back(postgres_url, tmp_path)


def test_passwords_never_appear_in_errors(tmp_path: Path) -> None:
    url = "postgresql://trader:s3cret-pw@127.0.0.1:1/opensqt"
    with pytest.raises(
        StoreError, match=r"database postgresql\+psycopg://trader:\*\*\*@127.0.0.1:1/opensqt: cannot"
    ) as info:
        check_schema(url)
    assert "s3cret-pw" not in str(info.value)
