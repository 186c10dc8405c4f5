"""The uniform risk interface (§16) on the arbitrage engine, with the same crash tape and the same real
RiskMonitor (default config) as the grid scenario: no entries while it is triggered or the breaker is open,
entries after recovery, and the emergency exit through the engine's exit workflow."""

from __future__ import annotations

from decimal import Decimal as D

from arbitrage_bot.run_cmd import START_MS, build_world

from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig
from opensqt.exchanges.sim import SimExchange, SimVenue
from opensqt.exchanges.sim.market import klines
from opensqt.risk import CircuitBreaker, RiskMonitor, RiskMonitorConfig, StaticExitPolicy
from opensqt.trading.execution.legs import DirectWorkflows, VenueCalls
from opensqt.trading.logic.funding import Shape
from opensqt.trading.logic.universe import UniverseParams
from tests.risk_scenarios.test_crash import RECOVERY_MS, TRIGGER_MS, script
from tests.risk_scenarios.world import MINUTE, PERPS, T0, build_tape

STEP = 5 * 60_000


async def _nosleep(_: float) -> None:
    return None


def crash_monitor() -> tuple[RiskMonitor, list[tuple[int, bool]]]:
    """The real monitor fed the grid scenario's tape as closed history then forming/closed updates; returns
    it at the end of the tape and the (time, triggered) trace at each update."""
    tape = build_tape(script())
    monitor = RiskMonitor(RiskMonitorConfig())
    trace: list[tuple[int, bool]] = []
    history_end = 25 * MINUTE + T0
    for k, inst in enumerate(PERPS):
        upto = int((tape.ts < history_end).sum())
        monitor.preload(
            inst.symbol, klines(tape, k, upto, history_end, inst.symbol, "1m", MINUTE, None, None)
        )
    for row in range(int((tape.ts < history_end).sum()), len(tape)):
        now = int(tape.ts[row])
        k = int(tape.sym[row])
        inst = PERPS[k]
        latest = klines(tape, k, row + 1, now, inst.symbol, "1m", MINUTE, None, None)[-2:]
        for kline in latest:
            monitor.on_kline(kline, now)
        trace.append((now, monitor.is_triggered()))
    return monitor, trace


def make(
    monitor: RiskMonitor, policy: StaticExitPolicy | None = None
) -> tuple[ArbitrageEngine, list[SimVenue]]:
    venues, pairs = build_world("spot_perp", D(24), 7, D(100_000))
    exchanges = {v.name: SimExchange(v) for v in venues}
    config = ArbitrageEngineConfig(
        Shape.SPOT_PERP, D(1000), 3, universe=UniverseParams(min_volume_24h=D(0), min_history=0), bot="arb"
    )
    runner = DirectWorkflows(VenueCalls(exchanges, sleep=_nosleep))
    engine = ArbitrageEngine(
        config, exchanges, pairs, runner, risk_gate=monitor, breaker=CircuitBreaker(), exit_policy=policy
    )
    return engine, venues


async def run(engine: ArbitrageEngine, venues: list[SimVenue], start: int, steps: int) -> int:
    now = start
    for _ in range(steps):
        for v in venues:
            v.advance(until_ms=now, stop_on_event=False)
        await engine.step(now)
        await engine.drain()
        now += STEP
    return now


def test_the_crash_tape_triggers_and_recovers_the_monitor_at_the_grid_scenario_instants() -> None:
    _, trace = crash_monitor()
    changes = [(t, on) for (t, on), (_, before) in zip(trace[1:], trace, strict=False) if on != before]
    assert changes == [(TRIGGER_MS, True), (RECOVERY_MS, False)]


async def test_no_entries_while_the_monitor_is_triggered_then_entries_after_recovery() -> None:
    monitor, _ = crash_monitor()
    triggered, _ = _monitor_until(TRIGGER_MS)  # the same tape, replayed only up to the crash
    assert triggered.is_triggered()
    engine, venues = make(triggered)
    now = await run(engine, venues, START_MS, 3)
    assert engine.legs.active() == []
    assert {d.blocked for d in engine.last_decisions.values()} == {"risk_triggered"}
    # the same monitor after recovery (end of tape): entries go ahead
    engine.risk_gate = monitor
    assert not monitor.is_triggered()
    await run(engine, venues, now, 1)
    assert sorted(p.key for p in engine.legs.active()) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def _monitor_until(until_ms: int) -> tuple[RiskMonitor, int]:
    tape = build_tape(script())
    monitor = RiskMonitor(RiskMonitorConfig())
    history_end = 25 * MINUTE + T0
    upto = int((tape.ts < history_end).sum())
    for k, inst in enumerate(PERPS):
        monitor.preload(
            inst.symbol, klines(tape, k, upto, history_end, inst.symbol, "1m", MINUTE, None, None)
        )
    row = upto
    while row < len(tape) and int(tape.ts[row]) <= until_ms:
        k = int(tape.sym[row])
        for kline in klines(tape, k, row + 1, int(tape.ts[row]), PERPS[k].symbol, "1m", MINUTE, None, None)[
            -2:
        ]:
            monitor.on_kline(kline, int(tape.ts[row]))
        row += 1
    return monitor, row


async def test_open_breaker_blocks_entries_with_a_calm_monitor() -> None:
    monitor, _ = crash_monitor()
    engine, venues = make(monitor)
    assert engine.breaker is not None
    engine.breaker.trip("operator", "scenario", START_MS)
    await run(engine, venues, START_MS, 2)
    assert engine.legs.active() == [] and not engine.entries_allowed()


async def test_emergency_exit_runs_the_exit_workflow_while_triggered() -> None:
    calm_monitor, _ = crash_monitor()
    policy = StaticExitPolicy(exit=False)
    engine, venues = make(calm_monitor, policy)
    now = await run(engine, venues, START_MS, 1)
    assert len(engine.legs.active()) == 2
    triggered, _ = _monitor_until(TRIGGER_MS)
    engine.risk_gate = triggered
    engine.exit_policy = StaticExitPolicy(exit=True)
    await run(engine, venues, now, 1)
    assert engine.legs.active() == []
    assert {e.detail for e in engine.events if e.kind == "exit"} == {"risk_policy (emergency)"}
    assert all(p.size == 0 for p in venues[0].positions())
