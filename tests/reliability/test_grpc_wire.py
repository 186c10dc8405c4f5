"""Random malformed and out-of-range gRPC requests over a real TLS channel (FakeEngine behind the server):
every answer is OK, INVALID_ARGUMENT naming the field, or NOT_FOUND; never INTERNAL, and nothing changes."""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from opensqt.api.fake import FakeEngine
from opensqt.api.ports import AuditRecord
from tests.api.harness import Api, FrozenClock, make_server

SEED = 13
REQUESTS = 300
FIELD = re.compile(r"^(page\.)?[a-z_.]+( '[^']*')?: ")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    engine = FakeEngine(("BTCUSDT", "ETHUSDT"))
    audits: list[AuditRecord] = []
    server = make_server(tmp_path, engine, audits, FrozenClock())
    await server.start()
    try:
        yield Api(server, engine, tmp_path, audits, FrozenClock())
    finally:
        await server.stop(grace=None)


def _int(rng: random.Random, bits: int) -> int:
    edges = [0, -1, 1, 10, 1000, 1001, 10_000, 10_001, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1]
    return int(rng.choice([*edges, rng.randint(-(2**20), 2**20)]))


def _text(rng: random.Random) -> str:
    return rng.choice(
        ["", " ", "BTCUSDT", "NOPE", "BTC USDT", "a\x00b", "x" * 41, "x" * 501, "é", "😀", "../etc", "%s%n",
         "'; DROP TABLE orders; --", "\u202e", "BTC/USDT:USDT", rng.choice(["garbage!", "AAAA", "==="])]
    )  # fmt: skip


def _request(rng: random.Random) -> tuple[str, Any]:
    from opensqt.api.v1 import common_pb2, position_pb2, risk_pb2

    def page() -> Any:
        p = common_pb2.PageRequest(symbol=_text(rng), page_size=_int(rng, 32), page_token=_text(rng))
        if rng.random() < 0.5:
            p.since_ms = _int(rng, 64)
        if rng.random() < 0.5:
            p.until_ms = _int(rng, 64)
        return p

    kind = rng.choice(["history", "fills", "pnl", "positions", "orders", "trip"])
    if kind == "history":
        return "GetOrderHistory", position_pb2.GetOrderHistoryRequest(page=page())
    if kind == "fills":
        return "GetFills", position_pb2.GetFillsRequest(page=page())
    if kind == "pnl":
        req = position_pb2.GetPnlHistoryRequest(symbol=_text(rng), limit=_int(rng, 32))
        if rng.random() < 0.5:
            req.since_ms = _int(rng, 64)
        return "GetPnlHistory", req
    if kind == "positions":
        return "GetPositions", position_pb2.GetPositionsRequest(symbol=_text(rng))
    if kind == "orders":
        return "GetOpenOrders", position_pb2.GetOpenOrdersRequest(symbol=_text(rng))
    # only invalid reasons: a valid one would (rightly) trip the breaker
    reason = rng.choice(["", "   ", "x" * 501, "a\x00b", "\x07bell"])
    return "TripCircuitBreaker", risk_pb2.TripCircuitBreakerRequest(reason=reason)


async def test_random_requests_over_tls_are_answered_or_refused_naming_the_field(api: Api) -> None:
    import grpc
    from grpc import aio

    from opensqt.api.v1 import position_pb2_grpc, risk_pb2_grpc

    rng = random.Random(SEED)
    codes: Counter[str] = Counter()
    async with aio.secure_channel(api.server.target, grpc.ssl_channel_credentials(api.cert)) as channel:
        pos = position_pb2_grpc.PositionServiceStub(channel)  # type: ignore[no-untyped-call]
        risk = risk_pb2_grpc.RiskServiceStub(channel)  # type: ignore[no-untyped-call]
        for _ in range(REQUESTS):
            rpc, message = _request(rng)
            stub = risk if rpc == "TripCircuitBreaker" else pos
            try:
                await getattr(stub, rpc)(message, metadata=[("x-api-key", api.control_key)])
                codes["OK"] += 1
            except aio.AioRpcError as exc:
                code, details = exc.code().name, exc.details() or ""
                codes[code] += 1
                assert code in ("INVALID_ARGUMENT", "NOT_FOUND"), (rpc, message, code, details)
                assert code != "INVALID_ARGUMENT" or FIELD.match(details), (rpc, details)
    assert codes["INVALID_ARGUMENT"] > 50 and codes["OK"] > 10, codes
    assert api.engine.breaker.is_open is False and api.engine.control_calls == []
    print(dict(codes))
