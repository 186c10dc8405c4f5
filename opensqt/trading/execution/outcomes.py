"""What happened to a command at the venue, reported by the executor to the engine (past tense)."""

from __future__ import annotations

from dataclasses import dataclass

from opensqt.exchanges.errors import VenueError
from opensqt.model import CancelOrder, Order, PlaceOrder


@dataclass(frozen=True, slots=True)
class OrderAcknowledged:
    """The venue accepted the order (it rests, or already filled: see `order.status`)."""

    command: PlaceOrder
    order: Order


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The venue refused the order: it does not exist. `error` says why (post-only cross, margin...)."""

    command: PlaceOrder
    error: VenueError


@dataclass(frozen=True, slots=True)
class OrderOutcomeUnknown:
    """Retries ran out without proof either way: the order may exist. Keep the slot PENDING."""

    command: PlaceOrder
    error: VenueError


@dataclass(frozen=True, slots=True)
class CancelAcknowledged:
    command: CancelOrder
    order: Order


@dataclass(frozen=True, slots=True)
class CancelFailed:
    """The cancel did not go through. `order` is the venue's view when it could be fetched (e.g. filled)."""

    command: CancelOrder
    error: VenueError
    order: Order | None = None


Outcome = OrderAcknowledged | OrderRejected | OrderOutcomeUnknown | CancelAcknowledged | CancelFailed
