"""The order stream of `CcxtExchange`: ccxt order pushes as our updates (each fill once), and gap recovery
after a dropped stream (resubscribe first, then open orders, recent fills and final states over REST, so
nothing the gap hid is lost; prices stay websocket-only).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from loguru import logger

from opensqt.exchanges import errors as ours
from opensqt.exchanges.ccxt import parse
from opensqt.exchanges.ccxt.binance_push import limit_order_from_push
from opensqt.model import Fill, Order, OrderStatus, OrderUpdated

T = TypeVar("T")
ZERO = Decimal(0)

SEEN_TRADES_MAX = 10_000
RECOVERY_LOOKBACK_MS = 60_000
#: updates waiting for a reader of the direct order stream; past this the reader is gone or stuck: the
#: buffer is dropped and the next read recovers over REST (as after a dropped stream), so nothing is lost
DIRECT_BUFFER_MAX = 10_000

#: an update of the direct order stream: ccxt's parsed order dict, or (our order, the push it was read from)
DirectItem = Mapping[str, Any] | tuple[Order, Mapping[str, Any]]


class UserStreamMixin:
    """The part of `CcxtExchange` that follows our orders (state it keeps is set up by `CcxtExchange`)."""

    name: str
    _client: Any
    _known: dict[str, Order]  # venue order id -> last state we reported
    _ids: dict[str, str]  # client order id -> venue order id
    _seen_trades: OrderedDict[str, None]
    _needs_recovery: bool
    _last_event_ms: int
    _pending_watch: asyncio.Task[Any] | None
    # Binance USDT-M's ORDER_TRADE_UPDATE taken straight off ccxt's socket (see `take_order_push`): ccxt
    # parses the order; its trade parse, caches and `watch_orders` futures are skipped.
    _direct_orders: bool
    _direct_buffers: dict[str | None, list[DirectItem]]
    _push_symbols: dict[str, str]  # Binance market id -> unified symbol, for `limit_order_from_push`
    _direct_waiters: dict[str | None, asyncio.Future[None]]

    if TYPE_CHECKING:

        async def _call(self, awaitable: Awaitable[T]) -> T: ...

        def _parse(self, fn: Callable[..., T], *args: Any) -> T: ...

        def _strip_prefix(self, order: Order) -> Order: ...

        async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def watch_orders(self, symbol: str | None = None) -> list[OrderUpdated]:
        """The next batch of order updates. After a dropped stream, the first call resubscribes, then
        recovers what the gap hid (open orders, recent fills, final states) over REST before streaming on."""
        if self._direct_orders:
            return await self._watch_orders_direct(symbol)
        if self._needs_recovery:
            recovered = await self._resubscribe(symbol)
            if recovered:
                return recovered
        try:
            if self._pending_watch is not None:
                task, self._pending_watch = self._pending_watch, None
                raw = await self._call(task)
            else:
                raw = await self._call(self._client.watch_orders(symbol))
        except ours.NetworkError:
            self._needs_recovery = True
            raise
        return self.order_updates(raw)

    async def _resubscribe(self, symbol: str | None) -> list[OrderUpdated]:
        """After a dropped stream: a pending ccxt watch reopens the socket; once it is live, recover what the
        gap hid over REST (the pending watch stays for the next read)."""
        if self._pending_watch is None:
            self._pending_watch = asyncio.ensure_future(self._client.watch_orders(symbol))
        await self._wait_connected()
        self._needs_recovery = False
        return await self._recover(symbol)

    def take_order_push(self, message: Any) -> bool:
        """Called with every message of ccxt's sockets before ccxt's handler: take a USDT-M ORDER_TRADE_UPDATE
        (parsed by ccxt's own `parse_ws_order`, so the order is the one ccxt would give) for the direct order
        stream and return True; anything else (or a shape not recognised) is left to ccxt."""
        if not self._direct_buffers or not isinstance(message, dict):
            return False
        if "stream" in message and isinstance(message.get("data"), dict):  # a combined stream's wrapper
            message = message["data"]
        if message.get("e") != "ORDER_TRADE_UPDATE":
            return False
        o = message.get("o")
        if not isinstance(o, dict) or "ps" not in o or "aid" in o:
            return False
        symbol = self._push_symbol(o.get("s"))
        order = limit_order_from_push(o, symbol) if symbol is not None else None
        item: DirectItem
        if order is not None:  # the grid's own limit orders: read here, the fill from `o` by the reader
            item = (order, o)
        else:
            raw: Mapping[str, Any] = self._client.parse_ws_order(o)
            symbol = raw.get("symbol")
            if not symbol:
                return False
            item = raw
        for key, buffer in self._direct_buffers.items():
            if key is not None and key != symbol:
                continue
            buffer.append(item)
            if len(buffer) > DIRECT_BUFFER_MAX:
                logger.warning("{}: {} order updates unread: recovering over REST", self.name, len(buffer))
                buffer.clear()
                self._needs_recovery = True
            waiter = self._direct_waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(None)
        return True

    def _push_symbol(self, market_id: Any) -> str | None:
        """The unified symbol of a USDT-M market id, as ccxt's `parse_ws_order` finds it (remembered)."""
        if not isinstance(market_id, str):
            return None
        symbol = self._push_symbols.get(market_id)
        if symbol is None and market_id in (self._client.markets_by_id or {}):
            symbol = self._client.safe_symbol(market_id, None, None, "contract")
            self._push_symbols[market_id] = symbol
        return symbol

    async def _watch_orders_direct(self, symbol: str | None) -> list[OrderUpdated]:
        # ccxt's `watch_orders` stays pending as the subscription (listen key, socket, keep-alive) and as the
        # alarm: it fails when the socket drops, and answers only for pushes ccxt handled itself.
        buffer = self._direct_buffers.setdefault(symbol, [])
        if self._needs_recovery:
            recovered = await self._resubscribe(symbol)
            if recovered:
                return recovered
        while True:
            if buffer:
                raws = list(buffer)
                buffer.clear()
                return self.order_updates(raws)
            pending = self._pending_watch
            if pending is None:
                pending = self._pending_watch = asyncio.ensure_future(self._client.watch_orders(symbol))
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._direct_waiters[symbol] = waiter
            try:
                await asyncio.wait((waiter, pending), return_when=asyncio.FIRST_COMPLETED)
            finally:
                if self._direct_waiters.get(symbol) is waiter:
                    del self._direct_waiters[symbol]
            if pending.done():
                self._pending_watch = None
                try:
                    handled_by_ccxt = await self._call(pending)
                except ours.NetworkError:
                    self._needs_recovery = True
                    raise
                raws = [*buffer, *handled_by_ccxt]
                buffer.clear()
                return self.order_updates(raws)

    async def _wait_connected(self) -> None:
        # The pending watch opens (or reuses) the private socket; wait until it is up so recovery happens
        # after the stream is live and nothing can fall between the REST snapshot and the stream.
        for _ in range(200):
            clients = list(getattr(self._client, "clients", {}).values())
            if (clients and all(c.connected.done() for c in clients)) or (
                self._pending_watch and self._pending_watch.done()
            ):
                return
            await asyncio.sleep(0.01)

    def order_updates(self, raws: Sequence[DirectItem]) -> list[OrderUpdated]:
        """ccxt order dicts (as `watch_orders` yields them), or orders the direct stream read itself with
        their push, as our updates, each fill reported once. Public so recorded pushes can be replayed
        through the same path in tests."""
        out: list[OrderUpdated] = []
        for raw in raws:
            if isinstance(raw, tuple):
                order, info = self._strip_prefix(raw[0]), raw[1]
            else:
                order = self._strip_prefix(self._parse(parse.order_from_ccxt, raw))
                info = raw.get("info") or {}
            previous = self._known.get(order.venue_order_id or "")
            fill = None
            carries = False
            if isinstance(info, Mapping):
                fill = self._parse(parse.last_fill_from_info, order, info)
                carries = parse.info_carries_fills(info)
            if fill is None and not carries:
                fill = self._parse(parse.fill_from_delta, previous, order)
            if fill is not None:
                if fill.trade_id in self._seen_trades:
                    fill = None
                else:
                    self._remember_trade(fill.trade_id)
            self._note(order)
            out.append(OrderUpdated(order, fill))
        return out

    def _note(self, order: Order) -> None:
        self._last_event_ms = max(self._last_event_ms, order.ts_event)
        if order.venue_order_id:
            self._ids[order.client_order_id] = order.venue_order_id
            if order.is_open:
                self._known[order.venue_order_id] = order
            else:
                self._known.pop(order.venue_order_id, None)

    def _remember_trade(self, trade_id: str) -> None:
        self._seen_trades[trade_id] = None
        while len(self._seen_trades) > SEEN_TRADES_MAX:
            self._seen_trades.popitem(last=False)

    async def _recover(self, symbol: str | None) -> list[OrderUpdated]:
        symbols = {symbol} if symbol else {o.symbol for o in self._known.values()}
        out: list[OrderUpdated] = []
        since = self._last_event_ms - RECOVERY_LOOKBACK_MS if self._last_event_ms else None
        for sym in sorted(symbols):
            trades = await self._call(self._client.fetch_my_trades(sym, since))
            open_now = {o.venue_order_id: o for o in await self.fetch_open_orders(sym)}
            found: list[tuple[Fill, Order]] = []
            for raw in trades:
                fill = self._parse(parse.fill_from_trade, raw)
                if fill.trade_id in self._seen_trades:
                    continue
                self._remember_trade(fill.trade_id)
                order = open_now.get(fill.venue_order_id) or await self._final_state(sym, fill.venue_order_id)
                if order is None:
                    continue
                found.append((replace(fill, client_order_id=order.client_order_id), order))
            for fill, order in as_of_each_trade(found):
                out.append(OrderUpdated(order, fill))
                self._note(order)
            for oid, before in list(self._known.items()):
                if before.symbol != sym or oid in open_now:
                    continue
                final = await self._final_state(sym, oid)
                if final is not None and final.status != before.status:
                    out.append(OrderUpdated(final))
                    self._note(final)
        logger.info("{}: order stream resubscribed; recovered {} updates over REST", self.name, len(out))
        return out

    async def _final_state(self, symbol: str, venue_order_id: str | None) -> Order | None:
        if venue_order_id is None:
            return None
        try:
            raw = await self._call(self._client.fetch_order(venue_order_id, symbol))
        except ours.OrderNotFound:
            return None
        return self._strip_prefix(self._parse(parse.order_from_ccxt, raw))


def as_of_each_trade(found: Sequence[tuple[Fill, Order]]) -> list[tuple[Fill, Order]]:
    """Recovered trades (in the venue's time order), each with the order as it stood right after it.

    REST gives only the order's state now. Paired with that, an early trade would carry the cumulative of
    later ones, and a reader could not tell it from a newer execution (the slot book drops a report at or
    below the cumulative an order query already booked). Counting back from the state now: a trade's
    cumulative is the order's less the trades after it; before the last one the order was partially filled
    and its average price is not known."""
    after: dict[str | None, Decimal] = {}
    out: list[tuple[Fill, Order]] = []
    for fill, order in reversed(found):
        later = after.get(order.venue_order_id, ZERO)
        after[order.venue_order_id] = later + fill.quantity
        if later:
            order = replace(
                order,
                filled=max(ZERO, order.filled - later),
                status=OrderStatus.PARTIALLY_FILLED,
                average_price=None,
                ts_event=fill.ts_event or order.ts_event,
            )
        out.append((fill, order))
    out.reverse()
    return out
