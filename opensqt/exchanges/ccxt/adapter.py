"""`CcxtExchange`: the `Exchange` port over one ccxt.pro client, with typed Decimal results and our errors.

One instance owns one ccxt client (its own rate limiter, session and credentials). Venue differences come
from `VenueSpec`; parsing lives in `parse.py`, error mapping in `errors.py`.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import anyio
from loguru import logger

from opensqt.exchanges import errors as ours
from opensqt.exchanges.base import AccountMargin, FundingIncome
from opensqt.exchanges.ccxt import parse
from opensqt.exchanges.ccxt.errors import VENUE_CODES, map_ccxt_error, venue_code
from opensqt.exchanges.ccxt.throttle import install_token_bucket
from opensqt.exchanges.ccxt.user_stream import UserStreamMixin
from opensqt.exchanges.ccxt.venues import VenueSpec
from opensqt.exchanges.ccxt.ws_orders import NotConnected, WsApiError, WsOrderEntry, place_request
from opensqt.model import (
    Balance,
    BookTop,
    FundingRate,
    Instrument,
    Kline,
    Order,
    OrderStatus,
    PlaceOrder,
    Position,
    Side,
    Ticker,
    TimeInForce,
    Trade,
)

T = TypeVar("T")

_ORDERS_CACHE = 200
#: a pushed price above the market's price filter is refused; with no filter known, above this
MAX_PRICE = Decimal(10) ** 12
#: how orders are placed and cancelled: REST, or the venue's websocket API (Binance USDT-M only)
ORDER_ENTRY = ("rest", "websocket")
#: order parameters `place_request` builds itself; any other one goes through ccxt's request builder
_PLAIN_PARAMS = frozenset({"clientOrderId", "postOnly", "timeInForce", "reduceOnly"})
#: the settle currency of the account `fetch_account_margin` reads (the USDT-margined perpetual account)
MARGIN_SETTLE = "USDT"

#: event-loop passes a message after an order push waits: the reader's wake-up (asyncio.wait's callback), the
#: reader with the engine's decision, the order worker it wakes (which sends), and one to spare
DEFER_ROUNDS = 4
#: no market trades or shows more than this many units at once: a bigger pushed size is corrupt
MAX_SIZE = Decimal(10) ** 15
# Keys where venues put funding fields in ticker / mark-price pushes (binance markPrice, bybit, bitget, gate).
_FUNDING_KEYS = {
    "rate": ("r", "fundingRate", "funding_rate"),
    "next": ("T", "nextFundingTime", "next_funding_time"),
    "mark": ("p", "markPrice", "mark_price"),
    "index": ("i", "indexPrice", "index_price"),
}


class CcxtExchange(UserStreamMixin):
    """A venue account through ccxt.pro. Construct with `opensqt.exchanges.factory.build_exchange`."""

    def __init__(
        self,
        spec: VenueSpec,
        client: Any,
        *,
        label: str | None = None,
        max_concurrency: int = 5,
        order_entry: str = "rest",
    ) -> None:
        self.spec = spec
        self.name = label or spec.name
        self._client = client
        # this instance's own rate limiter (a burst, no queue hop) in place of ccxt's leaky bucket
        self._bucket = install_token_bucket(client)
        # ccxt scans its whole order cache on every `watch_orders` (~0.5 ms once its default 1000 orders
        # have passed); 200 still holds far more updates than arrive between two reads of the order stream
        client.options["ordersLimit"] = spec.ccxt_options.get("ordersLimit", _ORDERS_CACHE)
        self._limit = anyio.CapacityLimiter(max_concurrency)
        self._markets: dict[str, Instrument] = {}
        self._known: dict[str, Order] = {}  # venue order id -> last state we reported
        self._ids: dict[str, str] = {}  # client order id -> venue order id
        self._seen_trades: OrderedDict[str, None] = OrderedDict()
        self._needs_recovery = False
        self._last_event_ms = 0
        # The pending `watch_orders` call across a reconnect: started before gap recovery so the stream is
        # subscribed first, awaited by the next `watch_orders`, cancelled in `close`.
        self._pending_watch: asyncio.Task[Any] | None = None
        # ccxt's websocket receive loop stops for good when a message handler raises (the exception escapes
        # its loop callback): one malformed venue message would silently stall every stream of that socket.
        self._direct_orders = spec.direct_order_stream
        self._direct_buffers = {}
        self._push_symbols = {}
        self._direct_waiters = {}
        client.handle_message = self._guarded(client.handle_message)
        self.order_entry = order_entry
        self._ws_orders = self._ws_order_entry(order_entry)
        self.ws_fallbacks = 0  # orders that went over REST because the ws API connection was down
        self.has: Mapping[str, bool] = {
            "create_orders": spec.native_batch_create and bool(client.has.get("createOrders")),
            "cancel_orders": spec.native_batch_cancel and bool(client.has.get("cancelOrders")),
            "cancel_all_orders": bool(client.has.get("cancelAllOrders")),
            "watch_trades": bool(client.has.get("watchTrades")),
            "watch_ticker": bool(client.has.get("watchTicker")),
            "watch_bids_asks": bool(client.has.get("watchBidsAsks")),
            "watch_ohlcv": bool(client.has.get("watchOHLCV")),
            "watch_orders": bool(client.has.get("watchOrders")),
            "watch_positions": bool(client.has.get("watchPositions")),
            "watch_balance": bool(client.has.get("watchBalance")),
            "watch_funding_rate": True,
            "fetch_funding_rates": bool(client.has.get("fetchFundingRates")),
            "set_leverage": spec.market_type == "swap",
            "margin_short": spec.market_type == "swap",
            "fetch_funding_history": spec.market_type == "swap"
            and bool(client.has.get("fetchFundingHistory")),
            "fetch_account_margin": spec.market_type == "swap" and spec.ccxt_id in parse.MARGIN_VENUES,
        }

    def _ws_order_entry(self, order_entry: str) -> WsOrderEntry | None:
        if order_entry not in ORDER_ENTRY:
            raise ValueError(f"order_entry: expected one of {ORDER_ENTRY}, got {order_entry!r}")
        if order_entry == "rest":
            return None
        url = ((self._client.urls.get("api") or {}).get("ws") or {}).get("ws-api") or {}
        if self.spec.ccxt_id != "binanceusdm" or not isinstance(url, dict) or not url.get("linear"):
            raise ValueError(
                f"order_entry websocket: only Binance USDT-M (binanceusdm) has it here, not {self.spec.name}"
            )
        # the same request cost as the REST endpoint (the ws API spends the account's same request weight)
        self._ws_costs = (
            _endpoint_cost(self._client, "fapiPrivatePostOrder"),
            _endpoint_cost(self._client, "fapiPrivateDeleteOrder"),
        )
        timeout_s = float(getattr(self._client, "timeout", 10_000) or 10_000) / 1000
        return WsOrderEntry(self._client, str(url["linear"]), self.name, timeout_s)

    @property
    def ws_orders(self) -> WsOrderEntry | None:
        """The ws API order-entry connection when `order_entry` is websocket (tests, diagnostics)."""
        return self._ws_orders

    def _guarded(self, handle: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
        """`handle` that never raises: an unparsable message is dropped and the socket's pending watches fail
        with a network error, so the next watch resubscribes and recovers the gap over REST."""

        direct = self._direct_orders
        # After an order push the engine's reader is woken, but ccxt's receive loop goes on with whatever
        # else the socket holds (the ACCOUNT_UPDATEs Binance sends with each fill: ~0.1 ms each in ccxt)
        # before the reader runs. Those messages wait, in order, until the reader and the order worker it
        # wakes have had their turn (`DEFER_ROUNDS` passes of the event loop), then go to ccxt as before.
        deferred: deque[tuple[Any, Any]] = deque()
        held = False  # a drain is scheduled: messages other than order pushes wait for it

        def dropped(ws_client: Any, exc: Exception) -> None:
            from ccxt.base.errors import NetworkError as CcxtNetworkError

            logger.warning("{}: unreadable stream message dropped ({})", self.name, type(exc).__name__)
            ws_client.reject(CcxtNetworkError(f"{self.name}: unreadable stream message"))

        def to_ccxt(ws_client: Any, message: Any) -> Any:
            try:
                return handle(ws_client, message)
            except Exception as exc:
                dropped(ws_client, exc)
                return None

        def drain(rounds: int) -> None:
            nonlocal held
            if rounds > 1:
                asyncio.get_running_loop().call_soon(drain, rounds - 1)
                return
            held = False
            while deferred:
                to_ccxt(*deferred.popleft())

        def guarded(ws_client: Any, message: Any) -> Any:
            nonlocal held
            try:
                if direct and self.take_order_push(message):
                    if not held:
                        try:
                            asyncio.get_running_loop().call_soon(drain, DEFER_ROUNDS)
                            held = True
                        except RuntimeError:  # no event loop (a replay in a test): no reader to let first
                            pass
                    return None
            except Exception as exc:
                dropped(ws_client, exc)
                return None
            if held:
                deferred.append((ws_client, message))
                return None
            return to_ccxt(ws_client, message)

        return guarded

    @property
    def client(self) -> Any:
        """The underlying ccxt client, for tests and diagnostics."""
        return self._client

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except ours.VenueError:
            raise
        except ValueError as exc:  # our parsers: a venue answer we cannot read
            raise ours.ExchangeError(
                f"{self.name}: unreadable venue answer: {exc}", venue=self.name
            ) from None
        except Exception as exc:
            if type(exc).__module__.startswith(("ccxt", "aiohttp")) or isinstance(
                exc, OSError | TimeoutError
            ):
                mapped = map_ccxt_error(exc, self.spec.name)
                if isinstance(mapped, ours.RateLimited):
                    self._rate_limited(mapped)
                raise mapped from None
            raise

    def _rate_limited(self, exc: ours.RateLimited) -> None:
        # ccxt leaves the Retry-After header out of its error; the last response's headers still hold it.
        if exc.retry_after is None:
            headers = getattr(self._client, "last_response_headers", None) or {}
            value = next((v for k, v in headers.items() if str(k).lower() == "retry-after"), None)
            if value is not None and str(value).replace(".", "", 1).isdigit():
                exc.retry_after = float(value)
        if exc.retry_after and self._bucket is not None:
            self._bucket.penalise(exc.retry_after)  # every caller of this account waits it out

    # --- markets and account ---------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> Mapping[str, Instrument]:
        if self._markets and not reload:
            return self._markets
        raw = await self._call(self._client.load_markets(reload))
        out: dict[str, Instrument] = {}
        for symbol, market in raw.items():
            if market.get("type") != self.spec.market_type and not (
                self.spec.market_type == "swap" and market.get("swap")
            ):
                continue
            if market.get("active") is False:
                continue
            try:
                inst = parse.instrument_from_market(market, self.name, self._client.precisionMode)
            except ValueError as exc:
                raise ours.ExchangeError(f"{self.name}: {exc}", venue=self.name) from None
            if inst is not None:
                out[symbol] = inst
        self._markets = out
        if self._ws_orders is not None:
            self._ws_orders.connect_soon()  # open before the first order, off the order's path
        return out

    async def fetch_balance(self) -> Mapping[str, Balance]:
        raw = await self._call(self._client.fetch_balance())
        return self._parse(parse.balances_from_ccxt, raw)

    async def fetch_account_margin(self) -> AccountMargin:
        """The whole account's margin balance and maintenance margin as the venue's account endpoint states
        them (the raw body ccxt's `fetch_balance` keeps in `info`; fields per venue in docs/VENUES.md)."""
        if not self.has["fetch_account_margin"]:
            raise ours.ExchangeError(
                f"{self.name}: account margin health is not supported ({self.spec.market_type} account)",
                venue=self.name,
            )
        raw = await self._call(self._client.fetch_balance())
        now_ms = int(self._client.milliseconds())
        return self._parse(parse.account_margin_from_balance, self.spec.ccxt_id, raw, MARGIN_SETTLE, now_ms)

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        raw = await self._call(self._client.fetch_positions(list(symbols) if symbols else None))
        return [
            self._parse(parse.position_from_ccxt, p) for p in raw if p.get("contracts") not in (None, "0", "")
        ]

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        params = {"marginMode": "cross"} if self.spec.name in ("okx", "bitget") else {}
        await self._call(self._client.set_leverage(leverage, symbol, params))
        return leverage

    async def fetch_leverage(self, symbol: str) -> int:
        raw = await self._call(self._client.fetch_leverage(symbol))
        value = raw.get("longLeverage") or raw.get("shortLeverage")
        if value is None:
            raise ours.ExchangeError(
                f"{self.name}: leverage for {symbol}: venue answered none", venue=self.name
            )
        return int(parse.dec(value, f"leverage {symbol}"))

    async def set_margin_mode(self, symbol: str, mode: str = "cross") -> None:
        if mode not in ("cross", "isolated"):
            raise ValueError(f"margin mode: expected cross or isolated, got {mode!r}")
        await self._call(self._client.set_margin_mode(mode, symbol))

    async def fetch_trading_fees(self, symbol: str) -> tuple[Decimal, Decimal]:
        raw = await self._call(self._client.fetch_trading_fee(symbol))
        return parse.dec(raw["maker"], f"fee {symbol} maker"), parse.dec(raw["taker"], f"fee {symbol} taker")

    async def fetch_position_mode(self) -> bool:
        if self.spec.market_type != "swap":
            return False
        raw = await self._call(self._client.fetch_position_mode())
        return bool(raw.get("hedged"))

    async def ensure_one_way(self) -> None:
        """Raise `PositionModeError` when the account is in hedge mode: our slots assume one net position."""
        if await self.fetch_position_mode():
            raise ours.PositionModeError(
                f"{self.name}: the account is in hedge (dual-side) position mode; switch it to one-way "
                "in the venue's settings (we never switch it for you: open positions would be affected)",
                venue=self.name,
            )

    async def fetch_time(self) -> int:
        return int(await self._call(self._client.fetch_time()))

    # --- orders ---------------------------------------------------------------------------------

    def _order_params(self, command: PlaceOrder) -> dict[str, Any]:
        reason = self.spec.check_client_order_id(command.client_order_id)
        if reason is not None:
            raise ours.InvalidOrder(f"{self.name}: {reason}", venue=self.name)
        params: dict[str, Any] = {"clientOrderId": self.spec.client_id_prefix + command.client_order_id}
        if command.post_only:
            params["postOnly"] = True
        elif command.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
            params["timeInForce"] = command.time_in_force.value
        if command.reduce_only:
            params["reduceOnly"] = True
        return params

    def _track(self, order: Order) -> Order:
        order = self._strip_prefix(order)
        if order.venue_order_id:
            self._ids[order.client_order_id] = order.venue_order_id
            if order.is_open:
                self._known.setdefault(order.venue_order_id, order)
        return order

    def _strip_prefix(self, order: Order) -> Order:
        prefix = self.spec.client_id_prefix
        if prefix and order.client_order_id.startswith(prefix):
            from dataclasses import replace

            return replace(order, client_order_id=order.client_order_id[len(prefix) :])
        return order

    async def create_order(self, command: PlaceOrder) -> Order:
        params = self._order_params(command)
        price = str(command.price) if command.price is not None else None
        if self._ws_orders is not None and self._client.markets:
            request = self._ws_place_request(command, params, price)
            request["returnRateLimits"] = False
            placed = await self._ws_call("order.place", request, self._ws_costs[0])
            if placed is not None:
                return self._track(self._parse(parse.order_from_ccxt, placed, command))
        raw = await self._call(
            self._client.create_order(
                command.symbol, command.type.value, command.side.value, str(command.quantity), price, params
            )
        )
        return self._track(self._parse(parse.order_from_ccxt, raw, command))

    async def create_orders(self, commands: Sequence[PlaceOrder]) -> list[Order | Exception]:
        if not self.has["create_orders"] or len(commands) <= 1:
            return await self._each(self.create_order, list(commands))
        results: list[Order | Exception] = []
        for start in range(0, len(commands), self.spec.max_batch):
            chunk = list(commands[start : start + self.spec.max_batch])
            requests: list[dict[str, Any]] = []
            errors: dict[int, Exception] = {}
            for i, c in enumerate(chunk):
                try:
                    params = self._order_params(c)
                except ours.InvalidOrder as exc:
                    errors[i] = exc
                    continue
                requests.append(
                    {
                        "symbol": c.symbol,
                        "type": c.type.value,
                        "side": c.side.value,
                        "amount": str(c.quantity),
                        "price": str(c.price) if c.price is not None else None,
                        "params": params,
                    }
                )
            try:
                raws = await self._call(self._client.create_orders(requests)) if requests else []
            except ours.VenueError as exc:
                results += [errors.get(i, exc) for i in range(len(chunk))]
                continue
            # ccxt sorts batch answers by timestamp (rejections, having none, first): match accepted orders
            # by client id, and hand the rejections out in request order to the commands left over.
            prefix = self.spec.client_id_prefix
            by_cid = {str(r.get("clientOrderId") or "").removeprefix(prefix): r for r in raws if r.get("id")}
            rejected = iter([r for r in raws if not r.get("id")])
            for i, c in enumerate(chunk):
                if i in errors:
                    results.append(errors[i])
                    continue
                raw = by_cid.get(c.client_order_id) or next(rejected, None)
                results.append(self._batch_item(raw, c))
        return results

    def _batch_item(self, raw: Mapping[str, Any] | None, command: PlaceOrder) -> Order | Exception:
        if raw is None:
            return ours.ExchangeError(
                f"{self.name}: batch answer missing for {command.client_order_id}", venue=self.name
            )
        info = raw.get("info") or {}
        if not raw.get("id") and isinstance(info, Mapping):
            code = venue_code(dict(info))
            cls = VENUE_CODES.get(self.spec.name, {}).get(code or "", ours.ExchangeError)
            text = f"{self.name}: {command.client_order_id} rejected: {json.dumps(info, default=str)}"
            if cls is ours.RateLimited:
                return ours.RateLimited(text, venue=self.name, code=code)
            return cls(text, venue=self.name, code=code)
        try:
            return self._track(parse.order_from_ccxt(raw, command))
        except ValueError as exc:
            return ours.ExchangeError(f"{self.name}: unreadable venue answer: {exc}", venue=self.name)

    async def _each(self, fn: Any, items: list[Any]) -> list[Any]:
        """Bounded concurrent single calls, results in input order, exceptions returned in place."""
        results: list[Any] = [None] * len(items)

        async def one(i: int, item: Any) -> None:
            async with self._limit:
                try:
                    results[i] = await fn(item)
                except ours.VenueError as exc:
                    results[i] = exc

        async with anyio.create_task_group() as tg:
            for i, item in enumerate(items):
                tg.start_soon(one, i, item)
        return results

    def _id_args(self, client_order_id: str) -> tuple[str | None, dict[str, Any]]:
        if self.spec.client_id_prefix:  # gate takes its `text` id in place of the order id
            return self.spec.client_id_prefix + client_order_id, {}
        return self._ids.get(client_order_id), {"clientOrderId": client_order_id}

    async def fetch_order(self, symbol: str, client_order_id: str) -> Order:
        oid, params = self._id_args(client_order_id)
        raw = await self._call(self._client.fetch_order(oid, symbol, params))
        return self._strip_prefix(self._parse(parse.order_from_ccxt, raw))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        raw = await self._call(self._client.fetch_open_orders(symbol))
        return [self._track(self._parse(parse.order_from_ccxt, o)) for o in raw]

    async def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        oid, params = self._id_args(client_order_id)
        raw: Any = None
        if self._ws_orders is not None and self._client.markets:
            request: dict[str, Any] = {"symbol": self._client.market_id(symbol), "returnRateLimits": False}
            if params.get("clientOrderId"):
                request["origClientOrderId"] = params["clientOrderId"]
            else:
                request["orderId"] = oid
            raw = await self._ws_call("order.cancel", request, self._ws_costs[1])
        if raw is None:
            raw = await self._call(self._client.cancel_order(oid, symbol, params))
        order = self._strip_prefix(
            self._parse(parse.order_from_ccxt, self._fill_cancel(raw, symbol, client_order_id))
        )
        return order

    def _ws_place_request(
        self, command: PlaceOrder, params: dict[str, Any], price: str | None
    ) -> dict[str, Any]:
        """`order.place` parameters: built directly for a plain order on the instrument's tick and lot (the
        same parameters ccxt builds, ~25 us sooner), else by ccxt's `create_order_request`."""
        market = self._client.markets.get(command.symbol)
        inst = self._markets.get(command.symbol)
        if market is not None and inst is not None and set(params) <= _PLAIN_PARAMS:
            direct = place_request(
                command, str(market["id"]), params["clientOrderId"], inst.tick_size, inst.lot_size
            )
            if direct is not None:
                return direct
        request: dict[str, Any] = self._client.create_order_request(
            command.symbol,
            command.type.value,
            command.side.value,
            str(command.quantity),
            price,
            {**params, "isAlgoOrder": False},
        )
        return request

    async def _ws_call(self, method: str, request: dict[str, Any], cost: float) -> Any:
        """ccxt's order structure for one ws API request, or None when the connection is down (nothing was
        sent: the caller goes over REST, and a new connection is dialled for the next order)."""
        ws = self._ws_orders
        assert ws is not None
        if not ws.ready:
            ws.connect_soon()
            self.ws_fallbacks += 1
            return None
        if self._bucket is not None:
            await self._bucket.acquire(cost)
        try:
            result = await ws.request(method, request)
        except NotConnected:
            ws.connect_soon()
            self.ws_fallbacks += 1
            return None
        except WsApiError as exc:
            raise self._ws_error(exc, ws.url) from None
        except ValueError as exc:
            raise ours.ExchangeError(
                f"{self.name}: unreadable venue answer: {exc}", venue=self.name
            ) from None
        return self._parse(self._client.parse_order, result)

    def _ws_error(self, exc: WsApiError, url: str) -> ours.VenueError:
        """Map a ws API refusal exactly as the REST path maps the same code: ccxt's error class for it (what
        ccxt's own ws handler raises), then our venue-code table over the body."""
        from ccxt.base.errors import ExchangeError as CcxtExchangeError

        error = exc.error
        body = json.dumps(error)
        cls: type[Exception] = CcxtExchangeError
        try:
            code = int(error.get("code") or 0)
            self._client.handle_errors(code, str(error.get("msg", "")), url, "", {}, body, error, {}, {})
        except Exception as raised:
            cls = type(raised)
        mapped = map_ccxt_error(cls(f"{self._client.id} {body}"), self.spec.name)
        if isinstance(mapped, ours.RateLimited):
            data = error.get("data") or {}
            retry_at = data.get("retryAfter") if isinstance(data, dict) else None
            if isinstance(retry_at, int | float):  # Binance: when the ban lifts, epoch ms
                mapped.retry_after = max(0.0, (retry_at - self._client.milliseconds()) / 1000)
            if mapped.retry_after and self._bucket is not None:
                self._bucket.penalise(mapped.retry_after)
        return mapped

    def _fill_cancel(self, raw: Mapping[str, Any], symbol: str, cid: str) -> dict[str, Any]:
        # Some venues answer a cancel with ids only: complete it from what we know of the order.
        out = dict(raw)
        known = self._known.get(str(out.get("id") or self._ids.get(cid, "")))
        out.setdefault("symbol", symbol)
        if not out.get("clientOrderId"):
            out["clientOrderId"] = cid
        if known is not None:
            for key, value in (
                ("side", known.side.value),
                ("amount", str(known.quantity)),
                ("type", known.type.value),
                ("price", str(known.price) if known.price else None),
            ):
                if not out.get(key):
                    out[key] = value
        if not out.get("status"):
            out["status"] = "canceled"
        return out

    async def cancel_orders(self, symbol: str, client_order_ids: Sequence[str]) -> list[Order | Exception]:
        ids = [self._ids.get(c) for c in client_order_ids]
        if not self.has["cancel_orders"] or len(ids) <= 1 or None in ids or self.spec.client_id_prefix:
            return await self._each(lambda cid: self.cancel_order(symbol, cid), list(client_order_ids))
        results: list[Order | Exception] = []
        for start in range(0, len(ids), self.spec.max_batch):
            chunk_ids = [i for i in ids[start : start + self.spec.max_batch] if i is not None]
            chunk_cids = list(client_order_ids[start : start + self.spec.max_batch])
            try:
                raws = await self._call(self._client.cancel_orders(chunk_ids, symbol))
            except ours.VenueError as exc:
                results += [exc] * len(chunk_cids)
                continue
            # As for batch creates, ccxt reorders the answers: match by order id, rejections in request order.
            by_id = {str(r.get("id")): r for r in raws if r.get("id")}
            rejected = iter([r for r in raws if not r.get("id")])
            for cid, oid in zip(chunk_cids, ids[start : start + self.spec.max_batch], strict=True):
                raw = by_id.get(str(oid))
                if raw is None:
                    item = self._batch_item(
                        next(rejected, None), PlaceOrder(cid, symbol, Side.BUY, Decimal(1), Decimal(1))
                    )
                    if not isinstance(item, Exception):
                        item = ours.ExchangeError(f"{self.name}: cancel {cid}: no answer", venue=self.name)
                    results.append(item)
                    continue
                order = self._parse(parse.order_from_ccxt, self._fill_cancel(raw, symbol, cid))
                results.append(self._strip_prefix(order))
        return results

    async def cancel_all_orders(self, symbol: str, side: Side | None = None) -> list[Order]:
        open_orders = [o for o in await self.fetch_open_orders(symbol) if side is None or o.side is side]
        if not open_orders:
            return []
        if side is None and self.has["cancel_all_orders"]:
            await self._call(self._client.cancel_all_orders(symbol))
            return [o.with_status(OrderStatus.CANCELED) for o in open_orders]
        results = await self.cancel_orders(symbol, [o.client_order_id for o in open_orders])
        return [r for r in results if isinstance(r, Order)]

    # --- market data ----------------------------------------------------------------------------

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        raw = await self._call(self._client.fetch_funding_rate(symbol))
        return self._parse(parse.funding_from_ccxt, raw, self.spec.default_funding_hours)

    async def fetch_funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]:
        if self.spec.market_type != "swap":
            return {}  # spot pays no funding (ccxt would answer with the futures venue's rates)
        raw = await self._call(self._client.fetch_funding_rates(list(symbols) if symbols else None))
        out = {}
        for sym, r in raw.items():
            if r.get("fundingRate") is None:
                continue
            out[sym] = self._parse(parse.funding_from_ccxt, r, self.spec.default_funding_hours)
        return out

    async def fetch_funding_history(self, symbol: str, since_ms: int | None = None) -> list[FundingIncome]:
        """Funding the venue booked on the account (Binance: `/fapi/v1/income`, FUNDING_FEE), oldest first.
        Up to 1000 bookings a call (Binance's maximum): callers page by moving `since_ms` on."""
        raw = await self._call(self._client.fetch_funding_history(symbol, since_ms, 1000))
        out = [self._parse(_funding_income_from_ccxt, symbol, r) for r in raw]
        return sorted(out, key=lambda f: (f.ts_event, f.income_id))

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        raw = await self._call(self._client.fetch_tickers(list(symbols) if symbols else None))
        return {sym: self._parse(parse.ticker_from_ccxt, t) for sym, t in raw.items()}

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[Kline]:
        rows = await self._call(self._client.fetch_ohlcv(symbol, timeframe, since, limit))
        return [self._parse(parse.kline_from_ccxt, symbol, timeframe, row) for row in rows]

    async def watch_trades(self, symbol: str) -> list[Trade]:
        raw = await self._call(self._client.watch_trades(symbol))
        return self._parse(_trades_from_ccxt, symbol, raw, self._max_price(symbol))

    async def watch_ticker(self, symbol: str) -> Ticker:
        return self._parse(parse.ticker_from_ccxt, await self._call(self._client.watch_ticker(symbol)))

    async def watch_bids_asks(self, symbol: str) -> BookTop:
        raw = await self._call(self._client.watch_bids_asks([symbol]))
        return self._parse(_book_top_from_ccxt, symbol, raw[symbol], self._max_price(symbol))

    async def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> list[Kline]:
        rows = await self._call(self._client.watch_ohlcv(symbol, timeframe))
        # ccxt does not mark whether the newest candle is final: treat it as forming.
        return [
            self._parse(parse.kline_from_ccxt, symbol, timeframe, row, i < len(rows) - 1)
            for i, row in enumerate(rows)
        ]

    async def watch_funding_rate(self, symbol: str) -> FundingRate:
        if self._client.has.get("watchFundingRate"):
            raw = await self._call(self._client.watch_funding_rate(symbol))
            return self._parse(parse.funding_from_ccxt, raw, self.spec.default_funding_hours)
        if self.spec.ccxt_id.startswith("binance"):
            tick = await self._call(self._client.watch_mark_price(symbol))
        else:
            tick = await self._call(self._client.watch_ticker(symbol))
        info = tick.get("info") or {}
        found = {
            k: next((info[n] for n in names if info.get(n) not in (None, "")), None)
            for k, names in _FUNDING_KEYS.items()
        }
        if found["rate"] is None:
            # The push carries no funding fields (gate's ticker): fall back to one REST read.
            return await self.fetch_funding_rate(symbol)
        return FundingRate(
            symbol=symbol,
            rate=parse.dec(found["rate"], "funding rate"),
            interval_hours=self.spec.default_funding_hours,
            next_funding_time=int(found["next"] or 0),
            mark_price=parse.opt_dec(found["mark"], "mark price"),
            index_price=parse.opt_dec(found["index"], "index price"),
            ts_event=int(tick.get("timestamp") or 0),
        )

    async def watch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        raw = await self._call(self._client.watch_positions(list(symbols) if symbols else None))
        return [self._parse(parse.position_from_ccxt, p) for p in raw]

    async def watch_balance(self) -> Mapping[str, Balance]:
        return self._parse(parse.balances_from_ccxt, await self._call(self._client.watch_balance()))

    async def close(self) -> None:
        if self._ws_orders is not None:
            await self._ws_orders.close()
        if self._pending_watch is not None:
            self._pending_watch.cancel()
            self._pending_watch = None
        await self._client.close()

    def _max_price(self, symbol: str) -> Decimal:
        """The highest price the venue accepts on this market (its price filter), else `MAX_PRICE`: a
        pushed price above it is one the venue cannot have printed, so it never becomes the market price."""
        market = (self._client.markets or {}).get(symbol) or {}
        limit = ((market.get("limits") or {}).get("price") or {}).get("max")
        try:
            cap = Decimal(str(limit)) if limit is not None else MAX_PRICE
        except ArithmeticError:
            return MAX_PRICE
        return cap if cap.is_finite() and cap > 0 else MAX_PRICE

    def _parse(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        except (ValueError, KeyError, TypeError) as exc:
            raise ours.ExchangeError(
                f"{self.name}: unreadable venue answer: {exc}", venue=self.name
            ) from None


def _endpoint_cost(client: Any, method: str) -> float:
    """ccxt's request cost of one implicit endpoint (e.g. `fapiPrivatePostOrder`), 1 when it names none."""
    import inspect

    config = getattr(inspect.getattr_static(client, method, None), "config", None) or {}
    return float(config.get("cost", 1)) if isinstance(config, dict) else 1.0


def _trades_from_ccxt(symbol: str, raw: Sequence[Mapping[str, Any]], max_price: Decimal) -> list[Trade]:
    # a trade at a price <= 0 or beyond the market's price filter would become the engine's market price:
    # refuse the batch (one clear error)
    out = []
    for t in raw:
        price, amount = parse.dec(t["price"], "trade price"), parse.dec(t["amount"], "trade amount")
        if price <= 0 or amount <= 0:
            raise ValueError(f"trade {t.get('id')}: price and amount must be > 0, got {price}, {amount}")
        if price > max_price:
            raise ValueError(f"trade {t.get('id')}: price {price} is above the market's maximum {max_price}")
        if amount > MAX_SIZE:
            raise ValueError(f"trade {t.get('id')}: amount {amount} is above {MAX_SIZE}")
        side, ts = Side(t.get("side") or "buy"), int(t.get("timestamp") or 0)
        out.append(Trade(symbol, price, amount, side, str(t.get("id") or ""), ts))
    return out


def _funding_income_from_ccxt(symbol: str, r: Mapping[str, Any]) -> FundingIncome:
    # The venue's booking id is what makes a payment countable once: refuse a booking without one.
    income_id = str(r.get("id") or "")
    if not income_id:
        raise ValueError(f"funding booking on {symbol} without an id: {r.get('info')}")
    amount = parse.dec(r["amount"], "funding amount")
    return FundingIncome(
        income_id, r.get("symbol") or symbol, amount, r.get("code") or "", int(r["timestamp"])
    )


def _book_top_from_ccxt(symbol: str, t: Mapping[str, Any], max_price: Decimal) -> BookTop:
    bid, bid_qty, ask, ask_qty = (parse.dec(t[k], k) for k in ("bid", "bidVolume", "ask", "askVolume"))
    if bid <= 0 or ask <= 0 or bid_qty < 0 or ask_qty < 0:
        raise ValueError(f"book top {symbol}: prices must be > 0 and sizes >= 0, got {bid}, {ask}")
    if max(bid, ask) > max_price:
        raise ValueError(f"book top {symbol}: price above the market's maximum {max_price}: {bid}, {ask}")
    if max(bid_qty, ask_qty) > MAX_SIZE:
        raise ValueError(f"book top {symbol}: size above {MAX_SIZE}: {bid_qty}, {ask_qty}")
    return BookTop(symbol, bid, bid_qty, ask, ask_qty, int(t.get("timestamp") or 0))
