"""Loaders and the synthetic generator: exact rows, line/field-named errors, determinism, regimes."""

from __future__ import annotations

import dataclasses
import gzip
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from opensqt.data import (
    DataError,
    EventKind,
    SyntheticMarket,
    bar_path,
    load_binance_capture,
    load_binance_klines_csv,
    load_ohlcv_csv,
    load_trades,
    merge,
)
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP
from tests.conftest import SHARED_DATA

CAPTURE = SHARED_DATA / "binance-usdm" / "btcusdt_20240808.gz"
BARS = SHARED_DATA / "bars" / "btc-perp-20211231-20220201_1m.csv"
TRADE = ('{"stream":"btcusdt@trade","data":{"e":"trade","E":2,"T":2,"s":"BTCUSDT","t":1,"p":"61800.30",'
         '"q":"0.006","m":false}}')
BOOK = (
    '{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":1,"s":"BTCUSDT","b":"61800.20","B":"2.507",'
    '"a":"61800.30","A":"2.510","T":1,"E":1}}'
)


def write_gz(path: Path, lines: list[str]) -> Path:
    with gzip.open(path, "wt") as fh:
        fh.write("".join(f"{n} {line}\n" for n, line in enumerate(lines)))
    return path


def test_capture_loads_every_line_exactly() -> None:
    # speed is measured by bench/bench_sim.py, not asserted here (timed tests fail on busy machines)
    data = load_binance_capture(CAPTURE, BTC_USDT_PERP)
    assert len(data) == 93_954
    assert data.counts() == {"trade": 21_313, "book": 66_089, "depth": 6_551, "snapshot": 1}
    first_trade = int(np.flatnonzero(data.kind == EventKind.TRADE)[0])
    assert (data.ts[first_trade], data.px[first_trade], data.qty[first_trade], data.side[first_trade]) == (
        1723161256322,
        618003,
        6,
        1,
    )
    book = int(np.flatnonzero(data.kind == EventKind.BOOK)[0])
    assert [int(x) for x in (data.px[book], data.qty[book], data.px2[book], data.qty2[book])] == [
        618002,
        2507,
        618003,
        2510,
    ]
    assert np.all(np.diff(data.ts) >= 0)


def test_malformed_lines_name_line_and_field(tmp_path: Path) -> None:
    bad_price = TRADE.replace('"61800.30"', '"61800.35"')
    cases = [
        ([BOOK, TRADE[:40]], 2, "json"),
        ([BOOK, bad_price], 2, "data.p"),
        ([TRADE.replace('"BTCUSDT"', '"ETHUSDT"')], 1, "data.s"),
        ([BOOK, BOOK.replace('"2.507"', "2.507")], 2, "data.B"),
        ([TRADE.replace('"m":false', '"m":"no"')], 1, "data.m"),
    ]
    for lines, line, field in cases:
        path = write_gz(tmp_path / "c.gz", lines)
        with pytest.raises(DataError, match=rf"line {line}: field {field}") as info:
            load_binance_capture(path, BTC_USDT_PERP)
        assert (info.value.line, info.value.field) == (line, field)
    lenient = load_binance_capture(
        write_gz(tmp_path / "d.gz", [BOOK, bad_price, TRADE]), BTC_USDT_PERP, strict=False
    )
    assert (len(lenient), [e.line for e in lenient.errors]) == (2, [2])


def test_truncated_gzip_is_reported_with_the_line_reached(tmp_path: Path) -> None:
    whole = write_gz(tmp_path / "w.gz", [BOOK] * 2000).read_bytes()
    cut = tmp_path / "cut.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(DataError, match="truncated or corrupt gzip") as info:
        load_binance_capture(cut, BTC_USDT_PERP)
    assert info.value.field == "file" and info.value.line is not None and info.value.line > 1


def test_ohlcv_bars_replay_along_the_documented_intrabar_path(tmp_path: Path) -> None:
    csv = tmp_path / "bars.csv"
    csv.write_text(
        "timestamp,open,high,low,close,volume\n"
        "2022-01-01 00:00:00,100.0,110.0,95.0,105.0,1.002\n"
        "2022-01-01 00:01:00,105.0,106.0,90.0,91.0,0.004\n"
    )
    data = load_ohlcv_csv(csv, BTC_USDT_PERP)
    t0 = 1640995200000
    assert data.ts.tolist() == [
        t0,
        t0 + 20000,
        t0 + 40000,
        t0 + 59999,
        t0 + 60000,
        t0 + 80000,
        t0 + 100000,
        t0 + 119999,
    ]
    assert data.px.tolist() == [1000, 950, 1100, 1050, 1050, 1060, 900, 910]  # O L H C up, O H L C down
    assert data.qty.tolist() == [250, 250, 250, 252, 1, 1, 1, 1]
    assert data.side.tolist() == [1, -1, 1, -1, -1, 1, -1, 1]
    assert bar_path(10, 12, 8, 9) == (10, 12, 8, 9)


def test_real_bar_file_loads_with_a_fitting_tick_and_names_off_tick_lines() -> None:
    with pytest.raises(DataError, match="line 244: field open"):
        load_ohlcv_csv(BARS, BTC_USDT_PERP)
    ftx = dataclasses.replace(BTC_USDT_PERP, tick_size=D("0.125"))
    data = load_ohlcv_csv(BARS, ftx, volume_in_quote=True)
    assert len(data) == 45_031 * 4
    assert data.px[0] == 46319 * 8


def test_binance_kline_csv_and_trade_tapes(tmp_path: Path) -> None:
    klines = tmp_path / "k.csv"
    klines.write_text(
        "1700000000000,100.0,101.0,99.0,100.5,2.000,1700000059999,200,10,1,100,0\n"
        "1700000060000000,100.5,100.5,98.0,99.0,1.000,1700000119999999,99,5,0.5,50,0\n"
    )
    data = load_binance_klines_csv(klines, BTC_USDT_PERP)
    assert data.px.tolist() == [1000, 990, 1010, 1005, 1005, 1005, 980, 990]
    assert data.ts[4] == 1700000060000
    trades = tmp_path / "t.csv"
    trades.write_text("timestamp,price,quantity,side\n1,100.1,0.5,buy\n2,100.2,0.25,sell\n3,abc,1,buy\n")
    with pytest.raises(DataError, match="line 4: field price"):
        load_trades(trades, BTC_USDT_PERP)
    tape = load_trades(trades, BTC_USDT_PERP, strict=False)
    assert (tape.px.tolist(), tape.qty.tolist(), tape.side.tolist()) == ([1001, 1002], [500, 250], [1, -1])
    import pandas as pd

    parquet = tmp_path / "t.parquet"
    pd.DataFrame(
        {"timestamp": [1, 2], "price": ["100.1", "100.2"], "quantity": [0.5, 0.25], "side": ["buy", "sell"]}
    ).to_parquet(parquet)
    assert load_trades(parquet, BTC_USDT_PERP).px.tolist() == [1001, 1002]


def test_synthetic_market_is_seeded_and_crashes_with_a_volume_spike() -> None:
    market = SyntheticMarket([BTC_USDT_PERP, ETH_USDT_PERP], seed=5)
    a, b = market.generate(), SyntheticMarket([BTC_USDT_PERP, ETH_USDT_PERP], seed=5).generate()
    assert all(
        np.array_equal(getattr(a, c), getattr(b, c)) for c in ("ts", "kind", "sym", "px", "qty", "px2")
    )
    assert a.symbols == ("BTC/USDT:USDT", "ETH/USDT:USDT")
    assert set(a.counts()) == {"trade", "book", "funding"}
    start = int(a.ts[0])
    btc_trades = (a.kind == EventKind.TRADE) & (a.sym == 0)
    in_crash = (a.ts >= start + 20 * 60_000) & (a.ts < start + 23 * 60_000)
    in_range = a.ts < start + 10 * 60_000
    crash_vol = a.qty[btc_trades & in_crash].sum() / 3
    range_vol = a.qty[btc_trades & in_range].sum() / 10
    assert crash_vol > 5 * range_vol
    book = (a.kind == EventKind.BOOK) & (a.sym == 0)
    bids = a.px[book]
    ts = a.ts[book]
    before, after = bids[ts < start + 20 * 60_000][-1], bids[ts < start + 23 * 60_000][-1]
    assert after < before * 0.98


def test_merge_interleaves_instruments_by_time() -> None:
    one = SyntheticMarket([BTC_USDT_PERP], seed=1).generate()
    two = SyntheticMarket([ETH_USDT_PERP], seed=1).generate()
    merged = merge([one, two])
    assert len(merged) == len(one) + len(two)
    assert np.all(np.diff(merged.ts) >= 0)
    assert merged.symbols == (BTC_USDT_PERP.symbol, ETH_USDT_PERP.symbol)
