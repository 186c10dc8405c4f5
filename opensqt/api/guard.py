"""The gate in front of every RPC: API key check, role check, per-key rate limit, and the audit of control
calls. Rejections answer UNAUTHENTICATED, PERMISSION_DENIED or RESOURCE_EXHAUSTED and never echo the key."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import grpc
from grpc import aio
from loguru import logger

from opensqt.api.auth import HEADER, Identity, KeyRing, Role
from opensqt.api.ports import AuditRecord
from opensqt.api.ratelimit import KeyRateLimiter
from opensqt.clock import Clock, WallClock

PACKAGE = "opensqt.api.v1"
CONTROL_METHODS = frozenset(
    {
        f"/{PACKAGE}.RiskService/TripCircuitBreaker",
        f"/{PACKAGE}.RiskService/ResetCircuitBreaker",
        f"/{PACKAGE}.RiskService/TriggerReconciliation",
    }
)
# Health checks answer without a key, so load balancers and `grpc_health_probe` work; they reveal nothing.
OPEN_PREFIXES = ("/grpc.health.v1.Health/",)

AuditSink = Callable[[AuditRecord], Awaitable[None] | None]


def presented_key(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == HEADER:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return None


class Auditor:
    """Hands one AuditRecord per control call to the sink; a failing sink is logged, not raised, because a
    breaker trip must not be undone by an audit-log outage."""

    def __init__(self, sink: AuditSink | None, clock: Clock | None = None) -> None:
        self._sink = sink
        self._clock = clock or WallClock()

    async def record(self, identity: Identity, method: str, detail: str, outcome: str) -> None:
        record = AuditRecord(
            key_id=identity.key_id,
            role=identity.role.value,
            method=method.rsplit("/", 1)[-1],
            detail=detail,
            outcome=outcome,
            ts_ms=self._clock.now_ms(),
        )
        logger.info("api control call {} by key {}: {}", record.method, record.key_id, outcome)
        if self._sink is None:
            return
        try:
            result = self._sink(record)
            if inspect.isawaitable(result):
                await result
        except Exception:
            logger.exception("audit sink failed for {} by key {}", record.method, record.key_id)


def _rejecting(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    # A plain coroutine that aborts, of the same RPC kind as the real handler: an async generator here would
    # surface as INTERNAL instead of `code` in grpc.aio.
    async def abort(request: Any, context: aio.ServicerContext[Any, Any]) -> None:
        await context.abort(code, message)

    if handler.request_streaming and handler.response_streaming:
        make = grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        make = grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        make = grpc.unary_stream_rpc_method_handler
    else:
        make = grpc.unary_unary_rpc_method_handler
    return make(
        abort,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class Guard(aio.ServerInterceptor):  # type: ignore[misc]
    """Authenticates, authorises and rate-limits every call before its handler runs."""

    def __init__(self, keyring: KeyRing, limiter: KeyRateLimiter, auditor: Auditor) -> None:
        self._keyring = keyring
        self._limiter = limiter
        self._auditor = auditor

    def identify(self, metadata: Sequence[tuple[str, str | bytes]] | None) -> Identity | None:
        return self._keyring.identify(presented_key(metadata))

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method: str = handler_call_details.method
        handler = await continuation(handler_call_details)
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        key = presented_key(handler_call_details.invocation_metadata)
        if key is None:
            return _rejecting(
                handler, grpc.StatusCode.UNAUTHENTICATED, f"missing API key: send it in '{HEADER}'"
            )
        identity = self._keyring.identify(key)
        if identity is None:
            logger.warning("api call {} refused: unknown API key", method)
            return _rejecting(handler, grpc.StatusCode.UNAUTHENTICATED, "invalid API key")
        if method in CONTROL_METHODS and not identity.role.allows(Role.CONTROL):
            await self._auditor.record(identity, method, "needs the control role", "denied")
            return _rejecting(
                handler,
                grpc.StatusCode.PERMISSION_DENIED,
                f"key {identity.key_id!r} is read-only; this call needs a control key",
            )
        if not self._limiter.allow(identity.key_id):
            return _rejecting(
                handler,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"rate limit exceeded for key {identity.key_id!r}: "
                f"at most {self._limiter.rate_per_s:g} calls/s "
                f"(burst {self._limiter.burst})",
            )
        return handler
