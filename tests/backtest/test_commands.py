"""`market_maker backtest` and `market_maker download` (the latter against the loopback Binance server)."""

from __future__ import annotations

import argparse
import io
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from market_maker import backtest_cmd, download_cmd

from opensqt.config import load_settings
from opensqt.model import Kline
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from tests.conftest import SHARED_DATA

CAPTURE = SHARED_DATA / "binance-usdm" / "btcusdt_20240808.gz"
T0 = 1_700_006_400_000  # a UTC midnight


def run(module: Any, argv: list[str], settings: Any) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    return module.main(parser.parse_args(argv), settings, out, err), out.getvalue(), err.getvalue()


def test_backtest_prints_the_summary_and_writes_a_self_contained_report(tmp_path: Path) -> None:
    settings = load_settings(
        None,
        {
            "trading.price_interval": "10",
            "trading.order_amount": "300",
            "trading.buy_window": 5,
            "trading.sell_window": 5,
            "risk_control.enabled": False,
            "risk_control.circuit_breaker.enabled": False,
            "app.data_dir": str(tmp_path),
        },
        {},
    )
    code, out, err = run(backtest_cmd, ["--data", str(CAPTURE), "--report", str(tmp_path / "r")], settings)
    assert code == 0, err
    assert "fills             107" in out
    assert "net_pnl           -8.86423201" in out
    assert "100%" in err  # the progress bar
    page = (tmp_path / "r" / "report.html").read_text()
    assert "<svg" in page and "data:image/png;base64," in page
    assert 'src="http' not in page and "<script src" not in page  # nothing fetched from a CDN
    assert (tmp_path / "r" / "fills.csv").read_text().count("\n") == 108
    assert list((tmp_path / "cache").glob("*.rows.parquet"))  # parsed once, cached for the next run


def test_backtest_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    settings = load_settings(None, {"app.data_dir": str(tmp_path)}, {})
    code, _, err = run(backtest_cmd, ["--data", str(tmp_path / "none.csv")], settings)
    assert code == 2
    assert err.strip().endswith("none.csv: cannot read: No such file or directory")
    assert err.count("\n") == 1


class KlineVenue(MemoryVenue):
    """The loopback venue serving 3,000 one-minute candles (paged by `since`/`limit` like Binance)."""

    def __init__(self) -> None:
        super().__init__(default_instruments(1), balance=Decimal(1000))
        self.calls = 0

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[Kline]:
        self.calls += 1
        start = max(since or T0, T0)
        first = -(-(start - T0) // 60_000)
        out = []
        for i in range(first, min(3000, first + (limit or 500))):
            p = Decimal(60000 + i % 7)
            out.append(Kline(symbol, timeframe, T0 + i * 60_000, p, p + 1, p - 1, p, Decimal("1.5")))
        return out


async def test_download_pages_klines_and_reuses_cached_days(tmp_path: Path) -> None:
    venue = KlineVenue()
    async with loopback_binance(venue) as (server, _exchange):
        settings = SimpleNamespace(app=SimpleNamespace(data_dir=str(tmp_path)))
        argv = [
            "--exchange",
            "binance",
            "--symbol",
            "BTC/USDT:USDT",
            "--since",
            str(T0),
            "--until",
            str(T0 + 2 * 86_400_000),
            "--pause",
            "0",
            "--page",
            "1000",
            "--out",
            str(tmp_path / "m"),
            "--base-url",
            server.base_url,
        ]
        import anyio

        code, out, err = await anyio.to_thread.run_sync(lambda: run(download_cmd, argv, settings))
        assert code == 0, err
        assert "2,880 rows" in out  # two whole days of the 3,000 candles
        first_calls = venue.calls
        assert first_calls >= 3  # 1,440 candles a day in pages of 1,000
        csv = next((tmp_path / "m").rglob("klines-1m-*.csv")).read_text().splitlines()
        assert csv[0] == "timestamp,open,high,low,close,volume" and len(csv) == 2881
        code, out, _ = await anyio.to_thread.run_sync(lambda: run(download_cmd, argv, settings))
        assert code == 0 and "2 cached day(s) reused" in out
        assert venue.calls == first_calls
