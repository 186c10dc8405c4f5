"""`market_maker ctl` against a served FakeEngine: each command's output and exit code."""

from __future__ import annotations

import argparse
import importlib.util
from decimal import Decimal
from pathlib import Path
from types import ModuleType, SimpleNamespace

import anyio
import pytest

from opensqt.model import Position, Slot, SlotStatus
from tests.api.harness import Api

ROOT = Path(__file__).resolve().parents[2]


def _ctl() -> ModuleType:
    # cmd/ is not a package (it would shadow the stdlib `cmd`); load the module from its file.
    spec = importlib.util.spec_from_file_location("ctl_cmd", ROOT / "cmd" / "market_maker" / "ctl_cmd.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def _run(api: Api, *argv: str, key_file: Path | None = None) -> int:
    ctl = _ctl()
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    extra = ["--key-file", str(key_file)] if key_file else []
    args = parser.parse_args(["--target", api.server.target, *extra, *argv])
    settings = SimpleNamespace(
        app=SimpleNamespace(data_dir=api.data_dir), api=SimpleNamespace(listen="x:1", tls_cert_file=None)
    )
    return int(await anyio.to_thread.run_sync(ctl.main, args, settings))


async def test_ctl_commands(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    api.engine.publish_slots(
        [Slot(price=Decimal("27000"), slot_status=SlotStatus.LOCKED)],
        centre_price=Decimal("27010"),
        last_price=Decimal("27012.5"),
    )
    api.engine.publish_positions(
        [Position(symbol="BTCUSDT", size=Decimal("0.002"), entry_price=Decimal("27000"))]
    )
    assert await _run(api, "trip", "fat", "finger") == 0
    assert await _run(api, "status") == 0
    assert await _run(api, "reset", "--reason", "ok") == 0
    assert await _run(api, "reconcile") == 0
    assert await _run(api, "slots") == 0
    assert await _run(api, "positions") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "circuit breaker tripped"
    assert "breaker     OPEN (manual: fat finger, by local-control)" in out
    assert "circuit breaker reset" in out
    assert "reconciliation accepted run-1: reconciliation started" in out
    assert "BTCUSDT version 1  centre 27010  last 27012.5" in out
    assert out[-1] == "BTCUSDT        size 0.002  entry 27000  upnl 0  mark -"
    assert [c.method for c in api.engine.control_calls] == [
        "trip_breaker",
        "reset_breaker",
        "trigger_reconciliation",
    ]


async def test_ctl_with_a_read_only_key_is_refused(api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    code = await _run(api, "trip", "x", key_file=api.data_dir / "api" / "read_only.key")
    assert code == 1
    assert capsys.readouterr().err.strip() == (
        "ctl trip: PERMISSION_DENIED: key 'local-read' is read-only; this call needs a control key"
    )


async def test_ctl_without_a_key_says_where_it_looked(
    api: Api, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ctl = _ctl()
    parser = argparse.ArgumentParser()
    ctl.add_arguments(parser)
    args = parser.parse_args(["--data-dir", str(tmp_path / "empty"), "status"])
    assert await anyio.to_thread.run_sync(ctl.main, args, None) == 2
    assert "api key: none found" in capsys.readouterr().err
