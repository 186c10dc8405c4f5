"""Unified-margin health: the simulated venue reports the account's margin (`fetch_account_margin`) from its
ledger, the engine turns it into a health ratio each round, and the emergency rule acts on it: under 0.7 the
position is halved, under 0.5 both legs are closed, through the exit workflow."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig
from opensqt.exchanges.base import AccountMargin, MarginSource
from opensqt.exchanges.sim import SimExchange
from opensqt.model import OrderType, PlaceOrder, Side, TimeInForce
from opensqt.risk import CircuitBreaker, StaticRiskGate
from opensqt.trading.execution.legs import DirectWorkflows, VenueCalls
from opensqt.trading.logic.funding import FundingParams, Shape, margin_health
from opensqt.trading.logic.universe import UniverseParams
from opensqt.trading.state.legs import Phase
from tests.arbitrage.world import PERP, START, funding_world, venue
from tests.support.stores import arbitrage_store

STEP = 5 * 60_000


async def _nosleep(_: float) -> None:
    return None


def test_margin_health_ratio() -> None:
    assert margin_health(D(1000), D(0)) == 1
    assert margin_health(D(1000), D(300)) == D("0.7")
    assert margin_health(D(1000), D(1000)) == 0
    assert margin_health(D(1000), D(1500)) == 0  # past liquidation: still 0, never negative
    assert margin_health(D(0), D(0)) == 0 and margin_health(D(-5), D(1)) == 0


async def test_sim_venue_reports_account_margin_from_its_ledger() -> None:
    v = venue()
    ex = SimExchange(v)
    assert isinstance(ex, MarginSource) and ex.has["fetch_account_margin"]
    assert await ex.fetch_account_margin() == AccountMargin(D(1_000_000), D(0), v.now_ms)
    await ex.create_order(
        PlaceOrder("s1", PERP.symbol, Side.SELL, D("0.010"), None, OrderType.MARKET, TimeInForce.IOC)
    )
    pos = v.positions([PERP.symbol])[0]
    assert pos.mark_price is not None
    got = await ex.fetch_account_margin()
    # maintenance = |size| x mark x the venue's rate (0.004); margin balance = wallet + unrealized PnL
    assert got.maintenance_margin == D("0.010") * pos.mark_price * D("0.004")
    assert got.margin_balance == v.account.wallet["USDT"] + pos.unrealized_pnl


async def test_falling_margin_health_halves_then_closes_both_legs(tmp_path: Path) -> None:
    v, pairs = funding_world({PERP: [(12, 0.0012)]}, balance=D(2000))
    store = arbitrage_store(tmp_path)
    exchanges = {"sim": SimExchange(v)}
    config = ArbitrageEngineConfig(
        Shape.SPOT_PERP,
        D(1000),
        1,
        params=FundingParams(),
        universe=UniverseParams(min_volume_24h=D(0), min_history=0),
        bot="arb",
    )
    breaker = CircuitBreaker()
    engine = ArbitrageEngine(
        config,
        exchanges,
        pairs,
        DirectWorkflows(VenueCalls(exchanges, sleep=_nosleep)),
        risk_gate=StaticRiskGate(),
        breaker=breaker,
        store=store,
    )
    now = START

    async def round_() -> None:
        nonlocal now
        v.advance(until_ms=now, stop_on_event=False)
        await engine.step(now)
        await engine.drain()
        now += STEP

    for _ in range(3):
        await round_()
    btc = engine.legs.get(PERP.symbol)
    assert btc is not None and btc.phase is Phase.OPEN and btc.long.size == btc.short.size == D("0.016")
    assert engine.margin["sim"] > D("0.99")  # 0.016 BTC short against ~1000 USDT: healthy
    breaker.trip("operator", "no new entries in this test", now)

    def health_at(rate: D) -> D:
        v.account.mmr = rate  # the venue raises the account's maintenance rate (a higher risk tier)
        m = v.account
        mark = v.positions([PERP.symbol])[0].mark_price
        assert mark is not None
        maint = sum((abs(p.size) * mark * rate for p in m.positions.values() if p.size), D(0))
        return margin_health(m.equity("USDT", {PERP.symbol: mark}), maint)

    assert D("0.5") < health_at(D("0.43")) < D("0.7")
    await round_()
    assert D("0.5") < engine.margin["sim"] < D("0.7")
    btc = engine.legs.get(PERP.symbol)
    assert btc is not None and btc.phase is Phase.OPEN and btc.long.size == btc.short.size == D("0.008")
    exits = [e.detail for e in engine.events if e.kind == "exit"]
    assert exits == ["margin_health (emergency, reduce half)"]
    await round_()  # halving lifted the health over 0.7 again: nothing more happens
    assert engine.margin["sim"] > D("0.7") and len([e for e in engine.events if e.kind == "exit"]) == 1

    assert health_at(D("2")) < D("0.5")
    await round_()
    assert engine.margin["sim"] < D("0.5")
    exits = [e.detail for e in engine.events if e.kind == "exit"]
    assert exits == ["margin_health (emergency, reduce half)", "margin_health (emergency)"]
    assert engine.legs.active() == []
    assert v.balances()["BTC"].total == 0 and all(p.size == 0 for p in v.positions([PERP.symbol]))
    assert {r.status for r in store.arbitrage.load_legs("arb")} == {"closed"}
    done = [r.result for r in store.audit.list() if r.action == "arbitrage.exit_done"]
    assert done == ["closed", "closed"]
    store.close()
