"""`SimExchange`: the `Exchange` port over a `SimVenue`, with request weights, fault injection and streams.

Engines talk to it exactly as to a ccxt.pro adapter: typed results, the port's error classes, `watch_*`
calls that each wait for the next batch. The `MarketPlayer` feeds it market rows (`publish_row`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from typing import Any, TypeVar

import anyio
import anyio.lowlevel

from opensqt.data.market_data import FUNDING_SCALE, EventKind
from opensqt.exchanges.base import CAPABILITIES, AccountMargin, FundingIncome
from opensqt.exchanges.errors import InvalidOrder, NetworkError, RateLimited
from opensqt.exchanges.sim.faults import FaultPlan
from opensqt.exchanges.sim.orders import VenueEvent
from opensqt.exchanges.sim.streams import KlineBuilder, Subscription, parse_timeframe
from opensqt.exchanges.sim.venue import SimVenue
from opensqt.model import (
    Balance,
    BalanceUpdated,
    BookTop,
    FundingPaid,
    FundingRate,
    Instrument,
    Kline,
    Order,
    OrderUpdated,
    PlaceOrder,
    Position,
    PositionUpdated,
    Side,
    Ticker,
    Trade,
)
from opensqt.runtime.settle import settle

R = TypeVar("R")
MAX_BATCH = 5
FUNDING_HISTORY_MAX = 10_000  # funding bookings kept for `fetch_funding_history` (3 a day per symbol)


@dataclass
class RequestWeightLimit:
    """Binance-style request weight per fixed window of venue time (market time in replay)."""

    limit: int = 2400
    window_ms: int = 60_000
    _window: int = -1
    _used: int = 0

    def charge(self, weight: int, now_ms: int, venue: str) -> None:
        window = now_ms // self.window_ms
        if window != self._window:
            self._window, self._used = window, 0
        if self._used + weight > self.limit:
            retry = ((window + 1) * self.window_ms - now_ms) / 1000
            raise RateLimited(
                f"request weight {self._used + weight} exceeds {self.limit} per {self.window_ms // 1000}s",
                venue=venue,
                code="-1003",
                retry_after=retry,
            )
        self._used += weight


class SimExchange:
    """One account on the simulated venue, behind the `Exchange` protocol."""

    def __init__(
        self,
        venue: SimVenue,
        *,
        faults: FaultPlan | None = None,
        rate_limit: RequestWeightLimit | None = None,
        queue_size: int = 1_000,
        order_queue_size: int = 10_000,
    ) -> None:
        self.venue = venue
        self.name = venue.name
        self.has: Mapping[str, bool] = {c: True for c in CAPABILITIES}
        self.faults = faults or FaultPlan()
        self.rate_limit = rate_limit if rate_limit is not None else RequestWeightLimit()
        self.queue_size = queue_size
        self.order_queue_size = order_queue_size
        self._subs: dict[tuple[Hashable, ...], Subscription[Any]] = {}
        self._klines: dict[tuple[str, str], KlineBuilder] = {}
        self._closed = False
        self._funding_log: deque[FundingIncome] = deque(maxlen=FUNDING_HISTORY_MAX)
        self._funding_ids = count(1)

    # --- plumbing ---------------------------------------------------------------------------------

    async def _call(self, op: str, weight: int, fn: Callable[[], R]) -> R:
        await anyio.lowlevel.checkpoint()
        if self._closed:
            raise NetworkError(f"{op}: exchange is closed", venue=self.name)
        decision = self.faults.decide(op)
        if decision.before is not None:
            raise decision.before
        self.rate_limit.charge(weight, self.venue.now_ms, self.name)
        try:
            result = fn()
        finally:
            self.publish(self.venue.drain())
        if op.startswith("create") and self.faults.fill_before_ack:
            await settle()
        if decision.after is not None:
            raise decision.after
        return result

    def _sub(
        self,
        key: tuple[Hashable, ...],
        *,
        lossless: bool = False,
        conflate: Callable[[Any], Hashable] | None = None,
    ) -> Subscription[Any]:
        if self._closed:
            raise NetworkError(f"watch {key[0]}: exchange is closed", venue=self.name)
        sub = self._subs.get(key)
        if sub is None or sub.broken is not None:
            if sub is not None and sub.broken is not None and not sub.reported:
                # a disconnect is reported exactly once; the watch after that resubscribes
                sub.reported = True
                raise sub.broken
            sub = Subscription(
                self.order_queue_size if lossless else self.queue_size,
                lossless=lossless,
                conflate=conflate,
                name=str(key[0]),
            )
            self._subs[key] = sub
        return sub

    def _push(self, stream: str, key: tuple[Hashable, ...], item: object) -> None:
        sub = self._subs.get(key)
        if sub is None or sub.broken is not None:
            return
        if self.faults.should_drop(stream):
            sub.break_(NetworkError(f"stream {stream}: connection dropped (injected)", venue=self.name))
            return
        sub.push(item)

    def publish(self, events: Sequence[VenueEvent]) -> None:
        """Route venue events to order, position and balance subscribers."""
        self._book_funding(events)
        if not events or not self._subs:
            return
        orders = [e for e in events if isinstance(e, OrderUpdated)]
        for e in self.faults.mangle_order_updates(list(orders)):
            assert isinstance(e, OrderUpdated)
            self._push("orders", ("orders", None), e)
            self._push("orders", ("orders", e.order.symbol), e)
        for e in events:
            if isinstance(e, PositionUpdated):
                self._push("positions", ("positions",), e.position)
            elif isinstance(e, BalanceUpdated):
                self._push("balance", ("balance",), e.balance)

    def _book_funding(self, events: Sequence[VenueEvent]) -> None:
        # The venue's account history of funding, as `/fapi/v1/income` keeps it: every booking with its id.
        for e in events:
            if isinstance(e, FundingPaid):
                settle = self.venue.instruments[e.symbol].settle
                n = str(next(self._funding_ids))
                self._funding_log.append(FundingIncome(n, e.symbol, e.amount, settle, e.ts_event))

    def publish_row(self, i: int) -> bool:
        """Publish market row `i` of the attached data to market-data subscribers; True if anyone got it."""
        data = self.venue.data
        if data is None or not self._subs:
            return False
        symbol = data.symbols[int(data.sym[i])]
        kind = int(data.kind[i])
        scale = data.scales[int(data.sym[i])]
        ts = int(data.ts[i])
        got = False
        if kind == EventKind.TRADE:
            px, qty = int(data.px[i]), int(data.qty[i])
            if ("trades", symbol) in self._subs:
                side = Side.BUY if data.side[i] > 0 else Side.SELL
                self._push(
                    "trades",
                    ("trades", symbol),
                    Trade(symbol, scale.price(px), scale.qty(qty), side, f"{i}", ts),
                )
                got = True
            for (sym, _tf), builder in self._klines.items():
                if sym == symbol:
                    for k in builder.on_trade(ts, px, qty):
                        self._push("ohlcv", ("ohlcv", symbol, builder.timeframe), k)
                    got = True
            if ("ticker", symbol) in self._subs:
                self._push("ticker", ("ticker", symbol), ts)
                got = True
        elif kind == EventKind.BOOK and ("bids_asks", symbol) in self._subs:
            top = BookTop(
                symbol,
                scale.price(int(data.px[i])),
                scale.qty(int(data.qty[i])),
                scale.price(int(data.px2[i])),
                scale.qty(int(data.qty2[i])),
                ts,
            )
            self._push("bids_asks", ("bids_asks", symbol), top)
            got = True
        elif kind == EventKind.FUNDING and ("funding", symbol) in self._subs:
            self._push("funding", ("funding", symbol), Decimal(int(data.px[i])) / FUNDING_SCALE)
            got = True
        return got

    # --- reference data ---------------------------------------------------------------------------

    async def load_markets(self, reload: bool = False) -> Mapping[str, Instrument]:
        return await self._call("load_markets", 1, lambda: dict(self.venue.instruments))

    async def fetch_time(self) -> int:
        return await self._call("fetch_time", 1, lambda: self.venue.now_ms)

    async def fetch_trading_fees(self, symbol: str) -> tuple[Decimal, Decimal]:
        def fees() -> tuple[Decimal, Decimal]:
            inst = self.venue._market(symbol).inst
            return inst.maker_fee, inst.taker_fee

        return await self._call("fetch_trading_fees", 1, fees)

    async def fetch_position_mode(self) -> bool:
        return await self._call("fetch_position_mode", 1, lambda: False)

    # --- account ----------------------------------------------------------------------------------

    async def fetch_balance(self) -> Mapping[str, Balance]:
        return await self._call("fetch_balance", 5, self.venue.balances)

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        return await self._call("fetch_positions", 5, lambda: self.venue.positions(symbols))

    async def fetch_account_margin(self) -> AccountMargin:
        return await self._call("fetch_account_margin", 5, lambda: account_margin(self.venue))

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        return await self._call("set_leverage", 1, lambda: self.venue.set_leverage(symbol, leverage))

    async def fetch_leverage(self, symbol: str) -> int:
        return await self._call("fetch_leverage", 1, lambda: self.venue.leverage(symbol))

    # --- orders -----------------------------------------------------------------------------------

    async def create_order(self, command: PlaceOrder) -> Order:
        return await self._call("create_order", 1, lambda: self.venue.place_order(command))

    async def create_orders(self, commands: Sequence[PlaceOrder]) -> list[Order | Exception]:
        if len(commands) > MAX_BATCH:
            raise InvalidOrder(
                f"commands: at most {MAX_BATCH} orders per batch, got {len(commands)}", venue=self.name
            )

        def batch() -> list[Order | Exception]:
            out: list[Order | Exception] = []
            for c in commands:
                try:
                    out.append(self.venue.place_order(c))
                except Exception as exc:  # each order of a batch succeeds or fails on its own, as on Binance
                    out.append(exc)
            return out

        return await self._call("create_orders", 5, batch)

    async def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        return await self._call("cancel_order", 1, lambda: self.venue.cancel_order(symbol, client_order_id))

    async def cancel_orders(self, symbol: str, client_order_ids: Sequence[str]) -> list[Order | Exception]:
        if len(client_order_ids) > MAX_BATCH:
            raise InvalidOrder(
                f"client_order_ids: at most {MAX_BATCH} per batch, got {len(client_order_ids)}",
                venue=self.name,
            )

        def batch() -> list[Order | Exception]:
            out: list[Order | Exception] = []
            for cid in client_order_ids:
                try:
                    out.append(self.venue.cancel_order(symbol, cid))
                except Exception as exc:
                    out.append(exc)
            return out

        return await self._call("cancel_orders", 1, batch)

    async def cancel_all_orders(self, symbol: str, side: Side | None = None) -> list[Order]:
        return await self._call("cancel_all_orders", 1, lambda: self.venue.cancel_all_orders(symbol, side))

    async def fetch_order(self, symbol: str, client_order_id: str) -> Order:
        return await self._call("fetch_order", 1, lambda: self.venue.fetch_order(symbol, client_order_id))

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]:
        return await self._call(
            "fetch_open_orders", 1 if symbol else 40, lambda: self.venue.open_orders(symbol)
        )

    # --- market data ------------------------------------------------------------------------------

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        return await self._call("fetch_funding_rate", 1, lambda: self.venue.funding_rate(symbol))

    async def fetch_funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]:
        def rates() -> dict[str, FundingRate]:
            names = (
                symbols
                if symbols is not None
                else [s for s, i in self.venue.instruments.items() if i.is_perpetual]
            )
            return {s: self.venue.funding_rate(s) for s in names}

        return await self._call("fetch_funding_rates", 10, rates)

    async def fetch_funding_history(self, symbol: str, since_ms: int | None = None) -> list[FundingIncome]:
        since = since_ms or 0
        return await self._call(
            "fetch_funding_history",
            30,
            lambda: [f for f in self._funding_log if f.symbol == symbol and f.ts_event >= since],
        )

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        names = list(symbols) if symbols is not None else list(self.venue.instruments)
        return await self._call(
            "fetch_tickers",
            40 if symbols is None else len(names),
            lambda: {s: self.venue.ticker(s) for s in names},
        )

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[Kline]:
        tf_ms = _timeframe(timeframe, self.name)
        return await self._call(
            "fetch_ohlcv", 5, lambda: self.venue.ohlcv(symbol, timeframe, tf_ms, since, limit)
        )

    # --- streams ----------------------------------------------------------------------------------

    def _check_symbol(self, symbol: str) -> None:
        self.venue._market(symbol)

    async def watch_trades(self, symbol: str) -> list[Trade]:
        self._check_symbol(symbol)
        return await self._sub(("trades", symbol)).next_batch()

    async def watch_ticker(self, symbol: str) -> Ticker:
        self._check_symbol(symbol)
        await self._sub(("ticker", symbol), conflate=lambda _: 0).next_batch()
        return self.venue.ticker(symbol)

    async def watch_bids_asks(self, symbol: str) -> BookTop:
        self._check_symbol(symbol)
        batch = await self._sub(("bids_asks", symbol), conflate=lambda _: 0).next_batch()
        return batch[-1]  # type: ignore[no-any-return]

    async def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> list[Kline]:
        self._check_symbol(symbol)
        tf_ms = _timeframe(timeframe, self.name)
        key = (symbol, timeframe)
        if key not in self._klines:
            m = self.venue.markets[symbol]
            self._klines[key] = KlineBuilder(symbol, timeframe, tf_ms, m.scale)
        return await self._sub(
            ("ohlcv", symbol, timeframe), conflate=lambda k: (k.open_time, k.closed)
        ).next_batch()

    async def watch_orders(self, symbol: str | None = None) -> list[OrderUpdated]:
        if symbol is not None:
            self._check_symbol(symbol)
        return await self._sub(("orders", symbol), lossless=True).next_batch()

    async def watch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        wanted = set(symbols) if symbols is not None else None
        while True:
            batch = await self._sub(("positions",), lossless=True).next_batch()
            out = [p for p in batch if wanted is None or p.symbol in wanted]
            if out:
                return out

    async def watch_balance(self) -> Mapping[str, Balance]:
        batch = await self._sub(("balance",), lossless=True).next_batch()
        return {b.asset: b for b in batch}

    async def watch_funding_rate(self, symbol: str) -> FundingRate:
        self._check_symbol(symbol)
        await self._sub(("funding", symbol), conflate=lambda _: 0).next_batch()
        return self.venue.funding_rate(symbol)

    async def close(self) -> None:
        self._closed = True
        for sub in self._subs.values():
            sub.break_(NetworkError("exchange closed", venue=self.name))
        await anyio.lowlevel.checkpoint()


def account_margin(venue: SimVenue) -> AccountMargin:
    """The account's margin from the venue's ledger, in the perps' settle asset: margin balance = wallet plus
    unrealized PnL (what the venue's own margin checks use); maintenance = |size| x mark x the venue's
    maintenance rate over every perp position. A margin-short spot loan is not counted (the sim's equity
    does not carry the debt either)."""
    marks = {s: p for s, p in venue._marks().items() if venue.instruments[s].is_perpetual}
    settles = sorted({venue.instruments[s].settle for s in marks}) or ["USDT"]
    settle = settles[0]
    acct = venue.account
    maintenance = sum(
        (
            abs(pos.size) * marks[s] * acct.mmr
            for s, pos in acct.positions.items()
            if pos.size and s in marks and venue.instruments[s].settle == settle
        ),
        Decimal(0),
    )
    return AccountMargin(acct.equity(settle, marks), maintenance, venue.now_ms)


def _timeframe(timeframe: str, venue: str) -> int:
    try:
        return parse_timeframe(timeframe)
    except ValueError as exc:
        raise InvalidOrder(str(exc), venue=venue) from None
