"""An interval that is not a multiple of the instrument's tick puts every grid level at a price the venue
refuses: it is one clear error at start, at a reload (tests/engines/test_reload.py) and in a backtest, never
a crash inside the decision."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from opensqt.backtest import run_backtest
from opensqt.engines.grid_config import GridEngineConfig, tick_problem
from opensqt.exchanges.sim import BTC_USDT_PERP
from opensqt.testing.tapes import make_tape
from opensqt.trading.logic import GridParams

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
D = Decimal


def _config(interval: str) -> GridEngineConfig:
    return GridEngineConfig(BTC_USDT_PERP.symbol, GridParams(interval=D(interval), order_amount=D(300)))


@pytest.mark.parametrize(
    ("interval", "problem"),
    [
        ("10", None),
        ("0.1", None),
        ("12.3", None),
        (
            "10.05",
            "trading.price_interval: 10.05 is not a multiple of BTC/USDT:USDT's tick size 0.1 "
            "(nearest: 10.0 or 10.1)",
        ),
        (
            "0.05",
            "trading.price_interval: 0.05 is not a multiple of BTC/USDT:USDT's tick size 0.1 (nearest: 0.1)",
        ),
    ],
)
def test_the_problem_names_the_key_the_value_and_the_nearest_multiples(
    interval: str, problem: str | None
) -> None:
    assert BTC_USDT_PERP.tick_size == D("0.1")
    assert tick_problem(_config(interval), BTC_USDT_PERP) == problem


def test_a_backtest_refuses_it_before_replaying_anything() -> None:
    tape = make_tape([("trade", 1_000, "60000", "1", "buy"), ("trade", 2_000, "59900", "1", "sell")])
    with pytest.raises(ValueError, match=r"^backtest: trading.price_interval: 10.05 is not a multiple"):
        run_backtest(_config("10.05"), tape)


def test_market_maker_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "market_maker"),
            "--set",
            "trading.price_interval=10.05",
            "--set",
            f"app.data_dir={tmp_path}",
            "--set",
            "api.enabled=false",
            "--duration",
            "20",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.strip().splitlines()[-1] == (
        "market_maker: trading.price_interval: 10.05 is not a multiple of BTC/USDT:USDT's tick size 0.1 "
        "(nearest: 10.0 or 10.1)"
    )
    assert "Traceback" not in done.stderr
