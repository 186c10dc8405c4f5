"""Value types of the slot book: the changes `SlotManager` reports, its snapshot, and rejection reasons."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from opensqt.model import Slot


class RejectReason(StrEnum):
    """Why the venue refused a submit (mapped by the executor from opensqt.exchanges.errors)."""

    POST_ONLY = "post_only"  # OrderWouldCross: counts one post-only failure for the slot
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID = "invalid"
    OTHER = "other"


class SlotStateError(ValueError):
    """An operation the slot's status does not allow (e.g. reserving a slot that is not FREE)."""


@dataclass(frozen=True, slots=True)
class SlotChange:
    """One change to one slot: the slot before and after, why, and the PnL it realized (gross of fees)."""

    price: Decimal
    before: Slot
    after: Slot
    reason: str
    realized_pnl: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SlotPnl:
    """Accounting of one slot: PnL realized by its round trips, fees paid, round trips completed, and the
    cost (quote) of what it holds now."""

    price: Decimal
    realized_pnl: Decimal
    fees: Decimal
    round_trips: int
    cost_basis: Decimal

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees


@dataclass(frozen=True, slots=True)
class SlotBookSnapshot:
    """The slot book at one instant, for the API and the status line (slots sorted by price)."""

    slots: tuple[Slot, ...]
    pnl: tuple[SlotPnl, ...]
    free: int
    pending: int
    locked: int
    filled: int
    inventory: Decimal
    realized_pnl: Decimal
    fees: Decimal
    round_trips: int
    version: int

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.fees
