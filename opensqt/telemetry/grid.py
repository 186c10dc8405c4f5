"""The grid engine as a metrics source: `metrics.register("grid", grid_source(engine))` is all the wiring.

Reads only what the engine already keeps (`status()`, `stats`, the price monitor's counters, the breaker and
risk monitor states), at scrape time.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from opensqt.telemetry.snapshots import (
    BotSnapshot,
    BreakerSnapshot,
    RiskSnapshot,
    StreamSnapshot,
    TradingSnapshot,
)

if TYPE_CHECKING:
    from opensqt.engines.grid_engine import GridEngine
    from opensqt.telemetry.metrics import Source

REJECTED_PREFIX = "rejected:"


def grid_snapshot(engine: GridEngine) -> BotSnapshot:
    """One consistent reading of a `GridEngine` (call it on the engine's event loop)."""
    status = engine.status()
    stats = engine.stats
    rejected = {
        key.removeprefix(REJECTED_PREFIX): n for key, n in stats.items() if key.startswith(REJECTED_PREFIX)
    }
    trading = TradingSnapshot(
        symbol=engine.symbol,
        orders_placed=stats["placed"],
        orders_cancelled=stats["cancelled"],
        fills=stats["fills"],
        rejected=rejected,
        slots={"FREE": status.free, "PENDING": status.pending, "LOCKED": status.locked},
        position=status.inventory,
        realized_pnl=status.realized_pnl,
        fees=status.fees,
        price_stale=engine.prices.is_stale(engine.clock.now_ms()),
    )
    streams = (
        # The price stream keeps only the newest price when a consumer lags: drops are normal under load.
        StreamSnapshot("price", reconnects=engine.prices.reconnects, dropped=engine.prices.dropped),
        # After an order-stream failure the engine reconciles to recover what the gap hid.
        StreamSnapshot(
            "orders",
            reconnects=stats["order_stream_errors"],
            gaps_recovered=stats["gaps_recovered"],
        ),
    )
    risk = None
    if engine.risk is not None:
        risk_status = engine.risk.status()
        states = Counter(str(s.state) for s in risk_status.symbols)
        risk = RiskSnapshot(triggered=risk_status.triggered, symbols_by_state=dict(states))
    b = engine.breaker.state()
    breaker = BreakerSnapshot(
        open=b.is_open,
        reason=str(b.reason) if b.is_open and b.reason is not None else None,
        consecutive_losses=b.consecutive_losses,
        venue_errors_in_window=b.venue_errors_in_window,
    )
    return BotSnapshot(trading=(trading,), streams=streams, risk=risk, breaker=breaker, phase=status.phase)


def grid_source(engine: GridEngine) -> Source:
    return lambda: grid_snapshot(engine)
