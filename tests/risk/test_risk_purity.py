"""opensqt.risk stays pure: it imports only the standard library's value modules, opensqt.model and
opensqt.trading.logic (DESIGN.md layer table), never I/O, clocks or frameworks."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "__future__",
    "bisect",
    "collections",
    "collections.abc",
    "dataclasses",
    "decimal",
    "enum",
    "typing",
    "opensqt.model",
    "opensqt.trading.logic",
}
# The risk package may import itself.
OWN = "opensqt.risk"


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.lineno, "." if node.level else node.module or ""))
    return found


def _offenders(paths: list[Path]) -> list[str]:
    return [
        f"{path.name}:{line} imports {name}"
        for path in paths
        for line, name in _imports(path)
        if name not in ALLOWED and not name.startswith(OWN)
    ]


def test_risk_imports_only_model_trading_logic_and_value_modules() -> None:
    paths = sorted((ROOT / "opensqt" / "risk").rglob("*.py"))
    assert len(paths) >= 7
    assert _offenders(paths) == []


def test_the_check_catches_an_offender(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom opensqt.exchanges import base\nfrom . import x\nimport decimal\n")
    assert _offenders([bad]) == [
        "bad.py:1 imports time",
        "bad.py:2 imports opensqt.exchanges",
        "bad.py:3 imports .",
    ]


def test_no_float_literals_in_risk() -> None:
    floats = [
        f"{path.name}:{node.lineno}"
        for path in sorted((ROOT / "opensqt" / "risk").rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and isinstance(node.value, float)
    ]
    assert floats == []
