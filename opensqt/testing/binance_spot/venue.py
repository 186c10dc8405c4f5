"""`SpotVenue`: an in-memory Binance-like spot account with a top-of-book matcher, to back the spot server.

Balances per asset (free and locked); market orders take the book top, limit orders that cross take it too,
others rest (their funds locked) and fill as maker when a public trade crosses them (`publish_trade`, the
USDT-M test venue's matcher, reused).
A LIMIT_MAKER (post-only) order that would cross is refused. Commission is charged in the quote asset on
both sides (as on an account paying fees from the quote; Binance's default takes a buy's fee from the base
received): the base balance then equals the executed quantity, which is what the arbitrage leg measures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from itertools import count

import anyio

from opensqt.clock import Clock
from opensqt.exchanges import errors as ours
from opensqt.exchanges.base import FundingIncome
from opensqt.model import (
    ZERO,
    Balance,
    Fill,
    FundingRate,
    Instrument,
    InstrumentKind,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Position,
    Side,
)
from opensqt.testing.binance_server.memory_venue import MemoryVenue


class SpotVenue(MemoryVenue):
    """An `Exchange` over an in-memory spot account. Drive the market with `set_book` and `publish_trade`.

    The book, resting orders, trade matching, queries and streams are the USDT-M test venue's (`MemoryVenue`);
    what is spot is here: balances per asset instead of margin and positions, and no leverage or funding."""

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        *,
        balances: Mapping[str, Decimal] | None = None,
        clock: Clock | None = None,
    ) -> None:
        super().__init__({s: i for s, i in instruments.items() if not i.is_perpetual}, clock=clock)
        self.name = "memory-spot"
        self._free: dict[str, Decimal] = dict(balances or {"USDT": Decimal(10_000)})
        self._locked: dict[str, Decimal] = {}
        self._ids = count(5_000_000_001)

    def deposit(self, asset: str, amount: Decimal) -> None:
        self._move(asset, free=amount)
        self._publish_balances([asset])

    # --- balances ---------------------------------------------------------------------------------

    def _asset_balance(self, asset: str) -> Balance:
        free, locked = self._free.get(asset, ZERO), self._locked.get(asset, ZERO)
        return Balance(asset, free + locked, free, locked, self._clock.now_ms())

    def _publish_balances(self, assets: Sequence[str]) -> None:
        for asset in assets:
            self._balance_feed.put(self._asset_balance(asset))

    def _move(self, asset: str, free: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        self._free[asset] = self._free.get(asset, ZERO) + free
        self._locked[asset] = self._locked.get(asset, ZERO) + locked

    async def fetch_balance(self) -> Mapping[str, Balance]:
        return {a: self._asset_balance(a) for a in sorted(set(self._free) | set(self._locked))}

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        return []  # spot holds balances, not positions

    async def watch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        await anyio.sleep_forever()
        return []

    async def watch_balance(self) -> Mapping[str, Balance]:
        return {b.asset: b for b in await self._balance_feed.next()}  # the newest of each asset

    # --- orders -----------------------------------------------------------------------------------

    def _needs(self, inst: Instrument, side: Side, qty: Decimal, price: Decimal) -> tuple[str, Decimal]:
        """What an order must have free: quote for buys (notional + taker fee), base for sells."""
        if side is Side.BUY:
            return inst.quote, qty * price * (1 + inst.taker_fee)
        return inst.base, qty

    async def create_order(self, command: PlaceOrder) -> Order:
        inst = self._instrument(command.symbol)
        if command.client_order_id in self._orders:
            raise ours.DuplicateClientOrderId(
                f"spot: client order id {command.client_order_id} already used", venue=self.name
            )
        if command.reduce_only:
            raise ours.InvalidOrder("spot: reduceOnly is not a spot parameter", venue=self.name)
        book = self._book.get(command.symbol)
        price = command.price
        if command.type is OrderType.MARKET:
            if book is None:
                raise ours.InvalidOrder(f"spot: no book for {command.symbol}", venue=self.name)
            price = book.ask if command.side is Side.BUY else book.bid
        assert price is not None
        if not inst.is_on_tick(price) or not inst.is_on_lot(command.quantity):
            raise ours.InvalidOrder(
                f"spot: price {price} / quantity {command.quantity} off tick {inst.tick_size} / lot "
                f"{inst.lot_size}",
                venue=self.name,
            )
        if not inst.meets_minimums(price, command.quantity):
            raise ours.InvalidOrder(f"spot: order below min notional {inst.min_notional}", venue=self.name)
        crosses = book is not None and (
            (command.side is Side.BUY and price >= book.ask)
            or (command.side is Side.SELL and price <= book.bid)
        )
        if command.post_only and crosses:
            raise ours.OrderWouldCross(
                f"spot: {command.client_order_id} would immediately match", venue=self.name
            )
        asset, amount = self._needs(inst, command.side, command.quantity, price)
        if self._free.get(asset, ZERO) < amount:
            raise ours.InsufficientFunds(
                f"spot: {asset} free {self._free.get(asset, ZERO)} < {amount} for {command.client_order_id}",
                venue=self.name,
            )
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
            ts_event=now,
            ts_init=now,
        )
        self._orders[order.client_order_id] = order
        self._move(asset, free=-amount, locked=amount)
        self._order_feed.put(OrderUpdated(order))
        if crosses and book is not None:
            self._execute(
                order, order.quantity, book.ask if order.side is Side.BUY else book.bid, LiquiditySide.TAKER
            )
        else:
            self._publish_balances([asset])
        return self._orders[order.client_order_id]

    async def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        order = self._orders.get(client_order_id)
        if order is None or order.symbol != symbol or not order.is_open:
            raise ours.OrderNotFound(f"spot: unknown order {client_order_id}", venue=self.name)
        asset, amount = self._needs(
            self._instruments[symbol], order.side, order.remaining, order.price or ZERO
        )
        self._move(asset, free=amount, locked=-amount)
        done = order.with_status(OrderStatus.CANCELED, self._clock.now_ms())
        self._orders[client_order_id] = done
        self._order_feed.put(OrderUpdated(done))
        self._publish_balances([asset])
        return done

    def _execute(self, order: Order, qty: Decimal, price: Decimal, liquidity: LiquiditySide) -> None:
        inst = self._instruments[order.symbol]
        now = self._clock.now_ms()
        fee_rate = inst.maker_fee if liquidity is LiquiditySide.MAKER else inst.taker_fee
        notional = qty * price
        fee = notional * fee_rate
        # release what this quantity locked (at its own price; a market order at the fill price)
        locked_asset, locked = self._needs(inst, order.side, qty, order.price or price)
        self._move(locked_asset, locked=-locked, free=locked)
        if order.side is Side.BUY:
            self._move(inst.quote, free=-(notional + fee))
            self._move(inst.base, free=qty)
        else:
            self._move(inst.base, free=-qty)
            self._move(inst.quote, free=notional - fee)
        filled = order.filled + qty
        avg = ((order.average_price or ZERO) * order.filled + price * qty) / filled
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
            inst.quote,
            liquidity,
            new.venue_order_id,
            None,
            now,
        )
        self._fills.append(fill)
        self._order_feed.put(OrderUpdated(new, fill))
        self._publish_balances([inst.base, inst.quote])

    # --- what spot does not have ------------------------------------------------------------------

    async def set_leverage(self, symbol: str, leverage: int) -> int:
        raise ours.InvalidOrder("spot: no leverage on a spot account", venue=self.name)

    async def fetch_leverage(self, symbol: str) -> int:
        return 1

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        raise ours.InvalidOrder(f"spot: {symbol} has no funding rate", venue=self.name)

    async def fetch_funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]:
        return {}

    async def fetch_funding_history(self, symbol: str, since_ms: int | None = None) -> list[FundingIncome]:
        return []

    async def watch_funding_rate(self, symbol: str) -> FundingRate:
        raise ours.InvalidOrder(f"spot: {symbol} has no funding rate", venue=self.name)


def spot_instruments(
    bases: Sequence[tuple[str, str, str]] = (("BTC", "0.01", "0.00001"),),
) -> dict[str, Instrument]:
    """Spot markets `BASE/USDT` from (base, tick, lot), Binance-like: 0.1 % fees, 5 USDT min notional."""
    return {
        f"{base}/USDT": Instrument(
            symbol=f"{base}/USDT",
            venue_symbol=f"{base}USDT",
            kind=InstrumentKind.SPOT,
            base=base,
            quote="USDT",
            tick_size=Decimal(tick),
            lot_size=Decimal(lot),
            min_qty=Decimal(lot),
            min_notional=Decimal(5),
            maker_fee=Decimal("0.001"),
            taker_fee=Decimal("0.001"),
            max_leverage=1,
            venue="memory-spot",
        )
        for base, tick, lot in bases
    }
