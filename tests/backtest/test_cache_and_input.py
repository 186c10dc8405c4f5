"""The parsed-data cache (hit, invalidation) and bad input: unknown symbol, gaps, malformed files."""

from __future__ import annotations

import os
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from opensqt.backtest import BacktestConfig, load_cached, run_backtest
from opensqt.data import DataError
from opensqt.data.files import guess_loader
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP
from opensqt.trading.logic import GridParams

BTC = BTC_USDT_PERP.symbol


def trades_csv(path: Path, rows: list[tuple[int, str]]) -> Path:
    t0 = 1_700_000_000_000
    lines = ["timestamp,price,quantity,side"] + [f"{t0 + ts},{px},0.010,buy" for ts, px in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def engine(interval: str = "1") -> GridEngineConfig:
    return GridEngineConfig(
        symbol=BTC, params=GridParams(interval=D(interval), order_amount=D(100), buy_window=2, sell_window=2)
    )


def test_cache_hit_gives_the_same_table_and_a_changed_source_is_parsed_again(tmp_path: Path) -> None:
    src = trades_csv(tmp_path / "t.csv", [(1_000, "100.0"), (2_000, "100.5"), (3_000, "99.5")])
    cache = tmp_path / "cache"
    first = load_cached(src, BTC_USDT_PERP, cache_dir=cache)
    assert len(list(cache.glob("*.rows.parquet"))) == 1
    again = load_cached(src, BTC_USDT_PERP, cache_dir=cache)
    for col in ("ts", "kind", "px", "qty", "side"):
        assert np.array_equal(getattr(first, col), getattr(again, col))
    assert again.symbols == (BTC,) and again.scales == first.scales
    trades_csv(src, [(1_000, "100.0"), (2_000, "101.0")])
    os.utime(src, ns=(1, 1))  # a different mtime (and size) names a different entry
    changed = load_cached(src, BTC_USDT_PERP, cache_dir=cache)
    assert changed.px.tolist() == [1000, 1010]
    assert len(list(cache.glob("*.rows.parquet"))) == 1  # the stale entry was dropped


def test_unknown_format_names_the_header(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("when,what\n1,2\n")
    with pytest.raises(DataError, match="line 1: field header"):
        guess_loader(bad)


def test_missing_column_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "t.csv"
    bad.write_text("timestamp,price,side\n1,100.0,buy\n")
    with pytest.raises(DataError, match="missing column\\(s\\) quantity"):
        load_cached(bad, BTC_USDT_PERP, cache_dir=tmp_path / "c")


def test_unsorted_trades_are_refused_with_the_line(tmp_path: Path) -> None:
    src = trades_csv(tmp_path / "t.csv", [(2_000, "100.0"), (1_000, "100.5")])
    with pytest.raises(DataError, match="line 3: field timestamp: time goes backwards"):
        load_cached(src, BTC_USDT_PERP, cache_dir=tmp_path / "c")


def test_symbol_not_in_the_data_is_refused(tmp_path: Path) -> None:
    data = load_cached(
        trades_csv(tmp_path / "t.csv", [(1_000, "100.0")]), ETH_USDT_PERP, cache_dir=tmp_path / "c"
    )
    with pytest.raises(DataError, match=r"'BTC/USDT:USDT' \(trading.symbol\) is not in the data"):
        run_backtest(BacktestConfig(engine()), data)


def test_gaps_are_a_warning_with_their_count(tmp_path: Path) -> None:
    rows = [(1_000, "100.0"), (2_000, "100.2"), (62_000, "100.1"), (63_000, "100.0"), (200_000, "99.0")]
    data = load_cached(trades_csv(tmp_path / "t.csv", rows), BTC_USDT_PERP, cache_dir=tmp_path / "c")
    result = run_backtest(BacktestConfig(engine()), data)
    assert any(w.startswith("2 gap(s) longer than 30 s") and "longest 137 s" in w for w in result.warnings)
    assert result.summary().warnings == len(result.warnings)


def test_a_tiny_market_gives_exact_fills_and_pnl(tmp_path: Path) -> None:
    # price 100.0 -> 98.4 (the 99 buy fills: 100 USDT / 99 = 1.010) -> 100.2 (its sell at 100 fills)
    rows = [(1_000, "100.0"), (2_000, "98.4"), (3_000, "100.2")]
    data = load_cached(trades_csv(tmp_path / "t.csv", rows), BTC_USDT_PERP, cache_dir=tmp_path / "c")
    result = run_backtest(BacktestConfig(engine()), data)
    fills = result.fills
    assert fills[["side", "price", "quantity"]].values.tolist() == [
        ["buy", D("99.0"), D("1.010")],
        ["sell", D("100.0"), D("1.010")],
    ]
    s = result.summary()
    assert s.round_trips == 1
    assert s.realized_pnl == D("1.01")  # (100 - 99) x 1.010
    assert s.fees == D("0.040198")  # 0.0002 x (99.99 + 101.00)
    assert s.net_pnl == D("0.969802")
    assert s.final_position == 0
    assert s.turnover == D("200.99")


def test_a_file_path_is_loaded_for_the_configured_instrument(tmp_path: Path) -> None:
    rows = [(1_000, "100.0"), (2_000, "98.4"), (3_000, "100.2")]
    src = trades_csv(tmp_path / "t.csv", rows)
    from_path = run_backtest(BacktestConfig(engine()), src)
    from_data = run_backtest(
        BacktestConfig(engine()), load_cached(src, BTC_USDT_PERP, cache_dir=tmp_path / "c")
    )
    assert from_path.record.fills == from_data.record.fills and len(from_path.record.fills) == 2
    with pytest.raises(DataError, match="no such file"):
        run_backtest(BacktestConfig(engine()), tmp_path / "missing.csv")
    odd = GridEngineConfig(symbol="NOPE/USDT:USDT", params=engine().params)
    with pytest.raises(DataError, match="'NOPE/USDT:USDT' is not a market of the simulated venue"):
        run_backtest(BacktestConfig(odd), src)
