"""docs/CONFIG.md is generated from the models and must be current; every key is described."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from opensqt.config import Settings
from opensqt.config.docs import render_config_docs
from opensqt.config.types import unwrap_optional

ROOT = Path(__file__).resolve().parents[2]


def _leaves(model: type[BaseModel], path: list[str]) -> list[tuple[str, FieldInfo]]:
    found: list[tuple[str, FieldInfo]] = []
    for name, info in model.model_fields.items():
        inner, _ = unwrap_optional(info.annotation)
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            found += _leaves(inner, [*path, name])
        elif name == "exchanges":
            found += _leaves(
                get_args(Settings.model_fields["exchanges"].annotation)[1], [*path, name, "<name>"]
            )
        else:
            found.append((".".join([*path, name]), info))
    return found


LEAVES = _leaves(Settings, [])


def test_config_docs_are_up_to_date() -> None:
    current = (ROOT / "docs" / "CONFIG.md").read_text(encoding="utf-8")
    assert current == render_config_docs(), "docs/CONFIG.md is stale: run scripts/gen_config_docs.py"


def test_every_key_has_a_description_and_a_row() -> None:
    text = render_config_docs()
    for path, info in LEAVES:
        assert info.description, path
        assert f"| `{path}` |" in text, path
    assert len(LEAVES) > 100


def test_rows_show_range_default_and_env() -> None:
    text = render_config_docs()
    assert (
        "| `trading.buy_window` | an integer from 1 to 200 | `10` | `OPENSQT_TRADING__BUY_WINDOW` | "
        "Number of buy levels below the centre. |" in text
    )
    assert "| `exchanges.<name>.api_key` | a secret string (or empty to leave unset) | empty | " in text


def test_check_mode_passes_on_the_committed_file() -> None:
    result = subprocess.run(
        [sys.executable, "scripts/gen_config_docs.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
