from opensqt.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SlotStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLOT_STATUS_UNSPECIFIED: _ClassVar[SlotStatus]
    SLOT_STATUS_FREE: _ClassVar[SlotStatus]
    SLOT_STATUS_PENDING: _ClassVar[SlotStatus]
    SLOT_STATUS_LOCKED: _ClassVar[SlotStatus]

class PositionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POSITION_STATUS_UNSPECIFIED: _ClassVar[PositionStatus]
    POSITION_STATUS_EMPTY: _ClassVar[PositionStatus]
    POSITION_STATUS_FILLED: _ClassVar[PositionStatus]
SLOT_STATUS_UNSPECIFIED: SlotStatus
SLOT_STATUS_FREE: SlotStatus
SLOT_STATUS_PENDING: SlotStatus
SLOT_STATUS_LOCKED: SlotStatus
POSITION_STATUS_UNSPECIFIED: PositionStatus
POSITION_STATUS_EMPTY: PositionStatus
POSITION_STATUS_FILLED: PositionStatus

class Slot(_message.Message):
    __slots__ = ("price", "slot_status", "position_status", "position_qty", "client_order_id", "venue_order_id", "order_side", "order_price", "order_qty", "order_status", "filled_qty", "post_only_failures", "attempt", "ts_update_ms", "position_side")
    PRICE_FIELD_NUMBER: _ClassVar[int]
    SLOT_STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_STATUS_FIELD_NUMBER: _ClassVar[int]
    POSITION_QTY_FIELD_NUMBER: _ClassVar[int]
    CLIENT_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_ORDER_ID_FIELD_NUMBER: _ClassVar[int]
    ORDER_SIDE_FIELD_NUMBER: _ClassVar[int]
    ORDER_PRICE_FIELD_NUMBER: _ClassVar[int]
    ORDER_QTY_FIELD_NUMBER: _ClassVar[int]
    ORDER_STATUS_FIELD_NUMBER: _ClassVar[int]
    FILLED_QTY_FIELD_NUMBER: _ClassVar[int]
    POST_ONLY_FAILURES_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    TS_UPDATE_MS_FIELD_NUMBER: _ClassVar[int]
    POSITION_SIDE_FIELD_NUMBER: _ClassVar[int]
    price: str
    slot_status: SlotStatus
    position_status: PositionStatus
    position_qty: str
    client_order_id: str
    venue_order_id: str
    order_side: _common_pb2.Side
    order_price: str
    order_qty: str
    order_status: _common_pb2.OrderStatus
    filled_qty: str
    post_only_failures: int
    attempt: int
    ts_update_ms: int
    position_side: _common_pb2.Side
    def __init__(self, price: _Optional[str] = ..., slot_status: _Optional[_Union[SlotStatus, str]] = ..., position_status: _Optional[_Union[PositionStatus, str]] = ..., position_qty: _Optional[str] = ..., client_order_id: _Optional[str] = ..., venue_order_id: _Optional[str] = ..., order_side: _Optional[_Union[_common_pb2.Side, str]] = ..., order_price: _Optional[str] = ..., order_qty: _Optional[str] = ..., order_status: _Optional[_Union[_common_pb2.OrderStatus, str]] = ..., filled_qty: _Optional[str] = ..., post_only_failures: _Optional[int] = ..., attempt: _Optional[int] = ..., ts_update_ms: _Optional[int] = ..., position_side: _Optional[_Union[_common_pb2.Side, str]] = ...) -> None: ...

class GetSlotsRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class SlotSnapshot(_message.Message):
    __slots__ = ("symbol", "version", "epoch", "centre_price", "last_price", "slots", "ts_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    CENTRE_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    version: int
    epoch: str
    centre_price: str
    last_price: str
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    ts_ms: int
    def __init__(self, symbol: _Optional[str] = ..., version: _Optional[int] = ..., epoch: _Optional[str] = ..., centre_price: _Optional[str] = ..., last_price: _Optional[str] = ..., slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class SubscribeSlotsRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class SlotUpdate(_message.Message):
    __slots__ = ("symbol", "version", "epoch", "snapshot", "slots", "removed_prices", "centre_price", "last_price", "ts_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    REMOVED_PRICES_FIELD_NUMBER: _ClassVar[int]
    CENTRE_PRICE_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    version: int
    epoch: str
    snapshot: bool
    slots: _containers.RepeatedCompositeFieldContainer[Slot]
    removed_prices: _containers.RepeatedScalarFieldContainer[str]
    centre_price: str
    last_price: str
    ts_ms: int
    def __init__(self, symbol: _Optional[str] = ..., version: _Optional[int] = ..., epoch: _Optional[str] = ..., snapshot: _Optional[bool] = ..., slots: _Optional[_Iterable[_Union[Slot, _Mapping]]] = ..., removed_prices: _Optional[_Iterable[str]] = ..., centre_price: _Optional[str] = ..., last_price: _Optional[str] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class GetEngineStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class EngineStatus(_message.Message):
    __slots__ = ("running", "paused_reasons", "symbol", "last_price", "centre_price", "interval", "ts_ms")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    PAUSED_REASONS_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    LAST_PRICE_FIELD_NUMBER: _ClassVar[int]
    CENTRE_PRICE_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    running: bool
    paused_reasons: _containers.RepeatedScalarFieldContainer[str]
    symbol: str
    last_price: str
    centre_price: str
    interval: str
    ts_ms: int
    def __init__(self, running: _Optional[bool] = ..., paused_reasons: _Optional[_Iterable[str]] = ..., symbol: _Optional[str] = ..., last_price: _Optional[str] = ..., centre_price: _Optional[str] = ..., interval: _Optional[str] = ..., ts_ms: _Optional[int] = ...) -> None: ...
