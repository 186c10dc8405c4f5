"""Orders and fills: immutable snapshots as a venue reports them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from opensqt.model.enums import LiquiditySide, OrderStatus, OrderType, Side, TimeInForce
from opensqt.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Order:
    """One order as last known. `filled` is cumulative; `ts_event` venue time, `ts_init` ours (epoch ms)."""

    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    venue_order_id: str | None = None
    filled: Decimal = ZERO
    average_price: Decimal | None = None
    status: OrderStatus = OrderStatus.NEW
    time_in_force: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    ts_event: int = 0
    ts_init: int = 0

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"order {self.client_order_id}: quantity must be > 0, got {self.quantity}")
        if self.filled < 0 or self.filled > self.quantity:
            raise ValueError(
                f"order {self.client_order_id}: filled must be within [0, {self.quantity}], got {self.filled}"
            )
        if self.type is OrderType.LIMIT and (self.price is None or self.price <= 0):
            raise ValueError(
                f"order {self.client_order_id}: a limit order needs a price > 0, got {self.price}"
            )

    @property
    def post_only(self) -> bool:
        return self.time_in_force is TimeInForce.POST_ONLY

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_open(self) -> bool:
        return not self.status.is_final

    def with_status(self, status: OrderStatus, ts_event: int | None = None) -> Order:
        return replace(self, status=status, ts_event=self.ts_event if ts_event is None else ts_event)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of our orders. `trade_id` is unique per venue and symbol."""

    trade_id: str
    client_order_id: str
    symbol: str
    side: Side
    price: Decimal
    quantity: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: LiquiditySide
    venue_order_id: str | None = None
    realized_pnl: Decimal | None = None
    ts_event: int = 0

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"fill {self.trade_id}: quantity must be > 0, got {self.quantity}")
        if self.price <= 0:
            raise ValueError(f"fill {self.trade_id}: price must be > 0, got {self.price}")

    @property
    def notional(self) -> Decimal:
        return self.price * self.quantity
