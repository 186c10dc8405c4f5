"""Venue benchmarks over loopback: market discovery across 300 symbols, and the REST create-order round trip.

Run: `.venv/bin/python bench/bench_venues.py [--symbols 300] [--orders 1000]`. The real ccxt binanceusdm
client talks to the loopback Binance server (MemoryVenue behind it), so figures include ccxt's signing,
aiohttp, our server and the adapter's Decimal parsing, all on one machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from decimal import Decimal

import anyio

from opensqt.model import PlaceOrder, Side, TimeInForce
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance


async def run(symbols: int, orders: int) -> None:
    venue = MemoryVenue(default_instruments(symbols), balance=Decimal(10_000_000))
    venue.set_book("BTC/USDT:USDT", Decimal("60000.0"), Decimal("60000.1"))
    async with loopback_binance(venue) as (_, ex):
        t0 = time.perf_counter()
        markets = await ex.load_markets()
        tickers = await ex.fetch_tickers()
        funding = await ex.fetch_funding_rates()
        discovery = time.perf_counter() - t0
        print(
            f"market discovery: {len(markets)} markets, {len(tickers)} tickers, {len(funding)} funding rates "
            f"in {discovery * 1000:.0f} ms (target < 1000 ms)"
        )

        laps: list[float] = []
        for i in range(orders):
            command = PlaceOrder(
                f"bench-{i}",
                "BTC/USDT:USDT",
                Side.BUY,
                Decimal("0.001"),
                Decimal("50000.0") + Decimal(i % 100) / 10,
                time_in_force=TimeInForce.POST_ONLY,
            )
            t = time.perf_counter()
            await ex.create_order(command)
            laps.append((time.perf_counter() - t) * 1000)
        laps.sort()
        p50 = statistics.median(laps)
        p99 = laps[min(len(laps) - 1, int(len(laps) * 0.99))]
        print(
            f"REST create_order round trip over loopback, {orders} orders: p50 {p50:.2f} ms, p99 {p99:.2f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=300)
    parser.add_argument("--orders", type=int, default=1000)
    args = parser.parse_args()
    anyio.run(run, args.symbols, args.orders)


if __name__ == "__main__":
    main()
