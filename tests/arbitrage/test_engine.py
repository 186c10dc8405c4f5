"""ArbitrageEngine on simulated venues: entries gated by risk and breaker, emergency exit through the exit
workflow, accounting persisted, and the arbitrage_bot program end to end."""

from __future__ import annotations

import subprocess
from decimal import Decimal as D
from pathlib import Path

from arbitrage_bot.run_cmd import START_MS, build_world

from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig
from opensqt.exchanges.sim import SimExchange, SimVenue
from opensqt.model import FundingPaid
from opensqt.risk import CircuitBreaker, StaticExitPolicy, StaticRiskGate
from opensqt.store import Store
from opensqt.trading.execution.legs import DirectWorkflows, VenueCalls
from opensqt.trading.logic.funding import Shape
from opensqt.trading.logic.universe import UniverseParams
from opensqt.trading.state.legs import Phase
from tests.conftest import ROOT
from tests.support.stores import arbitrage_store

STEP = 5 * 60_000


async def _nosleep(_: float) -> None:
    return None


def make(
    tmp_path: Path, gate: StaticRiskGate, policy: StaticExitPolicy | None = None
) -> tuple[ArbitrageEngine, list[SimVenue], Store]:
    venues, pairs = build_world("spot_perp", D(24), 7, D(100_000))
    store = arbitrage_store(tmp_path)
    exchanges = {v.name: SimExchange(v) for v in venues}
    config = ArbitrageEngineConfig(
        Shape.SPOT_PERP, D(1000), 3, universe=UniverseParams(min_volume_24h=D(0), min_history=0), bot="arb"
    )
    runner = DirectWorkflows(VenueCalls(exchanges, sleep=_nosleep))
    engine = ArbitrageEngine(
        config,
        exchanges,
        pairs,
        runner,
        risk_gate=gate,
        breaker=CircuitBreaker(),
        exit_policy=policy,
        store=store,
    )
    return engine, venues, store


async def run(engine: ArbitrageEngine, venues: list[SimVenue], start: int, steps: int) -> int:
    now = start
    for _ in range(steps):
        for v in venues:
            for e in v.advance(until_ms=now, stop_on_event=False):
                if isinstance(e, FundingPaid):
                    engine.on_funding(v.name, e)
        await engine.step(now)
        await engine.drain()
        now += STEP
    return now


async def test_no_entries_while_risk_is_triggered_then_entries_when_clear(tmp_path: Path) -> None:
    gate = StaticRiskGate(triggered=True)
    engine, venues, store = make(tmp_path, gate)
    now = await run(engine, venues, START_MS, 3)
    assert engine.legs.active() == [] and all(
        d.blocked == "risk_triggered" for d in engine.last_decisions.values()
    )
    gate.set_triggered(False)
    await run(engine, venues, now, 1)
    held = {p.key: p for p in engine.legs.active()}
    # 1000 USDT per leg: BTC 0.016 at ~60k, ETH 0.333 at ~3k, both on the perp's lot.
    assert sorted(held) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    btc = held["BTC/USDT:USDT"]
    assert btc.phase is Phase.OPEN and btc.long.size == btc.short.size == D("0.016") and btc.naked == 0
    assert btc.long.product == "spot" and btc.short.product == "perp"
    legs = store.arbitrage.load_legs("arb", status="open")
    assert sorted((r.symbol, r.size) for r in legs) == [
        ("BTC/USDT", D("0.016")),
        ("BTC/USDT:USDT", D("0.016")),
        ("ETH/USDT", D("0.333")),
        ("ETH/USDT:USDT", D("0.333")),
    ]
    store.close()


async def test_breaker_open_blocks_entries(tmp_path: Path) -> None:
    engine, venues, store = make(tmp_path, StaticRiskGate())
    assert engine.breaker is not None
    engine.breaker.trip("operator", "test", START_MS)
    await run(engine, venues, START_MS, 2)
    assert engine.legs.active() == []
    store.close()


async def test_emergency_exit_runs_the_exit_workflow(tmp_path: Path) -> None:
    policy = StaticExitPolicy(exit=False)
    engine, venues, store = make(tmp_path, StaticRiskGate(), policy)
    now = await run(engine, venues, START_MS, 1)
    assert len(engine.legs.active()) == 2
    engine.exit_policy = StaticExitPolicy(exit=True)
    engine.breaker.trip("operator", "stop entries", now)  # type: ignore[union-attr]
    await run(engine, venues, now, 1)
    assert engine.legs.active() == []
    assert {e.detail for e in engine.events if e.kind == "exit"} == {"risk_policy (emergency)"}
    assert venues[0].balances()["BTC"].total == 0 and all(p.size == 0 for p in venues[0].positions())
    assert {r.status for r in store.arbitrage.load_legs("arb")} == {"closed"}
    store.close()


async def test_funding_is_collected_and_persisted(tmp_path: Path) -> None:
    engine, venues, store = make(tmp_path, StaticRiskGate())
    await run(engine, venues, START_MS, 12 * 8 + 2)  # past the first 8h funding time
    btc = engine.legs.get("BTC/USDT:USDT") or next(
        p for p in engine.legs.closed() if p.key == "BTC/USDT:USDT"
    )
    assert btc.short.funding > 0 and btc.long.funding == 0
    paid = [r for r in store.pnl.history("arb") if r.kind == "funding"]
    assert sum(r.amount for r in paid) == engine.legs.total_funding > 0
    store.close()


def test_arbitrage_bot_runs_with_no_arguments_on_simulated_venues(tmp_path: Path) -> None:
    cmd = [
        str(ROOT / ".venv/bin/arbitrage_bot"),
        "--duration",
        "12h",
        "--data",
        str(tmp_path),
        "--log-level",
        "WARNING",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "arbitrage (spot_perp) on simulated venues: sim" in done.stdout
    assert "collected funding: +" in done.stdout and "long  sim:BTC/USDT" in done.stdout
    assert (tmp_path / "dbos.sqlite").exists()
