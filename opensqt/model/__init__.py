"""The domain model: value types shared by every layer. Standard library only, Decimal for money."""

from opensqt.model.account import Balance, Position
from opensqt.model.commands import CancelAllOrders, CancelOrder, Command, PlaceOrder
from opensqt.model.enums import (
    ORDER_STATUS_TRANSITIONS,
    GridMode,
    InstrumentKind,
    LiquiditySide,
    OrderStatus,
    OrderType,
    PositionStatus,
    Side,
    SlotStatus,
    TimeInForce,
)
from opensqt.model.events import (
    BalanceUpdated,
    FundingPaid,
    FundingRateUpdated,
    KlineUpdated,
    OrderUpdated,
    PositionUpdated,
    PriceUpdated,
)
from opensqt.model.instrument import Instrument
from opensqt.model.market import TIMEFRAME_MS, BookTop, FundingRate, Kline, Ticker, Trade, timeframe_ms
from opensqt.model.numbers import ONE, ZERO, to_decimal
from opensqt.model.orders import Fill, Order
from opensqt.model.slots import Slot

__all__ = [
    "ONE",
    "ORDER_STATUS_TRANSITIONS",
    "TIMEFRAME_MS",
    "ZERO",
    "Balance",
    "BalanceUpdated",
    "BookTop",
    "CancelAllOrders",
    "CancelOrder",
    "Command",
    "Fill",
    "FundingPaid",
    "FundingRate",
    "FundingRateUpdated",
    "GridMode",
    "Instrument",
    "InstrumentKind",
    "Kline",
    "KlineUpdated",
    "LiquiditySide",
    "Order",
    "OrderStatus",
    "OrderType",
    "OrderUpdated",
    "PlaceOrder",
    "Position",
    "PositionStatus",
    "PositionUpdated",
    "PriceUpdated",
    "Side",
    "Slot",
    "SlotStatus",
    "Ticker",
    "TimeInForce",
    "Trade",
    "timeframe_ms",
    "to_decimal",
]
