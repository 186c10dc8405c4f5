"""The gRPC servicers: validate each request (INVALID_ARGUMENT naming the field), call the engine's ports,
convert the answers, and map port errors to status codes. Streams are plain coroutines writing messages."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import wraps
from typing import Any, TypeAlias, TypeVar

import grpc
from grpc import aio
from loguru import logger

from opensqt.api import convert
from opensqt.api.guard import Auditor, Guard
from opensqt.api.ports import (
    DEFAULT_PAGE_SIZE,
    DEFAULT_PNL_LIMIT,
    MAX_PAGE_SIZE,
    MAX_PNL_LIMIT,
    GridPort,
    NotFound,
    PageQuery,
    PortError,
    PositionPort,
    Rejected,
    RiskPort,
    SlotUpdate,
    Unavailable,
)
from opensqt.api.v1 import (
    common_pb2,
    grid_pb2,
    grid_pb2_grpc,
    position_pb2,
    position_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)

Ctx: TypeAlias = aio.ServicerContext[Any, Any]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])
_SYMBOL_RE = re.compile(r"^[A-Za-z0-9_./:-]{1,40}$")
MAX_REASON = 500
MAX_TOKEN = 512


class InvalidArgument(ValueError):
    """A request field is not what the API expects; the text names the field."""


def _status_of(exc: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, NotFound):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, Unavailable):
        return grpc.StatusCode.UNAVAILABLE, str(exc)
    if isinstance(exc, Rejected):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, PortError | ValueError):
        # Ports promise secret-free ValueError texts naming the field (e.g. an unknown page_token).
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    logger.opt(exception=exc).error("api handler failed")
    return grpc.StatusCode.INTERNAL, "internal error"


def unary(fn: F) -> F:
    @wraps(fn)
    async def wrapper(self: Any, request: Any, context: Ctx) -> Any:
        try:
            return await fn(self, request, context)
        except Exception as exc:
            if isinstance(exc, aio.AbortError):
                raise
            code, message = _status_of(exc)
        await context.abort(code, message)

    return wrapper  # type: ignore[return-value]


async def _pump(
    context: Ctx, open_stream: Callable[[], AsyncIterator[Any]], to_pb: Callable[[Any], Any]
) -> None:
    iterator: AsyncIterator[Any] | None = None
    try:
        iterator = open_stream()
        async for item in iterator:
            await context.write(to_pb(item))
        return
    except Exception as exc:
        if isinstance(exc, aio.AbortError):
            raise
        code, message = _status_of(exc)
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    await context.abort(code, message)


# --- field checks -----------------------------------------------------------------------------------------


def symbol_arg(value: str, field: str = "symbol") -> str | None:
    if value == "":
        return None
    if not _SYMBOL_RE.match(value):
        raise InvalidArgument(f"{field}: expected 1-40 letters, digits or _./:- (empty for all)")
    return value


def text_arg(value: str, field: str, *, required: bool) -> str:
    text = value.strip()
    if required and not text:
        raise InvalidArgument(f"{field}: expected a non-empty text")
    if len(text) > MAX_REASON:
        raise InvalidArgument(f"{field}: expected at most {MAX_REASON} characters, got {len(text)}")
    if not text.isprintable():
        raise InvalidArgument(f"{field}: expected printable text without control characters")
    return text


def _time_range(since: int | None, until: int | None, prefix: str) -> None:
    for name, value in (("since_ms", since), ("until_ms", until)):
        if value is not None and value < 0:
            raise InvalidArgument(f"{prefix}{name}: expected epoch milliseconds >= 0, got {value}")
    if since is not None and until is not None and since >= until:
        raise InvalidArgument(f"{prefix}until_ms: expected > since_ms ({since}), got {until}")


def _opt(message: Any, name: str) -> int | None:
    return getattr(message, name) if message.HasField(name) else None


def page_arg(page: common_pb2.PageRequest) -> PageQuery:
    size = page.page_size
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise InvalidArgument(
            f"page.page_size: expected 0..{MAX_PAGE_SIZE} (0 = {DEFAULT_PAGE_SIZE}), got {size}"
        )
    if len(page.page_token) > MAX_TOKEN:
        raise InvalidArgument("page.page_token: expected the token of a previous page")
    since, until = _opt(page, "since_ms"), _opt(page, "until_ms")
    _time_range(since, until, "page.")
    return PageQuery(
        symbol=symbol_arg(page.symbol, "page.symbol"),
        page_size=size or DEFAULT_PAGE_SIZE,
        page_token=page.page_token,
        since_ms=since,
        until_ms=until,
    )


# --- servicers --------------------------------------------------------------------------------------------


class GridServicer(grid_pb2_grpc.GridServiceServicer):
    def __init__(self, port: GridPort) -> None:
        self._port = port
        # Every subscriber gets the same update objects: convert and serialize each once, not per subscriber.
        self._cache: OrderedDict[tuple[str, str, int, bool], bytes] = OrderedDict()

    @unary
    async def GetSlots(self, request: grid_pb2.GetSlotsRequest, context: Ctx) -> grid_pb2.SlotSnapshot:
        return convert.slot_snapshot_to_pb(await self._port.get_slots(symbol_arg(request.symbol)))

    @unary
    async def GetEngineStatus(
        self, request: grid_pb2.GetEngineStatusRequest, context: Ctx
    ) -> grid_pb2.EngineStatus:
        return convert.engine_status_to_pb(await self._port.get_engine_status())

    async def SubscribeSlots(self, request: grid_pb2.SubscribeSlotsRequest, context: Ctx) -> None:
        try:
            symbol = symbol_arg(request.symbol)
        except InvalidArgument as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        await _pump(context, lambda: self._port.subscribe_slots(symbol), self._update_pb)

    def _update_pb(self, update: SlotUpdate) -> bytes:
        key = (update.symbol, update.epoch, update.version, update.snapshot)
        message = self._cache.get(key)
        if message is None:
            message = convert.slot_update_to_pb(update).SerializeToString()
            self._cache[key] = message
            if len(self._cache) > 1024:
                self._cache.popitem(last=False)
        return message


def _bytes_or_message(message: Any) -> bytes:
    return message if isinstance(message, bytes) else message.SerializeToString()


def add_grid_servicer(servicer: GridServicer, server: aio.Server) -> None:
    """Like the generated add_GridServiceServicer_to_server, but SubscribeSlots may write pre-serialized
    bytes (the fan-out cache)."""
    handlers = {
        "GetSlots": grpc.unary_unary_rpc_method_handler(
            servicer.GetSlots,
            request_deserializer=grid_pb2.GetSlotsRequest.FromString,
            response_serializer=grid_pb2.SlotSnapshot.SerializeToString,
        ),
        "GetEngineStatus": grpc.unary_unary_rpc_method_handler(
            servicer.GetEngineStatus,
            request_deserializer=grid_pb2.GetEngineStatusRequest.FromString,
            response_serializer=grid_pb2.EngineStatus.SerializeToString,
        ),
        "SubscribeSlots": grpc.unary_stream_rpc_method_handler(
            servicer.SubscribeSlots,
            request_deserializer=grid_pb2.SubscribeSlotsRequest.FromString,
            response_serializer=_bytes_or_message,
        ),
    }
    name = grid_pb2.DESCRIPTOR.services_by_name["GridService"].full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)


class RiskServicer(risk_pb2_grpc.RiskServiceServicer):
    def __init__(self, port: RiskPort, guard: Guard, auditor: Auditor) -> None:
        self._port = port
        self._guard = guard
        self._auditor = auditor

    @unary
    async def GetRiskStatus(
        self, request: risk_pb2.GetRiskStatusRequest, context: Ctx
    ) -> risk_pb2.RiskStatus:
        return convert.risk_status_to_pb(await self._port.get_risk_status())

    @unary
    async def GetRiskMetrics(
        self, request: risk_pb2.GetRiskMetricsRequest, context: Ctx
    ) -> risk_pb2.RiskMetrics:
        return convert.risk_metrics_to_pb(await self._port.get_risk_metrics())

    @unary
    async def GetCircuitBreaker(
        self, request: risk_pb2.GetCircuitBreakerRequest, context: Ctx
    ) -> risk_pb2.CircuitBreakerStatus:
        return convert.breaker_to_pb(await self._port.get_breaker())

    @unary
    async def TripCircuitBreaker(
        self, request: risk_pb2.TripCircuitBreakerRequest, context: Ctx
    ) -> risk_pb2.CircuitBreakerChange:
        reason = text_arg(request.reason, "reason", required=True)
        change = await self._control(
            context, "TripCircuitBreaker", reason, lambda actor: self._port.trip_breaker(reason, actor)
        )
        return risk_pb2.CircuitBreakerChange(
            changed=change.changed, status=convert.breaker_to_pb(change.status)
        )

    @unary
    async def ResetCircuitBreaker(
        self, request: risk_pb2.ResetCircuitBreakerRequest, context: Ctx
    ) -> risk_pb2.CircuitBreakerChange:
        reason = text_arg(request.reason, "reason", required=False)
        change = await self._control(
            context, "ResetCircuitBreaker", reason, lambda actor: self._port.reset_breaker(reason, actor)
        )
        return risk_pb2.CircuitBreakerChange(
            changed=change.changed, status=convert.breaker_to_pb(change.status)
        )

    @unary
    async def TriggerReconciliation(
        self, request: risk_pb2.TriggerReconciliationRequest, context: Ctx
    ) -> risk_pb2.ReconciliationTicket:
        symbol = symbol_arg(request.symbol)
        ticket = await self._control(
            context,
            "TriggerReconciliation",
            symbol or "all symbols",
            lambda actor: self._port.trigger_reconciliation(symbol, actor),
        )
        return risk_pb2.ReconciliationTicket(
            accepted=ticket.accepted, run_id=ticket.run_id, message=ticket.message
        )

    @unary
    async def GetReconciliationStatus(
        self, request: risk_pb2.GetReconciliationStatusRequest, context: Ctx
    ) -> risk_pb2.ReconciliationStatus:
        return convert.reconciliation_to_pb(await self._port.get_reconciliation_status())

    async def SubscribeRiskAlerts(self, request: risk_pb2.SubscribeRiskAlertsRequest, context: Ctx) -> None:
        await _pump(context, self._port.subscribe_risk_alerts, convert.alert_to_pb)

    async def _control(
        self, context: Ctx, method: str, detail: str, act: Callable[[str], Awaitable[Any]]
    ) -> Any:
        # The guard already let this call through; identify again to learn the key id for actor and audit.
        identity = self._guard.identify(context.invocation_metadata())
        if identity is None:  # pragma: no cover - the guard refuses unknown keys before this runs
            raise Rejected("unauthenticated")
        try:
            result = await act(identity.key_id)
        except Exception as exc:
            await self._auditor.record(identity, method, detail, f"error: {type(exc).__name__}")
            raise
        await self._auditor.record(identity, method, detail, "ok")
        return result


class PositionServicer(position_pb2_grpc.PositionServiceServicer):
    def __init__(self, port: PositionPort) -> None:
        self._port = port

    @unary
    async def GetPositions(
        self, request: position_pb2.GetPositionsRequest, context: Ctx
    ) -> position_pb2.Positions:
        positions = await self._port.get_positions(symbol_arg(request.symbol))
        return position_pb2.Positions(positions=[convert.position_to_pb(x) for x in positions])

    @unary
    async def GetOpenOrders(
        self, request: position_pb2.GetOpenOrdersRequest, context: Ctx
    ) -> position_pb2.Orders:
        orders = await self._port.get_open_orders(symbol_arg(request.symbol))
        return position_pb2.Orders(orders=[convert.order_to_pb(x) for x in orders])

    @unary
    async def GetOrderHistory(
        self, request: position_pb2.GetOrderHistoryRequest, context: Ctx
    ) -> position_pb2.OrderPage:
        page = await self._port.get_order_history(page_arg(request.page))
        return position_pb2.OrderPage(
            orders=[convert.order_to_pb(x) for x in page.items], next_page_token=page.next_page_token
        )

    @unary
    async def GetFills(self, request: position_pb2.GetFillsRequest, context: Ctx) -> position_pb2.FillPage:
        page = await self._port.get_fills(page_arg(request.page))
        return position_pb2.FillPage(
            fills=[convert.fill_to_pb(x) for x in page.items], next_page_token=page.next_page_token
        )

    @unary
    async def GetPnlHistory(
        self, request: position_pb2.GetPnlHistoryRequest, context: Ctx
    ) -> position_pb2.PnlHistory:
        if not 0 <= request.limit <= MAX_PNL_LIMIT:
            raise InvalidArgument(
                f"limit: expected 0..{MAX_PNL_LIMIT} (0 = {DEFAULT_PNL_LIMIT}), got {request.limit}"
            )
        since, until = _opt(request, "since_ms"), _opt(request, "until_ms")
        _time_range(since, until, "")
        points = await self._port.get_pnl_history(
            symbol_arg(request.symbol), since, until, request.limit or DEFAULT_PNL_LIMIT
        )
        return position_pb2.PnlHistory(points=[convert.pnl_to_pb(x) for x in points])

    async def SubscribePositions(self, request: position_pb2.SubscribePositionsRequest, context: Ctx) -> None:
        try:
            symbol = symbol_arg(request.symbol)
        except InvalidArgument as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        await _pump(context, lambda: self._port.subscribe_positions(symbol), convert.position_update_to_pb)
