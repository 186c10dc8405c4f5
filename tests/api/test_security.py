"""Keys, roles, rate limits, malformed requests and the audit trail, over a real TLS channel on 127.0.0.1."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import grpc
import pytest
from grpc import aio

from opensqt.api.client import ApiError
from opensqt.api.v1 import grid_pb2, grid_pb2_grpc, position_pb2, position_pb2_grpc, risk_pb2, risk_pb2_grpc
from opensqt.model import Slot
from tests.api.harness import Api


def _stub(stub_class: Any, channel: aio.Channel) -> Any:
    return stub_class(channel)


def _channel(api: Api) -> aio.Channel:
    return aio.secure_channel(api.server.target, grpc.ssl_channel_credentials(api.cert))


async def _code(awaitable: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(aio.AioRpcError) as info:
        await awaitable  # type: ignore[misc]
    return info.value.code(), info.value.details() or ""


async def test_missing_and_wrong_keys_are_unauthenticated(api: Api) -> None:
    async with _channel(api) as channel:
        stub = _stub(grid_pb2_grpc.GridServiceStub, channel)
        missing = await _code(stub.GetEngineStatus(grid_pb2.GetEngineStatusRequest()))
        wrong = await _code(
            stub.GetEngineStatus(
                grid_pb2.GetEngineStatusRequest(), metadata=[("x-api-key", api.control_key + "x")]
            )
        )
        assert missing == (grpc.StatusCode.UNAUTHENTICATED, "missing API key: send it in 'x-api-key'")
        assert wrong == (grpc.StatusCode.UNAUTHENTICATED, "invalid API key")


async def test_a_rejected_stream_says_unauthenticated_not_internal(api: Api) -> None:
    async with _channel(api) as channel:
        stub = _stub(grid_pb2_grpc.GridServiceStub, channel)
        call = stub.SubscribeSlots(grid_pb2.SubscribeSlotsRequest(), metadata=[("x-api-key", "osk_nope")])
        with pytest.raises(aio.AioRpcError) as info:
            async for _ in call:
                pass
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_read_only_key_reads_but_cannot_control(api: Api) -> None:
    client = api.client(api.read_key)
    assert (await client.get_breaker()).is_open is False
    for call in (client.trip_breaker("x"), client.reset_breaker(), client.trigger_reconciliation()):
        with pytest.raises(ApiError) as info:
            await call
        assert (info.value.code, info.value.details) == (
            "PERMISSION_DENIED",
            "key 'local-read' is read-only; this call needs a control key",
        )
    assert api.engine.control_calls == []
    assert [(a.key_id, a.method, a.outcome) for a in api.audits] == [
        ("local-read", "TripCircuitBreaker", "denied"),
        ("local-read", "ResetCircuitBreaker", "denied"),
        ("local-read", "TriggerReconciliation", "denied"),
    ]


async def test_control_key_trips_and_the_key_id_is_audited_never_the_key(
    api: Api, log_lines: list[str]
) -> None:
    client = api.client()
    change = await client.trip_breaker("manual stop for maintenance")
    again = await client.trip_breaker("again")
    reset = await client.reset_breaker("done")
    ticket = await client.trigger_reconciliation("ETHUSDT")
    assert (change.changed, change.status.is_open, change.status.actor) == (True, True, "local-control")
    assert change.status.detail == "manual stop for maintenance"
    assert (again.changed, reset.changed, reset.status.is_open) == (False, True, False)
    assert (ticket.accepted, ticket.run_id) == (True, "run-1")
    assert [(a.key_id, a.role, a.method, a.detail, a.outcome) for a in api.audits] == [
        ("local-control", "control", "TripCircuitBreaker", "manual stop for maintenance", "ok"),
        ("local-control", "control", "TripCircuitBreaker", "again", "ok"),
        ("local-control", "control", "ResetCircuitBreaker", "done", "ok"),
        ("local-control", "control", "TriggerReconciliation", "ETHUSDT", "ok"),
    ]
    assert [c.actor for c in api.engine.control_calls] == ["local-control"] * 4
    # The key must not appear in anything a caller or an operator can see.
    with pytest.raises(ApiError) as info:
        await api.client(api.control_key[:-1]).get_breaker()
    seen = " ".join(
        [*log_lines, repr(api.audits), str(change), str(info.value), repr(api.engine.control_calls)]
    )
    assert api.control_key not in seen
    assert api.control_key[:-1] not in seen
    assert "local-control" in seen


async def test_rate_limit_answers_resource_exhausted_per_key(tmp_path: object, api: Api) -> None:
    await api.server.stop(grace=None)
    from tests.api.harness import make_server

    server = make_server(api.data_dir, api.engine, api.audits, api.rate_clock, rate=5)
    await server.start()
    api.server = server
    try:
        control, reader = api.client(), api.client(api.read_key)
        for _ in range(5):
            await control.get_breaker()
        with pytest.raises(ApiError) as info:
            await control.get_breaker()
        assert (info.value.code, info.value.details) == (
            "RESOURCE_EXHAUSTED",
            "rate limit exceeded for key 'local-control': at most 5 calls/s (burst 5)",
        )
        # Another key has its own bucket; time refills the first one (one token per 1/5 s).
        assert (await reader.get_breaker()).is_open is False
        api.rate_clock.now += 0.2
        assert (await control.get_breaker()).is_open is False
        with pytest.raises(ApiError):
            await control.get_breaker()
    finally:
        await server.stop(grace=None)


MALFORMED = [
    (
        "GetSlots",
        grid_pb2.GetSlotsRequest(symbol="BTC USDT"),
        "symbol: expected 1-40 letters, digits or _./:- (empty for all)",
    ),
    ("GetSlots", grid_pb2.GetSlotsRequest(symbol="NOPE"), "symbol 'NOPE': no grid for it"),
    (
        "TripCircuitBreaker",
        risk_pb2.TripCircuitBreakerRequest(reason="   "),
        "reason: expected a non-empty text",
    ),
    (
        "TripCircuitBreaker",
        risk_pb2.TripCircuitBreakerRequest(reason="x" * 501),
        "reason: expected at most 500 characters, got 501",
    ),
    (
        "TripCircuitBreaker",
        risk_pb2.TripCircuitBreakerRequest(reason="a\x00b"),
        "reason: expected printable text without control characters",
    ),
    (
        "GetOrderHistory",
        position_pb2.GetOrderHistoryRequest(page={"page_size": 1001}),
        "page.page_size: expected 0..1000 (0 = 100), got 1001",
    ),
    (
        "GetOrderHistory",
        position_pb2.GetOrderHistoryRequest(page={"page_token": "garbage!"}),
        "page_token: expected a token from a previous page",
    ),
    (
        "GetFills",
        position_pb2.GetFillsRequest(page={"since_ms": 10, "until_ms": 10}),
        "page.until_ms: expected > since_ms (10), got 10",
    ),
    (
        "GetFills",
        position_pb2.GetFillsRequest(page={"since_ms": -1}),
        "page.since_ms: expected epoch milliseconds >= 0, got -1",
    ),
    (
        "GetPnlHistory",
        position_pb2.GetPnlHistoryRequest(limit=10_001),
        "limit: expected 0..10000 (0 = 500), got 10001",
    ),
]


async def test_malformed_requests_are_invalid_argument_naming_the_field(api: Api) -> None:
    # One server for every case (a loop: anyio's plugin loses parametrize parameters with async fixtures).
    metadata = [("x-api-key", api.control_key)]
    answers = []
    async with _channel(api) as channel:
        stubs = {
            "GetSlots": _stub(grid_pb2_grpc.GridServiceStub, channel).GetSlots,
            "TripCircuitBreaker": _stub(risk_pb2_grpc.RiskServiceStub, channel).TripCircuitBreaker,
            "GetOrderHistory": _stub(position_pb2_grpc.PositionServiceStub, channel).GetOrderHistory,
            "GetFills": _stub(position_pb2_grpc.PositionServiceStub, channel).GetFills,
            "GetPnlHistory": _stub(position_pb2_grpc.PositionServiceStub, channel).GetPnlHistory,
        }
        for rpc, message, _ in MALFORMED:
            answers.append(await _code(stubs[rpc](message, metadata=metadata)))
    expected = [
        (grpc.StatusCode.NOT_FOUND if "no grid" in details else grpc.StatusCode.INVALID_ARGUMENT, details)
        for _, _, details in MALFORMED
    ]
    assert answers == expected
    assert api.engine.breaker.is_open is False
    assert api.engine.control_calls == []


async def test_a_malformed_subscription_is_invalid_argument(api: Api) -> None:
    async with _channel(api) as channel:
        call = _stub(grid_pb2_grpc.GridServiceStub, channel).SubscribeSlots(
            grid_pb2.SubscribeSlotsRequest(symbol="bad symbol"), metadata=[("x-api-key", api.control_key)]
        )
        with pytest.raises(aio.AioRpcError) as info:
            async for _ in call:
                pass
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "symbol: expected 1-40 letters, digits or _./:- (empty for all)"


async def test_an_engine_failure_is_internal_without_detail(api: Api, log_lines: list[str]) -> None:
    async def broken() -> Any:
        raise RuntimeError("secret-ish internal detail")

    api.engine.get_engine_status = broken  # type: ignore[method-assign]
    with pytest.raises(ApiError) as info:
        await api.client().get_engine_status()
    assert (info.value.code, info.value.details) == ("INTERNAL", "internal error")
    assert any("api handler failed" in line for line in log_lines)


async def test_health_answers_without_a_key_and_reflection_lists_the_services(api: Api) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with _channel(api) as channel:
        health = _stub(health_pb2_grpc.HealthStub, channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service="opensqt.api.v1.RiskService"))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stub = _stub(reflection_pb2_grpc.ServerReflectionStub, channel)
        call = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]),
            metadata=[("x-api-key", api.read_key)],
        )
        names = [s.name async for r in call for s in r.list_services_response.service]
    assert sorted(names) == [
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "opensqt.api.v1.GridService",
        "opensqt.api.v1.PositionService",
        "opensqt.api.v1.RiskService",
    ]


async def test_slot_values_arrive_exactly(api: Api) -> None:
    api.engine.publish_slots(
        [Slot(price=Decimal("27000.10"), position_qty=Decimal("0.001"))], centre_price=Decimal("27000.1")
    )
    snap = await api.client().get_slots("BTCUSDT")
    assert snap.slots == (Slot(price=Decimal("27000.10"), position_qty=Decimal("0.001")),)
    assert str(snap.slots[0].price) == "27000.10"
    assert (snap.version, snap.centre_price) == (1, Decimal("27000.1"))
