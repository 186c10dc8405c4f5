"""The arbitrage engine as a metrics source: `metrics.register("arbitrage", arbitrage_source(engine))`.

Reads the leg manager (positions by phase, funding, fees, PnL), the last entry decisions (spread APR) and the
breaker and risk gate, at scrape time.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING

from opensqt.telemetry.snapshots import ArbitrageSnapshot, BotSnapshot, BreakerSnapshot, TradingSnapshot

if TYPE_CHECKING:
    from opensqt.engines.arbitrage_engine import ArbitrageEngine
    from opensqt.telemetry.metrics import Source


def arbitrage_snapshot(engine: ArbitrageEngine) -> BotSnapshot:
    """One reading of an `ArbitrageEngine` (call it on the engine's event loop)."""
    active = engine.legs.active()
    closed = engine.legs.closed()
    # Two legs per position, each counted under its position's phase.
    legs = Counter[str]()
    for position in active:
        legs[str(position.phase)] += 2
    shown = {p.key for p in active} | set(engine.selected)
    apr = {
        key: decision.spread.apr
        for key, decision in engine.last_decisions.items()
        if key in shown and decision.spread is not None
    }
    trading = []
    for key in sorted({p.key for p in (*active, *closed)}):
        mine = [p for p in (*active, *closed) if p.key == key]
        trading.append(
            TradingSnapshot(
                symbol=key,
                realized_pnl=sum((p.realized_pnl for p in mine), Decimal(0)),
                fees=sum((p.fees for p in mine), Decimal(0)),
                funding=sum((p.funding for p in mine), Decimal(0)),
            )
        )
    breaker = None
    if engine.breaker is not None:
        b = engine.breaker.state()
        breaker = BreakerSnapshot(
            open=b.is_open,
            reason=str(b.reason) if b.is_open and b.reason is not None else None,
            consecutive_losses=b.consecutive_losses,
            venue_errors_in_window=b.venue_errors_in_window,
        )
    return BotSnapshot(
        trading=tuple(trading),
        breaker=breaker,
        arbitrage=ArbitrageSnapshot(
            legs_by_status=dict(legs),
            positions_opened=len(active) + len(closed),
            positions_closed=len(closed),
            apr=apr,
        ),
    )


def arbitrage_source(engine: ArbitrageEngine) -> Source:
    return lambda: arbitrage_snapshot(engine)
