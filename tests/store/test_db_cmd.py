"""`market_maker db migrate | status` (cmd/market_maker/db_cmd.py), standalone and through the CLI."""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from market_maker import db_cmd

from tests.conftest import ROOT


def _run(argv: list[str], settings: object = None) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    db_cmd.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = db_cmd.main(parser.parse_args(argv), settings, out, err)
    return code, out.getvalue(), err.getvalue()


def test_status_then_migrate_then_status(sqlite_url: str) -> None:
    code, out, _ = _run(["status", "--url", sqlite_url])
    assert code == 1
    assert "state:    PENDING (current none, latest 20261130000001)" in out
    assert "  pending 20261130000001_init.sql" in out
    assert _run(["migrate", "--url", sqlite_url])[:2] == (
        0,
        f"{sqlite_url}: applied 1 migration(s): 20261130000001\n",
    )
    assert _run(["migrate", "--url", sqlite_url])[:2] == (
        0,
        f"{sqlite_url}: schema is current, nothing to apply\n",
    )
    code, out, _ = _run(["status", "--url", sqlite_url])
    assert code == 0 and "state:    OK (current 20261130000001, latest 20261130000001)" in out


def test_the_url_comes_from_the_config_when_not_given(sqlite_url: str) -> None:
    settings = SimpleNamespace(app=SimpleNamespace(database_url=sqlite_url))
    assert _run(["migrate"], settings)[0] == 0
    assert _run(["migrate"], None) == (
        2,
        "",
        "market_maker db: no database: give --url or set app.database_url\n",
    )


def test_an_edited_migration_is_reported_in_one_line(sqlite_url: str, tmp_path: Path) -> None:
    d = tmp_path / "m"
    d.mkdir()
    (d / "1_a.sql").write_text("CREATE TABLE a (x text);")
    (d / "atlas.sum").write_text("h1:x\n1_a.sql h1:y\n")
    code, out, err = _run(["migrate", "--url", sqlite_url, "--dir", str(d)])
    assert (code, out) == (1, "")
    expected = "atlas.sum: its first line does not match its file lines: the sum file was edited"
    assert err == f"market_maker db migrate: {expected}\n"


def test_standalone_module_entry_point(sqlite_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "market_maker.db_cmd", "migrate", "--url", sqlite_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout) == (
        0,
        f"{sqlite_url}: applied 1 migration(s): 20261130000001\n",
    )
