"""`market_maker preflight` on the simulated venue: all clear exits 0; each failing check alone gives its own
line and exit 1. Balance and net profit go through the real command line; leverage over the maximum, hedge
mode and missing fees need a venue that answers so (the sim account cannot be configured that way)."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from market_maker.__main__ import main as market_maker
from market_maker.preflight_cmd import preflight

from opensqt.cli import Io
from opensqt.config import load_settings
from opensqt.engines.grid_runtime import build_venue
from opensqt.exchanges.errors import ExchangeError


def _cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], *sets: str) -> tuple[int, list[str]]:
    argv = ["preflight", "--set", f"app.data_dir={tmp_path}", "--log-level", "ERROR", "--timeout", "20"]
    for s in sets:
        argv += ["--set", s]
    code = market_maker(argv, Io({}, io.StringIO(), io.StringIO()))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("preflight:")]
    return code, lines


def test_all_checks_pass_on_the_default_sim_venue(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(tmp_path, capsys) == (0, ["preflight: all checks passed on sim for BTC/USDT:USDT"])


def test_low_balance_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _cli(tmp_path, capsys, "exchanges.sim.sim.initial_balance=100")
    assert (code, lines) == (
        1,
        [
            "preflight: sim: balance 100 USDT × leverage 1 = 100 covers 1 positions of 100 USDT; "
            "need 100 (10000 USDT)"
        ],
    )


def test_interval_too_small_for_the_fees_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _cli(tmp_path, capsys, "trading.price_interval=0.5")
    assert code == 1 and len(lines) == 1
    assert lines[0].startswith("preflight: sim: net profit per round trip -")
    assert lines[0].endswith("vs 2 × maker fee 0.0002 = 0.0004")


async def _with_venue(tmp_path: Path, patch: dict[str, Any], **sets: Any) -> tuple[int, list[str]]:
    settings = load_settings(None, {"app.data_dir": str(tmp_path), **sets}, {})
    venue = build_venue(settings, speed=None, data_file=None)
    for name, fn in patch.items():
        setattr(venue.exchange, name, fn)
    out = io.StringIO()
    code = await preflight(settings, timeout=20, out=out, venue=venue)
    return code, out.getvalue().splitlines()


async def test_leverage_over_the_maximum_alone(tmp_path: Path) -> None:
    async def fetch_leverage(symbol: str) -> int:
        return 20  # the account runs at 20x whatever we asked

    code, lines = await _with_venue(tmp_path, {"fetch_leverage": fetch_leverage})
    assert (code, lines) == (1, ["preflight: sim: leverage 20x outside 1..10x allowed"])


async def test_hedge_mode_alone(tmp_path: Path) -> None:
    async def fetch_position_mode() -> bool:
        return True

    code, lines = await _with_venue(tmp_path, {"fetch_position_mode": fetch_position_mode})
    assert (code, lines) == (
        1,
        [
            "preflight: sim: the account is in hedge (dual-side) position mode; "
            "switch it to one-way mode before starting the grid"
        ],
    )


async def test_fees_not_fetched_alone(tmp_path: Path) -> None:
    async def fetch_trading_fees(symbol: str) -> tuple[Decimal, Decimal]:
        raise ExchangeError("fees endpoint unavailable")

    code, lines = await _with_venue(tmp_path, {"fetch_trading_fees": fetch_trading_fees})
    assert (code, lines) == (1, ["preflight: sim: maker and taker fee rate not fetched"])
