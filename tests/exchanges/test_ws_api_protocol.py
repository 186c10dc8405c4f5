"""The loopback server's websocket API (`/ws-fapi/v1`) spoken raw, without ccxt: requests signed by hand as
Binance documents it (every parameter but `signature`, sorted by name, `k=v&...`, HMAC-SHA256 hex), answers
in Binance's shapes (`{"id", "status", "result"}` / `{"id", "status", "error": {"code", "msg"}}`), the order
result carrying the fields of the recorded REST order sample."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from opensqt.testing.binance_server import BinanceServer, MemoryVenue, default_instruments
from tests.conftest import SHARED_DATA

SAMPLES = SHARED_DATA / "venues" / "binance-usdm"
BTC = "BTC/USDT:USDT"
KEY, SECRET = "loopback-key", "loopback-secret"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def ws() -> AsyncIterator[tuple[BinanceServer, MemoryVenue, Any]]:
    venue = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    venue.set_book(BTC, Decimal("60000.0"), Decimal("60000.1"))
    async with (
        BinanceServer(venue) as srv,
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://127.0.0.1:{srv.port}/ws-fapi/v1") as conn,
    ):
        yield srv, venue, conn


def _signed(params: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return {**params, "signature": hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()}


def _order(srv: BinanceServer, **extra: Any) -> dict[str, Any]:
    params = {
        "apiKey": KEY,
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTX",
        "quantity": "0.010",
        "price": "59000",
        "newClientOrderId": "raw-1",
        "timestamp": srv.clock.now_ms(),
    }
    params.update(extra)
    return params


async def _ask(conn: Any, rid: Any, method: str, params: dict[str, Any]) -> dict[str, Any]:
    await conn.send_str(json.dumps({"id": rid, "method": method, "params": params}))
    answer: dict[str, Any] = json.loads((await conn.receive()).data)
    return answer


async def test_place_answers_the_rest_order_shape_with_rate_limits(ws: Any) -> None:
    srv, venue, conn = ws
    answer = await _ask(conn, "a1", "order.place", _signed(_order(srv)))
    assert set(answer) == {"id", "status", "result", "rateLimits"}
    assert (answer["id"], answer["status"]) == ("a1", 200)
    result = answer["result"]
    sample = json.loads((SAMPLES / "http_futures_account_orders.json").read_text())
    sample = sample[0] if isinstance(sample, list) else sample
    assert set(sample) - set(result) <= {"activatePrice", "priceRate"}
    assert (result["clientOrderId"], result["status"], result["timeInForce"], result["origQty"]) == (
        "raw-1",
        "NEW",
        "GTX",
        "0.010",
    )
    assert [o.client_order_id for o in await venue.fetch_open_orders(BTC)] == ["raw-1"]
    # returnRateLimits false drops them, as on Binance; the flag is signed like any parameter
    quiet = await _ask(
        conn, 2, "order.place", _signed(_order(srv, newClientOrderId="raw-2", returnRateLimits="false"))
    )
    assert set(quiet) == {"id", "status", "result"} and quiet["id"] == 2


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("bad-signature", 400, -1022),
        ("bad-key", 401, -2015),
        ("stale", 400, -1021),
        ("post-only-cross", 400, -5022),
        ("margin", 400, -2019),
        ("unknown-cancel", 400, -2011),
    ],
)
async def test_errors_use_binances_codes_and_shape(ws: Any, case: str, status: int, code: int) -> None:
    srv, venue, conn = ws
    method, params = "order.place", _order(srv)
    if case == "bad-signature":
        request = _signed(params, secret="wrong")
    elif case == "bad-key":
        request = _signed({**params, "apiKey": "other"})
    elif case == "stale":
        request = _signed({**params, "timestamp": srv.clock.now_ms() - 120_000})
    elif case == "post-only-cross":
        request = _signed({**params, "price": "60000.1"})
    elif case == "margin":
        venue._wallet = Decimal(0)
        request = _signed(params)
    else:
        method = "order.cancel"
        request = _signed(
            {
                "apiKey": KEY,
                "symbol": "BTCUSDT",
                "origClientOrderId": "nope",
                "timestamp": params["timestamp"],
            }
        )
    answer = await _ask(conn, 7, method, request)
    assert set(answer) == {"id", "status", "error"}
    assert (answer["id"], answer["status"], answer["error"]["code"]) == (7, status, code)
    assert set(answer["error"]) == {"code", "msg"} and answer["error"]["msg"]
    assert await venue.fetch_open_orders(BTC) == []


async def test_rate_limit_names_when_the_ban_lifts(ws: Any) -> None:
    srv, _, conn = ws
    srv.faults.rate_limit_next, srv.faults.retry_after_s = 1, 3
    before = srv.clock.now_ms()
    answer = await _ask(conn, 1, "order.place", _signed(_order(srv)))
    assert (answer["status"], answer["error"]["code"]) == (429, -1003)
    assert before + 3000 <= answer["error"]["data"]["retryAfter"] <= srv.clock.now_ms() + 3000
    assert (await _ask(conn, 2, "order.place", _signed(_order(srv))))["status"] == 200


async def test_cancel_and_status_by_client_id(ws: Any) -> None:
    srv, _, conn = ws
    await _ask(conn, 1, "order.place", _signed(_order(srv)))
    ids = {"apiKey": KEY, "symbol": "BTCUSDT", "origClientOrderId": "raw-1", "timestamp": srv.clock.now_ms()}
    status = await _ask(conn, 2, "order.status", _signed(ids))
    assert (status["status"], status["result"]["status"]) == (200, "NEW")
    canceled = await _ask(conn, 3, "order.cancel", _signed(ids))
    assert (canceled["status"], canceled["result"]["status"]) == (200, "CANCELED")
    assert srv.ws_api.requests == ["order.place", "order.status", "order.cancel"]


async def test_malformed_and_unknown_requests(ws: Any) -> None:
    _, _, conn = ws
    await conn.send_str("not json")
    bad = json.loads((await conn.receive()).data)
    assert (bad["id"], bad["status"], bad["error"]["code"]) == (None, 400, -1102)
    unknown = await _ask(conn, 5, "order.teleport", _signed({"apiKey": KEY, "timestamp": 1}))
    assert (unknown["id"], unknown["status"], unknown["error"]["code"]) == (5, 400, -1102)
