"""`MemoryVenue`: a small in-memory `Exchange` with a top-of-book matcher, to back the loopback server.

It stands in for the simulated venue (`opensqt.exchanges.sim`) wherever that is not wanted or not there:
orders rest at their price and fill when a public trade crosses them (`publish_trade`); post-only orders
that would cross the book are refused; margin is checked at submit. One-way positions, linear USDT.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import count
from typing import Any, Generic, TypeVar

import anyio

from opensqt.clock import Clock, WallClock
from opensqt.exchanges import errors as ours
from opensqt.model import (
    Balance,
    BookTop,
    Fill,
    FundingRate,
    Instrument,
    Kline,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Position,
    Side,
    Ticker,
    Trade,
)

T = TypeVar("T")
_QUEUE_MAX = 10_000


class _Feed(Generic[T]):
    """A single-consumer queue with ccxt `watch_*` semantics: `next()` returns every item queued so far,
    waiting for the first one. Bounded: the oldest items go first when the consumer falls behind."""

    def __init__(self) -> None:
        self._items: deque[T] = deque(maxlen=_QUEUE_MAX)
        self._ready = anyio.Event()

    def put(self, item: T) -> None:
        self._items.append(item)
        self._ready.set()

    async def next(self) -> list[T]:
        while not self._items:
            await self._ready.wait()
            self._ready = anyio.Event()
        items = list(self._items)
        self._items.clear()
        return items


class MemoryVenue:
    """An `Exchange` in memory. Drive the market with `set_book` and `publish_trade`."""

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        *,
        balance: Decimal = Decimal(10_000),
        clock: Clock | None = None,
        funding_rate: Decimal = Decimal("0.0001"),
    ) -> None:
        self.name = "memory"
        self.has: Mapping[str, bool] = {"create_orders": False, "cancel_orders": False, "watch_orders": True}
        self._clock = clock or WallClock()
        self._instruments = dict(instruments)
        self._wallet = balance
        self._funding = funding_rate
        self._ids = count(8_000_000_001)
        self._trade_ids = count(1)
        self._orders: dict[str, Order] = {}  # client order id -> order (all, final ones kept for queries)
        self._fills: list[Fill] = []
        self._positions: dict[str, Position] = {}
        self._leverage: dict[str, int] = dict.fromkeys(instruments, 20)
        self._book: dict[str, BookTop] = {}
        self._last: dict[str, Decimal] = {}
        self._hedge_mode = False
        self._order_feed: _Feed[OrderUpdated] = _Feed()
        self._balance_feed: _Feed[Balance] = _Feed()
        self._position_feed: _Feed[Position] = _Feed()
        self._trade_feeds: dict[str, _Feed[Trade]] = {}
        self._book_feeds: dict[str, _Feed[BookTop]] = {}

    # --- market drivers ---------------------------------------------------------------------------

    def set_book(self, symbol: str, bid: Decimal, ask: Decimal, qty: Decimal = Decimal(1)) -> None:
        top = BookTop(symbol, bid, qty, ask, qty, self._clock.now_ms())
        self._book[symbol] = top
        self._last.setdefault(symbol, top.mid)
        self._book_feeds.setdefault(symbol, _Feed()).put(top)

    def publish_trade(self, symbol: str, price: Decimal, qty: Decimal, taker: Side) -> None:
        """A public trade: resting orders it crosses fill (as maker) at their own price, up to `qty` each."""
        now = self._clock.now_ms()
        self._last[symbol] = price
        self._trade_feeds.setdefault(symbol, _Feed()).put(
            Trade(symbol, price, qty, taker, str(next(self._trade_ids)), now)
        )
        for order in list(self._orders.values()):
            if order.symbol != symbol or not order.is_open or order.price is None:
                continue
            crosses = (order.side is Side.BUY and taker is Side.SELL and price <= order.price) or (
                order.side is Side.SELL and taker is Side.BUY and price >= order.price
            )
            if crosses:
                self._execute(order, order.remaining, order.price, LiquiditySide.MAKER)

    def set_hedge_mode(self, hedged: bool) -> None:
        self._hedge_mode = hedged

    # --- Exchange: reads --------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> Mapping[str, Instrument]:
        return self._instruments

    def _instrument(self, symbol: str) -> Instrument:
        try:
            return self._instruments[symbol]
        except KeyError:
            raise ours.InvalidOrder(f"memory: unknown symbol {symbol!r}", venue=self.name) from None

    def _used_margin(self) -> Decimal:
        used = Decimal(0)
        for order in self._orders.values():
            if order.is_open and order.price is not None:
                inst = self._instruments[order.symbol]
                used += inst.notional(order.price, order.remaining) / self._leverage[order.symbol]
        for pos in self._positions.values():
            used += abs(pos.size) * pos.entry_price / self._leverage[pos.symbol]
        return used

    def _balance(self) -> Balance:
        used = self._used_margin()
        return Balance("USDT", self._wallet, self._wallet - used, used, self._clock.now_ms())

    async def fetch_balance(self) -> Mapping[str, Balance]:
        return {"USDT": self._balance()}

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        return [p for s, p in self._positions.items() if symbols is None or s in symbols]

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._orders.values() if o.is_open and (symbol is None or o.symbol == symbol)]

    async def fetch_order(self, symbol: str, client_order_id: str) -> Order:
        order = self._orders.get(client_order_id)
        if order is None or order.symbol != symbol:
            raise ours.OrderNotFound(f"memory: no order {client_order_id} on {symbol}", venue=self.name)
        return order

    def fills(self, symbol: str | None = None) -> list[Fill]:
        """Every execution so far (the venue's trade history), oldest first."""
        return [f for f in self._fills if symbol is None or f.symbol == symbol]

    # --- Exchange: orders -------------------------------------------------------------------------

    async def create_order(self, command: PlaceOrder) -> Order:
        kind = self._kind
        inst = self._instrument(command.symbol)
        if command.client_order_id in self._orders:
            raise ours.DuplicateClientOrderId(
                f"{kind}: client order id {command.client_order_id} already used", venue=self.name
            )
        self._refuse(command)
        book = self._book.get(command.symbol)
        price = command.price
        if command.type is OrderType.MARKET:
            if book is None:
                raise ours.InvalidOrder(f"{kind}: no book for {command.symbol}", venue=self.name)
            price = book.ask if command.side is Side.BUY else book.bid
        assert price is not None
        if not inst.is_on_tick(price):
            raise ours.InvalidOrder(
                f"{kind}: price {price} is not a multiple of tick {inst.tick_size}", venue=self.name
            )
        if not inst.is_on_lot(command.quantity):
            raise ours.InvalidOrder(
                f"{kind}: quantity {command.quantity} is not a multiple of lot {inst.lot_size}",
                venue=self.name,
            )
        if not inst.meets_minimums(price, command.quantity):
            raise ours.InvalidOrder(
                f"{kind}: order below min qty or min notional {inst.min_notional}", venue=self.name
            )
        crosses = book is not None and (
            (command.side is Side.BUY and price >= book.ask)
            or (command.side is Side.SELL and price <= book.bid)
        )
        if command.post_only and crosses:
            raise ours.OrderWouldCross(
                f"{kind}: post-only {command.client_order_id} would immediately match", venue=self.name
            )
        reserved = self._reserve(command, inst, price)
        now = self._clock.now_ms()
        order = Order(
            command.client_order_id,
            command.symbol,
            command.side,
            command.type,
            command.quantity,
            command.price,
            str(next(self._ids)),
            time_in_force=command.time_in_force,
            reduce_only=command.reduce_only,
            ts_event=now,
            ts_init=now,
        )
        self._orders[order.client_order_id] = order
        self._order_feed.put(OrderUpdated(order))
        if crosses and book is not None:
            self._execute(
                order, order.quantity, book.ask if order.side is Side.BUY else book.bid, LiquiditySide.TAKER
            )
        else:
            self._publish_balances(reserved)
        return self._orders[order.client_order_id]

    async def create_orders(self, commands: Sequence[PlaceOrder]) -> list[Order | Exception]:
        out: list[Order | Exception] = []
        for command in commands:
            try:
                out.append(await self.create_order(command))
            except ours.VenueError as exc:
                out.append(exc)
        return out

    async def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        order = self._orders.get(client_order_id)
        if order is None or order.symbol != symbol or not order.is_open:
            raise ours.OrderNotFound(f"{self._kind}: unknown order {client_order_id}", venue=self.name)
        released = self._release(order)
        done = order.with_status(OrderStatus.CANCELED, self._clock.now_ms())
        self._orders[client_order_id] = done
        self._order_feed.put(OrderUpdated(done))
        self._publish_balances(released)
        return done

    async def cancel_orders(self, symbol: str, client_order_ids: Sequence[str]) -> list[Order | Exception]:
        out: list[Order | Exception] = []
        for cid in client_order_ids:
            try:
                out.append(await self.cancel_order(symbol, cid))
            except ours.VenueError as exc:
                out.append(exc)
        return out

    async def cancel_all_orders(self, symbol: str, side: Side | None = None) -> list[Order]:
        targets = [o for o in await self.fetch_open_orders(symbol) if side is None or o.side is side]
        return [await self.cancel_order(symbol, o.client_order_id) for o in targets]

    def _execute(self, order: Order, qty: Decimal, price: Decimal, liquidity: LiquiditySide) -> None:
        inst = self._instruments[order.symbol]
        now = self._clock.now_ms()
        fee_rate = inst.maker_fee if liquidity is LiquiditySide.MAKER else inst.taker_fee
        fee = inst.notional(price, qty) * fee_rate
        realized, fee_asset, touched = self._settle(order, inst, qty, price, fee, now)
        filled = order.filled + qty
        avg = ((order.average_price or Decimal(0)) * order.filled + price * qty) / filled
        status = OrderStatus.FILLED if filled == order.quantity else OrderStatus.PARTIALLY_FILLED
        new = replace(order, filled=filled, average_price=avg, status=status, ts_event=now)
        self._orders[order.client_order_id] = new
        fill = Fill(
            str(next(self._trade_ids)),
            order.client_order_id,
            order.symbol,
            order.side,
            price,
            qty,
            fee,
            fee_asset,
            liquidity,
            new.venue_order_id,
            realized,
            now,
        )
        self._fills.append(fill)
        self._order_feed.put(OrderUpdated(new, fill))
        self._publish_balances(touched)
        if inst.is_perpetual:
            self._position_feed.put(self._positions.get(order.symbol, Position(order.symbol, ts_event=now)))

    # --- the account: a USDT-margined one here; a spot account (SpotVenue) overrides these -------------

    _kind = "memory"

    def _refuse(self, command: PlaceOrder) -> None:
        """Parameters this account does not take (none on a USDT-M account)."""

    def _reserve(self, command: PlaceOrder, inst: Instrument, price: Decimal) -> list[str]:
        """Check (and hold) what a new order needs; returns the assets whose balance changed."""
        margin = inst.notional(price, command.quantity) / self._leverage[command.symbol]
        if not command.reduce_only and margin > self._wallet - self._used_margin():
            raise ours.InsufficientFunds(
                f"memory: margin is insufficient for {command.client_order_id}", venue=self.name
            )
        return []

    def _release(self, order: Order) -> list[str]:
        """What a cancelled order held goes back; returns the assets whose balance changed."""
        return ["USDT"]

    def _settle(
        self, order: Order, inst: Instrument, qty: Decimal, price: Decimal, fee: Decimal, now: int
    ) -> tuple[Decimal | None, str, list[str]]:
        """Book an execution on the account: (realized PnL, fee asset, assets whose balance changed)."""
        realized = self._apply_position(order.symbol, order.side.sign * qty * inst.contract_size, price, now)
        self._wallet += realized - fee
        return realized, "USDT", ["USDT"]

    def _publish_balances(self, assets: Sequence[str]) -> None:
        if assets:
            self._balance_feed.put(self._balance())

    def _apply_position(self, symbol: str, delta: Decimal, price: Decimal, now: int) -> Decimal:
        pos = self._positions.get(symbol, Position(symbol, leverage=self._leverage[symbol]))
        realized = Decimal(0)
        size = pos.size + delta
        if pos.size == 0 or (pos.size > 0) == (delta > 0):
            entry = (pos.entry_price * abs(pos.size) + price * abs(delta)) / abs(size)
        else:
            closed = min(abs(delta), abs(pos.size))
            realized = closed * (price - pos.entry_price) * (1 if pos.size > 0 else -1)
            entry = pos.entry_price if size != 0 and (size > 0) == (pos.size > 0) else price
        if size == 0:
            self._positions.pop(symbol, None)
        else:
            self._positions[symbol] = replace(
                pos, size=size, entry_price=entry, mark_price=price, ts_event=now
            )
        return realized

    # --- Exchange: account settings ----------------------------------------------------------------

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        inst = self._instrument(symbol)
        if not 1 <= leverage <= inst.max_leverage:
            raise ours.InvalidOrder(
                f"memory: leverage must be within [1, {inst.max_leverage}]", venue=self.name
            )
        self._leverage[symbol] = leverage
        return leverage

    async def fetch_leverage(self, symbol: str) -> int:
        return self._leverage[self._instrument(symbol).symbol]

    async def fetch_trading_fees(self, symbol: str) -> tuple[Decimal, Decimal]:
        inst = self._instrument(symbol)
        return inst.maker_fee, inst.taker_fee

    async def fetch_position_mode(self) -> bool:
        return self._hedge_mode

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        now = self._clock.now_ms()
        period = 8 * 3_600_000
        mark = self._last.get(symbol)
        return FundingRate(symbol, self._funding, Decimal(8), (now // period + 1) * period, mark, mark, now)

    async def fetch_funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]:
        return {s: await self.fetch_funding_rate(s) for s in (symbols or self._instruments)}

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        out = {}
        for s in symbols or self._instruments:
            book = self._book.get(s)
            last = self._last.get(s, Decimal(0))
            out[s] = Ticker(
                s, last, book.bid if book else None, book.ask if book else None, ts_event=self._clock.now_ms()
            )
        return out

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[Kline]:
        return []

    async def fetch_time(self) -> int:
        return self._clock.now_ms()

    # --- Exchange: streams --------------------------------------------------------------------------

    async def watch_trades(self, symbol: str) -> list[Trade]:
        return await self._trade_feeds.setdefault(symbol, _Feed()).next()

    async def watch_ticker(self, symbol: str) -> Ticker:
        await self.watch_trades(symbol)
        return (await self.fetch_tickers([symbol]))[symbol]

    async def watch_bids_asks(self, symbol: str) -> BookTop:
        return (await self._book_feeds.setdefault(symbol, _Feed()).next())[-1]

    async def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> list[Kline]:
        await anyio.sleep_forever()
        return []

    async def watch_orders(self, symbol: str | None = None) -> list[OrderUpdated]:
        while True:
            updates = [u for u in await self._order_feed.next() if symbol is None or u.order.symbol == symbol]
            if updates:
                return updates

    async def watch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        return await self._position_feed.next()

    async def watch_balance(self) -> Mapping[str, Balance]:
        balances = await self._balance_feed.next()
        return {"USDT": balances[-1]}

    async def watch_funding_rate(self, symbol: str) -> FundingRate:
        await self.watch_bids_asks(symbol)
        return await self.fetch_funding_rate(symbol)

    async def close(self) -> None:
        return None


def default_instruments(count_: int = 3) -> dict[str, Instrument]:
    """BTC, ETH, SOL... plus synthetic `C{n}` perps up to `count_` markets (for discovery benchmarks)."""
    from opensqt.model import InstrumentKind

    base: list[Any] = [("BTC", "0.1", "0.001"), ("ETH", "0.01", "0.001"), ("SOL", "0.01", "1")]
    base += [(f"C{i:03d}", "0.0001", "1") for i in range(max(0, count_ - len(base)))]
    out = {}
    for name, tick, lot in base[:count_]:
        out[f"{name}/USDT:USDT"] = Instrument(
            symbol=f"{name}/USDT:USDT",
            venue_symbol=f"{name}USDT",
            kind=InstrumentKind.LINEAR_PERPETUAL,
            base=name,
            quote="USDT",
            tick_size=Decimal(tick),
            lot_size=Decimal(lot),
            min_qty=Decimal(lot),
            min_notional=Decimal(5),
            venue="memory",
        )
    return out
