"""What the grid engine reports: its status, and the events its listeners (API hubs, metrics, alerts) get."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.model import OrderUpdated
from opensqt.trading.state import SlotChange


class StartupError(Exception):
    """The engine refused to start trading (a pre-flight failure, a venue in the wrong mode...)."""


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What the status line, the API and the web page show about the engine."""

    phase: str
    paused_reasons: tuple[str, ...]
    last_price: Decimal | None
    centre: Decimal | None
    interval: Decimal
    free: int
    pending: int
    locked: int
    inventory: Decimal
    realized_pnl: Decimal
    fees: Decimal
    round_trips: int
    orders_placed: int
    fills: int
    risk_triggered: bool
    breaker_open: bool


@dataclass(frozen=True, slots=True)
class SlotsChanged:
    version: int
    changes: tuple[SlotChange, ...]


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order update as the venue reported it (after the slot book applied it)."""

    update: OrderUpdated


@dataclass(frozen=True, slots=True)
class EngineNotice:
    """A transition worth an alert and an audit row (risk, breaker, margin lock, reconciliation)."""

    kind: str
    message: str
    ts_ms: int


EngineEvent = SlotsChanged | OrderEvent | EngineNotice
