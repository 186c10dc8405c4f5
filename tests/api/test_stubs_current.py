"""The committed stubs in opensqt/api/v1 equal what `just proto` generates from proto/ now."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_stubs_are_current(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_proto", ROOT / "scripts" / "gen_proto.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_proto"] = module
    spec.loader.exec_module(module)
    fresh = module.generate(tmp_path)
    names = sorted(p.name for p in fresh)
    committed = sorted(p.name for p in (ROOT / "opensqt" / "api" / "v1").glob("*_pb2*.py*"))
    assert names == committed
    stale = [
        p.name for p in fresh if p.read_bytes() != (ROOT / "opensqt" / "api" / "v1" / p.name).read_bytes()
    ]
    assert stale == [], "run `just proto` and commit the stubs"
