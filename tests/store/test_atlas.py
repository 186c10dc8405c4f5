"""atlas.sum hashing and statement splitting agree with Atlas byte for byte."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from opensqt.store.atlas import (
    MigrationFile,
    hash_files,
    parse_sum,
    read_files,
    render_sum,
    split_statements,
    verify_directory,
)
from opensqt.store.errors import ChecksumError
from opensqt.store.migrate import DEFAULT_MIGRATIONS_DIR

# The example directory and atlas.sum published in Atlas's announcement of its migration engine
# (atlasgo.io/blog/2022/09/05/announcing-migration-execution), produced by the Atlas CLI itself.
ATLAS_EXAMPLE = {
    "1_initial.sql": (
        '-- add new schema named "my_schema"\nCREATE DATABASE `my_schema`;\n-- create "tbl" table\n'
        "CREATE TABLE `my_schema`.`tbl` (`col` int NOT NULL);"
    ),
    "2_second.sql": "ALTER TABLE `my_schema`.`tbl` ADD `col_2` TEXT;",
    "3_third.sql": "CREATE TABLE `tbl_2` (`col` int NOT NULL);",
}
ATLAS_EXAMPLE_SUM = (
    "h1:cD9kOv5VDRLrKVZ0pM4CxAlhH6mgE8PQLpUeuIMKDcs=\n"
    "1_initial.sql h1:SrFyOe0eg5WnE96GH3TtAt6046sfrOK4YKZYBlYr1SA=\n"
    "2_second.sql h1:FPzwV+MzwyCss7SASZtyafXiYc9Un5bzlcc3u7MxLJU=\n"
    "3_third.sql h1:uD+xDcA3Q+gHqwca2ZBDAHWYvC2eiUcwr1IgMsN0Q6c=\n"
)


def _example_files() -> list[MigrationFile]:
    return [MigrationFile(name, body.encode()) for name, body in ATLAS_EXAMPLE.items()]


def test_sum_matches_the_atlas_cli_output_exactly() -> None:
    assert render_sum(_example_files()) == ATLAS_EXAMPLE_SUM


def test_per_file_hash_is_a_running_hash_so_an_earlier_edit_changes_every_later_line() -> None:
    files = _example_files()
    edited = [MigrationFile(files[0].name, files[0].content + b"\n"), *files[1:]]
    before, after = dict(hash_files(files)), dict(hash_files(edited))
    assert [before[n] != after[n] for n in ATLAS_EXAMPLE] == [True, True, True]


def test_a_file_with_the_sum_ignore_directive_feeds_only_its_name() -> None:
    files = [*_example_files()[:2], MigrationFile("2a_skip.sql", b"-- atlas:sum ignore\nSELECT 1;")]
    files.sort(key=lambda f: f.name)
    assert [n for n, _ in hash_files(files)] == ["1_initial.sql", "2_second.sql"]


def test_version_and_description_split_like_atlas() -> None:
    f = MigrationFile("20261130000001_init_tables.sql", b"")
    g = MigrationFile("7.sql", b"")
    assert (f.version, f.description, g.version, g.description) == ("20261130000001", "init_tables", "7", "")


def test_the_repository_sum_file_is_current() -> None:
    files = verify_directory(DEFAULT_MIGRATIONS_DIR)
    assert [f.name for f in files] == ["20261130000001_init.sql"]
    assert (DEFAULT_MIGRATIONS_DIR / "atlas.sum").read_text() == render_sum(files)


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, target)
    return target


def test_an_edited_migration_fails_the_sum_check_naming_the_file(migrations_copy: Path) -> None:
    path = migrations_copy / "20261130000001_init.sql"
    path.write_bytes(path.read_bytes().replace(b'"strategy" text NOT NULL', b'"strategy" text NULL'))
    with pytest.raises(ChecksumError, match=r"20261130000001_init\.sql: checksum mismatch with atlas\.sum"):
        verify_directory(migrations_copy)


def test_an_added_or_removed_migration_fails_the_sum_check(migrations_copy: Path) -> None:
    (migrations_copy / "20261130000002_more.sql").write_text("CREATE TABLE x (a text);\n")
    with pytest.raises(ChecksumError, match=r"20261130000002_more\.sql: not listed in atlas\.sum"):
        verify_directory(migrations_copy)
    (migrations_copy / "20261130000002_more.sql").unlink()
    (migrations_copy / "20261130000001_init.sql").unlink()
    with pytest.raises(ChecksumError, match=r"20261130000001_init\.sql: listed in atlas\.sum but missing"):
        verify_directory(migrations_copy)


def test_a_tampered_sum_file_or_a_missing_one_is_refused(migrations_copy: Path) -> None:
    sum_path = migrations_copy / "atlas.sum"
    lines = sum_path.read_text().splitlines(keepends=True)
    sum_path.write_text(lines[0] + lines[1].replace("h1:", "h1:A", 1))
    with pytest.raises(ChecksumError, match="first line does not match"):
        parse_sum(sum_path.read_text())
    sum_path.write_text("not a sum\n")
    with pytest.raises(ChecksumError, match=r"line 1: expected 'h1:<sum>'"):
        verify_directory(migrations_copy)
    sum_path.unlink()
    with pytest.raises(ChecksumError, match=r"atlas\.sum: missing"):
        verify_directory(migrations_copy)


def test_read_files_sorts_by_name_and_skips_other_files(tmp_path: Path) -> None:
    for name in ["2_b.sql", "10_c.sql", "1_a.sql", "README.md"]:
        (tmp_path / name).write_text("SELECT 1;")
    assert [f.name for f in read_files(tmp_path)] == ["10_c.sql", "1_a.sql", "2_b.sql"]


def test_split_statements_like_atlas_lexer() -> None:
    sql = (
        "-- leading comment\n\nCREATE TABLE a (x int, y text DEFAULT 'a;b');\n"
        "/* block */ CREATE INDEX i ON a (x); # hash comment\n"
        'INSERT INTO a VALUES (1, "q;\\"x");\n'
        "CREATE TABLE b (\n  -- inside a statement comments stay\n  z int\n);\nSELECT 1"
    )
    assert split_statements(sql) == [
        "CREATE TABLE a (x int, y text DEFAULT 'a;b');",
        "CREATE INDEX i ON a (x);",
        'INSERT INTO a VALUES (1, "q;\\"x");',
        "CREATE TABLE b (\n  -- inside a statement comments stay\n  z int\n);",
        "SELECT 1",
    ]


def test_split_statements_rejects_broken_sql() -> None:
    with pytest.raises(ValueError, match="unclosed quote"):
        split_statements("SELECT 'x;")
    with pytest.raises(ValueError, match="unclosed parentheses"):
        split_statements("CREATE TABLE a (x int;")
    with pytest.raises(ValueError, match="delimiter directive"):
        split_statements("-- atlas:delimiter //\nSELECT 1//")


def test_the_init_migration_has_one_statement_per_table_and_index() -> None:
    stmts = read_files(DEFAULT_MIGRATIONS_DIR)[0].statements()
    kinds = [" ".join(s.split()[:2]) for s in stmts]
    assert (kinds.count("CREATE TABLE"), kinds.count("CREATE INDEX"), kinds.count("CREATE UNIQUE")) == (
        10,
        7,
        1,
    )
