"""The loopback server's websockets: market streams with Binance's SUBSCRIBE protocol, and user-data streams.

Each market stream (`btcusdt@trade`, ...) gets one pump reading the backend's `watch_*` method, fanned out
to every subscribed connection; the user stream is pumped from `watch_orders` and `watch_balance`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import anyio
import orjson
from aiohttp import WSMsgType, web
from loguru import logger

from opensqt.testing.binance_server import shapes

if TYPE_CHECKING:
    from opensqt.testing.binance_server.server import BinanceServer


class StreamHub:
    """Connections, their subscriptions, and one pump per distinct stream."""

    def __init__(self, server: BinanceServer) -> None:
        self._server = server
        self._subs: dict[str, set[web.WebSocketResponse]] = {}
        self._combined: set[web.WebSocketResponse] = set()
        self._user: dict[web.WebSocketResponse, str] = {}
        self._pumps: set[str] = set()
        self._depth_u: dict[str, int] = {}
        self._depth_last: dict[str, tuple[Decimal, Decimal]] = {}
        self.messages_sent = 0

    def depth_update_id(self, venue_symbol: str) -> int:
        return self._depth_u.get(venue_symbol, 1)

    # --- connections --------------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        path = request.path
        listen_key = request.query.get("listenKey")
        if listen_key is None and "/ws/" in path:
            tail = path.rsplit("/ws/", 1)[1]
            if tail and "@" not in tail and tail in self._server.listen_keys:
                listen_key = tail
            elif tail:
                await self._subscribe(ws, tail.split("/"))
        if listen_key is not None:
            if listen_key not in self._server.listen_keys:
                await ws.send_str(json.dumps({"code": -1125, "msg": "This listenKey does not exist."}))
                await ws.close()
                return ws
            self._user[ws] = listen_key
            self._server.ensure_user_pumps()
        if path.startswith("/stream"):
            self._combined.add(ws)
            streams = request.query.get("streams")
            if streams:
                await self._subscribe(ws, streams.split("/"))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_text(ws, msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._forget(ws)
        return ws

    def _forget(self, ws: web.WebSocketResponse) -> None:
        for subs in self._subs.values():
            subs.discard(ws)
        self._combined.discard(ws)
        self._user.pop(ws, None)

    async def _on_text(self, ws: web.WebSocketResponse, text: str) -> None:
        try:
            msg = json.loads(text)
            method, rid = msg["method"], msg.get("id")
        except (ValueError, KeyError, TypeError):
            await ws.send_str(
                json.dumps({"error": {"code": 2, "msg": "Invalid request: expected method and id"}})
            )
            return
        params = msg.get("params") or []
        if method == "SUBSCRIBE":
            await ws.send_str(json.dumps({"result": None, "id": rid}))
            await self._subscribe(ws, params)
        elif method == "UNSUBSCRIBE":
            for name in params:
                self._subs.get(name, set()).discard(ws)
            await ws.send_str(json.dumps({"result": None, "id": rid}))
        elif method == "LIST_SUBSCRIPTIONS":
            names = [n for n, subs in self._subs.items() if ws in subs]
            await ws.send_str(json.dumps({"result": names, "id": rid}))
        else:
            await ws.send_str(
                json.dumps(
                    {"error": {"code": 2, "msg": f"Invalid request: unknown method {method}"}, "id": rid}
                )
            )

    async def _subscribe(self, ws: web.WebSocketResponse, names: list[str]) -> None:
        for name in names:
            self._subs.setdefault(name, set()).add(ws)
            if name not in self._pumps:
                pump = self._pump_for(name)
                if pump is None:
                    logger.warning("binance loopback: unknown stream {!r}", name)
                    continue
                self._pumps.add(name)
                self._server.start_task(pump)

    async def drop_all(self) -> int:
        """Close every websocket (fault hook): clients see a disconnect and must resubscribe."""
        conns = {ws for subs in self._subs.values() for ws in subs} | set(self._user) | self._combined
        for ws in conns:
            await ws.close()
        return len(conns)

    async def drop_user_streams(self) -> int:
        conns = list(self._user)
        for ws in conns:
            await ws.close()
        return len(conns)

    # --- fan-out ------------------------------------------------------------------------------------

    async def _send(
        self,
        targets: set[web.WebSocketResponse] | list[web.WebSocketResponse],
        stream: str,
        payload: dict[str, Any],
    ) -> None:
        # encoded once for every raw subscriber, with orjson: fills reach the client through here
        raw = orjson.dumps(payload).decode()
        for ws in list(targets):
            if ws.closed:
                continue
            text = orjson.dumps({"stream": stream, "data": payload}).decode() if ws in self._combined else raw
            try:
                await ws.send_str(text)
                self.messages_sent += 1
            except (ConnectionError, RuntimeError):
                self._forget(ws)

    async def publish(self, stream: str, payload: dict[str, Any]) -> None:
        await self._send(self._subs.get(stream, set()), stream, payload)

    async def publish_user(self, payload: dict[str, Any]) -> None:
        await self._send(list(self._user), "user", payload)

    def _pump_for(self, name: str) -> Callable[[], Awaitable[None]] | None:
        parts = name.split("@")
        venue_symbol = parts[0].upper()
        kind = parts[1] if len(parts) > 1 else ""
        server = self._server
        symbol = server.unified(venue_symbol)
        if symbol is None:
            return None
        backend = server.backend

        async def trades(agg: bool) -> None:
            while True:
                for t in await backend.watch_trades(symbol):
                    now = server.clock.now_ms()
                    shape = shapes.ws_agg_trade if agg else shapes.ws_trade
                    await self.publish(name, shape(t, venue_symbol, now))

        async def book_ticker() -> None:
            update_id = 0
            while True:
                top = await backend.watch_bids_asks(symbol)
                update_id += 1
                await self.publish(
                    name, shapes.ws_book_ticker(top, venue_symbol, update_id, server.clock.now_ms())
                )

        async def depth() -> None:
            while True:
                top = await backend.watch_bids_asks(symbol)
                await self.publish(
                    name, self._depth_event(venue_symbol, top.bid, top.bid_qty, top.ask, top.ask_qty)
                )

        async def klines(tf: str) -> None:
            while True:
                for k in await backend.watch_ohlcv(symbol, tf):
                    await self.publish(name, shapes.ws_kline(k, venue_symbol, server.clock.now_ms()))

        async def mark_price() -> None:
            while True:
                f = await backend.watch_funding_rate(symbol)
                await self.publish(name, shapes.ws_mark_price(f, venue_symbol, server.clock.now_ms()))

        async def ticker() -> None:
            while True:
                t = await backend.watch_ticker(symbol)
                await self.publish(name, shapes.ws_mini_ticker(t, venue_symbol, server.clock.now_ms()))

        pumps: dict[str, Callable[[], Awaitable[None]]] = {
            "trade": lambda: trades(False),
            "aggTrade": lambda: trades(True),
            "bookTicker": book_ticker,
            "depth": depth,
            "markPrice": mark_price,
            "miniTicker": ticker,
            "ticker": ticker,
        }
        if kind.startswith("kline_"):
            tf = kind.split("_", 1)[1]
            return lambda: klines(tf)
        return pumps.get(kind)

    def _depth_event(
        self, venue_symbol: str, bid: Decimal, bid_qty: Decimal, ask: Decimal, ask_qty: Decimal
    ) -> dict[str, Any]:
        # One top level each side; a moved level is deleted (qty 0). Update ids chain: pu = previous u.
        prev_u = self._depth_u.get(venue_symbol, 1)
        u = prev_u + 1
        self._depth_u[venue_symbol] = u
        bids, asks = [[shapes.s(bid), shapes.s(bid_qty)]], [[shapes.s(ask), shapes.s(ask_qty)]]
        old = self._depth_last.get(venue_symbol)
        if old is not None and old[0] != bid:
            bids.append([shapes.s(old[0]), "0"])
        if old is not None and old[1] != ask:
            asks.append([shapes.s(old[1]), "0"])
        self._depth_last[venue_symbol] = (bid, ask)
        now = self._server.clock.now_ms()
        return {
            "e": "depthUpdate",
            "E": now,
            "T": now,
            "s": venue_symbol,
            "U": u,
            "u": u,
            "pu": prev_u,
            "b": bids,
            "a": asks,
        }


async def run_forever(fn: Callable[[], Awaitable[None]], name: str) -> None:
    """Run a pump; a pump failure is logged and the pump restarts after a pause, never silently lost."""
    while True:
        try:
            await fn()
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:
            logger.exception("binance loopback: pump {} failed: {}", name, exc)
            await anyio.sleep(0.1)
