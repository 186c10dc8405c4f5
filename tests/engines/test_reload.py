"""Live config reload (issue 12): `market_maker ctl reload` (SIGHUP) applies safe keys to the running process,
refuses the rest key by key and keeps the running config, and audits every reload."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from opensqt.store import open_store

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _config(path: Path, data: Path, **trading: object) -> None:
    config = {
        "app": {"bot_name": "reload", "data_dir": str(data)},
        "trading": {"buy_window": 10, **trading},
        "api": {"enabled": False},
        "risk_control": {"enabled": False},
        "timing": {"status_print_interval_seconds": 1},
    }
    path.write_text(json.dumps(config))


def _wait(log: Path, text: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = log.read_text(errors="replace")
        if text in out:
            return out
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not seen in:\n{log.read_text(errors='replace')[-3000:]}")


def _ctl_reload(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "market_maker"), "ctl", "reload", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )


def test_reload_applies_safe_keys_and_refuses_the_rest(tmp_path: Path) -> None:
    config, data, log = tmp_path / "mm.yaml", tmp_path / "data", tmp_path / "mm.log"
    _config(config, data)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "market_maker"), "--config", str(config), "--speed", "10"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        _wait(log, "[trading]")
        _config(config, data, buy_window=5)
        done = _ctl_reload(config)
        assert done.returncode == 0, done.stderr
        out = _wait(log, "config reload: applied 1 change(s)")
        assert "trading.buy_window: 10 -> 5: applies live" in out
        _config(config, data, buy_window=5, symbol="ETH/USDT:USDT")
        assert _ctl_reload(config).returncode == 0
        out = _wait(log, "config reload refused")
        assert "trading.symbol: BTC/USDT:USDT -> ETH/USDT:USDT: refused" in out
        # a safe key with a value the running instrument cannot take: refused, the grid keeps trading
        _config(config, data, buy_window=5, price_interval="10.05")
        assert _ctl_reload(config).returncode == 0
        out = _wait(log, "reload refused: trading.price_interval: 10.05 is not a multiple")
        assert proc.poll() is None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0  # SIGTERM: cancel, flush, exit 0 within 10 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    store = open_store(f"sqlite:///{data / 'opensqt.sqlite'}")
    try:
        reloads = [r for r in store.audit.list() if r.action == "config_reload"]
    finally:
        store.close()
    assert [(r.who, r.details["message"].split(":")[0]) for r in reloads] == [
        ("operator", "applied"),
        ("operator", "refused"),
        ("operator", "refused"),
    ]
    # the pid file went with the process; a reload now says there is nothing to signal
    missing = _ctl_reload(config)
    assert missing.returncode == 1 and "no running market_maker" in missing.stderr
