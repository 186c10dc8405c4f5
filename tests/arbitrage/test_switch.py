"""Position switching in the engine (ARBITRAGE.md "switch rule"): with every slot taken, a candidate whose
week of extra yield beats twice the switch's fees leaves the held position through the exit workflow, and
enters through the entry workflow only once that exit has closed it. The pure rule (`decide_switch`) first."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import anyio

from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig
from opensqt.exchanges.sim import ETH_USDT_PERP, SimExchange, SimVenue
from opensqt.model import FundingPaid
from opensqt.risk import CircuitBreaker, StaticRiskGate
from opensqt.store import Store
from opensqt.trading.execution.legs import (
    DirectWorkflows,
    EntryPlan,
    EntryResult,
    ExitPlan,
    ExitResult,
    VenueCalls,
)
from opensqt.trading.logic.funding import (
    CandidateYield,
    FundingParams,
    HeldYield,
    Shape,
    SwitchDecision,
    decide_switch,
    switch_cost,
)
from opensqt.trading.logic.universe import UniverseParams
from opensqt.trading.state.legs import Phase
from tests.arbitrage.world import HOUR, PERP, START, Schedule, funding_world
from tests.support.stores import arbitrage_store

STEP = 5 * 60_000
BTC, ETH = PERP.symbol, ETH_USDT_PERP.symbol
FEES = (D("0.001"), D("0.0005"))  # (spot long, perp short) taker fees


# --- the pure rule --------------------------------------------------------------------------------------


def test_switch_cost_is_four_taker_orders_with_slippage() -> None:
    # close spot 0.1 % + perp 0.05 %, open spot 0.1 % + perp 0.05 %, 4 x 5 bps slippage
    assert switch_cost(FEES, FEES, D(5)) == D("0.005")


def test_decide_switch_needs_a_week_of_gain_over_twice_the_cost_and_the_minimum_hold() -> None:
    p = FundingParams(switch_min_hold_ms=24 * HOUR)
    held = [HeldYield("A", D("0.5"), 0, FEES)]
    # cost 0.005; a week of (c - 0.5) x 168 / 8760 must exceed 0.01: c > 0.5 + 0.01 x 8760 / 168 = 1.0214...
    assert decide_switch(p, held, [CandidateYield("B", D("1.02"), FEES)], 24 * HOUR) is None
    found = decide_switch(p, held, [CandidateYield("B", D("1.03"), FEES)], 24 * HOUR)
    assert found == SwitchDecision("A", "B", D("0.5"), D("1.03"), D("0.53") * 168 / D(8760), D("0.005"))
    assert decide_switch(p, held, [CandidateYield("B", D("1.03"), FEES)], 24 * HOUR - 1) is None
    assert (
        decide_switch(FundingParams(switch_enabled=False), held, [CandidateYield("B", D(9), FEES)], 0) is None
    )


def test_decide_switch_takes_the_widest_margin_and_skips_unknown_apr() -> None:
    p = FundingParams(switch_min_hold_ms=0)
    held = [
        HeldYield("A", D("0.9"), 0, FEES),
        HeldYield("B", D("0.6"), 0, FEES),
        HeldYield("N", None, 0, FEES),
    ]
    cands = [CandidateYield("C", D("2.0"), FEES), CandidateYield("D", D("3.0"), FEES)]
    found = decide_switch(p, held, cands, 0)
    assert found is not None and (found.exit_key, found.enter_key) == ("B", "D")
    # a higher multiple can rule every pair out
    assert (
        decide_switch(FundingParams(switch_min_hold_ms=0, switch_cost_multiple=D(100)), held, cands, 0)
        is None
    )


# --- the engine on a simulated venue --------------------------------------------------------------------


async def _nosleep(_: float) -> None:
    return None


class GatedExits:
    """A runner whose exits wait for `release` (an exit that takes its time on the venue)."""

    def __init__(self, inner: DirectWorkflows) -> None:
        self.inner = inner
        self.release = anyio.Event()
        self.exits_started: list[str] = []
        self.entries_started: list[str] = []

    async def entry(self, plan: EntryPlan) -> EntryResult:
        self.entries_started.append(plan.key)
        return await self.inner.entry(plan)

    async def exit(self, plan: ExitPlan) -> ExitResult:
        self.exits_started.append(plan.key)
        await self.release.wait()
        return await self.inner.exit(plan)


def make(
    tmp_path: Path,
    funding: Schedule,
    hold_hours: int = 24,
    gated: bool = False,
) -> tuple[ArbitrageEngine, SimVenue, Store]:
    v, pairs = funding_world(funding)
    store = arbitrage_store(tmp_path)
    exchanges = {"sim": SimExchange(v)}
    config = ArbitrageEngineConfig(
        Shape.SPOT_PERP,
        D(1000),
        1,  # one slot: a better symbol can only be had by switching
        params=FundingParams(switch_min_hold_ms=hold_hours * HOUR),
        universe=UniverseParams(min_volume_24h=D(0), min_history=0),
        bot="arb",
    )
    runner = DirectWorkflows(VenueCalls(exchanges, sleep=_nosleep))
    engine = ArbitrageEngine(
        config,
        exchanges,
        pairs,
        GatedExits(runner) if gated else runner,
        risk_gate=StaticRiskGate(),
        breaker=CircuitBreaker(),
        store=store,
    )
    return engine, v, store


async def run(engine: ArbitrageEngine, v: SimVenue, start: int, steps: int, held: list[int]) -> int:
    """`steps` decision rounds; `held` gets the number of positions held (any phase) after each."""
    now = start
    for _ in range(steps):
        for e in v.advance(until_ms=now, stop_on_event=False):
            if isinstance(e, FundingPaid):
                engine.on_funding(v.name, e)
        await engine.step(now)
        await engine.drain()
        held.append(len(engine.legs.active()))
        now += STEP
    return now


def kinds(engine: ArbitrageEngine) -> list[tuple[str, str, str]]:
    return [(e.kind, e.key, e.detail) for e in engine.events if e.kind != "rescan"]


async def test_switches_to_the_richer_symbol_after_the_minimum_hold(tmp_path: Path) -> None:
    # BTC pays 0.12 %/8 h, then 0.05 % from 30 h; ETH pays 0.09 %, then 0.15 % from 30 h.
    funding = {PERP: [(30, 0.0012), (20, 0.0005)], ETH_USDT_PERP: [(30, 0.0009), (20, 0.0015)]}
    engine, v, store = make(tmp_path, funding)
    held: list[int] = []
    now = await run(engine, v, START, 12 * 30, held)  # to 30 h: BTC entered, ETH is worse, nothing moves
    assert [p.key for p in engine.legs.active()] == [BTC]
    assert not any(k == "switch" for k, _, _ in kinds(engine))
    now = await run(engine, v, now, 3, held)
    events = kinds(engine)
    switch = [e for e in events if e[0] == "switch"]
    # ~0.05 % x 3 x 365 = 0.5475 APR held against ~1.6425 (the seeded synthetic rates carry a little noise):
    # a week gains (1.6608 - 0.5299) x 168 / 8760 = 0.021688 > 2 x 0.005
    assert switch == [
        ("switch", BTC, f"{BTC} (0.5299) -> {ETH} (1.6608): week gain 0.021688 > 2 x cost 0.005000")
    ]
    i = events.index(switch[0])
    after = [(k, key, d.split(" ")[0]) for k, key, d in events[i + 1 : i + 4]]
    # the candidate enters in the round after the exit closed BTC, never beside it
    assert after == [("exit", BTC, "switch"), ("exit_done", BTC, "closed"), ("entry", ETH, "opened")]
    eth = engine.legs.get(ETH)
    assert eth is not None and eth.phase is Phase.OPEN and eth.long.size == eth.short.size > 0
    assert max(held) == 1  # never two positions at once with one slot
    btc = [p for p in engine.legs.closed() if p.key == BTC]
    assert len(btc) == 1 and btc[0].long.size == btc[0].short.size == 0
    assert v.balances()["BTC"].total == 0 and all(p.size == 0 for p in v.positions([BTC]))
    assert engine.switch is None
    audit = [(r.action, r.target) for r in store.audit.list() if r.action.startswith("arbitrage.switch")]
    assert audit == [("arbitrage.switch", BTC)]
    store.close()


async def test_no_switch_before_the_minimum_hold_then_at_the_first_round_after_it(tmp_path: Path) -> None:
    funding = {PERP: [(2, 0.0012), (40, 0.0005)], ETH_USDT_PERP: [(2, 0.0009), (40, 0.0015)]}
    engine, v, store = make(tmp_path, funding, hold_hours=6)
    held: list[int] = []
    await run(engine, v, START, 12 * 8, held)
    btc = next(p for p in engine.legs.closed() if p.key == BTC)
    switch = next(e for e in engine.events if e.kind == "switch")
    assert switch.ts_ms == btc.opened_at + 6 * HOUR  # rates turned at 2 h; the hold ran until 6 h after entry
    assert [p.key for p in engine.legs.active()] == [ETH] and max(held) == 1
    store.close()


async def test_small_gain_does_not_pay_for_the_switch(tmp_path: Path) -> None:
    # ETH 0.105 % against BTC 0.10 %: a week gains 0.00105 of notional, under 2 x 0.005 of fees
    funding = {PERP: [(40, 0.0010)], ETH_USDT_PERP: [(40, 0.00105)]}
    engine, v, store = make(tmp_path, funding, hold_hours=0)
    held: list[int] = []
    await run(engine, v, START, 12 * 10, held)
    assert [p.key for p in engine.legs.active()] == [BTC]
    assert not any(e.kind == "switch" for e in engine.events)
    store.close()


async def test_no_entry_while_the_switch_exit_is_unfinished(tmp_path: Path) -> None:
    funding = {PERP: [(2, 0.0012), (40, 0.0005)], ETH_USDT_PERP: [(2, 0.0009), (40, 0.0015)]}
    engine, v, store = make(tmp_path, funding, hold_hours=0, gated=True)
    runner = engine.runner
    assert isinstance(runner, GatedExits)
    held: list[int] = []
    now = await run(engine, v, START, 12 * 2 - 1, held)  # BTC held; the rates turn at 2 h
    with anyio.fail_after(20):
        await _gated_rounds(engine, v, runner, now)
    assert runner.entries_started == [BTC, ETH]
    assert [p.key for p in engine.legs.active()] == [ETH]
    store.close()


async def _gated_rounds(engine: ArbitrageEngine, v: SimVenue, runner: GatedExits, now: int) -> None:
    async with anyio.create_task_group() as tg:
        engine.bind(tg)
        for _ in range(5):  # past 2 h the switch exit starts and hangs; more rounds pass
            v.advance(until_ms=now, stop_on_event=False)
            await engine.step(now)
            await anyio.wait_all_tasks_blocked()
            now += STEP
        assert runner.exits_started == [BTC] and runner.entries_started == [BTC]
        assert engine.inflight == {BTC: engine.inflight[BTC]} and "|exit|" in engine.inflight[BTC]
        assert engine.legs.get(BTC) is not None and engine.legs.get(BTC).phase is Phase.CLOSING  # type: ignore[union-attr]
        runner.release.set()
        await anyio.wait_all_tasks_blocked()
        assert engine.inflight == {} and engine.legs.active() == []
        v.advance(until_ms=now, stop_on_event=False)
        await engine.step(now)
        await anyio.wait_all_tasks_blocked()
        engine.bind(None)
