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
from decimal import Decimal
from itertools import count

import anyio

from opensqt.clock import Clock
from opensqt.exchanges import errors as ours
from opensqt.exchanges.base import FundingIncome
from opensqt.model import (
    ZERO,
    Balance,
    FundingRate,
    Instrument,
    InstrumentKind,
    Order,
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

    _kind = "spot"

    def _refuse(self, command: PlaceOrder) -> None:
        if command.reduce_only:
            raise ours.InvalidOrder("spot: reduceOnly is not a spot parameter", venue=self.name)

    def _reserve(self, command: PlaceOrder, inst: Instrument, price: Decimal) -> list[str]:
        asset, amount = self._needs(inst, command.side, command.quantity, price)
        if self._free.get(asset, ZERO) < amount:
            raise ours.InsufficientFunds(
                f"spot: {asset} free {self._free.get(asset, ZERO)} < {amount} for {command.client_order_id}",
                venue=self.name,
            )
        self._move(asset, free=-amount, locked=amount)
        return [asset]

    def _release(self, order: Order) -> list[str]:
        inst = self._instruments[order.symbol]
        asset, amount = self._needs(inst, order.side, order.remaining, order.price or ZERO)
        self._move(asset, free=amount, locked=-amount)
        return [asset]

    def _settle(
        self, order: Order, inst: Instrument, qty: Decimal, price: Decimal, fee: Decimal, now: int
    ) -> tuple[Decimal | None, str, list[str]]:
        notional = qty * price
        # release what this quantity locked (at its own price; a market order at the fill price)
        locked_asset, locked = self._needs(inst, order.side, qty, order.price or price)
        self._move(locked_asset, locked=-locked, free=locked)
        if order.side is Side.BUY:
            self._move(inst.quote, free=-(notional + fee))
            self._move(inst.base, free=qty)
        else:
            self._move(inst.base, free=-qty)
            self._move(inst.quote, free=notional - fee)
        return None, inst.quote, [inst.base, inst.quote]

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
