"""`ApiClient`: a typed async client of the agent API returning opensqt.model objects and port values, with
subscriptions that reconnect (backoff, resubscribe, resume from the fresh snapshot the server sends first)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import anyio
import grpc
from grpc import aio
from loguru import logger

from opensqt.api import convert, ports
from opensqt.api.auth import HEADER, default_client_key, read_client_key
from opensqt.api.server import DEFAULT_LISTEN
from opensqt.api.tls import CERT_FILE
from opensqt.api.v1 import (
    common_pb2,
    grid_pb2,
    grid_pb2_grpc,
    position_pb2,
    position_pb2_grpc,
    risk_pb2,
    risk_pb2_grpc,
)
from opensqt.model import Fill, Order, Position
from opensqt.runtime.limits import backoff_delays

T = TypeVar("T")
TARGET_ENV = "OPENSQT_API_TARGET"
# Codes a retry cannot fix: the subscription ends with an ApiError instead of reconnecting.
PERMANENT = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.FAILED_PRECONDITION,
    }
)
_CHANNEL_OPTIONS = [
    # The channel's own reconnect backoff defaults to 1 s growing to 120 s: far too slow after a restart.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 5000),
]


class ApiError(Exception):
    """A call failed: `code` is the gRPC status name ('PERMISSION_DENIED'), `details` the server's text."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details


def _error(exc: aio.AioRpcError) -> ApiError:
    return ApiError(exc.code().name, exc.details() or "")


class ApiClient:
    """Use as `async with ApiClient(...) as client:`; `from_data_dir` finds the local certificate and key."""

    def __init__(
        self,
        target: str,
        api_key: str,
        *,
        root_cert: bytes | None = None,
        timeout: float = 5.0,
        backoff: Callable[[int], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if not api_key:
            raise ValueError("api key: expected a non-empty key")
        self.target = target
        self._metadata = ((HEADER, api_key),)
        self._timeout = timeout
        self._backoff = backoff or backoff_delays(base=0.1, cap=5.0)
        self._sleep = sleep
        self._channel = aio.secure_channel(target, grpc.ssl_channel_credentials(root_cert), _CHANNEL_OPTIONS)
        self._grid = grid_pb2_grpc.GridServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._risk = risk_pb2_grpc.RiskServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._pos = position_pb2_grpc.PositionServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.reconnects = 0

    @classmethod
    def from_data_dir(
        cls,
        data_dir: Path,
        *,
        target: str | None = None,
        key_file: Path | None = None,
        ca_file: Path | None = None,
        env: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> ApiClient:
        """Target from the argument, OPENSQT_API_TARGET or 127.0.0.1:50052; key from `key_file`,
        OPENSQT_API_KEY, <data_dir>/api/control.key or read_only.key; trusted certificate from `ca_file` or
        <data_dir>/api/tls/cert.pem (the server's self-signed one), else the system roots."""
        env = os.environ if env is None else env
        key = read_client_key(key_file) if key_file is not None else default_client_key(data_dir, env)
        ca = ca_file or data_dir / "api" / "tls" / CERT_FILE
        root = ca.read_bytes() if ca.exists() else None
        return cls(target or env.get(TARGET_ENV) or DEFAULT_LISTEN, key, root_cert=root, **kwargs)

    async def close(self) -> None:
        await self._channel.close()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, method: Any, request: Any) -> Any:
        try:
            return await method(request, metadata=self._metadata, timeout=self._timeout)
        except aio.AioRpcError as exc:
            raise _error(exc) from None

    # --- grid -------------------------------------------------------------------------------------------

    async def get_engine_status(self) -> ports.EngineStatus:
        reply = await self._call(self._grid.GetEngineStatus, grid_pb2.GetEngineStatusRequest())
        return convert.engine_status_from_pb(reply)

    async def get_slots(self, symbol: str | None = None) -> ports.SlotSnapshot:
        reply = await self._call(self._grid.GetSlots, grid_pb2.GetSlotsRequest(symbol=symbol or ""))
        return convert.slot_snapshot_from_pb(reply)

    def subscribe_slots(self, symbol: str | None = None) -> AsyncIterator[ports.SlotUpdate]:
        request = grid_pb2.SubscribeSlotsRequest(symbol=symbol or "")
        return self._subscribe(
            lambda: self._grid.SubscribeSlots(request, metadata=self._metadata, wait_for_ready=True),
            convert.slot_update_from_pb,
        )

    # --- risk -------------------------------------------------------------------------------------------

    async def get_risk_status(self) -> ports.RiskStatus:
        reply = await self._call(self._risk.GetRiskStatus, risk_pb2.GetRiskStatusRequest())
        return convert.risk_status_from_pb(reply)

    async def get_risk_metrics(self) -> ports.RiskMetrics:
        reply = await self._call(self._risk.GetRiskMetrics, risk_pb2.GetRiskMetricsRequest())
        return convert.risk_metrics_from_pb(reply)

    async def get_breaker(self) -> ports.BreakerStatus:
        reply = await self._call(self._risk.GetCircuitBreaker, risk_pb2.GetCircuitBreakerRequest())
        return convert.breaker_from_pb(reply)

    async def trip_breaker(self, reason: str) -> ports.BreakerChange:
        reply = await self._call(
            self._risk.TripCircuitBreaker, risk_pb2.TripCircuitBreakerRequest(reason=reason)
        )
        return ports.BreakerChange(changed=reply.changed, status=convert.breaker_from_pb(reply.status))

    async def reset_breaker(self, reason: str = "") -> ports.BreakerChange:
        reply = await self._call(
            self._risk.ResetCircuitBreaker, risk_pb2.ResetCircuitBreakerRequest(reason=reason)
        )
        return ports.BreakerChange(changed=reply.changed, status=convert.breaker_from_pb(reply.status))

    async def trigger_reconciliation(self, symbol: str | None = None) -> ports.ReconciliationTicket:
        reply = await self._call(
            self._risk.TriggerReconciliation, risk_pb2.TriggerReconciliationRequest(symbol=symbol or "")
        )
        return ports.ReconciliationTicket(accepted=reply.accepted, run_id=reply.run_id, message=reply.message)

    async def get_reconciliation_status(self) -> ports.ReconciliationStatus:
        reply = await self._call(
            self._risk.GetReconciliationStatus, risk_pb2.GetReconciliationStatusRequest()
        )
        return convert.reconciliation_from_pb(reply)

    def subscribe_risk_alerts(self) -> AsyncIterator[ports.RiskAlert]:
        request = risk_pb2.SubscribeRiskAlertsRequest()
        return self._subscribe(
            lambda: self._risk.SubscribeRiskAlerts(request, metadata=self._metadata, wait_for_ready=True),
            convert.alert_from_pb,
        )

    # --- positions --------------------------------------------------------------------------------------

    async def get_positions(self, symbol: str | None = None) -> tuple[Position, ...]:
        reply = await self._call(
            self._pos.GetPositions, position_pb2.GetPositionsRequest(symbol=symbol or "")
        )
        return tuple(convert.position_from_pb(x, f"positions[{i}]") for i, x in enumerate(reply.positions))

    async def get_open_orders(self, symbol: str | None = None) -> tuple[Order, ...]:
        reply = await self._call(
            self._pos.GetOpenOrders, position_pb2.GetOpenOrdersRequest(symbol=symbol or "")
        )
        return tuple(convert.order_from_pb(x, f"orders[{i}]") for i, x in enumerate(reply.orders))

    async def get_order_history(self, query: ports.PageQuery = ports.PageQuery()) -> ports.Page[Order]:
        reply = await self._call(
            self._pos.GetOrderHistory, position_pb2.GetOrderHistoryRequest(page=_page(query))
        )
        orders = tuple(convert.order_from_pb(x, f"orders[{i}]") for i, x in enumerate(reply.orders))
        return ports.Page(items=orders, next_page_token=reply.next_page_token)

    async def get_fills(self, query: ports.PageQuery = ports.PageQuery()) -> ports.Page[Fill]:
        reply = await self._call(self._pos.GetFills, position_pb2.GetFillsRequest(page=_page(query)))
        fills = tuple(convert.fill_from_pb(x, f"fills[{i}]") for i, x in enumerate(reply.fills))
        return ports.Page(items=fills, next_page_token=reply.next_page_token)

    async def get_pnl_history(
        self,
        symbol: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = 0,
    ) -> tuple[ports.PnlPoint, ...]:
        request = position_pb2.GetPnlHistoryRequest(
            symbol=symbol or "", since_ms=since_ms, until_ms=until_ms, limit=limit
        )
        reply = await self._call(self._pos.GetPnlHistory, request)
        return tuple(convert.pnl_from_pb(x, f"points[{i}]") for i, x in enumerate(reply.points))

    def subscribe_positions(self, symbol: str | None = None) -> AsyncIterator[ports.PositionUpdate]:
        request = position_pb2.SubscribePositionsRequest(symbol=symbol or "")
        return self._subscribe(
            lambda: self._pos.SubscribePositions(request, metadata=self._metadata, wait_for_ready=True),
            convert.position_update_from_pb,
        )

    # --- reconnecting subscriptions ---------------------------------------------------------------------

    async def _subscribe(
        self, open_call: Callable[[], Any], convert_one: Callable[[Any], T]
    ) -> AsyncIterator[T]:
        """Yield messages; when the stream breaks or ends (server restart), back off and subscribe again.
        The server starts every subscription with a snapshot, so the reader resumes from a complete view."""
        attempt = 0
        while True:
            call = open_call()
            try:
                async for message in call:
                    attempt = 0
                    yield convert_one(message)
                reason = "stream ended"
            except aio.AioRpcError as exc:
                if exc.code() in PERMANENT:
                    raise _error(exc) from None
                reason = exc.code().name
            finally:
                call.cancel()
            delay = self._backoff(attempt)
            attempt += 1
            self.reconnects += 1
            logger.info(
                "api subscription to {} lost ({}); resubscribing in {:.2f} s", self.target, reason, delay
            )
            await self._sleep(delay)


def _page(query: ports.PageQuery) -> common_pb2.PageRequest:
    return common_pb2.PageRequest(
        symbol=query.symbol or "",
        page_size=query.page_size,
        page_token=query.page_token,
        since_ms=query.since_ms,
        until_ms=query.until_ms,
    )
