"""`Instrument`: one tradable market and the single place where prices and quantities are rounded."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.model.enums import InstrumentKind, Side
from opensqt.model.numbers import ONE, ZERO, ceil_to_step, floor_to_step, is_multiple, round_to_step


@dataclass(frozen=True, slots=True)
class Instrument:
    """A market on one venue. `symbol` is ccxt's unified form (`BTC/USDT:USDT`), `venue_symbol` its own."""

    symbol: str
    venue_symbol: str
    kind: InstrumentKind
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal = ZERO
    min_notional: Decimal = ZERO
    contract_size: Decimal = ONE
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    max_leverage: int = 125
    venue: str = ""

    def __post_init__(self) -> None:
        for name in ("tick_size", "lot_size", "contract_size"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise ValueError(
                    f"instrument {self.symbol}: {name} must be a positive Decimal, got {value!r}"
                )
        for name in ("min_qty", "min_notional"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"instrument {self.symbol}: {name} must be a Decimal >= 0, got {value!r}")
        if self.max_leverage < 1:
            raise ValueError(f"instrument {self.symbol}: max_leverage must be >= 1, got {self.max_leverage}")

    @property
    def is_perpetual(self) -> bool:
        return self.kind is InstrumentKind.LINEAR_PERPETUAL

    @property
    def settle(self) -> str:
        return self.quote

    # --- rounding: the one place it happens -------------------------------------------------

    def round_price(self, price: Decimal, side: Side | None = None) -> Decimal:
        """Round a price onto the tick grid.

        With a side, round *passively*: down for a buy, up for a sell, so a rounded quote never becomes
        more aggressive than asked. Without a side, round to the nearest tick.
        """
        if side is Side.BUY:
            return floor_to_step(price, self.tick_size)
        if side is Side.SELL:
            return ceil_to_step(price, self.tick_size)
        return round_to_step(price, self.tick_size)

    def floor_qty(self, qty: Decimal) -> Decimal:
        """Floor a quantity to the lot grid: never more than asked."""
        if qty <= 0:
            return ZERO
        return floor_to_step(qty, self.lot_size)

    def qty_for_amount(self, quote_amount: Decimal, price: Decimal) -> Decimal:
        """Quantity bought by a fixed quote amount at `price`, floored to the lot (REQUIREMENTS §1.4)."""
        if price <= 0:
            raise ValueError(f"instrument {self.symbol}: price must be > 0, got {price}")
        return self.floor_qty(quote_amount / (price * self.contract_size))

    def notional(self, price: Decimal, qty: Decimal) -> Decimal:
        return price * qty * self.contract_size

    def meets_minimums(self, price: Decimal, qty: Decimal) -> bool:
        """Whether an order of `qty` at `price` passes the venue's min quantity and min notional."""
        return qty > 0 and qty >= self.min_qty and self.notional(price, qty) >= self.min_notional

    def is_on_tick(self, price: Decimal) -> bool:
        return is_multiple(price, self.tick_size)

    def is_on_lot(self, qty: Decimal) -> bool:
        return is_multiple(qty, self.lot_size)
