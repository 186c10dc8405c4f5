"""The arbitrage engine as a metrics source: legs by phase, funding, fees, PnL and APR from real state."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from opensqt.risk import CircuitBreaker
from opensqt.telemetry import ArbitrageSnapshot, BreakerSnapshot, TradingSnapshot
from opensqt.telemetry.arbitrage import arbitrage_snapshot
from opensqt.trading.logic.funding import Blocked, EntryDecision, LegRef, Shape, Spread
from opensqt.trading.state.legs import Leg, LegManager, LegRole, Phase

NOW = 1_700_000_000_000


@dataclass
class EngineView:
    """The attributes of `ArbitrageEngine` the source reads (building a whole engine needs venues)."""

    legs: LegManager = field(default_factory=LegManager)
    selected: list[str] = field(default_factory=list)
    last_decisions: dict[str, EntryDecision] = field(default_factory=dict)
    breaker: CircuitBreaker | None = None


def legs(symbol: str, funding: str = "0", fees: str = "0") -> tuple[Leg, Leg]:
    spot = symbol.split(":")[0]
    return (
        Leg(LegRole.LONG, "binance_spot", spot, "spot", Decimal("0.001"), fees=Decimal(fees)),
        Leg(LegRole.SHORT, "binance", symbol, "perp", Decimal("0.001"), funding=Decimal(funding)),
    )


def spread(apr: str) -> Spread:
    return Spread(Shape.SPOT_PERP, LegRef("s", "X/USDT", True), LegRef("p", "X/USDT:USDT"), Decimal(apr))


def test_positions_decisions_and_breaker_become_one_snapshot() -> None:
    engine = EngineView(selected=["ETH/USDT:USDT", "SOL/USDT:USDT"], breaker=CircuitBreaker())
    engine.legs.open("p1", "BTC/USDT:USDT", *legs("BTC/USDT:USDT", funding="1.25", fees="0.40"), NOW)
    engine.legs.set_phase("BTC/USDT:USDT", Phase.OPEN, NOW)
    engine.legs.open("p2", "ETH/USDT:USDT", *legs("ETH/USDT:USDT", fees="0.10"), NOW)
    engine.last_decisions = {
        "BTC/USDT:USDT": EntryDecision(spread("0.21"), Decimal("0.10"), None),
        "ETH/USDT:USDT": EntryDecision(spread("0.12"), Decimal("0.10"), None),
        "SOL/USDT:USDT": EntryDecision(None, Decimal("0.10"), Blocked.MISSING_FUNDING),
        "DOGE/USDT:USDT": EntryDecision(spread("0.30"), Decimal("0.10"), None),  # not selected, not held
    }
    view: Any = engine
    snap = arbitrage_snapshot(view)
    assert snap.arbitrage == ArbitrageSnapshot(
        legs_by_status={"open": 2, "opening": 2},
        positions_opened=2,
        positions_closed=0,
        apr={"BTC/USDT:USDT": Decimal("0.21"), "ETH/USDT:USDT": Decimal("0.12")},
    )
    assert snap.trading == (
        TradingSnapshot("BTC/USDT:USDT", fees=Decimal("0.40"), funding=Decimal("1.25")),
        TradingSnapshot("ETH/USDT:USDT", fees=Decimal("0.10"), funding=Decimal("0")),
    )
    assert snap.breaker == BreakerSnapshot(open=False)


def test_a_closed_position_counts_as_opened_and_closed_and_keeps_its_money() -> None:
    engine = EngineView()
    engine.legs.open("p1", "BTC/USDT:USDT", *legs("BTC/USDT:USDT", funding="3.5"), NOW)
    engine.legs.set_phase("BTC/USDT:USDT", Phase.CLOSED, NOW + 1)
    view: Any = engine
    snap = arbitrage_snapshot(view)
    assert snap.arbitrage is not None
    assert (snap.arbitrage.positions_opened, snap.arbitrage.positions_closed) == (1, 1)
    assert snap.arbitrage.legs_by_status == {}
    assert snap.trading == (TradingSnapshot("BTC/USDT:USDT", funding=Decimal("3.5")),)
    assert snap.breaker is None
