"""`arbitrage_bot run`: on real venues when `arbitrage.spot_exchange` and `perp_exchange` are configured
accounts with API keys (`opensqt.engines.arbitrage_runtime`); otherwise (the default) on simulated venues with
synthetic funding regimes (spot and perp of one venue, or two perp venues), then a report of legs, APR and
collected funding.
"""

from __future__ import annotations

import argparse
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
from loguru import logger

from opensqt.config import Settings
from opensqt.data.market_data import MarketData, merge
from opensqt.data.synthetic import Regime, SyntheticMarket, spot_twin, with_spot_twin
from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig, Pair
from opensqt.engines.arbitrage_runtime import engine_config, open_store
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP, SimExchange, SimVenue
from opensqt.model import FundingPaid, Instrument
from opensqt.risk import CircuitBreaker
from opensqt.store import AuditRecord, BotRecord
from opensqt.trading.execution.legs import DirectWorkflows, VenueCalls, WorkflowRunner
from opensqt.trading.logic.funding import annualise
from opensqt.trading.logic.universe import UniverseParams

HOUR = 3_600_000
DEFAULT_HOURS = Decimal(48)
STEP_MS = 5 * 60_000  # the engine decides every 5 minutes of market time
START_MS = 1_700_000_000_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--direct", action="store_true", help="run entries/exits in-process, without the DBOS database"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market (default 7)")
    parser.add_argument(
        "--step", type=float, default=10.0, metavar="SECONDS", help="real venues: seconds between decisions"
    )
    parser.add_argument(
        "--funding-delay",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="real venues: read the venue's funding bookings this long after each funding time (default 10)",
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    from opensqt.engines.arbitrage_runtime import real_venue_names, run_arbitrage_bot
    from opensqt.runtime.affinity import pin_to_cpus
    from opensqt.runtime.busy_poll import loop_options

    pin_to_cpus(settings.concurrency.cpu_affinity)
    if real_venue_names(settings) is not None:
        duration = getattr(args, "duration", None)
        return anyio.run(
            lambda: run_arbitrage_bot(
                settings,
                duration=Decimal(duration) if duration is not None else None,
                step_seconds=args.step,
                funding_delay_seconds=args.funding_delay,
            ),
            backend_options=loop_options(settings.concurrency.busy_poll),
        )
    return anyio.run(_main, args, settings, backend_options=loop_options(settings.concurrency.busy_poll))


# --- the simulated world ---------------------------------------------------------------------------------


def _regimes(hours: Decimal, rates: tuple[float, float, float]) -> list[Regime]:
    """Funding regimes: rich positive funding, then fading, then flipped negative (thirds of the run)."""
    third = int(hours * HOUR / 3)
    return [
        Regime("rich", third, 0.0, 0.0004, 1.0, mean_reversion=0.2, funding_rate=rates[0]),
        Regime("fading", third, 0.0, 0.0004, 1.0, mean_reversion=0.2, funding_rate=rates[1]),
        Regime("flipped", third, 0.0, 0.0004, 1.0, mean_reversion=0.2, funding_rate=rates[2]),
    ]


def _market(
    insts: list[Instrument], hours: Decimal, rates: tuple[float, float, float], seed: int, interval_h: int
) -> MarketData:
    return SyntheticMarket(
        insts,
        seed=seed,
        regimes=_regimes(hours, rates),
        step_ms=5_000,
        funding_every_ms=60_000,
        funding_interval_ms=interval_h * HOUR,
    ).generate(START_MS)


def build_world(mode: str, hours: Decimal, seed: int, balance: Decimal) -> tuple[list[SimVenue], list[Pair]]:
    perps = [BTC_USDT_PERP, ETH_USDT_PERP]
    if mode == "spot_perp":
        venue_insts: list[Instrument] = []
        parts = []
        pairs = []
        for k, (perp, rates) in enumerate(
            zip(perps, [(0.0012, 0.0002, -0.0004), (0.0009, 0.000005, 0.000005)], strict=True)
        ):
            spot = spot_twin(perp)
            venue_insts += [perp, spot]
            parts.append(with_spot_twin(_market([perp], hours, rates, seed + k, 8), spot))
            pairs.append(Pair(perp.symbol, "sim", spot, "sim", perp))
        venue = SimVenue(venue_insts, name="sim", balances={"USDT": balance})
        venue.attach(merge(parts))
        return [venue], pairs
    a = SimVenue(perps, name="sim_a", balances={"USDT": balance}, funding_interval_ms=8 * HOUR)
    b = SimVenue(perps, name="sim_b", balances={"USDT": balance}, funding_interval_ms=4 * HOUR)
    a.attach(_market(perps, hours, (0.0001, 0.0001, 0.0001), seed, 8))
    b.attach(_market(perps, hours, (0.0008, 0.00006, -0.0001), seed, 4))
    return [a, b], [Pair(p.symbol, "sim_a", p, "sim_b", p) for p in perps]


# --- running ---------------------------------------------------------------------------------------------


def _engine_config(settings: Settings) -> ArbitrageEngineConfig:
    # Synthetic markets trade far less than the 10M default filter expects: keep every simulated symbol.
    return engine_config(settings, UniverseParams(min_volume_24h=Decimal(0), min_history=0))


async def _main(args: argparse.Namespace, settings: Settings) -> int:
    arb = settings.arbitrage
    hours = Decimal(args.duration) / 3600 if getattr(args, "duration", None) else DEFAULT_HOURS
    logger.info(
        "arbitrage_bot: simulated venues ({}), {} h of synthetic funding regimes "
        "(real venues need arbitrage.spot_exchange/perp_exchange entries with API keys)",
        arb.mode,
        hours,
    )
    venues, pairs = build_world(arb.mode, hours, args.seed, Decimal(100_000))
    if arb.symbols:
        pairs = [p for p in pairs if p.key in set(arb.symbols)]
    exchanges = {v.name: SimExchange(v) for v in venues}
    calls = VenueCalls(exchanges)
    store = open_store(settings)
    venue_names = ",".join(v.name for v in venues)
    store.bots.register(BotRecord(settings.app.bot_name, "arbitrage", venue_names, "sim", START_MS, START_MS))
    durable: Any = None
    runner: WorkflowRunner
    if args.direct:
        runner = DirectWorkflows(calls)
    else:
        from opensqt.trading.execution.workflows import DurableWorkflows, default_system_database_url

        def audit(aid: str, action: str, target: str, result: str, details: dict[str, Any]) -> None:
            now = max(v.now_ms for v in venues)
            store.audit.record(
                AuditRecord(aid, now, "system", action, target, result, details, settings.app.bot_name)
            )

        url = default_system_database_url(Path(settings.app.data_dir))
        durable = runner = DurableWorkflows(calls, url, audit=audit)
        durable.launch()
    engine = ArbitrageEngine(
        _engine_config(settings), exchanges, pairs, runner, breaker=CircuitBreaker(), store=store
    )
    try:
        end = max(int(v.data.ts[-1]) for v in venues if v.data is not None)
        now = START_MS
        while now <= end:
            for v in venues:
                for event in v.advance(until_ms=now, stop_on_event=False):
                    if isinstance(event, FundingPaid):
                        engine.on_funding(v.name, event)
            await engine.step(now)
            await engine.drain()
            now += STEP_MS
        report(engine, venues, arb.mode)
    finally:
        if durable is not None:
            durable.shutdown()
        store.close()
    return 0


def report(engine: ArbitrageEngine, venues: list[SimVenue], mode: str) -> None:
    """Print legs, current APR and collected funding (stdout: this is the program's output)."""
    print(f"arbitrage ({mode}) on simulated venues: {', '.join(v.name for v in venues)}")
    for pos in [*engine.legs.closed(), *engine.legs.active()]:
        print(f"  {pos.key} [{pos.phase.value}] {pos.position_id}")
        for leg in (pos.long, pos.short):
            print(
                f"    {leg.role.value:5} {leg.venue}:{leg.symbol:15} size {leg.size} entry {leg.entry_price} "
                f"funding {leg.funding:+.4f} fees {leg.fees:.4f} realized {leg.realized_pnl:+.4f}"
            )
        print(f"    net {pos.net_pnl:+.4f} USDT (funding {pos.funding:+.4f})")
    for (venue, symbol), q in sorted(engine.quotes.items()):
        apr = annualise(q.rate, q.interval_hours)
        print(f"  funding {venue}:{symbol} rate {q.rate} / {q.interval_hours}h = APR {apr:.2%}")
    print(f"  collected funding: {engine.legs.total_funding:+.4f} USDT")
    print(
        f"  events: {sum(1 for e in engine.events if e.kind == 'entry')} entries, "
        f"{sum(1 for e in engine.events if e.kind == 'exit_done')} exits"
    )
