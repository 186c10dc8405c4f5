from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Side(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIDE_UNSPECIFIED: _ClassVar[Side]
    SIDE_BUY: _ClassVar[Side]
    SIDE_SELL: _ClassVar[Side]

class OrderType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_TYPE_UNSPECIFIED: _ClassVar[OrderType]
    ORDER_TYPE_LIMIT: _ClassVar[OrderType]
    ORDER_TYPE_MARKET: _ClassVar[OrderType]

class TimeInForce(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_IN_FORCE_UNSPECIFIED: _ClassVar[TimeInForce]
    TIME_IN_FORCE_GTC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_IOC: _ClassVar[TimeInForce]
    TIME_IN_FORCE_FOK: _ClassVar[TimeInForce]
    TIME_IN_FORCE_POST_ONLY: _ClassVar[TimeInForce]

class OrderStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ORDER_STATUS_UNSPECIFIED: _ClassVar[OrderStatus]
    ORDER_STATUS_NEW: _ClassVar[OrderStatus]
    ORDER_STATUS_PARTIALLY_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_FILLED: _ClassVar[OrderStatus]
    ORDER_STATUS_CANCELED: _ClassVar[OrderStatus]
    ORDER_STATUS_REJECTED: _ClassVar[OrderStatus]
    ORDER_STATUS_EXPIRED: _ClassVar[OrderStatus]

class Liquidity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LIQUIDITY_UNSPECIFIED: _ClassVar[Liquidity]
    LIQUIDITY_MAKER: _ClassVar[Liquidity]
    LIQUIDITY_TAKER: _ClassVar[Liquidity]
SIDE_UNSPECIFIED: Side
SIDE_BUY: Side
SIDE_SELL: Side
ORDER_TYPE_UNSPECIFIED: OrderType
ORDER_TYPE_LIMIT: OrderType
ORDER_TYPE_MARKET: OrderType
TIME_IN_FORCE_UNSPECIFIED: TimeInForce
TIME_IN_FORCE_GTC: TimeInForce
TIME_IN_FORCE_IOC: TimeInForce
TIME_IN_FORCE_FOK: TimeInForce
TIME_IN_FORCE_POST_ONLY: TimeInForce
ORDER_STATUS_UNSPECIFIED: OrderStatus
ORDER_STATUS_NEW: OrderStatus
ORDER_STATUS_PARTIALLY_FILLED: OrderStatus
ORDER_STATUS_FILLED: OrderStatus
ORDER_STATUS_CANCELED: OrderStatus
ORDER_STATUS_REJECTED: OrderStatus
ORDER_STATUS_EXPIRED: OrderStatus
LIQUIDITY_UNSPECIFIED: Liquidity
LIQUIDITY_MAKER: Liquidity
LIQUIDITY_TAKER: Liquidity

class Order(_message.Message):
    __slots__ = ("client_order_id", "symbol", "side", "type", "quantity", "price", "venue_order_id", "filled", "average_price", "status", "time_in_force", "reduce_only", "ts_event_ms", "ts_init_ms")
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    AVERAGE_PRICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_IN_FORCE_FIELD_NUMBER: _ClassVar[int]
    REDUCE_ONLY_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_MS_FIELD_NUMBER: _ClassVar[int]
    TS_INIT_MS_FIELD_NUMBER: _ClassVar[int]
    client_order_id: str
    symbol: str
    side: Side
    type: OrderType
    quantity: str
    price: str
    venue_order_id: str
    filled: str
    average_price: str
    status: OrderStatus
    time_in_force: TimeInForce
    reduce_only: bool
    ts_event_ms: int
    ts_init_ms: int
    def __init__(self, client_order_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., type: _Optional[_Union[OrderType, str]] = ..., quantity: _Optional[str] = ..., price: _Optional[str] = ..., venue_order_id: _Optional[str] = ..., filled: _Optional[str] = ..., average_price: _Optional[str] = ..., status: _Optional[_Union[OrderStatus, str]] = ..., time_in_force: _Optional[_Union[TimeInForce, str]] = ..., reduce_only: _Optional[bool] = ..., ts_event_ms: _Optional[int] = ..., ts_init_ms: _Optional[int] = ...) -> None: ...

class Fill(_message.Message):
    __slots__ = ("trade_id", "client_order_id", "symbol", "side", "price", "quantity", "fee", "fee_asset", "liquidity", "venue_order_id", "realized_pnl", "ts_event_ms")
    TRADE_ID_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    FEE_ASSET_FIELD_NUMBER: _ClassVar[int]
    LIQUIDITY_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    REALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_MS_FIELD_NUMBER: _ClassVar[int]
    trade_id: str
    client_order_id: str
    symbol: str
    side: Side
    price: str
    quantity: str
    fee: str
    fee_asset: str
    liquidity: Liquidity
    venue_order_id: str
    realized_pnl: str
    ts_event_ms: int
    def __init__(self, trade_id: _Optional[str] = ..., client_order_id: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[Side, str]] = ..., price: _Optional[str] = ..., quantity: _Optional[str] = ..., fee: _Optional[str] = ..., fee_asset: _Optional[str] = ..., liquidity: _Optional[_Union[Liquidity, str]] = ..., venue_order_id: _Optional[str] = ..., realized_pnl: _Optional[str] = ..., ts_event_ms: _Optional[int] = ...) -> None: ...

class Position(_message.Message):
    __slots__ = ("symbol", "size", "entry_price", "unrealized_pnl", "liquidation_price", "leverage", "mark_price", "ts_event_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_PNL_FIELD_NUMBER: _ClassVar[int]
    LIQUIDATION_PRICE_FIELD_NUMBER: _ClassVar[int]
    LEVERAGE_FIELD_NUMBER: _ClassVar[int]
    MARK_PRICE_FIELD_NUMBER: _ClassVar[int]
    TS_EVENT_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    size: str
    entry_price: str
    unrealized_pnl: str
    liquidation_price: str
    leverage: int
    mark_price: str
    ts_event_ms: int
    def __init__(self, symbol: _Optional[str] = ..., size: _Optional[str] = ..., entry_price: _Optional[str] = ..., unrealized_pnl: _Optional[str] = ..., liquidation_price: _Optional[str] = ..., leverage: _Optional[int] = ..., mark_price: _Optional[str] = ..., ts_event_ms: _Optional[int] = ...) -> None: ...

class PageRequest(_message.Message):
    __slots__ = ("symbol", "page_size", "page_token", "since_ms", "until_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    page_size: int
    page_token: str
    since_ms: int
    until_ms: int
    def __init__(self, symbol: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ...) -> None: ...
