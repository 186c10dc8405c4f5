"""`market_maker download --exchange binance --symbol BTC/USDT:USDT --timeframe 1m --since ... --until ...`:
fetch klines (and, with `--what`, public trades and funding history) through ccxt with paging, a pause
between requests, backoff on rate limits, and a local Parquet cache of whole UTC days; writes an OHLCV CSV
that `market_maker backtest --data` reads."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
DAY_MS = 86_400_000
VENUES = {
    "binance": "binanceusdm",
    "binanceusdm": "binanceusdm",
    "bybit": "bybit",
    "okx": "okx",
    "gate": "gate",
    "bitget": "bitget",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange", required=True, choices=sorted(VENUES), help="venue")
    parser.add_argument("--symbol", required=True, help="unified symbol, e.g. BTC/USDT:USDT")
    parser.add_argument("--timeframe", default="1m", help="kline timeframe (default 1m)")
    parser.add_argument("--since", required=True, help="start: ISO date/time (UTC) or epoch ms")
    parser.add_argument("--until", required=True, help="end (exclusive): ISO date/time (UTC) or epoch ms")
    parser.add_argument(
        "--what", default="klines", help="comma list of klines,trades,funding (default klines)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help="output and cache directory (default <app.data_dir>/market)"
    )
    parser.add_argument("--page", type=int, default=1000, help="rows per request (default 1000)")
    parser.add_argument("--pause", type=float, default=0.2, help="seconds between requests (default 0.2)")
    parser.add_argument("--base-url", help="send every request to this server (tests, gateways)")


def parse_time(text: str, name: str) -> int:
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--{name}: expected an ISO date/time or epoch ms, got {text!r}") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def main(
    args: argparse.Namespace, settings: Any, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        since = parse_time(args.since, "since")
        until = parse_time(args.until, "until")
        if until <= since:
            raise ValueError(f"--until must be after --since ({args.until} <= {args.since})")
        what = [w.strip() for w in args.what.split(",") if w.strip()]
        bad = [w for w in what if w not in ("klines", "trades", "funding")]
        if bad or not what:
            raise ValueError(f"--what: expected klines, trades and/or funding, got {args.what!r}")
        if not 1 <= args.page <= 1500 or args.pause < 0:
            raise ValueError("--page must be 1..1500 and --pause >= 0")
        from opensqt.model import timeframe_ms

        timeframe_ms(args.timeframe)
    except ValueError as exc:
        print(f"market_maker download: {exc}", file=err)
        return EXIT_USAGE
    base = Path(args.out) if args.out else Path(settings.app.data_dir) / "market"
    import anyio

    from opensqt.backtest.download import Downloader
    from opensqt.exchanges.errors import VenueError

    downloader = Downloader(
        VENUES[args.exchange], args.symbol, base, page=args.page, pause=args.pause, base_url=args.base_url
    )
    try:
        written = anyio.run(downloader.run, what, args.timeframe, since, until)
    except VenueError as exc:
        print(f"market_maker download: {exc}", file=err)
        return EXIT_FAILURE
    for line in downloader.notes:
        print(f"warning: {line}", file=err)
    for path, rows in written:
        print(f"{path}: {rows:,} rows", file=out)
    print(f"{downloader.requests} requests, {downloader.cache_hits} cached day(s) reused", file=out)
    return EXIT_OK
