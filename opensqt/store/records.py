"""Value types for stored facts the domain model has no type for: bots, PnL entries, audit entries,
arbitrage legs, workflow steps, and the unit of work `OrderUpdateWrite`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from opensqt.model import OrderUpdated, Position, Slot


class PnlKind(StrEnum):
    REALIZED = "realized"  # one closed round trip (buy then sell of one slot, or the reverse)
    FEE = "fee"
    FUNDING = "funding"


@dataclass(frozen=True, slots=True)
class BotRecord:
    name: str
    strategy: str
    venue: str
    config_hash: str
    created_at: int = 0
    updated_at: int = 0


@dataclass(frozen=True, slots=True)
class PnlRecord:
    """One PnL history entry. `(bot, venue, symbol, kind, ref_id)` is unique, so a replay adds nothing.

    `ref_id` names what produced it: the closing trade id (round trip, fee), the funding time (funding).
    """

    bot: str
    venue: str
    symbol: str
    kind: PnlKind
    ref_id: str
    amount: Decimal
    asset: str
    ts_event: int
    quantity: Decimal | None = None
    entry_price: Decimal | None = None
    exit_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """Who (API key id, "system" or "operator") did what to which target, when, and with what result."""

    id: str
    ts: int
    who: str
    action: str
    target: str
    result: str
    details: dict[str, Any] = field(default_factory=dict)
    bot: str | None = None


@dataclass(frozen=True, slots=True)
class ArbitrageLeg:
    """One leg of a funding-rate arbitrage position (spot or perp, on one venue)."""

    bot: str
    position_id: str
    leg: str
    symbol: str
    venue: str
    product: str
    side: str
    size: Decimal
    entry_price: Decimal | None
    funding_collected: Decimal
    fees: Decimal
    status: str
    opened_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class WorkflowStep:
    """One step of a durable multi-leg workflow, mirrored for queries and the UI."""

    workflow_id: str
    step: str
    bot: str
    kind: str
    status: str
    started_at: int
    updated_at: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OrderUpdateWrite:
    """Everything one order update changes, written in one transaction.

    `slot` is the slot as the state layer computed it after the update (None when the order maps to no
    slot); `pnl` the PnL entries the update realized; `position` the position after it, if known.
    `ts_ms` is when we processed the update (our clock, epoch ms).
    """

    bot: str
    venue: str
    update: OrderUpdated
    ts_ms: int
    slot: Slot | None = None
    pnl: tuple[PnlRecord, ...] = ()
    position: Position | None = None
