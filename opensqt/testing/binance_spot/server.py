"""`BinanceSpotServer`: a loopback HTTP + websocket server speaking Binance spot (`/api/v3`), over any
spot `Exchange` backend (`SpotVenue`).

Built on the USDT-M loopback server (dispatch, HMAC and timestamp checks, 429 fault hook, market-stream
hub): only what differs on spot is here. The spot routes, spot error codes (-2010 insufficient balance or
would-match, -2011 unknown order on cancel, -2013 on query), and the user data stream both ways Binance
offers it: the WebSocket API subscription ccxt uses (`/ws-api/v3`, `userDataStream.subscribe.signature`,
events wrapped in `{"subscriptionId", "event"}`) and the older listenKey stream (`/ws/<listenKey>`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Awaitable
from typing import Any

from aiohttp import WSMsgType, web
from loguru import logger

from opensqt.exchanges import errors as ours
from opensqt.model import Instrument, OrderType, PlaceOrder, Side, TimeInForce, to_decimal
from opensqt.testing.binance_server.server import ApiError, BinanceServer, Handler
from opensqt.testing.binance_spot import shapes


def spot_error(exc: ours.VenueError, cancel: bool = False) -> ApiError:
    """Our venue errors as Binance spot answers them."""
    if isinstance(exc, ours.InsufficientFunds):
        return ApiError(400, -2010, "Account has insufficient balance for requested action.")
    if isinstance(exc, ours.OrderWouldCross):
        return ApiError(400, -2010, "Order would immediately match and take.")
    if isinstance(exc, ours.OrderNotFound):
        return (
            ApiError(400, -2011, "Unknown order sent.")
            if cancel
            else ApiError(400, -2013, "Order does not exist.")
        )
    if isinstance(exc, ours.DuplicateClientOrderId):
        return ApiError(400, -2010, "Duplicate order sent.")
    if isinstance(exc, ours.RateLimited):
        return ApiError(
            429, -1003, "Too much request weight used; current limit is 6000 request weight per 1 MINUTE."
        )
    if isinstance(exc, ours.InvalidOrder):
        return ApiError(400, -1013, f"Filter failure: {exc}")
    return ApiError(400, -1000, f"An unknown error occurred while processing the request: {exc}")


class BinanceSpotServer(BinanceServer):
    """Use as `async with BinanceSpotServer(backend) as server:`; `server.base_url` is `http://127.0.0.1:PORT`."""

    def __init__(self, backend: Any, **kwargs: Any) -> None:
        super().__init__(backend, **kwargs)
        self._ws_api: dict[web.WebSocketResponse, int] = {}  # WebSocket API connection -> subscriptionId
        self._subscription_ids = 0

    # --- markets -------------------------------------------------------------------------------------

    async def refresh_markets(self) -> None:
        # Spot lists spot markets only, even over a backend that also holds perpetuals.
        self._markets = {s: i for s, i in (await self.backend.load_markets()).items() if not i.is_perpetual}
        self._by_venue = {i.venue_symbol: s for s, i in self._markets.items()}

    def spot_instrument(self, symbol: str) -> Instrument:
        return self._markets[symbol]

    # --- REST --------------------------------------------------------------------------------------------

    def _build_routes(self) -> dict[tuple[str, str], tuple[Handler, bool]]:
        from opensqt.testing.binance_spot import rest

        return rest.routes(self)

    async def _backend(self, awaitable: Awaitable[Any], cancel: bool = False) -> Any:
        try:
            return await awaitable
        except ours.VenueError as exc:
            raise spot_error(exc, cancel) from None

    def place_command(self, params: dict[str, str]) -> PlaceOrder:
        symbol = self._symbol(params)
        assert symbol is not None
        try:
            side = Side(params["side"].lower())
            raw_type = params.get("type", "")
            if raw_type not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
                raise ApiError(400, -1116, "Invalid orderType.")
            otype = OrderType.MARKET if raw_type == "MARKET" else OrderType.LIMIT
            qty = to_decimal(params["quantity"], "quantity")
            price = to_decimal(params["price"], "price") if params.get("price") else None
            if raw_type == "LIMIT_MAKER":
                tif = TimeInForce.POST_ONLY
            else:
                tif = {"IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}.get(
                    params.get("timeInForce", "GTC"), TimeInForce.GTC
                )
            cid = params.get("newClientOrderId") or f"x-loop-{secrets.token_hex(8)}"
            return PlaceOrder(cid, symbol, side, qty, price, otype, tif)
        except KeyError as exc:
            raise ApiError(
                400, -1102, f"Mandatory parameter {exc.args[0]!r} was not sent, was empty/null, or malformed."
            ) from None
        except ValueError as exc:
            raise ApiError(400, -1102, f"Illegal parameter: {exc}") from None

    def order_json(self, order: Any) -> dict[str, Any]:
        return shapes.order(order, self._markets[order.symbol].venue_symbol, self._order_id(order))

    # --- user data stream ------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket" and request.path.startswith("/ws-api/"):
            return await self._ws_api_handle(request)
        return await super()._dispatch(request)

    async def _ws_api_handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await ws.send_str(json.dumps(self._ws_api_request(ws, msg.data)))
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self._ws_api.pop(ws, None)
        return ws

    def _ws_api_request(self, ws: web.WebSocketResponse, text: str) -> dict[str, Any]:
        """One WebSocket API request -> its answer. Only the user-data-stream methods are served."""
        try:
            msg = json.loads(text)
            rid, method, params = msg.get("id"), msg["method"], dict(msg.get("params") or {})
        except (ValueError, KeyError, TypeError, AttributeError):
            return {"id": None, "status": 400, "error": {"code": -1102, "msg": "Malformed request."}}
        if method == "userDataStream.subscribe.signature":
            try:
                self._check_ws_signature(params)
            except ApiError as err:
                return {"id": rid, "status": err.status, "error": {"code": err.code, "msg": err.msg}}
            self._subscription_ids += 1
            sub_id = self._subscription_ids - 1
            self._ws_api[ws] = sub_id
            self.ensure_user_pumps()
            return {"id": rid, "status": 200, "result": {"subscriptionId": sub_id}}
        if method == "userDataStream.unsubscribe":
            self._ws_api.pop(ws, None)
            return {"id": rid, "status": 200, "result": {}}
        logger.warning("binance spot loopback: unknown WebSocket API method {!r}", method)
        return {"id": rid, "status": 400, "error": {"code": -1100, "msg": f"Unknown method {method}."}}

    def _check_ws_signature(self, params: dict[str, Any]) -> None:
        # Signed as Binance's WebSocket API documents: every param but `signature`, sorted by name.
        if params.get("apiKey") != self._api_key:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        signature = str(params.pop("signature", ""))
        payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
        expected = hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        try:
            ts = int(params["timestamp"])
            window = int(params.get("recvWindow", 5000))
        except (KeyError, ValueError):
            raise ApiError(400, -1102, "Mandatory parameter 'timestamp' was not sent.") from None
        now = self.clock.now_ms()
        if ts > now + 1000 or now - ts > window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    async def publish_user_event(self, event: dict[str, Any]) -> None:
        """To listenKey streams as is, to WebSocket API subscribers wrapped with their subscription id."""
        await self.hub.publish_user(event)
        for ws, sub_id in list(self._ws_api.items()):
            if ws.closed:
                self._ws_api.pop(ws, None)
                continue
            try:
                await ws.send_str(json.dumps({"subscriptionId": sub_id, "event": event}))
                self.hub.messages_sent += 1
            except (ConnectionError, RuntimeError):
                self._ws_api.pop(ws, None)

    async def __aexit__(self, *exc: Any) -> None:
        for ws in list(self._ws_api):  # the hub closes its own sockets; these are this server's
            await ws.close()
        await super().__aexit__(*exc)

    async def drop_user_streams(self) -> int:
        """Close every user-data connection (fault hook), both kinds."""
        conns = list(self._ws_api)
        for ws in conns:
            await ws.close()
        return len(conns) + await self.hub.drop_user_streams()

    async def _pump_orders(self) -> None:
        while True:
            for update in await self.backend.watch_orders():
                self._note_update(update)
                inst = self._markets[update.order.symbol]
                event = shapes.execution_report(
                    update.order,
                    update.fill,
                    inst.venue_symbol,
                    self._order_id(update.order),
                    self.clock.now_ms(),
                )
                await self.publish_user_event(event)

    async def _pump_account(self) -> None:
        while True:
            balances = await self.backend.watch_balance()
            await self.publish_user_event(
                shapes.account_position(list(balances.values()), self.clock.now_ms())
            )
