"""The replay fast path: find, with numpy, the next market row that can change an order or the account.

A row matters only if a trade prints at/through the best resting buy or sell, a book crosses one, a trade
reaches a liquidation price, or it is a funding row. Everything else only moves the clock and the top of book,
which `last_row` recovers when the venue skips ahead. Windows grow geometrically, so sparse interesting rows
cost O(rows) vectorised work and dense ones O(1) per row.
"""

from __future__ import annotations

import numpy as np

from opensqt.data.market_data import EventKind, MarketData

BIG = 1 << 62
_FLOOR = -BIG + 1  # "no resting buy": still below every price, but above FUNDING rows' -BIG (always stepped)


class Scanner:
    """Precomputed threshold columns of one `MarketData` plus the current thresholds per symbol."""

    def __init__(self, data: MarketData) -> None:
        kind, px, px2 = data.kind, data.px, data.px2
        is_trade = kind == EventKind.TRADE
        is_book = kind == EventKind.BOOK
        # lo: the lowest price a row shows to resting buys (trade price, best ask); hi: to resting sells.
        self.lo = np.where(
            is_trade, px, np.where(is_book, px2, np.where(kind == EventKind.FUNDING, -BIG, BIG))
        )
        self.hi = np.where(is_trade | is_book, px, -BIG)
        self.tlo = np.where(is_trade, px, BIG)
        self.thi = np.where(is_trade, px, -BIG)
        self.kind = kind
        self.sym = data.sym
        n = len(data.symbols)
        self.single = n == 1
        self.buy = np.full(n, _FLOOR, np.int64)
        self.sell = np.full(n, BIG, np.int64)
        self.liq_long = np.full(n, -BIG, np.int64)
        self.liq_short = np.full(n, BIG, np.int64)

    def set_orders(self, sym: int, best_buy: int | None, best_sell: int | None) -> None:
        self.buy[sym] = _FLOOR if best_buy is None else best_buy
        self.sell[sym] = BIG if best_sell is None else best_sell

    def set_liquidation(self, sym: int, long_at: int | None, short_at: int | None) -> None:
        self.liq_long[sym] = -BIG if long_at is None else long_at
        self.liq_short[sym] = BIG if short_at is None else short_at

    def liquidation(self, sym: int) -> tuple[int | None, int | None]:
        lo, hi = int(self.liq_long[sym]), int(self.liq_short[sym])
        return (None if lo == -BIG else lo), (None if hi == BIG else hi)

    def _mask(self, a: int, b: int) -> np.ndarray:
        if self.single:
            mask = self.lo[a:b] <= int(self.buy[0])
            mask |= self.hi[a:b] >= int(self.sell[0])
            if self.liq_long[0] != -BIG:
                mask |= self.tlo[a:b] <= int(self.liq_long[0])
            if self.liq_short[0] != BIG:
                mask |= self.thi[a:b] >= int(self.liq_short[0])
            return mask
        s = self.sym[a:b]
        mask = self.lo[a:b] <= self.buy[s]
        mask |= self.hi[a:b] >= self.sell[s]
        mask |= self.tlo[a:b] <= self.liq_long[s]
        mask |= self.thi[a:b] >= self.liq_short[s]
        return mask

    def next_interesting(self, a: int, end: int) -> int:
        """The first row in [a, end) that can change anything under the current thresholds, else `end`."""
        width = 256
        while a < end:
            b = min(end, a + width)
            mask = self._mask(a, b)
            j = int(mask.argmax())
            if mask[j]:
                return a + j
            a = b
            width = min(width * 4, 1 << 17)
        return end

    def last_row(self, a: int, k: int, kind: int, sym: int) -> int:
        """The last row in [a, k) of `kind` for `sym`, or -1 (searched backwards in growing windows)."""
        width = 64
        hi = k
        while hi > a:
            lo = max(a, hi - width)
            seg = self.kind[lo:hi] == kind
            if not self.single:
                seg &= self.sym[lo:hi] == sym
            hits = np.flatnonzero(seg)
            if len(hits):
                return lo + int(hits[-1])
            hi = lo
            width *= 8
        return -1
