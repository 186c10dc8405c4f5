"""Layout rules: pure layers import no I/O, clock or framework module; `cmd/` never shadows the stdlib."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = ["opensqt/model", "opensqt/trading/logic", "opensqt/trading/state", "opensqt/risk"]
FORBIDDEN = {
    "anyio", "asyncio", "ccxt", "grpc", "sqlalchemy", "time", "datetime", "aiohttp", "socket",
    "threading", "random", "loguru", "dbos", "requests", "httpx", "os", "subprocess",
}


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


@pytest.mark.parametrize("package", PURE)
def test_pure_layers_import_no_io_or_clock(package: str) -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, name in _imports(path)
        if name in FORBIDDEN
    ]
    assert offenders == []


def test_pure_layer_check_catches_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom anyio import sleep\n")
    assert [name for _, name in _imports(bad)] == ["time", "anyio"]


def test_pdb_still_imports_from_the_repository_root() -> None:
    # `cmd` is a stdlib module that pdb needs; a `cmd/__init__.py` here would shadow it.
    assert not (ROOT / "cmd" / "__init__.py").exists()
    result = subprocess.run(
        [sys.executable, "-c", "import pdb, cmd; print(cmd.Cmd.__name__)"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Cmd"
