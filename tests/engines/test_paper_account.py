"""The embedded simulated venue keeps its paper account across market_maker runs, as a venue would: a restart
finds the position the store holds (no divergence, no breaker), and every fill of every run is recorded once.
Real programs, real SQLite."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _config(path: Path, data: Path) -> None:
    config = {
        "app": {"bot_name": "paper", "data_dir": str(data)},
        "api": {"enabled": False},
        "risk_control": {"enabled": False},
        "timing": {"status_print_interval_seconds": 30},
    }
    path.write_text(json.dumps(config))


def _run(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "market_maker"), "run", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        check=False,
    )


def test_a_restart_finds_the_paper_position_and_every_fill_is_recorded_once(tmp_path: Path) -> None:
    config, data = tmp_path / "mm.yaml", tmp_path / "data"
    _config(config, data)
    account = data / "sim" / "sim.json"
    restarted_holding = 0
    for run in range(4):
        before = json.loads(account.read_text()) if account.exists() else None
        done = _run(config, "--duration", "7m", "--speed", "100")
        assert done.returncode == 0, done.stderr[-2000:]
        log = done.stdout + done.stderr
        assert "trip the circuit breaker" not in log and "paused" not in log, log[-3000:]
        if before is not None:
            size = before["positions"].get("BTC/USDT:USDT", {}).get("size", "0")
            assert f"positions BTC/USDT:USDT {size}" in log or size in ("0", "0.000"), log[:3000]
            assert "restored" in log
            restarted_holding += size not in ("0", "0.000")
        if run >= 1 and restarted_holding:
            break
    assert restarted_holding, "no run ended holding a position to restart with"
    saved = json.loads(account.read_text())
    with sqlite3.connect(data / "opensqt.sqlite") as db:
        fills, distinct = db.execute("select count(*), count(distinct trade_id) from fills").fetchone()
        rows = db.execute("select side, quantity from fills").fetchall()
    assert fills == distinct == saved["fill_count"] > 0  # every fill of every run, once
    position = sum((Decimal(q) if side == "buy" else -Decimal(q) for side, q in rows), Decimal(0))
    assert position == Decimal(saved["positions"]["BTC/USDT:USDT"]["size"])


def test_a_damaged_paper_account_is_one_clear_error_and_nothing_starts(tmp_path: Path) -> None:
    config, data = tmp_path / "mm.yaml", tmp_path / "data"
    _config(config, data)
    (data / "sim").mkdir(parents=True)
    (data / "sim" / "sim.json").write_text('{"version": 1, "venue": "sim", "wallet": {"USDT": "a lot"}}')
    done = _run(config, "--duration", "1m", "--speed", "100")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        f"market_maker: simulated account {data / 'sim' / 'sim.json'}: wallet.USDT: expected a decimal "
        "string, got 'a lot' (fix or delete the file; deleting it starts a new account)"
    )
    assert "Traceback" not in done.stderr
    assert not (data / "opensqt.sqlite").exists()  # refused before the store was opened
