"""Account arithmetic of the simulated venue: wallet, one-way perp positions, spot balances, margin, funding.

All Decimal. Realized PnL and funding are quantised to 1e-8 (as venues report them) and booked into the wallet
exactly as reported, so `wallet == initial + realized - fees + funding` holds to the last digit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from opensqt.model import ZERO, Instrument

QUANTUM = Decimal("0.00000001")


def q8(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


@dataclass(slots=True)
class PositionState:
    """A mutable one-way position: signed `size` in base units, average `entry`, cumulative `realized`."""

    size: Decimal = ZERO
    entry: Decimal = ZERO
    leverage: int = 20
    realized: Decimal = ZERO

    def unrealized(self, mark: Decimal) -> Decimal:
        return (mark - self.entry) * self.size if self.size else ZERO


class Account:
    """Balances and positions of one simulated account (perp wallet in the settle asset, spot beside)."""

    def __init__(
        self,
        balances: Mapping[str, Decimal],
        *,
        maintenance_margin_rate: Decimal,
        default_leverage: int,
        use_margin: bool,
        margin_leverage: int,
    ) -> None:
        self.wallet: dict[str, Decimal] = {a: Decimal(v) for a, v in balances.items()}
        self.initial: dict[str, Decimal] = dict(self.wallet)
        self.positions: dict[str, PositionState] = {}
        self.mmr = maintenance_margin_rate
        self.default_leverage = default_leverage
        self.use_margin = use_margin
        self.margin_leverage = margin_leverage
        self.fees: dict[str, Decimal] = {}
        self.realized: dict[str, Decimal] = {}
        self.funding: dict[str, Decimal] = {}

    def position(self, symbol: str) -> PositionState:
        pos = self.positions.get(symbol)
        if pos is None:
            pos = self.positions[symbol] = PositionState(leverage=self.default_leverage)
        return pos

    def _book(self, table: dict[str, Decimal], asset: str, amount: Decimal) -> None:
        table[asset] = table.get(asset, ZERO) + amount

    # --- fills ------------------------------------------------------------------------------------

    def fill_perp(self, inst: Instrument, sign: int, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal:
        """Book a perp fill; returns the realized PnL it closed (before fee)."""
        pos = self.position(inst.symbol)
        size = pos.size
        realized = ZERO
        signed = qty * sign
        if size == 0 or (size > 0) == (sign > 0):
            pos.entry = (abs(size) * pos.entry + qty * price) / (abs(size) + qty)
        else:
            closed = min(qty, abs(size))
            realized = q8((price - pos.entry) * closed * (1 if size > 0 else -1))
            if qty > abs(size):
                pos.entry = price  # flipped: the remainder opened at this price
            elif qty == abs(size):
                pos.entry = ZERO
        pos.size = size + signed
        pos.realized += realized
        settle = inst.settle
        self._book(self.wallet, settle, realized - fee)
        self._book(self.fees, settle, fee)
        self._book(self.realized, settle, realized)
        return realized

    def fill_spot(self, inst: Instrument, sign: int, qty: Decimal, price: Decimal, fee: Decimal) -> None:
        """Book a spot fill: base moves by `qty`, quote by the notional; the fee is paid in quote."""
        self._book(self.wallet, inst.base, qty * sign)
        self._book(self.wallet, inst.quote, -(qty * price * sign) - fee)
        self._book(self.fees, inst.quote, fee)

    def pay_funding(self, inst: Instrument, mark: Decimal, rate: Decimal) -> Decimal:
        """Longs pay a positive rate, shorts receive it. Returns the amount booked (+ received)."""
        pos = self.position(inst.symbol)
        amount = q8(-pos.size * mark * rate)
        self._book(self.wallet, inst.settle, amount)
        self._book(self.funding, inst.settle, amount)
        return amount

    # --- margin -----------------------------------------------------------------------------------

    def equity(self, settle: str, marks: Mapping[str, Decimal]) -> Decimal:
        upnl = sum((p.unrealized(marks[s]) for s, p in self.positions.items() if s in marks), ZERO)
        return self.wallet.get(settle, ZERO) + upnl

    def position_margin(self, marks: Mapping[str, Decimal]) -> Decimal:
        return sum(
            (abs(p.size) * marks[s] / p.leverage for s, p in self.positions.items() if p.size and s in marks),
            ZERO,
        )

    @staticmethod
    def opening_qty(position: Decimal, sign: int, qty: Decimal) -> Decimal:
        """The part of an order that would grow the position (orders against it need no margin up to it)."""
        if position == 0 or (position > 0) == (sign > 0):
            return qty
        return max(ZERO, qty - abs(position))

    def order_margin(self, orders: Iterable[tuple[str, int, Decimal, Decimal]]) -> Decimal:
        """Initial margin held by open perp orders: (symbol, sign, remaining qty, price) each."""
        total = ZERO
        for symbol, sign, qty, price in orders:
            pos = self.position(symbol)
            total += self.opening_qty(pos.size, sign, qty) * price / pos.leverage
        return total

    def liquidation_price(self, inst: Instrument, marks: Mapping[str, Decimal]) -> Decimal | None:
        """Cross-margin estimate for one position: the mark at which equity falls to maintenance margin.

        Binance's one-position formula with the wallet plus the other positions' unrealized PnL as collateral.
        """
        pos = self.positions.get(inst.symbol)
        if pos is None or pos.size == 0:
            return None
        others = sum(
            (p.unrealized(marks[s]) for s, p in self.positions.items() if s != inst.symbol and s in marks),
            ZERO,
        )
        wb = self.wallet.get(inst.settle, ZERO) + others
        q = abs(pos.size)
        if pos.size > 0:
            price = (q * pos.entry - wb) / (q * (1 - self.mmr))
        else:
            price = (wb + q * pos.entry) / (q * (1 + self.mmr))
        return price if price > 0 else None
