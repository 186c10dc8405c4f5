"""Backtest benchmark: the plain long grid (interval 10, 300 USDT a level, windows 5/5, risk monitor on) over
the BTCUSDT capture x10, the FTX month of 1m bars, and a 64-set sweep on 2 processes; fast path beside the
event-by-event path.

Run: `.venv/bin/python bench/bench_backtest.py [--quick]` from the repository root (reads ../shared/data).
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
from decimal import Decimal as D
from pathlib import Path

from opensqt.backtest import BacktestConfig, load_cached, run_backtest, sweep
from opensqt.data import load_binance_capture, load_ohlcv_csv
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.exchanges.sim import BTC_USDT_PERP
from opensqt.risk import RiskMonitorConfig
from opensqt.trading.logic import GridParams

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
CAPTURE = SHARED / "binance-usdm" / "btcusdt_20240808.gz"
BARS = SHARED / "bars" / "btc-perp-20211231-20220201_1m.csv"
BTC = BTC_USDT_PERP.symbol
BARS_INST = dataclasses.replace(BTC_USDT_PERP, tick_size=D("0.125"))


def config(interval: D = D(10)) -> BacktestConfig:
    engine = GridEngineConfig(
        symbol=BTC,
        params=GridParams(interval=interval, order_amount=D(300), buy_window=5, sell_window=5),
        risk_monitor=RiskMonitorConfig(monitor_symbols=(BTC,), recovery_threshold=1),
    )
    return BacktestConfig(engine, initial_balance=D(100_000))


def best(fn, runs: int = 3) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    times, out = [], None
    for _ in range(runs):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def main() -> int:
    quick = "--quick" in sys.argv
    cache = Path(tempfile.mkdtemp(prefix="bt-cache-"))
    cfg = config()

    # capture x10: run only
    data = load_binance_capture(CAPTURE, BTC_USDT_PERP).repeat(10)
    elapsed, result = best(lambda: run_backtest(cfg, data))
    s = result.summary()  # type: ignore[attr-defined]
    print(
        f"capture x10 run-only (fast): {len(data):,} events ({data.n_trades:,} trades) in {elapsed:.3f} s = "
        f"{len(data) / elapsed:,.0f} events/s; {s.fills} fills, {s.orders_placed} orders, net {s.net_pnl}"
    )
    if not quick:
        t = time.perf_counter()
        ref = run_backtest(cfg, data, fast=False)
        el = time.perf_counter() - t
        same = ref.record.fills == result.record.fills and ref.summary() == s  # type: ignore[attr-defined]
        print(
            f"capture x10 run-only (every event): {el:.3f} s = {len(data) / el:,.0f} events/s; "
            f"identical fills and summary: {same}"
        )

    def whole(cached: bool) -> object:
        if cached:
            d = load_cached(CAPTURE, BTC_USDT_PERP, cache_dir=cache)
        else:
            d = load_binance_capture(CAPTURE, BTC_USDT_PERP)
        return run_backtest(cfg, d.repeat(10)).summary()

    t = time.perf_counter()
    whole(False)
    print(f"capture x10 whole backtest, cold (.gz parse + run + summary): {time.perf_counter() - t:.3f} s")
    load_cached(CAPTURE, BTC_USDT_PERP, cache_dir=cache)  # fill the cache
    elapsed, _ = best(lambda: whole(True))
    print(f"capture x10 whole backtest, parsed-data cache: {elapsed:.3f} s")

    def bars(cached: bool, fast: bool = True) -> object:
        if cached:
            d = load_cached(BARS, BARS_INST, cache_dir=cache, volume_in_quote=True)
        else:
            d = load_ohlcv_csv(BARS, BARS_INST, volume_in_quote=True)
        bcfg = dataclasses.replace(config(D(50)), instrument=BARS_INST)
        return run_backtest(bcfg, d, fast=fast)

    t = time.perf_counter()
    r = bars(False)
    bs = r.summary()  # type: ignore[attr-defined]
    print(
        f"bars month whole backtest, cold (CSV parse + run + summary): {time.perf_counter() - t:.3f} s; "
        f"{bs.rows:,} events, {bs.fills} fills, net {bs.net_pnl}, risk triggers {bs.risk_triggers}"
    )
    bars(True)
    elapsed, _ = best(lambda: bars(True).summary())  # type: ignore[attr-defined]
    print(f"bars month whole backtest, parsed-data cache: {elapsed:.3f} s")
    if not quick:
        t = time.perf_counter()
        ref = bars(True, fast=False)
        print(
            f"bars month every event: {time.perf_counter() - t:.3f} s; identical: "
            f"{ref.record.fills == r.record.fills}"
        )  # type: ignore[attr-defined]

    one = load_binance_capture(CAPTURE, BTC_USDT_PERP)
    grid = {
        "interval": [D(5), D(10), D(20), D(40)],
        "buy_window": [3, 5, 8, 12],
        "order_amount": [D(100), D(300), D(1000), D(3000)],
    }
    t = time.perf_counter()
    table = sweep(grid, one, cfg, processes=2, sort_by="net_pnl")
    print(
        f"sweep of {len(table)} sets over the capture on 2 processes: {time.perf_counter() - t:.3f} s wall; "
        f"best {dict(table.iloc[0][['interval', 'buy_window', 'order_amount', 'net_pnl']])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
