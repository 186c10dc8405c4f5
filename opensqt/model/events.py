"""Events: facts that happened (past tense). State changes only by applying events."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.model.account import Balance, Position
from opensqt.model.market import FundingRate, Kline
from opensqt.model.orders import Fill, Order


@dataclass(frozen=True, slots=True)
class PriceUpdated:
    """A new last price from the websocket price stream (the single price source)."""

    symbol: str
    price: Decimal
    ts_event: int
    ts_init: int = 0


@dataclass(frozen=True, slots=True)
class OrderUpdated:
    """A venue's report on one of our orders: the order as it now stands, and the execution that changed it.

    Idempotency keys on (venue order id, cumulative filled, status rank) and on the fill's trade id,
    never on arrival order. `recovered`: the fill was put together from an order query, not reported by the
    venue: it stands for every execution up to `order.filled`, whatever trade ids the venue gave them, so a
    later report of one of those executions is not new.
    """

    order: Order
    fill: Fill | None = None
    recovered: bool = False

    @property
    def filled(self) -> bool:
        return self.fill is not None


@dataclass(frozen=True, slots=True)
class KlineUpdated:
    kline: Kline


@dataclass(frozen=True, slots=True)
class FundingRateUpdated:
    funding: FundingRate


@dataclass(frozen=True, slots=True)
class PositionUpdated:
    position: Position


@dataclass(frozen=True, slots=True)
class BalanceUpdated:
    balance: Balance


@dataclass(frozen=True, slots=True)
class FundingPaid:
    """A funding payment booked on a position: positive received, negative paid (settle currency)."""

    symbol: str
    amount: Decimal
    rate: Decimal
    ts_event: int
