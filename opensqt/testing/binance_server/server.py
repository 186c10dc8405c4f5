"""`BinanceServer`: a loopback HTTP + websocket server speaking Binance USDT-M, backed by any `Exchange`.

REST verbs map onto the backend's methods, market streams onto its `watch_*` methods, so the real ccxt
client runs unchanged against it (only its URLs point here). Binds 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import anyio
import orjson
from aiohttp import web
from loguru import logger

from opensqt.clock import Clock, WallClock
from opensqt.exchanges import errors as ours
from opensqt.exchanges.base import Exchange
from opensqt.model import Fill, Instrument, Order, OrderUpdated, PlaceOrder, Side, TimeInForce, to_decimal
from opensqt.testing.binance_server import shapes
from opensqt.testing.binance_server.streams import StreamHub, run_forever

Handler = Callable[[dict[str, str]], Awaitable[Any]]

#: websocket upgrades under this path go to the ws API (order entry), the rest to the market/user streams
WS_API_PREFIX = "/ws-fapi/"


class ApiError(Exception):
    """A Binance error answer: HTTP status plus `{"code": ..., "msg": ...}`."""

    def __init__(
        self,
        status: int,
        code: int,
        msg: str,
        headers: dict[str, str] | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg, self.headers = status, code, msg, headers or {}
        self.data = data  # the ws API's `error.data` (e.g. `retryAfter`)


class Faults:
    """Fault hooks for tests: rate-limit the next requests, delay order submits, drop websockets."""

    def __init__(self) -> None:
        self.rate_limit_next = 0  # the next N REST requests answer 429 / -1003
        self.order_delay_s = 0.0  # order submits wait this long before reaching the backend
        self.retry_after_s = 1


def _error_for(exc: ours.VenueError, cancel: bool = False) -> ApiError:
    if isinstance(exc, ours.OrderWouldCross):
        return ApiError(
            400,
            -5022,
            "Due to the order could not be executed as maker, the Post Only order will be "
            "rejected. The order will not be recorded in the order history",
        )
    if isinstance(exc, ours.InsufficientFunds):
        return ApiError(400, -2019, "Margin is insufficient.")
    if isinstance(exc, ours.OrderNotFound):
        return (
            ApiError(400, -2011, "Unknown order sent.")
            if cancel
            else ApiError(400, -2013, "Order does not exist.")
        )
    if isinstance(exc, ours.DuplicateClientOrderId):
        return ApiError(400, -4116, "ClientOrderId is duplicated.")
    if isinstance(exc, ours.RateLimited):
        return ApiError(429, -1003, "Too many requests; current limit is 2400 requests per minute.")
    if isinstance(exc, ours.PositionModeError):
        return ApiError(400, -4061, "Order's position side does not match user's setting.")
    if isinstance(exc, ours.InvalidOrder):
        return ApiError(400, -1111, f"Invalid order: {exc}")
    return ApiError(400, -1000, f"An unknown error occurred while processing the request: {exc}")


class BinanceServer:
    """Use as `async with BinanceServer(backend) as server:`; `server.base_url` is `http://127.0.0.1:PORT`."""

    def __init__(
        self,
        backend: Exchange,
        *,
        port: int = 0,
        api_key: str = "loopback-key",
        secret: str = "loopback-secret",
        clock: Clock | None = None,
        recv_window_max_ms: int = 60_000,
    ) -> None:
        self.backend = backend
        self.clock = clock or WallClock()
        self.faults = Faults()
        self.listen_keys: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (method, path) of every REST call, for tests
        self.not_found: list[tuple[str, str]] = []
        self._port = port
        self._api_key, self._secret = api_key, secret.encode()
        self._recv_window_max = recv_window_max_ms
        self._hub = StreamHub(self)
        self._runner: web.AppRunner | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._markets: dict[str, Instrument] = {}
        self._by_venue: dict[str, str] = {}
        self._ids: dict[str, int] = {}  # backend venue order id -> Binance numeric orderId
        self._cids: dict[int, str] = {}  # orderId -> client order id
        self._fills: list[Fill] = []
        self._user_pumps = False
        self._routes: dict[tuple[str, str], tuple[Handler, bool]] = self._build_routes()
        from opensqt.testing.binance_server.ws_api import WsApi

        self.ws_api = WsApi(self, api_key, self._secret)

    # --- lifecycle ----------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def hub(self) -> StreamHub:
        return self._hub

    async def __aenter__(self) -> BinanceServer:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        await self.refresh_markets()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        server = getattr(site, "_server", None)
        if self._port == 0 and server is not None and server.sockets:
            self._port = server.sockets[0].getsockname()[1]
        logger.info("binance loopback listening on {}", self.base_url)
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._hub.drop_all()
        await self.ws_api.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)

    def start_task(self, fn: Callable[[], Awaitable[None]], name: str = "pump") -> None:
        assert self._tg is not None, "server not started"
        self._tg.start_soon(run_forever, fn, name)

    async def refresh_markets(self) -> None:
        # USDT-M lists perpetuals only; the sim venue also has spot markets under the same venue symbols.
        self._markets = {s: i for s, i in (await self.backend.load_markets()).items() if i.is_perpetual}
        self._by_venue = {i.venue_symbol: s for s, i in self._markets.items()}

    def unified(self, venue_symbol: str) -> str | None:
        return self._by_venue.get(venue_symbol.upper())

    # --- user stream ---------------------------------------------------------------------------------

    def ensure_user_pumps(self) -> None:
        # Pumped from the first user-stream connection on: like Binance, events before any listener are lost.
        if self._user_pumps:
            return
        self._user_pumps = True
        self.start_task(self._pump_orders, "orders")
        self.start_task(self._pump_balances, "balances")
        self.start_task(self._pump_positions, "positions")

    def _order_id(self, order: Order) -> int:
        vid = order.venue_order_id or order.client_order_id
        oid = self._ids.get(vid)
        if oid is None:
            oid = int(vid) if vid.isdigit() else 1_000_000 + len(self._ids)
            self._ids[vid] = oid
        self._cids[oid] = order.client_order_id
        return oid

    def _note_update(self, update: OrderUpdated) -> None:
        self._order_id(update.order)
        if update.fill is not None:
            self._fills.append(update.fill)

    async def _pump_orders(self) -> None:
        while True:
            for update in await self.backend.watch_orders():
                self._note_update(update)
                inst = self._markets[update.order.symbol]
                payload = shapes.order_trade_update(
                    update.order,
                    update.fill,
                    inst.venue_symbol,
                    self._order_id(update.order),
                    self.clock.now_ms(),
                )
                await self._hub.publish_user(payload)

    async def _pump_balances(self) -> None:
        # Binance pushes ACCOUNT_UPDATE when a wallet balance changes (fills, fees, funding), not when an
        # order only reserves margin: publish a balance whose total moved, nothing else.
        last: dict[str, Decimal] = {}
        while True:
            balances = await self.backend.watch_balance()
            changed = [b for b in balances.values() if last.get(b.asset) != b.total]
            if not changed:
                continue
            last.update((b.asset, b.total) for b in changed)
            await self._hub.publish_user(shapes.account_update(changed, [], {}, self.clock.now_ms()))

    async def _pump_positions(self) -> None:
        # Positions come from the backend's own stream: a REST read here would spend the account's request
        # weight (the simulated venue charges it) on the server's own bookkeeping.
        while True:
            positions = await self.backend.watch_positions()
            symbols = {s: i.venue_symbol for s, i in self._markets.items()}
            await self._hub.publish_user(shapes.account_update([], positions, symbols, self.clock.now_ms()))

    # --- REST dispatch ----------------------------------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if request.path.startswith(WS_API_PREFIX):
                return await self.ws_api.handle(request)
            return await self._hub.handle(request)
        method, path = request.method, request.path
        self.requests.append((method, path))
        route = self._routes.get((method, path))
        if route is None:
            logger.warning("binance loopback: 404 for {} {}", method, path)
            self.not_found.append((method, path))
            return web.Response(
                status=404, text="<html><body><h2>404 Not found</h2></body></html>", content_type="text/html"
            )
        handler, signed = route
        body = await request.text()
        try:
            if self.faults.rate_limit_next > 0:
                self.faults.rate_limit_next -= 1
                raise ApiError(
                    429,
                    -1003,
                    "Too many requests; current limit is 2400 requests per minute.",
                    {"Retry-After": str(self.faults.retry_after_s)},
                )
            params = dict(parse_qsl(request.query_string, keep_blank_values=True))
            params.update(parse_qsl(body, keep_blank_values=True))
            if signed:
                self._check_auth(request, body)
            result = await handler(params)
        except ApiError as err:
            return web.json_response(
                {"code": err.code, "msg": err.msg}, status=err.status, headers=err.headers
            )
        # orjson: the answer to an order submit is on the tick-to-trade path (~4x faster than json.dumps)
        return web.Response(body=orjson.dumps(result), content_type="application/json")

    def _check_auth(self, request: web.Request, body: str) -> None:
        if request.headers.get("X-MBX-APIKEY") != self._api_key:
            raise ApiError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        # Signed over the bytes as sent: aiohttp's `query_string` is already percent-decoded.
        raw_query = request.raw_path.partition("?")[2]
        total = raw_query + body
        head, sep, signature = total.rpartition("&signature=")
        if not sep:
            raise ApiError(
                400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed."
            ) from None
        expected = hmac.new(self._secret, head.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise ApiError(400, -1022, "Signature for this request is not valid.")
        self.check_timestamp(dict(parse_qsl(head)))

    def check_timestamp(self, params: dict[str, str]) -> None:
        """Binance's receive window: -1021 when `timestamp` is over 1 s ahead or older than `recvWindow`."""
        try:
            ts = int(params["timestamp"])
            window = int(params.get("recvWindow", "5000"))
        except (KeyError, ValueError):
            raise ApiError(
                400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
            ) from None
        if window > self._recv_window_max:
            raise ApiError(400, -1131, "recvWindow must be less than 60000")
        now = self.clock.now_ms()
        if ts > now + 1000 or now - ts > window:
            raise ApiError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    def _symbol(self, params: dict[str, str], required: bool = True) -> str | None:
        raw = params.get("symbol")
        if raw is None:
            if required:
                raise ApiError(
                    400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."
                ) from None
            return None
        symbol = self.unified(raw)
        if symbol is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return symbol

    async def _backend(self, awaitable: Awaitable[Any], cancel: bool = False) -> Any:
        try:
            return await awaitable
        except ours.VenueError as exc:
            raise _error_for(exc, cancel) from None

    def _build_routes(self) -> dict[tuple[str, str], tuple[Handler, bool]]:
        from opensqt.testing.binance_server import rest

        return rest.routes(self)

    # --- hooks for recording servers (the loopback market's timeline) ----------------------------------

    def ws_api_received(self, t: float, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Called as a ws API request arrives (`t`: monotonic seconds); what it returns is handed back to
        `ws_api_answered`. The base server records nothing."""
        return None

    def ws_api_answered(self, entry: dict[str, Any] | None, status: int, code: int) -> None:
        """Called with the answer's status and Binance code (0 when accepted)."""

    # --- helpers used by the REST handlers ----------------------------------------------------------------

    def instrument(self, symbol: str) -> Instrument:
        return self._markets[symbol]

    def instruments(self) -> list[Instrument]:
        return list(self._markets.values())

    def order_json(self, order: Order) -> dict[str, Any]:
        return shapes.order(order, self._markets[order.symbol].venue_symbol, self._order_id(order))

    def client_id_for(self, params: dict[str, str]) -> str:
        cid = params.get("origClientOrderId")
        if cid:
            return cid
        oid = params.get("orderId")
        if oid and oid.isdigit() and int(oid) in self._cids:
            return self._cids[int(oid)]
        if oid:
            raise ApiError(400, -2013, "Order does not exist.")
        raise ApiError(
            400, -1102, "Mandatory parameter 'orderId' was not sent, was empty/null, or malformed."
        ) from None

    def fills(self, symbol: str) -> list[Fill]:
        venue_fills = getattr(self.backend, "fills", None)
        if callable(venue_fills):  # the backend keeps the full trade history (MemoryVenue, SimExchange)
            return list(venue_fills(symbol))
        return [f for f in self._fills if f.symbol == symbol]

    def venue_order_id(self, fill: Fill) -> int:
        vid = fill.venue_order_id or fill.client_order_id
        return self._ids.get(vid) or (int(vid) if vid.isdigit() else 0)

    def new_listen_key(self) -> str:
        key = secrets.token_hex(32)
        self.listen_keys.add(key)
        return key

    async def delay_order(self) -> None:
        if self.faults.order_delay_s > 0:
            await anyio.sleep(self.faults.order_delay_s)

    def place_command(self, params: dict[str, str]) -> PlaceOrder:
        symbol = self._symbol(params)
        assert symbol is not None
        try:
            side = Side(params["side"].lower())
            otype = shapes.order_type_in(params.get("type", ""))
            qty = to_decimal(params["quantity"], "quantity")
            price = to_decimal(params["price"], "price") if params.get("price") else None
            tif = shapes.TIF_IN.get(params.get("timeInForce", "GTC"), TimeInForce.GTC)
            cid = params.get("newClientOrderId") or f"x-loop-{secrets.token_hex(8)}"
            reduce_only = params.get("reduceOnly", "false").lower() == "true"
            return PlaceOrder(cid, symbol, side, qty, price, otype, tif, reduce_only)
        except KeyError as exc:
            raise ApiError(
                400, -1102, f"Mandatory parameter {exc.args[0]!r} was not sent, was empty/null, or malformed."
            ) from None
        except ValueError as exc:
            raise ApiError(400, -1102, f"Illegal parameter: {exc}") from None

    @staticmethod
    def decimal(params: dict[str, str], name: str, default: Decimal) -> Decimal:
        return to_decimal(params[name], name) if name in params else default
