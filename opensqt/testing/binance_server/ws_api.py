"""The loopback server's websocket API (Binance USDT-M `ws-fapi`): order entry over a websocket.

One request per text frame, `{"id", "method", "params"}`; `params` carry `apiKey`, `timestamp` and a
`signature`: HMAC-SHA256 over the other parameters sorted by name as `key=value&...` (booleans as `true` /
`false`, as ccxt's `sign_params` writes them). Answers: `{"id", "status": 200, "result": {...}}` with the same
order shape as REST, or `{"id", "status": 4xx, "error": {"code", "msg"}}` with the same codes as REST (-5022
post-only, -2019 margin, -1003 rate limit with `data.retryAfter` in epoch ms, -2011 unknown order on cancel,
-1021 timestamp, -1022 signature, -2015 key). Requests of one connection are answered in order, as they
reach the backend. `rateLimits` is added unless the request sends `returnRateLimits: false`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import WSMsgType, web

from opensqt.testing.binance_server.server import ApiError

if TYPE_CHECKING:
    from opensqt.testing.binance_server.server import BinanceServer

_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400, "count": 1},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300, "count": 1},
]


def signature_payload(params: dict[str, Any]) -> str:
    """What a ws API request signs: all parameters but `signature`, sorted by name, `k=v` joined by `&`."""
    return "&".join(f"{k}={_text(v)}" for k, v in sorted(params.items()) if k != "signature")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class WsApi:
    """Serves `ws-fapi` connections for one `BinanceServer` (its backend, keys, clock and fault hooks)."""

    def __init__(self, server: BinanceServer, api_key: str, secret: bytes) -> None:
        self._server = server
        self._api_key, self._secret = api_key, secret
        self._conns: set[web.WebSocketResponse] = set()
        self.requests: list[str] = []  # the method of every request, for tests

    @property
    def connections(self) -> int:
        return len(self._conns)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        self._conns.add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    answer = await self.answer(msg.data, time.monotonic())
                    if ws.closed:
                        break  # dropped while the backend worked: the answer is lost, as on a real venue
                    await ws.send_str(orjson.dumps(answer).decode())
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._conns.discard(ws)
        return ws

    async def drop_all(self) -> int:
        """Close every ws API connection (fault hook): answers still being worked on are lost."""
        conns = list(self._conns)
        for ws in conns:
            await ws.close()
        return len(conns)

    async def answer(self, text: str, received: float) -> dict[str, Any]:
        try:
            msg = orjson.loads(text)
            rid, method, params = msg["id"], msg["method"], msg.get("params") or {}
            if not isinstance(method, str) or not isinstance(params, dict):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _error(None, ApiError(400, -1102, "Malformed request: expected id, method and params."))
        self.requests.append(method)
        entry = self._server.ws_api_received(received, method, params)
        try:
            result = await self._run(method, params)
        except ApiError as err:
            self._server.ws_api_answered(entry, err.status, err.code)
            return _error(rid, err)
        self._server.ws_api_answered(entry, 200, 0)
        out: dict[str, Any] = {"id": rid, "status": 200, "result": result}
        if _text(params.get("returnRateLimits", True)) != "false":  # JSON false or the string "false"
            out["rateLimits"] = _RATE_LIMITS
        return out

    async def _run(self, method: str, params: dict[str, Any]) -> Any:
        server = self._server
        faults = server.faults
        if faults.rate_limit_next > 0:
            faults.rate_limit_next -= 1
            retry_at = server.clock.now_ms() + int(faults.retry_after_s * 1000)
            raise ApiError(
                429,
                -1003,
                "Too many requests; current limit is 2400 requests per minute.",
                data={"retryAfter": retry_at},
            )
        handler = {
            "order.place": self._place,
            "order.cancel": self._cancel,
            "order.status": self._status,
        }.get(method)
        if handler is None:
            raise ApiError(400, -1102, f"Unknown method {method!r}.")
        self._check_auth(params)
        p = {k: _text(v) for k, v in params.items()}
        return await handler(p)

    def _check_auth(self, params: dict[str, Any]) -> None:
        if params.get("apiKey") != self._api_key:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signature = params.get("signature")
        if not isinstance(signature, str) or not signature:
            raise ApiError(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            )
        expected = hmac.new(self._secret, signature_payload(params).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        self._server.check_timestamp(
            {k: _text(v) for k, v in params.items() if k in ("timestamp", "recvWindow")}
        )

    async def _place(self, p: dict[str, str]) -> Any:
        server = self._server
        command = server.place_command(p)
        await server.delay_order()
        order = await server._backend(server.backend.create_order(command))
        return server.order_json(order)

    async def _cancel(self, p: dict[str, str]) -> Any:
        server = self._server
        symbol = server._symbol(p)
        assert symbol is not None
        order = await server._backend(
            server.backend.cancel_order(symbol, server.client_id_for(p)), cancel=True
        )
        return server.order_json(order)

    async def _status(self, p: dict[str, str]) -> Any:
        server = self._server
        symbol = server._symbol(p)
        assert symbol is not None
        order = await server._backend(server.backend.fetch_order(symbol, server.client_id_for(p)))
        return server.order_json(order)


def _error(rid: Any, err: ApiError) -> dict[str, Any]:
    error: dict[str, Any] = {"code": err.code, "msg": err.msg}
    if err.data:  # Binance's ws API: `retryAfter`, when the ban lifts, in epoch ms
        error["data"] = err.data
    return {"id": rid, "status": err.status, "error": error}
