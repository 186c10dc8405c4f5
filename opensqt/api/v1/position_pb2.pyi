from opensqt.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetPositionsRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class Positions(_message.Message):
    __slots__ = ("positions", "ts_ms")
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    ts_ms: int
    def __init__(self, positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class GetOpenOrdersRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class Orders(_message.Message):
    __slots__ = ("orders",)
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[_common_pb2.Order]
    def __init__(self, orders: _Optional[_Iterable[_Union[_common_pb2.Order, _Mapping]]] = ...) -> None: ...

class GetOrderHistoryRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class OrderPage(_message.Message):
    __slots__ = ("orders", "next_page_token")
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    orders: _containers.RepeatedCompositeFieldContainer[_common_pb2.Order]
    next_page_token: str
    def __init__(self, orders: _Optional[_Iterable[_Union[_common_pb2.Order, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetFillsRequest(_message.Message):
    __slots__ = ("page",)
    PAGE_FIELD_NUMBER: _ClassVar[int]
    page: _common_pb2.PageRequest
    def __init__(self, page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class FillPage(_message.Message):
    __slots__ = ("fills", "next_page_token")
    FILLS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    fills: _containers.RepeatedCompositeFieldContainer[_common_pb2.Fill]
    next_page_token: str
    def __init__(self, fills: _Optional[_Iterable[_Union[_common_pb2.Fill, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetPnlHistoryRequest(_message.Message):
    __slots__ = ("symbol", "since_ms", "until_ms", "limit")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    since_ms: int
    until_ms: int
    limit: int
    def __init__(self, symbol: _Optional[str] = ..., since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class PnlPoint(_message.Message):
    __slots__ = ("ts_ms", "symbol", "realized", "unrealized")
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    REALIZED_FIELD_NUMBER: _ClassVar[int]
    UNREALIZED_FIELD_NUMBER: _ClassVar[int]
    ts_ms: int
    symbol: str
    realized: str
    unrealized: str
    def __init__(self, ts_ms: _Optional[int] = ..., symbol: _Optional[str] = ..., realized: _Optional[str] = ..., unrealized: _Optional[str] = ...) -> None: ...

class PnlHistory(_message.Message):
    __slots__ = ("points",)
    POINTS_FIELD_NUMBER: _ClassVar[int]
    points: _containers.RepeatedCompositeFieldContainer[PnlPoint]
    def __init__(self, points: _Optional[_Iterable[_Union[PnlPoint, _Mapping]]] = ...) -> None: ...

class SubscribePositionsRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class PositionUpdate(_message.Message):
    __slots__ = ("version", "epoch", "snapshot", "positions", "ts_ms")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    POSITIONS_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    version: int
    epoch: str
    snapshot: bool
    positions: _containers.RepeatedCompositeFieldContainer[_common_pb2.Position]
    ts_ms: int
    def __init__(self, version: _Optional[int] = ..., epoch: _Optional[str] = ..., snapshot: _Optional[bool] = ..., positions: _Optional[_Iterable[_Union[_common_pb2.Position, _Mapping]]] = ..., ts_ms: _Optional[int] = ...) -> None: ...
