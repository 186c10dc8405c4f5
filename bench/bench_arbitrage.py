"""Benchmarks of the arbitrage bot: a universe scan over 300 symbols x 2 venues (bulk tickers and funding from
two simulated venues, then scoring), and the entry workflow (both legs) p50 on the simulated venue, durable
(DBOS, SQLite system database) and direct.

Run: .venv/bin/python bench/bench_arbitrage.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

from opensqt.data.synthetic import Regime, SyntheticMarket
from opensqt.exchanges.sim import BTC_USDT_PERP, SimExchange, SimVenue
from opensqt.model import Instrument
from opensqt.trading.execution.legs import DirectWorkflows, EntryPlan, ExitPlan, LegSpec, VenueCalls
from opensqt.trading.execution.workflows import DurableWorkflows
from opensqt.trading.logic.funding import FundingQuote
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
    anyio.run(main)
