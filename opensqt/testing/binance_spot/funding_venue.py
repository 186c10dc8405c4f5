"""`FundingVenue`: the USDT-M test venue (`MemoryVenue`) booking funding the way Binance does, on a schedule
the test sets, so the perp leg of a spot–perp pair is paid and `/fapi/v1/income` has something true to say.

At each funding time every open position pays (long, positive rate) or receives (short) size × mark × rate,
rounded to 1e-8 as Binance books it; each booking gets a `tranId`-like id and is kept for the income history.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import count

from opensqt.exchanges.base import FundingIncome
from opensqt.model import FundingRate
from opensqt.testing.binance_server.memory_venue import MemoryVenue

_Q8 = Decimal("0.00000001")


class FundingVenue(MemoryVenue):
    """`MemoryVenue` plus funding: `schedule_funding(symbol, at_ms)` sets the next funding time reported by
    `fetch_funding_rate`; `settle_funding(symbol)` books the payment of that time and returns it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.incomes: list[FundingIncome] = []
        self._income_ids = count(9_689_322_392)  # Binance tranIds are large integers
        self._next_funding: dict[str, int] = {}

    def set_funding_rate(self, rate: Decimal) -> None:
        self._funding = rate

    def schedule_funding(self, symbol: str, at_ms: int) -> None:
        self._next_funding[symbol] = at_ms

    def next_funding_ms(self, symbol: str) -> int | None:
        return self._next_funding.get(symbol)

    async def fetch_funding_rate(self, symbol: str) -> FundingRate:
        rate = await super().fetch_funding_rate(symbol)
        at = self._next_funding.get(symbol)
        return rate if at is None else replace(rate, next_funding_time=at)

    def settle_funding(self, symbol: str, ts_ms: int | None = None) -> FundingIncome | None:
        """Book the funding of `symbol` now (or at `ts_ms`) on its position; None when flat or unpriced."""
        pos = self._positions.get(symbol)
        mark = self._last.get(symbol)
        if pos is None or pos.size == 0 or mark is None:
            return None
        amount = (-pos.size * mark * self._funding).quantize(_Q8, ROUND_HALF_EVEN)
        self._wallet += amount
        ts = self._clock.now_ms() if ts_ms is None else ts_ms
        income = FundingIncome(str(next(self._income_ids)), symbol, amount, "USDT", ts)
        self.incomes.append(income)
        self._balance_feed.put(self._balance())
        return income

    async def fetch_funding_history(self, symbol: str, since_ms: int | None = None) -> list[FundingIncome]:
        since = since_ms or 0
        return [f for f in self.incomes if f.symbol == symbol and f.ts_event >= since]
