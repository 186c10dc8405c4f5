"""What a program reports to the metrics collector at scrape time: plain frozen values, read from the engine
by a callable the program registers, so the trading path itself never calls a metrics library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

_EMPTY: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class TradingSnapshot:
    """One traded instrument: lifetime order counters, slots by status, and its money figures (quote)."""

    symbol: str
    orders_placed: int = 0
    orders_cancelled: int = 0
    fills: int = 0
    #: Rejected submits by reason (`post_only`, `insufficient_funds`, `invalid`, `other`): a short fixed set.
    rejected: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    #: Slots by status (FREE, PENDING, LOCKED); empty for strategies without slots.
    slots: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    position: Decimal = Decimal(0)
    realized_pnl: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    #: Funding received (+) or paid (-); None when the strategy does not track it (not exported then).
    funding: Decimal | None = None
    #: No fresh price (orders paused); None when unknown.
    price_stale: bool | None = None


@dataclass(frozen=True, slots=True)
class StreamSnapshot:
    """One venue stream or internal queue (`price`, `orders`, `klines`, `api`...): lifetime counters."""

    stream: str
    reconnects: int = 0
    gaps_recovered: int = 0
    dropped: int = 0


@dataclass(frozen=True, slots=True)
class RiskSnapshot:
    """The market risk monitor: triggered or not, and how many watched symbols are in each state."""

    triggered: bool
    symbols_by_state: Mapping[str, int] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class BreakerSnapshot:
    """The circuit breaker: open (halted) or closed, why, and the counters that trip it."""

    open: bool
    reason: str | None = None
    consecutive_losses: int = 0
    venue_errors_in_window: int = 0


@dataclass(frozen=True, slots=True)
class ArbitrageSnapshot:
    """Funding arbitrage: legs by status, lifetime opened/closed positions, and the spread APR per symbol."""

    legs_by_status: Mapping[str, int] = field(default_factory=lambda: _EMPTY)
    positions_opened: int = 0
    positions_closed: int = 0
    #: Annualised net spread (fraction: 0.15 is 15 %) of the symbols held or about to be entered.
    apr: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class BotSnapshot:
    """Everything one source reports; each part is optional so a source reports only what it owns."""

    trading: tuple[TradingSnapshot, ...] = ()
    streams: tuple[StreamSnapshot, ...] = ()
    risk: RiskSnapshot | None = None
    breaker: BreakerSnapshot | None = None
    arbitrage: ArbitrageSnapshot | None = None
    #: Engine phase ("trading", "pre-flight", "stopped"...); exported as a 0/1 `trading` gauge.
    phase: str | None = None
