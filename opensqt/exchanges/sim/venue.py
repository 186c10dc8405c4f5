"""`SimVenue`: the synchronous matching core of the simulated exchange (one account, several markets).

Feed it market rows (`step`, `advance`) and order calls; it returns typed venue events. Resting orders are
integer tick thresholds per market, so `advance` can use numpy to jump straight to the next row that can
change anything (see `scan.py`) and must give exactly the fills of stepping every row (`fast=False`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from decimal import Decimal

from opensqt.clock import ManualClock
from opensqt.data.market_data import EventKind, MarketData
from opensqt.exchanges.errors import (
    ExchangeError,
    OrderNotFound,
    OrderWouldCross,
)
from opensqt.exchanges.sim.account import Account
from opensqt.exchanges.sim.instruments import DEFAULT_INSTRUMENTS
from opensqt.exchanges.sim.ledger import LedgerMixin
from opensqt.exchanges.sim.market import BIG, MarketState
from opensqt.exchanges.sim.orders import Liquidated, LiveOrder, VenueEvent
from opensqt.exchanges.sim.scan import Scanner
from opensqt.model import (
    Fill,
    FundingPaid,
    Instrument,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionUpdated,
    Side,
    TimeInForce,
)

TRADE, BOOK, FUNDING = int(EventKind.TRADE), int(EventKind.BOOK), int(EventKind.FUNDING)
MAKER, TAKER = LiquiditySide.MAKER, LiquiditySide.TAKER


class SimVenue(LedgerMixin):
    """One simulated account on a venue with several markets, driven by `MarketData` rows.

    Errors are the `opensqt.exchanges.errors` classes; a refused call leaves every state unchanged.
    """

    def __init__(
        self,
        instruments: Iterable[Instrument] | None = None,
        *,
        name: str = "sim",
        balances: Mapping[str, Decimal] | None = None,
        default_leverage: int = 20,
        maintenance_margin_rate: Decimal = Decimal("0.004"),
        funding_interval_ms: int = 8 * 3_600_000,
        use_margin: bool = False,
        margin_leverage: int = 3,
        clock: ManualClock | None = None,
        emit_balances: bool = True,
    ) -> None:
        insts = list(instruments) if instruments is not None else list(DEFAULT_INSTRUMENTS.values())
        self.name = name
        self.instruments: dict[str, Instrument] = {i.symbol: i for i in insts}
        self._markets = [MarketState(i, k, funding_interval_ms) for k, i in enumerate(insts)]
        self.markets = {m.inst.symbol: m for m in self._markets}
        self.account = Account(
            balances if balances is not None else {"USDT": Decimal(10_000)},
            maintenance_margin_rate=maintenance_margin_rate,
            default_leverage=default_leverage,
            use_margin=use_margin,
            margin_leverage=margin_leverage,
        )
        self.clock = clock
        # False: no BalanceUpdated events (a backtest reads none, and each costs a walk of the open orders)
        self.emit_balances = emit_balances
        self.now_ms = clock.now_ms() if clock else 0
        self.orders: dict[str, LiveOrder] = {}
        # Finished orders stay queryable for a while, then are archived (as venues do) and their objects
        # freed. An archived order's client id stays taken for a longer while (a reused id is an engine
        # bug worth an error); then it is forgotten too, so a sim that runs for days holds bounded memory
        # (Binance itself refuses a client id only while its order is open). ~0.9 KB per finished order,
        # ~0.13 KB per archived id.
        self._finished_orders: deque[str] = deque()
        self._archived_ids: dict[str, None] = {}  # an ordered set: the oldest id is forgotten first
        self.finished_order_memory = 1_000
        self.archived_id_memory = 50_000
        self._buys: list[list[LiveOrder]] = [[] for _ in insts]
        self._sells: list[list[LiveOrder]] = [[] for _ in insts]
        self._out: list[VenueEvent] = []
        self._next_vid = 1_000_001
        self._next_trade = 1
        self._next_autoclose = 1
        self.fill_count = 0
        self.data: MarketData | None = None
        self.cursor = 0
        self._scan: Scanner | None = None
        self._sym_market: list[int] = []
        self._next_funding = BIG

    @property
    def next_ids(self) -> tuple[int, int, int]:
        """The venue order id, trade id and liquidation order number the venue issues next."""
        return self._next_vid, self._next_trade, self._next_autoclose

    def number_ids_from(self, base: int) -> None:
        """Issue venue order ids, trade ids and liquidation order numbers from `base` on (a fresh venue
        only). A paper account that starts anew over a store that outlives it takes a base from the wall
        clock, so its trade ids never repeat one the store already holds (fills are keyed by venue, symbol
        and trade id)."""
        self._require_fresh("renumber its ids")
        self._next_vid = self._next_trade = self._next_autoclose = base

    def adopt_account(
        self,
        account: Account,
        next_ids: tuple[int, int, int],
        fill_count: int,
        orders: Iterable[LiveOrder],
    ) -> None:
        """Take over a saved paper account (`opensqt.exchanges.sim.account_state`; a fresh venue only): its
        balances and positions, the ids it issues next, and the orders it knows, resting ones back in the
        book, finished ones queryable until they age out as usual."""
        self._require_fresh("take over an account")
        self.account = account
        self._next_vid, self._next_trade, self._next_autoclose = next_ids
        self.fill_count = fill_count
        for o in sorted(orders, key=lambda o: o.seq):
            self.orders[o.cid] = o
            if o.status.is_final:
                self._finished_orders.append(o.cid)
            else:
                (self._buys if o.sign > 0 else self._sells)[o.m.index].append(o)
        for m in self._markets:
            self._refresh_orders(m)
        self._refresh_liquidation()

    def _require_fresh(self, what: str) -> None:
        if self.orders or self.fill_count:
            raise ValueError(f"sim venue: only a venue that has not traded can {what}")

    # --- market data ------------------------------------------------------------------------------

    def attach(self, data: MarketData) -> None:
        """Replay `data` from its first row. Its symbols must be venue markets with the same tick and lot."""
        mapping = []
        for sym, scale in zip(data.symbols, data.scales, strict=True):
            m = self.markets.get(sym)
            if m is not None and (m.scale.tick_size, m.scale.lot_size) != (scale.tick_size, scale.lot_size):
                raise ValueError(
                    f"market data {sym}: tick/lot {scale.tick_size}/{scale.lot_size} differ from the "
                    f"venue's {m.scale.tick_size}/{m.scale.lot_size}"
                )
            mapping.append(m.index if m is not None else -1)
        self.data = data
        self.cursor = 0
        self._sym_market = mapping
        self._scan = Scanner(data)
        for m in self._markets:
            m.depth_upto = 0
            m.depth_index = None
            m.level_index = None
            m.trade_index = None
            m.depth_bids.clear()
            m.depth_asks.clear()
        if len(data):
            self._set_now(int(data.ts[0]))
            for m in self._markets:
                m.schedule_funding(self.now_ms)
            self._next_funding = min(m.next_funding for m in self._markets)
        for m in self._markets:
            self._refresh_orders(m)
        self._refresh_liquidation()

    @property
    def exhausted(self) -> bool:
        return self.data is None or self.cursor >= len(self.data)

    def _set_now(self, ts: int) -> None:
        if ts > self.now_ms:
            self.now_ms = ts
            if self.clock is not None:
                self.clock.set_ms(ts)

    def step(self) -> list[VenueEvent]:
        """Process exactly one market row; returns the venue events it caused."""
        if self.data is None or self.cursor >= len(self.data):
            return []
        i = self.cursor
        self.cursor = i + 1
        self._step(i)
        return self.drain()

    def advance(
        self,
        until_ms: int | None = None,
        *,
        max_rows: int | None = None,
        stop_on_event: bool = True,
        fast: bool = True,
    ) -> list[VenueEvent]:
        """Replay rows up to `until_ms` (inclusive) / `max_rows` rows / the end, stopping after the first row
        that caused venue events when `stop_on_event`. `fast` skips rows that cannot change anything."""
        data, scan = self.data, self._scan
        if data is None or scan is None:
            return self.drain()
        n = len(data)
        end = n if until_ms is None else int(data.ts.searchsorted(until_ms, side="right"))
        if max_rows is not None:
            end = min(end, self.cursor + max_rows)
        while self.cursor < end:
            i = self.cursor
            if fast:
                bound = end
                if self._next_funding < BIG:
                    bound = min(end, max(i, int(data.ts.searchsorted(self._next_funding, side="left"))))
                k = scan.next_interesting(i, bound)
                if k > i:
                    self._sync(i, k)
                if k >= end:
                    self.cursor = end
                    break
                i = k
            self.cursor = i + 1
            self._step(i)
            if stop_on_event and self._out:
                break
        if until_ms is not None and self.cursor >= end:
            self._set_now(until_ms)
        return self.drain()

    def run(self, fast: bool = True) -> int:
        """Replay everything left with no reaction; returns the number of venue events produced."""
        total = 0
        while not self.exhausted:
            total += len(self.advance(stop_on_event=False, fast=fast))
        return total

    def drain(self) -> list[VenueEvent]:
        out, self._out = self._out, []
        return out

    def _sync(self, a: int, k: int) -> None:
        """Bring market state to row k-1 after skipping rows [a, k) that changed no order or account."""
        data = self.data
        assert data is not None and self._scan is not None
        self._set_now(int(data.ts[k - 1]))
        for s, mi in enumerate(self._sym_market):
            if mi < 0:
                continue
            m = self._markets[mi]
            t = self._scan.last_row(a, k, TRADE, s)
            if t >= 0:
                m.last = int(data.px[t])
            b = self._scan.last_row(a, k, BOOK, s)
            if b >= 0:
                m.bid, m.bid_qty, m.ask, m.ask_qty = (
                    int(data.px[b]),
                    int(data.qty[b]),
                    int(data.px2[b]),
                    int(data.qty2[b]),
                )

    def _step(self, i: int) -> None:
        data = self.data
        assert data is not None
        ts = int(data.ts[i])
        self._set_now(ts)
        if ts >= self._next_funding:
            self._pay_funding(ts)
        mi = self._sym_market[int(data.sym[i])]
        if mi < 0:
            return
        m = self._markets[mi]
        kind = int(data.kind[i])
        if kind == TRADE:
            price = int(data.px[i])
            m.last = price
            self._on_trade(m, price, int(data.qty[i]))
            self._check_liquidation(m, price)
        elif kind == BOOK:
            m.bid, m.bid_qty, m.ask, m.ask_qty = (
                int(data.px[i]),
                int(data.qty[i]),
                int(data.px2[i]),
                int(data.qty2[i]),
            )
            self._on_book(m)
        elif kind == FUNDING:
            m.funding_rate = int(data.px[i])
            m.funding_mark = int(data.px2[i])
            if int(data.qty2[i]) > 0:
                m.funding_interval = int(data.qty2[i])
            nxt = int(data.qty[i])
            if m.inst.is_perpetual and nxt > ts:
                m.next_funding = nxt
                self._next_funding = min(x.next_funding for x in self._markets)

    # --- the fill model ---------------------------------------------------------------------------

    def _on_trade(self, m: MarketState, price: int, qty: int) -> None:
        """A print through a resting price fills it; at the price, volume first eats the queue ahead."""
        for o in [o for o in self._buys[m.index] if o.price >= price]:
            self._trade_fill(o, price, qty)
        for o in [o for o in self._sells[m.index] if o.price <= price]:
            self._trade_fill(o, price, qty)

    def _trade_fill(self, o: LiveOrder, price: int, qty: int) -> None:
        remaining = o.qty - o.filled
        if price != o.price:
            lots = remaining
        elif qty > o.queue:
            lots = min(remaining, qty - o.queue)
            o.queue = 0
        else:
            o.queue -= qty
            lots = 0
        if lots:
            self._fill(o, lots, o.price, MAKER)

    def _on_book(self, m: MarketState) -> None:
        """A book that crosses a resting order means someone traded against it at its price."""
        for o in [o for o in self._buys[m.index] if o.price >= m.ask]:
            self._fill(o, o.qty - o.filled, o.price, MAKER)
        for o in [o for o in self._sells[m.index] if o.price <= m.bid]:
            self._fill(o, o.qty - o.filled, o.price, MAKER)

    def _fill(self, o: LiveOrder, lots: int, price_ticks: int, liquidity: LiquiditySide) -> None:
        m = o.m
        inst = m.inst
        if o.reduce_only:
            size = self.account.position(inst.symbol).size
            reducible = m.scale.to_lots(abs(size)) if size and (size > 0) != (o.sign > 0) else 0
            lots = min(lots, reducible)
            if lots == 0:
                self._finish(o, OrderStatus.EXPIRED)
                return
        qty = m.scale.qty(lots)
        price = m.scale.price(price_ticks)
        fee = qty * price * inst.contract_size * (inst.maker_fee if liquidity is MAKER else inst.taker_fee)
        realized: Decimal | None = None
        if inst.is_perpetual:
            realized = self.account.fill_perp(inst, o.sign, qty * inst.contract_size, price, fee)
        else:
            self.account.fill_spot(inst, o.sign, qty, price, fee)
        o.filled += lots
        o.notional += qty * price
        o.status = OrderStatus.FILLED if o.filled == o.qty else OrderStatus.PARTIALLY_FILLED
        trade_id = str(self._next_trade)
        self._next_trade += 1
        self.fill_count += 1
        fill = Fill(
            trade_id,
            o.cid,
            inst.symbol,
            Side.BUY if o.sign > 0 else Side.SELL,
            price,
            qty,
            fee,
            inst.settle,
            liquidity,
            str(o.vid),
            realized,
            self.now_ms,
        )
        if o.status is OrderStatus.FILLED:
            self._remove(o)
        self._out.append(OrderUpdated(o.snapshot(self.now_ms), fill))
        if inst.is_perpetual:
            self._out.append(PositionUpdated(self._position(m)))
        self._emit_balances(inst)
        if (
            o.reduce_only
            and o.status is OrderStatus.PARTIALLY_FILLED
            and self.account.position(inst.symbol).size == 0
        ):
            self._finish(o, OrderStatus.EXPIRED)
        self._refresh_orders(m)
        self._refresh_liquidation()

    def _finish(self, o: LiveOrder, status: OrderStatus) -> None:
        o.status = status
        self._remove(o)
        self._out.append(OrderUpdated(o.snapshot(self.now_ms)))
        self._refresh_orders(o.m)

    def _remove(self, o: LiveOrder) -> None:
        book = self._buys[o.m.index] if o.sign > 0 else self._sells[o.m.index]
        if o in book:
            book.remove(o)
        # (an order finished twice, e.g. a reduce-only partial then expired, is listed twice: harmless)
        self._finished_orders.append(o.cid)
        while len(self._finished_orders) > self.finished_order_memory:
            cid = self._finished_orders.popleft()
            if self.orders.pop(cid, None) is not None:
                self._archive(cid)

    def _archive(self, cid: str) -> None:
        archived = self._archived_ids
        archived[cid] = None
        while len(archived) > self.archived_id_memory:
            del archived[next(iter(archived))]

    def _refresh_orders(self, m: MarketState) -> None:
        buys, sells = self._buys[m.index], self._sells[m.index]
        buys.sort(key=lambda o: (-o.price, o.seq))
        sells.sort(key=lambda o: (o.price, o.seq))
        if self._scan is not None:
            for s, mi in enumerate(self._sym_market):
                if mi == m.index:
                    self._scan.set_orders(
                        s, buys[0].price if buys else None, sells[0].price if sells else None
                    )

    # --- account events: liquidation, funding -----------------------------------------------------

    def _check_liquidation(self, m: MarketState, price: int) -> None:
        if self._scan is None or not m.inst.is_perpetual:
            return
        s = self._sym_market.index(m.index)
        long_t, short_t = self._scan.liquidation(s)
        if long_t is not None and price <= long_t:
            self._liquidate(m, long_t)
        elif short_t is not None and price >= short_t:
            self._liquidate(m, short_t)

    def _liquidate(self, m: MarketState, price_ticks: int) -> None:
        size = self.account.position(m.inst.symbol).size
        for o in list(self._buys[m.index]) + list(self._sells[m.index]):
            self._finish(o, OrderStatus.CANCELED)
        side = Side.SELL if size > 0 else Side.BUY
        qty = abs(size)
        cmd = PlaceOrder(
            f"autoclose-{self._next_autoclose}",
            m.inst.symbol,
            side,
            qty,
            None,
            OrderType.MARKET,
            TimeInForce.IOC,
            reduce_only=True,
        )
        self._next_autoclose += 1
        o = self._new_live(cmd, m, 0, m.scale.to_lots(qty))
        self._fill(o, o.qty, price_ticks, TAKER)
        self._out.append(Liquidated(m.inst.symbol, side, qty, m.scale.price(price_ticks), self.now_ms))

    def _pay_funding(self, ts: int) -> None:
        for m in self._markets:
            if m.next_funding > ts:
                continue
            size = self.account.position(m.inst.symbol).size
            mark_ticks = m.funding_mark or m.mark_ticks()
            if size and mark_ticks and m.funding_rate:
                amount = self.account.pay_funding(m.inst, m.scale.price(mark_ticks), m.rate())
                self._out.append(FundingPaid(m.inst.symbol, amount, m.rate(), ts))
                self._emit_balances(m.inst)
            m.next_funding = (ts // m.funding_interval + 1) * m.funding_interval
        self._next_funding = min(m.next_funding for m in self._markets)
        self._refresh_liquidation()

    # --- orders -----------------------------------------------------------------------------------

    def _new_live(self, cmd: PlaceOrder, m: MarketState, price: int, lots: int) -> LiveOrder:
        o = LiveOrder(cmd, m, price, lots, self._next_vid, self.now_ms)
        self._next_vid += 1
        self.orders[o.cid] = o
        return o

    def _sync_depth(self, m: MarketState) -> None:
        if self.data is not None:
            for s, mi in enumerate(self._sym_market):
                if mi == m.index:
                    m.sync_depth(self.data, s, self.cursor)

    def place_order(self, cmd: PlaceOrder) -> Order:
        """Validate, match as taker if it crosses, rest the remainder. Returns the order after matching."""
        m = self._market(cmd.symbol)
        inst = m.inst
        price, lots = self._validate(cmd, m)
        sign = cmd.side.sign
        limit = None if cmd.type is OrderType.MARKET else price
        crosses = m.crosses(sign, limit)
        if cmd.type is OrderType.MARKET and not crosses:
            raise ExchangeError(f"{cmd.symbol}: no market price yet for a market order", venue=self.name)
        if cmd.post_only and crosses:
            raise OrderWouldCross(
                f"{cmd.client_order_id}: post-only {cmd.side.value} at {cmd.price} would take liquidity",
                venue=self.name,
            )
        crossing: list[tuple[int, int]] = []
        if crosses:
            self._sync_depth(m)  # only a taker walks the recorded depth
            crossing = m.ask_levels(limit) if sign > 0 else m.bid_levels(limit)
        ref = m.scale.price(price if cmd.type is OrderType.LIMIT else crossing[0][0])
        self._check_funds(cmd, m, ref)
        o = self._new_live(cmd, m, price, lots)
        self._out.append(OrderUpdated(o.snapshot(self.now_ms)))
        if cmd.time_in_force is TimeInForce.FOK and sum(q for _, q in crossing) < lots:
            self._finish(o, OrderStatus.EXPIRED)
            return o.snapshot(self.now_ms)
        for p, q in crossing:
            take = min(o.qty - o.filled, q)
            if take > 0 and o.status.is_final is False:
                self._fill(o, take, p, TAKER)
        left = o.qty - o.filled
        if left and not o.status.is_final:
            if cmd.type is OrderType.MARKET and crossing:
                self._fill(
                    o, left, crossing[-1][0], TAKER
                )  # displayed depth assumed to repeat at the last level
            elif cmd.time_in_force in (TimeInForce.IOC, TimeInForce.FOK) or cmd.type is OrderType.MARKET:
                self._finish(o, OrderStatus.EXPIRED)
            else:
                same = self._buys[m.index] if sign > 0 else self._sells[m.index]
                own = sum(x.qty - x.filled for x in same if x.price == price)
                s = self._sym_market.index(m.index) if m.index in self._sym_market else -1
                o.queue = m.displayed_at(sign, price, self.data, s, self.cursor) + own
                same.append(o)
                self._refresh_orders(m)
                self._emit_balances(inst)
        return o.snapshot(self.now_ms)

    def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        self._market(symbol)
        o = self.orders.get(client_order_id)
        if o is None or o.m.inst.symbol != symbol:
            raise OrderNotFound(f"client_order_id: {client_order_id!r} unknown on {symbol}", venue=self.name)
        if o.status.is_final:
            raise OrderNotFound(
                f"client_order_id: {client_order_id!r} is already {o.status.value}", venue=self.name
            )
        self._finish(o, OrderStatus.CANCELED)
        self._emit_balances(o.m.inst)
        return o.snapshot(self.now_ms)

    def cancel_all_orders(self, symbol: str, side: Side | None = None) -> list[Order]:
        m = self._market(symbol)
        books = [self._buys[m.index], self._sells[m.index]]
        if side is not None:
            books = [books[0] if side is Side.BUY else books[1]]
        done = [o for book in books for o in list(book)]
        for o in done:
            self._finish(o, OrderStatus.CANCELED)
        if done:
            self._emit_balances(m.inst)
        return [o.snapshot(self.now_ms) for o in done]

    def fetch_order(self, symbol: str, client_order_id: str) -> Order:
        self._market(symbol)
        o = self.orders.get(client_order_id)
        if o is None or o.m.inst.symbol != symbol:
            raise OrderNotFound(f"client_order_id: {client_order_id!r} unknown on {symbol}", venue=self.name)
        return o.snapshot(self.now_ms)

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        markets = [self._market(symbol)] if symbol is not None else self._markets
        live = [o for m in markets for o in self._buys[m.index] + self._sells[m.index]]
        return [o.snapshot(self.now_ms) for o in sorted(live, key=lambda o: o.seq)]
