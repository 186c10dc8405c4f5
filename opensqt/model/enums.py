"""Enumerations of the domain: sides, order types, statuses and the order-status transition table."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        """+1 for a buy (adds to a long position), -1 for a sell."""
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "PO"


class InstrumentKind(StrEnum):
    SPOT = "spot"
    LINEAR_PERPETUAL = "linear_perpetual"


class LiquiditySide(StrEnum):
    MAKER = "maker"
    TAKER = "taker"


class OrderStatus(StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        return self in _FINAL

    @property
    def rank(self) -> int:
        """Progress rank: an update with a lower rank than the one applied is stale."""
        return _RANK[self]

    def can_become(self, new: OrderStatus) -> bool:
        """Whether the transition table admits `self -> new` (a repeat of the same status is admitted)."""
        return new is self or new in ORDER_STATUS_TRANSITIONS[self]


_FINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
_RANK = {
    OrderStatus.NEW: 0,
    OrderStatus.PARTIALLY_FILLED: 1,
    OrderStatus.FILLED: 2,
    OrderStatus.CANCELED: 2,
    OrderStatus.REJECTED: 2,
    OrderStatus.EXPIRED: 2,
}

#: The order state machine. Final states have no way out: a late NEW after CANCELED changes nothing.
ORDER_STATUS_TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.NEW: frozenset(
        {
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.FILLED,
            OrderStatus.CANCELED,
            OrderStatus.REJECTED,
            OrderStatus.EXPIRED,
        }
    ),
    OrderStatus.PARTIALLY_FILLED: frozenset(
        {OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED}
    ),
    OrderStatus.FILLED: frozenset(),
    OrderStatus.CANCELED: frozenset(),
    OrderStatus.REJECTED: frozenset(),
    OrderStatus.EXPIRED: frozenset(),
}


class SlotStatus(StrEnum):
    FREE = "FREE"
    PENDING = "PENDING"
    LOCKED = "LOCKED"


class PositionStatus(StrEnum):
    EMPTY = "EMPTY"
    FILLED = "FILLED"


class GridMode(StrEnum):
    LONG = "long"
    SHORT = "short"
    NEUTRAL = "neutral"
