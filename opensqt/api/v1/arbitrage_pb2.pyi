from opensqt.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Leg(_message.Message):
    __slots__ = ("leg_id", "venue", "symbol", "side", "quantity", "filled", "entry_price", "status", "ts_update_ms")
    LEG_ID_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SIDE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    FILLED_FIELD_NUMBER: _ClassVar[int]
    ENTRY_PRICE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TS_UPDATE_MS_FIELD_NUMBER: _ClassVar[int]
    leg_id: str
    venue: str
    symbol: str
    side: _common_pb2.Side
    quantity: str
    filled: str
    entry_price: str
    status: str
    ts_update_ms: int
    def __init__(self, leg_id: _Optional[str] = ..., venue: _Optional[str] = ..., symbol: _Optional[str] = ..., side: _Optional[_Union[_common_pb2.Side, str]] = ..., quantity: _Optional[str] = ..., filled: _Optional[str] = ..., entry_price: _Optional[str] = ..., status: _Optional[str] = ..., ts_update_ms: _Optional[int] = ...) -> None: ...

class GetLegsRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class Legs(_message.Message):
    __slots__ = ("legs",)
    LEGS_FIELD_NUMBER: _ClassVar[int]
    legs: _containers.RepeatedCompositeFieldContainer[Leg]
    def __init__(self, legs: _Optional[_Iterable[_Union[Leg, _Mapping]]] = ...) -> None: ...

class WorkflowStep(_message.Message):
    __slots__ = ("name", "status", "attempt", "error", "started_ms", "finished_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    attempt: int
    error: str
    started_ms: int
    finished_ms: int
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., attempt: _Optional[int] = ..., error: _Optional[str] = ..., started_ms: _Optional[int] = ..., finished_ms: _Optional[int] = ...) -> None: ...

class Workflow(_message.Message):
    __slots__ = ("workflow_id", "kind", "status", "steps", "created_ms", "updated_ms")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_MS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_MS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    kind: str
    status: str
    steps: _containers.RepeatedCompositeFieldContainer[WorkflowStep]
    created_ms: int
    updated_ms: int
    def __init__(self, workflow_id: _Optional[str] = ..., kind: _Optional[str] = ..., status: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[WorkflowStep, _Mapping]]] = ..., created_ms: _Optional[int] = ..., updated_ms: _Optional[int] = ...) -> None: ...

class GetWorkflowsRequest(_message.Message):
    __slots__ = ("status", "page")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PAGE_FIELD_NUMBER: _ClassVar[int]
    status: str
    page: _common_pb2.PageRequest
    def __init__(self, status: _Optional[str] = ..., page: _Optional[_Union[_common_pb2.PageRequest, _Mapping]] = ...) -> None: ...

class WorkflowPage(_message.Message):
    __slots__ = ("workflows", "next_page_token")
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[Workflow]
    next_page_token: str
    def __init__(self, workflows: _Optional[_Iterable[_Union[Workflow, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: str
    def __init__(self, workflow_id: _Optional[str] = ...) -> None: ...

class GetFundingCollectedRequest(_message.Message):
    __slots__ = ("symbol", "since_ms", "until_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    UNTIL_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    since_ms: int
    until_ms: int
    def __init__(self, symbol: _Optional[str] = ..., since_ms: _Optional[int] = ..., until_ms: _Optional[int] = ...) -> None: ...

class FundingPayment(_message.Message):
    __slots__ = ("symbol", "venue", "amount", "asset", "ts_ms")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    VENUE_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    venue: str
    amount: str
    asset: str
    ts_ms: int
    def __init__(self, symbol: _Optional[str] = ..., venue: _Optional[str] = ..., amount: _Optional[str] = ..., asset: _Optional[str] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class FundingCollected(_message.Message):
    __slots__ = ("total", "asset", "payments")
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    PAYMENTS_FIELD_NUMBER: _ClassVar[int]
    total: str
    asset: str
    payments: _containers.RepeatedCompositeFieldContainer[FundingPayment]
    def __init__(self, total: _Optional[str] = ..., asset: _Optional[str] = ..., payments: _Optional[_Iterable[_Union[FundingPayment, _Mapping]]] = ...) -> None: ...
