"""Account-side checks and views of the simulated venue: order validation, margin and balance checks,
positions, balances, leverage, and market views (funding, top of book, ticker, klines)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from opensqt.data.market_data import MarketData
from opensqt.exchanges.errors import DuplicateClientOrderId, InsufficientFunds, InvalidOrder
from opensqt.exchanges.sim.account import Account
from opensqt.exchanges.sim.market import BIG, MarketState, klines, ticker
from opensqt.exchanges.sim.orders import LiveOrder, VenueEvent
from opensqt.exchanges.sim.scan import Scanner
from opensqt.model import (
    ZERO,
    Balance,
    BalanceUpdated,
    BookTop,
    FundingRate,
    Instrument,
    Kline,
    OrderType,
    PlaceOrder,
    Position,
    Ticker,
)


class LedgerMixin:
    """The part of `SimVenue` that reads the account and market state (no matching, no stepping)."""

    name: str
    instruments: dict[str, Instrument]
    markets: dict[str, MarketState]
    _markets: list[MarketState]
    account: Account
    orders: dict[str, LiveOrder]
    _archived_ids: dict[str, None]
    _buys: list[list[LiveOrder]]
    _sells: list[list[LiveOrder]]
    _out: list[VenueEvent]
    now_ms: int
    emit_balances: bool
    data: MarketData | None
    cursor: int
    _scan: Scanner | None
    _sym_market: list[int]

    def _marks(self) -> dict[str, Decimal]:
        marks = {}
        for m in self._markets:
            mark = m.mark()
            if mark is not None:
                marks[m.inst.symbol] = mark
        return marks

    def _refresh_liquidation(self) -> None:
        if self._scan is None:
            return
        marks = self._marks()
        for s, mi in enumerate(self._sym_market):
            if mi < 0:
                continue
            m = self._markets[mi]
            long_t: int | None = None
            short_t: int | None = None
            if m.inst.is_perpetual and m.inst.symbol in marks:
                price = self.account.liquidation_price(m.inst, marks)
                size = self.account.position(m.inst.symbol).size
                if price is not None and size > 0:
                    # rounded towards the position's entry: liquidate no later than the estimate
                    long_t = int((price / m.scale.tick_size).to_integral_value(rounding=ROUND_CEILING))
                elif price is not None and size < 0:
                    short_t = int((price / m.scale.tick_size).to_integral_value(rounding=ROUND_FLOOR))
            self._scan.set_liquidation(s, long_t, short_t)

    def _market(self, symbol: str) -> MarketState:
        m = self.markets.get(symbol)
        if m is None:
            raise InvalidOrder(f"symbol: unknown symbol {symbol!r} on venue {self.name}", venue=self.name)
        return m

    def _validate(self, cmd: PlaceOrder, m: MarketState) -> tuple[int, int]:
        inst = m.inst
        v = self.name
        if cmd.quantity <= 0:
            raise InvalidOrder(f"quantity: must be > 0, got {cmd.quantity}", venue=v)
        if not inst.is_on_lot(cmd.quantity):
            raise InvalidOrder(
                f"quantity: {cmd.quantity} is not a multiple of the lot {inst.lot_size}", venue=v
            )
        if cmd.quantity < inst.min_qty:
            raise InvalidOrder(f"quantity: {cmd.quantity} is below the minimum {inst.min_qty}", venue=v)
        price = 0
        if cmd.type is OrderType.LIMIT:
            if cmd.price is None or cmd.price <= 0:
                raise InvalidOrder(f"price: a limit order needs a price > 0, got {cmd.price}", venue=v)
            if not inst.is_on_tick(cmd.price):
                raise InvalidOrder(
                    f"price: {cmd.price} is not a multiple of the tick {inst.tick_size}", venue=v
                )
            price = m.scale.to_ticks(cmd.price)
            if not cmd.reduce_only and inst.notional(cmd.price, cmd.quantity) < inst.min_notional:
                raise InvalidOrder(
                    f"quantity: notional {inst.notional(cmd.price, cmd.quantity)} is below the "
                    f"minimum {inst.min_notional}",
                    venue=v,
                )
        elif cmd.post_only:
            raise InvalidOrder("time_in_force: a market order cannot be post-only", venue=v)
        if cmd.client_order_id in self.orders or cmd.client_order_id in self._archived_ids:
            raise DuplicateClientOrderId(
                f"client_order_id: {cmd.client_order_id!r} is already used on this account", venue=v
            )
        if not cmd.client_order_id or len(cmd.client_order_id) > 36:
            raise InvalidOrder("client_order_id: expected 1 to 36 characters", venue=v)
        if cmd.reduce_only:
            if not inst.is_perpetual:
                raise InvalidOrder("reduce_only: only perpetual markets have positions to reduce", venue=v)
            size = self.account.position(inst.symbol).size
            if size == 0 or (size > 0) == (cmd.side.sign > 0):
                raise InvalidOrder(
                    f"reduce_only: a {cmd.side.value} would increase the position ({size})", venue=v
                )
        return price, m.scale.to_lots(cmd.quantity)

    def _check_funds(self, cmd: PlaceOrder, m: MarketState, price: Decimal) -> None:
        inst = m.inst
        acct = self.account
        sign = cmd.side.sign
        if inst.is_perpetual:
            if cmd.reduce_only:
                return
            pos = acct.position(inst.symbol)
            need = acct.opening_qty(pos.size, sign, cmd.quantity) * price * inst.contract_size / pos.leverage
            free = self._perp_free(inst.settle)
            if need > free:
                raise InsufficientFunds(
                    f"{cmd.client_order_id}: initial margin {need:.8f} {inst.settle} exceeds "
                    f"available {free:.8f}",
                    venue=self.name,
                )
            return
        locked_quote, locked_base = self._spot_locks(inst)
        if sign > 0:
            need = cmd.quantity * price * (1 + inst.taker_fee)
            free = acct.wallet.get(inst.quote, ZERO) - locked_quote - self._perp_used(inst.quote)
            if need > free:
                raise InsufficientFunds(
                    f"{cmd.client_order_id}: needs {need} {inst.quote}, {free} free", venue=self.name
                )
            return
        free_base = acct.wallet.get(inst.base, ZERO) - locked_base
        if cmd.quantity <= free_base:
            return
        if not acct.use_margin:
            raise InsufficientFunds(
                f"{cmd.client_order_id}: needs {cmd.quantity} {inst.base}, {free_base} free "
                f"(margin short needs use_margin)",
                venue=self.name,
            )
        borrowed = cmd.quantity - max(free_base, ZERO)
        need = borrowed * price / acct.margin_leverage
        free = acct.wallet.get(inst.quote, ZERO) - locked_quote - self._perp_used(inst.quote)
        if need > free:
            raise InsufficientFunds(
                f"{cmd.client_order_id}: margin short needs {need} {inst.quote} collateral, {free} free",
                venue=self.name,
            )

    def _open_perp_orders(self, settle: str) -> list[tuple[str, int, Decimal, Decimal]]:
        out = []
        for m in self._markets:
            if m.inst.is_perpetual and m.inst.settle == settle:
                for o in self._buys[m.index] + self._sells[m.index]:
                    if not o.reduce_only:
                        out.append(
                            (m.inst.symbol, o.sign, m.scale.qty(o.qty - o.filled), m.scale.price(o.price))
                        )
        return out

    def _perp_used(self, settle: str) -> Decimal:
        marks = self._marks()
        perp_marks = {
            s: p
            for s, p in marks.items()
            if self.instruments[s].is_perpetual and self.instruments[s].settle == settle
        }
        return self.account.position_margin(perp_marks) + self.account.order_margin(
            self._open_perp_orders(settle)
        )

    def _perp_free(self, settle: str) -> Decimal:
        marks = {s: p for s, p in self._marks().items() if self.instruments[s].is_perpetual}
        locked_quote = sum(
            (
                self._spot_locks(m.inst)[0]
                for m in self._markets
                if not m.inst.is_perpetual and m.inst.quote == settle
            ),
            ZERO,
        )
        return self.account.equity(settle, marks) - self._perp_used(settle) - locked_quote

    def _spot_locks(self, inst: Instrument) -> tuple[Decimal, Decimal]:
        m = self.markets[inst.symbol]
        quote = sum(
            (
                m.scale.qty(o.qty - o.filled) * m.scale.price(o.price) * (1 + inst.taker_fee)
                for o in self._buys[m.index]
            ),
            ZERO,
        )
        base = sum((m.scale.qty(o.qty - o.filled) for o in self._sells[m.index]), ZERO)
        return quote, base

    # --- account views ----------------------------------------------------------------------------

    def set_leverage(self, symbol: str, leverage: int) -> int:
        inst = self._market(symbol).inst
        if not inst.is_perpetual:
            raise InvalidOrder(f"symbol: {symbol} is spot; leverage applies to perpetuals", venue=self.name)
        if not 1 <= leverage <= inst.max_leverage:
            raise InvalidOrder(f"leverage: expected 1..{inst.max_leverage}, got {leverage}", venue=self.name)
        pos = self.account.position(symbol)
        old = pos.leverage
        pos.leverage = leverage
        if self._perp_free(inst.settle) < 0 and leverage < old:
            pos.leverage = old
            raise InsufficientFunds(f"leverage: {leverage}x needs more margin than is free", venue=self.name)
        self._refresh_liquidation()
        return leverage

    def leverage(self, symbol: str) -> int:
        self._market(symbol)
        return self.account.position(symbol).leverage

    def _position(self, m: MarketState) -> Position:
        pos = self.account.position(m.inst.symbol)
        mark = m.mark()
        upnl = pos.unrealized(mark) if mark is not None else ZERO
        liq = self.account.liquidation_price(m.inst, self._marks()) if mark is not None else None
        return Position(m.inst.symbol, pos.size, pos.entry, upnl, liq, pos.leverage, mark, self.now_ms)

    def positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        markets = [self._market(s) for s in symbols] if symbols is not None else self._markets
        return [self._position(m) for m in markets if m.inst.is_perpetual]

    def balances(self) -> dict[str, Balance]:
        acct = self.account
        out: dict[str, Balance] = {}
        assets = sorted(set(acct.wallet) | {m.inst.base for m in self._markets if not m.inst.is_perpetual})
        perp_settles = {m.inst.settle for m in self._markets if m.inst.is_perpetual}
        for asset in assets:
            if asset in perp_settles:
                marks = {s: p for s, p in self._marks().items() if self.instruments[s].is_perpetual}
                total = acct.equity(asset, marks)
            else:
                total = acct.wallet.get(asset, ZERO)
            used = ZERO
            for m in self._markets:
                if not m.inst.is_perpetual:
                    q, b = self._spot_locks(m.inst)
                    used += q if m.inst.quote == asset else ZERO
                    used += min(b, max(total, ZERO)) if m.inst.base == asset else ZERO
            if asset in perp_settles:
                used += self._perp_used(asset)
            out[asset] = Balance(asset, total, total - used, used, self.now_ms)
        return out

    def _emit_balances(self, inst: Instrument) -> None:
        if not self.emit_balances:
            return
        bal = self.balances()
        for asset in (inst.settle,) if inst.is_perpetual else (inst.base, inst.quote):
            if asset in bal:
                self._out.append(BalanceUpdated(bal[asset]))

    # --- market views -----------------------------------------------------------------------------

    def funding_rate(self, symbol: str) -> FundingRate:
        m = self._market(symbol)
        if not m.inst.is_perpetual:
            raise InvalidOrder(f"symbol: {symbol} is spot and has no funding rate", venue=self.name)
        mark = m.scale.price(m.funding_mark) if m.funding_mark else m.mark()
        return FundingRate(
            symbol,
            m.rate(),
            Decimal(m.funding_interval) / 3_600_000,
            m.next_funding if m.next_funding < BIG else 0,
            mark,
            None,
            self.now_ms,
        )

    def book_top(self, symbol: str) -> BookTop | None:
        m = self._market(symbol)
        if not m.has_book:
            return None
        s = m.scale
        return BookTop(
            symbol, s.price(m.bid), s.qty(m.bid_qty), s.price(m.ask), s.qty(m.ask_qty), self.now_ms
        )

    def ticker(self, symbol: str) -> Ticker:
        return ticker(self.data, self._market(symbol), self.cursor, self.now_ms)

    def ohlcv(
        self, symbol: str, timeframe: str, tf_ms: int, since: int | None, limit: int | None
    ) -> list[Kline]:
        m = self._market(symbol)
        if self.data is None or symbol not in self.data.symbols:
            return []
        sym = self.data.symbols.index(symbol)
        return klines(
            self.data,
            sym,
            self.cursor,
            self.now_ms,
            symbol,
            timeframe,
            tf_ms,
            since,
            limit,
            m.trades(self.data, sym),
        )
