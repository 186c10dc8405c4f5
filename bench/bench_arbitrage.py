"""Benchmarks of the arbitrage bot: a universe scan over 300 symbols x 2 venues (bulk tickers and funding from
two simulated venues, then scoring), and the entry workflow (both legs) p50 on the simulated venue, durable
(DBOS, SQLite system database) and direct; and the arbitrage backtest (`run_arbitrage_backtest`, the same
engine on simulated venues) over a synthetic month of two perp venues.

Run: .venv/bin/python bench/bench_arbitrage.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

from opensqt.backtest import run_arbitrage_backtest
from opensqt.data.market_data import MarketData
from opensqt.data.synthetic import Regime, SyntheticMarket
from opensqt.engines.arbitrage_engine import ArbitrageEngineConfig, Pair
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP, SimExchange, SimVenue
from opensqt.model import Instrument
from opensqt.trading.execution.legs import DirectWorkflows, EntryPlan, ExitPlan, LegSpec, VenueCalls
from opensqt.trading.execution.workflows import DurableWorkflows
from opensqt.trading.logic.funding import FundingParams, FundingQuote, Shape
from opensqt.trading.logic.universe import MarketStats, UniverseParams, scan_cross
from opensqt.trading.state.legs import LegRole

N_SYMBOLS = 300
START = 1_700_000_000_000


def instruments(n: int) -> list[Instrument]:
    from dataclasses import replace

    return [
        replace(BTC_USDT_PERP, symbol=f"C{k:03d}/USDT:USDT", venue_symbol=f"C{k:03d}USDT", base=f"C{k:03d}")
        for k in range(n)
    ]


def venue(name: str, insts: list[Instrument], seed: int, interval_h: int) -> SimVenue:
    v = SimVenue(
        insts, name=name, balances={"USDT": Decimal(10**9)}, funding_interval_ms=interval_h * 3_600_000
    )
    regimes = [Regime("calm", 120_000, 0.0, 0.0002, 1.0, funding_rate=0.0001 * (seed + 1))]
    v.attach(
        SyntheticMarket(
            insts,
            seed=seed,
            regimes=regimes,
            step_ms=10_000,
            funding_every_ms=60_000,
            funding_interval_ms=interval_h * 3_600_000,
        ).generate(START)
    )
    v.advance(until_ms=START + 90_000, stop_on_event=False)
    return v


async def bench_scan() -> list[float]:
    insts = instruments(N_SYMBOLS)
    a, b = SimExchange(venue("a", insts, 1, 8)), SimExchange(venue("b", insts, 2, 4))
    history = tuple(Decimal(f"0.000{k % 9 + 1}") for k in range(21))
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        stats = []
        for ex in (a, b):
            rates = await ex.fetch_funding_rates()
            tickers = await ex.fetch_tickers()
            stats.append(
                {
                    s: MarketStats(
                        s,
                        tickers[s].quote_volume_24h,
                        FundingQuote(ex.name, s, fr.rate, fr.interval_hours, START, fr.next_funding_time),
                        history,
                    )
                    for s, fr in rates.items()
                }
            )
        found = scan_cross(stats[0], stats[1], UniverseParams(min_volume_24h=Decimal(0)))
        times.append(time.perf_counter() - t0)
        assert len(found) == N_SYMBOLS
    return times


async def bench_entry(durable: bool, n: int = 40) -> list[float]:
    perp = BTC_USDT_PERP
    a, b = venue("a", [perp], 1, 8), venue("b", [perp], 2, 4)
    calls = VenueCalls({"a": SimExchange(a), "b": SimExchange(b)})
    long, short = LegSpec(LegRole.LONG, "a", perp), LegSpec(LegRole.SHORT, "b", perp)
    tmp = tempfile.mkdtemp(prefix="bench-arb-")
    runner: DurableWorkflows | DirectWorkflows
    if durable:
        runner = DurableWorkflows(calls, f"sqlite:///{Path(tmp) / 'dbos.sqlite'}")
        runner.launch()
    else:
        runner = DirectWorkflows(calls)
    times = []
    try:
        for k in range(n):
            plan = EntryPlan(f"bench-{durable}-{k}", perp.symbol, long, short, Decimal("0.010"))
            t0 = time.perf_counter()
            result = await runner.entry(plan)
            times.append(time.perf_counter() - t0)
            assert result.outcome.value == "opened"
            await runner.exit(
                ExitPlan(
                    f"bench-x-{durable}-{k}", perp.symbol, long, short, result.long_qty, result.short_qty
                )
            )
    finally:
        if isinstance(runner, DurableWorkflows):
            runner.shutdown()
    return times


def month_of_two_venues(days: int = 30) -> tuple[dict[str, MarketData], list[Pair], float]:
    """Perps BTC and ETH on venue a (flat 0.01 %/8 h) and b (funding regimes that change every few days)."""
    perps = [BTC_USDT_PERP, ETH_USDT_PERP]
    hour = 3_600_000
    turns = [0.0009, 0.0002, -0.0003, 0.0012, 0.0004, 0.0010]
    per = days * 24 // len(turns) * hour

    def regimes(rates: list[float]) -> list[Regime]:
        # the same regime boundaries on both venues: one seed then gives both the same price path
        return [
            Regime(f"r{k}", per, 0.0, 0.0002, 1.0, mean_reversion=0.2, funding_rate=r)
            for k, r in enumerate(rates)
        ]

    t0 = time.perf_counter()
    markets = {
        "a": SyntheticMarket(
            perps, seed=1, regimes=regimes([0.0001] * len(turns)), step_ms=10_000, funding_every_ms=600_000
        ).generate(START),
        "b": SyntheticMarket(
            perps, seed=1, regimes=regimes(turns), step_ms=10_000, funding_every_ms=600_000
        ).generate(START),
    }
    return markets, [Pair(p.symbol, "a", p, "b", p) for p in perps], time.perf_counter() - t0


def bench_backtest() -> None:
    from loguru import logger

    logger.remove()  # the engine logs every decision event at INFO: not what is measured
    markets, pairs, gen_s = month_of_two_venues()
    rows = sum(len(m) for m in markets.values())
    config = ArbitrageEngineConfig(
        Shape.CROSS,
        Decimal(1000),
        2,
        params=FundingParams(switch_min_hold_ms=24 * 3_600_000),
        universe=UniverseParams(min_volume_24h=Decimal(0), min_history=0),
    )
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = run_arbitrage_backtest(config, markets, pairs)
        times.append(time.perf_counter() - t0)
    s = result.summary()
    print(
        f"arbitrage backtest, synthetic month (2 perp venues x 2 symbols, {rows:,} rows, 5-min rounds, "
        f"{s.steps} rounds): best {min(times):.2f} s, median {statistics.median(times):.2f} s "
        f"(data generation {gen_s:.1f} s, not counted); {s.entries} entries, {s.exits} exits, "
        f"funding {s.funding}, fees {s.fees}, net {s.net_pnl}"
    )


async def main() -> None:
    scan = await bench_scan()
    print(
        f"universe scan {N_SYMBOLS} symbols x 2 venues (bulk fetch + scoring): "
        f"best {min(scan) * 1000:.1f} ms, median {statistics.median(scan) * 1000:.1f} ms"
    )
    for durable in (False, True):
        t = await bench_entry(durable)
        label = "DBOS/SQLite" if durable else "direct"
        q = statistics.quantiles(t, n=20)
        print(
            f"entry workflow, both legs, {label}: p50 {statistics.median(t) * 1000:.2f} ms, "
            f"p95 {q[18] * 1000:.2f} ms over {len(t)} runs"
        )


if __name__ == "__main__":
    import sys

    if "--backtest-only" not in sys.argv:
        anyio.run(main)
    bench_backtest()
