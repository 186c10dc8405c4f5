"""The example configs: the three programs' files are valid, the broken one prints exact lines and exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from opensqt.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"


def _clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if not k.startswith("OPENSQT_") and not k.endswith("_API_KEY")
    }


@pytest.mark.parametrize("name", ["market_maker", "arbitrage_bot", "live_server"])
def test_example_configs_are_valid(name: str) -> None:
    settings = load_settings(CONFIGS / f"{name}.yaml", {}, {})
    assert settings.app.bot_name


def test_arbitrage_example_is_an_arbitrage_bot() -> None:
    s = load_settings(
        CONFIGS / "arbitrage_bot.yaml", {}, {"BINANCE_API_KEY": "k-1111", "BINANCE_API_SECRET": "s-2222"}
    )
    assert s.app.strategy == "arbitrage"
    assert s.exchanges["binance_spot"].kind == "binance_spot"
    assert s.exchanges["binance"].api_key is not None


def test_broken_example_prints_every_mistake_and_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "market_maker", "config", "check", "configs/broken.example.yaml"],
        cwd=ROOT,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "config error: exchanges.binance.api_secret = ***: expected a secret string (or empty to leave "
        "unset)",
        "config error: exchanges.binance.maker_fee = 0.5: expected a decimal number from -0.01 to 0.01 "
        "(or empty to leave unset)",
        "config error: trading.symbol = BTCUSDT: expected a ccxt unified symbol such as BTC/USDT:USDT "
        "(perpetual) or BTC/USDT (spot)",
        "config error: trading.order_amount = -30: expected a decimal number > 0",
        "config error: trading.buy_window = 500: expected an integer from 1 to 200",
        "config error: trading.grid_mode = sideways: expected one of long, short, neutral",
        "config error: trading.post_only_fallback = taker: expected one of limit, pause",
        "config error: trading.sell_windw = 10: unknown key; did you mean trading.sell_window?",
        "config error: risk_control.interval = 7m: expected one of 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, "
        "12h, 1d",
        "config error: risk_control.volume_multiplier = 0.5: expected a decimal number > 1 and <= 100",
        "config error: api.listen = 0.0.0.0:50052: expected a loopback address unless tls_cert_file and "
        "api_keys_file are set",
        "config error: logging.level = LOUD: expected one of TRACE, DEBUG, INFO, SUCCESS, WARNING, ERROR, "
        "CRITICAL",
    ]
    assert "12345678" not in result.stderr
