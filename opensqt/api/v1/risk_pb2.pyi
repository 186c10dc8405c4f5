from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetRiskStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SymbolRisk(_message.Message):
    __slots__ = ("symbol", "state", "reason", "volatility")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    VOLATILITY_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    state: str
    reason: str
    volatility: str
    def __init__(self, symbol: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., volatility: _Optional[str] = ...) -> None: ...

class RiskStatus(_message.Message):
    __slots__ = ("triggered", "since_ms", "strategy", "symbols")
    TRIGGERED_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    STRATEGY_FIELD_NUMBER: _ClassVar[int]
    SYMBOLS_FIELD_NUMBER: _ClassVar[int]
    triggered: bool
    since_ms: int
    strategy: str
    symbols: _containers.RepeatedCompositeFieldContainer[SymbolRisk]
    def __init__(self, triggered: _Optional[bool] = ..., since_ms: _Optional[int] = ..., strategy: _Optional[str] = ..., symbols: _Optional[_Iterable[_Union[SymbolRisk, _Mapping]]] = ...) -> None: ...

class GetRiskMetricsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PositionLimit(_message.Message):
    __slots__ = ("symbol", "position_size", "position_notional", "max_notional")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    POSITION_SIZE_FIELD_NUMBER: _ClassVar[int]
    POSITION_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    MAX_NOTIONAL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    position_size: str
    position_notional: str
    max_notional: str
    def __init__(self, symbol: _Optional[str] = ..., position_size: _Optional[str] = ..., position_notional: _Optional[str] = ..., max_notional: _Optional[str] = ...) -> None: ...

class RiskMetrics(_message.Message):
    __slots__ = ("total_exposure", "equity", "peak_equity", "drawdown", "limits", "ts_ms")
    TOTAL_EXPOSURE_FIELD_NUMBER: _ClassVar[int]
    EQUITY_FIELD_NUMBER: _ClassVar[int]
    PEAK_EQUITY_FIELD_NUMBER: _ClassVar[int]
    DRAWDOWN_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    total_exposure: str
    equity: str
    peak_equity: str
    drawdown: str
    limits: _containers.RepeatedCompositeFieldContainer[PositionLimit]
    ts_ms: int
    def __init__(self, total_exposure: _Optional[str] = ..., equity: _Optional[str] = ..., peak_equity: _Optional[str] = ..., drawdown: _Optional[str] = ..., limits: _Optional[_Iterable[_Union[PositionLimit, _Mapping]]] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class GetCircuitBreakerRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CircuitBreakerStatus(_message.Message):
    __slots__ = ("open", "reason", "detail", "actor", "since_ms")
    OPEN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    SINCE_MS_FIELD_NUMBER: _ClassVar[int]
    open: bool
    reason: str
    detail: str
    actor: str
    since_ms: int
    def __init__(self, open: _Optional[bool] = ..., reason: _Optional[str] = ..., detail: _Optional[str] = ..., actor: _Optional[str] = ..., since_ms: _Optional[int] = ...) -> None: ...

class TripCircuitBreakerRequest(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class ResetCircuitBreakerRequest(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class CircuitBreakerChange(_message.Message):
    __slots__ = ("changed", "status")
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    changed: bool
    status: CircuitBreakerStatus
    def __init__(self, changed: _Optional[bool] = ..., status: _Optional[_Union[CircuitBreakerStatus, _Mapping]] = ...) -> None: ...

class SubscribeRiskAlertsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RiskAlert(_message.Message):
    __slots__ = ("sequence", "kind", "symbol", "message", "ts_ms")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    TS_MS_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    kind: str
    symbol: str
    message: str
    ts_ms: int
    def __init__(self, sequence: _Optional[int] = ..., kind: _Optional[str] = ..., symbol: _Optional[str] = ..., message: _Optional[str] = ..., ts_ms: _Optional[int] = ...) -> None: ...

class TriggerReconciliationRequest(_message.Message):
    __slots__ = ("symbol",)
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    def __init__(self, symbol: _Optional[str] = ...) -> None: ...

class ReconciliationTicket(_message.Message):
    __slots__ = ("accepted", "run_id", "message")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    accepted: bool
    run_id: str
    message: str
    def __init__(self, accepted: _Optional[bool] = ..., run_id: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class GetReconciliationStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Divergence(_message.Message):
    __slots__ = ("symbol", "local_size", "venue_size", "divergence")
    SYMBOL_FIELD_NUMBER: _ClassVar[int]
    LOCAL_SIZE_FIELD_NUMBER: _ClassVar[int]
    VENUE_SIZE_FIELD_NUMBER: _ClassVar[int]
    DIVERGENCE_FIELD_NUMBER: _ClassVar[int]
    symbol: str
    local_size: str
    venue_size: str
    divergence: str
    def __init__(self, symbol: _Optional[str] = ..., local_size: _Optional[str] = ..., venue_size: _Optional[str] = ..., divergence: _Optional[str] = ...) -> None: ...

class ReconciliationStatus(_message.Message):
    __slots__ = ("state", "run_id", "started_ms", "finished_ms", "in_sync", "divergences", "message")
    STATE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_MS_FIELD_NUMBER: _ClassVar[int]
    FINISHED_MS_FIELD_NUMBER: _ClassVar[int]
    IN_SYNC_FIELD_NUMBER: _ClassVar[int]
    DIVERGENCES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    state: str
    run_id: str
    started_ms: int
    finished_ms: int
    in_sync: bool
    divergences: _containers.RepeatedCompositeFieldContainer[Divergence]
    message: str
    def __init__(self, state: _Optional[str] = ..., run_id: _Optional[str] = ..., started_ms: _Optional[int] = ..., finished_ms: _Optional[int] = ..., in_sync: _Optional[bool] = ..., divergences: _Optional[_Iterable[_Union[Divergence, _Mapping]]] = ..., message: _Optional[str] = ...) -> None: ...
