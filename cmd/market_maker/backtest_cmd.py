"""`market_maker backtest --data FILE [--config FILE] [--report DIR]`: replay recorded data through the grid
(the config's trading section) on the simulated venue; a progress bar on stderr, the summary table on
stdout, and a report directory with the HTML page, the PNG plot and the tables as CSV."""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", required=True, metavar="FILE", help="capture .gz, OHLCV/kline/trade CSV or Parquet"
    )
    parser.add_argument("--report", metavar="DIR", help="write report.html, backtest.png and CSV tables here")
    parser.add_argument(
        "--loader", choices=("capture", "ohlcv", "klines", "trades"), help="data format (default: guessed)"
    )
    parser.add_argument(
        "--tick", metavar="PRICE", help="instrument tick for the data (e.g. 0.125 for FTX bars)"
    )
    parser.add_argument("--volume-in-quote", action="store_true", help="OHLCV volume is in quote currency")
    parser.add_argument(
        "--balance", metavar="AMOUNT", help="initial quote balance (default: the sim config's)"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="replay the data N times back to back"
    )
    parser.add_argument(
        "--cache-dir", metavar="DIR", help="parsed-data cache (default: <app.data_dir>/cache)"
    )
    parser.add_argument("--no-cache", action="store_true", help="parse the file, do not use the cache")
    parser.add_argument("--step", action="store_true", help="reference path: step every event (slow)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


class ProgressBar:
    """A one-line bar on stderr, redrawn only when the percentage changes."""

    def __init__(self, stream: TextIO, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.last = -1
        self.start = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        pct = 100 * done // max(1, total)
        if not self.enabled or pct == self.last:
            return
        self.last = pct
        bar = "#" * (pct // 4) + "." * (25 - pct // 4)
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r[{bar}] {pct:3d}% {done:,}/{total:,} events {elapsed:.1f}s")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()


def main(
    args: argparse.Namespace, settings: Any, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    from opensqt.backtest import BacktestConfig, as_backtest_config, load_cached, run_backtest
    from opensqt.data import DataError
    from opensqt.data.files import LOADERS, guess_loader
    from opensqt.exchanges.sim import DEFAULT_INSTRUMENTS

    try:
        config: BacktestConfig = as_backtest_config(settings)
        symbol = config.engine.symbol
        inst = DEFAULT_INSTRUMENTS.get(symbol)
        if inst is None:
            print(
                f"market_maker backtest: trading.symbol {symbol!r} is not a simulated market "
                f"(known: {', '.join(DEFAULT_INSTRUMENTS)})",
                file=err,
            )
            return EXIT_USAGE
        if args.tick:
            tick = Decimal(args.tick)
            if not tick.is_finite() or tick <= 0:
                raise ValueError(f"--tick: expected a price > 0, got {args.tick!r}")
            inst = dataclasses.replace(inst, tick_size=tick)
        if args.balance:
            balance = Decimal(args.balance)
            if not balance.is_finite() or balance <= 0:
                raise ValueError(f"--balance: expected an amount > 0, got {args.balance!r}")
            config = dataclasses.replace(config, initial_balance=balance)
        if args.repeat < 1:
            raise ValueError(f"--repeat: expected >= 1, got {args.repeat}")
        config = dataclasses.replace(config, instrument=inst)
        path = Path(args.data)
        loader = args.loader or guess_loader(path)
        kwargs = {"volume_in_quote": True} if args.volume_in_quote and loader == "ohlcv" else {}
        started = time.perf_counter()
        if args.no_cache:
            data = LOADERS[loader](path, inst, **kwargs)
        else:
            cache_dir = Path(args.cache_dir) if args.cache_dir else Path(settings.app.data_dir) / "cache"
            data = load_cached(path, inst, loader=loader, cache_dir=cache_dir, **kwargs)
        if args.repeat > 1:
            data = data.repeat(args.repeat)
        loaded = time.perf_counter() - started
        bar = ProgressBar(err, enabled=not args.no_progress)
        result = run_backtest(config, data, fast=not args.step, progress=bar)
        ran = time.perf_counter() - started - loaded
    except (DataError, ValueError, ArithmeticError) as exc:
        print(f"market_maker backtest: {exc}", file=err)
        return EXIT_USAGE
    summary = result.summary()
    for warning in result.warnings:
        print(f"warning: {warning}", file=err)
    print(summary.table(), file=out)
    print(
        f"{len(data):,} events: load {loaded:.2f} s, run {ran:.2f} s "
        f"({len(data) / max(ran, 1e-9):,.0f} events/s)",
        file=out,
    )
    if args.report:
        write_report(result, Path(args.report))
        print(f"report: {Path(args.report) / 'report.html'}", file=out)
    return EXIT_OK


def write_report(result: Any, directory: Path) -> None:
    """report.html (interactive plot, the PNG inline, summary, warnings), backtest.png, summary.json, CSVs."""
    directory.mkdir(parents=True, exist_ok=True)
    png = directory / "backtest.png"
    html = directory / "report.html"
    result.plot(str(png), html=str(html))
    image = base64.b64encode(png.read_bytes()).decode()
    page = html.read_text(encoding="utf-8")
    page = page.replace(
        "<h3>Summary</h3>",
        f'<img alt="backtest plot" src="data:image/png;base64,{image}" '
        'style="max-width:1100px"><h3>Summary</h3>',
        1,
    )
    html.write_text(page, encoding="utf-8")
    summary = {k: str(v) for k, v in result.summary().as_dict().items()}
    (directory / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    result.fills.to_csv(directory / "fills.csv", index=False)
    result.orders.to_csv(directory / "orders.csv", index=False)
    result.equity.to_csv(directory / "equity.csv", index=False)
