"""Commands: what the pure logic asks the execution layer to do (imperative)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.model.enums import OrderType, Side, TimeInForce


@dataclass(frozen=True, slots=True)
class PlaceOrder:
    client_order_id: str
    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal | None = None
    type: OrderType = OrderType.LIMIT
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"place {self.client_order_id}: quantity must be > 0, got {self.quantity}")
        if self.type is OrderType.LIMIT and (self.price is None or self.price <= 0):
            raise ValueError(f"place {self.client_order_id}: a limit order needs a price > 0")

    @property
    def post_only(self) -> bool:
        return self.time_in_force is TimeInForce.POST_ONLY


@dataclass(frozen=True, slots=True)
class CancelOrder:
    client_order_id: str
    symbol: str
    venue_order_id: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CancelAllOrders:
    """Cancel every open order of ours on `symbol`, or only one side's."""

    symbol: str
    side: Side | None = None
    reason: str = ""


Command = PlaceOrder | CancelOrder | CancelAllOrders
