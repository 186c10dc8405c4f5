"""Account state: positions and balances."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Position:
    """A one-way position. `size` is signed (> 0 long, < 0 short), in base units (contracts × size)."""

    symbol: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    unrealized_pnl: Decimal = ZERO
    liquidation_price: Decimal | None = None
    leverage: int = 1
    mark_price: Decimal | None = None
    ts_event: int = 0

    @property
    def is_flat(self) -> bool:
        return self.size == 0

    @property
    def notional(self) -> Decimal:
        price = self.mark_price if self.mark_price is not None else self.entry_price
        return abs(self.size) * price


@dataclass(frozen=True, slots=True)
class Balance:
    """One asset of an account: `total = free + used`."""

    asset: str
    total: Decimal
    free: Decimal
    used: Decimal = ZERO
    ts_event: int = 0
