"""`DepthSide`: one side of the recorded order book, sizes by price in integer ticks.

A dense numpy array over the price range seen (grown as needed): applying a batch of level updates is one
vectorised assignment, and the levels a taker walk or a queue estimate needs are a slice. The simulated
venue syncs the book before every order it takes; a dictionary updated level by level made that sync most
of a backtest's cost per order. A range too wide for an array (a corrupt far-away level) falls back to a
dictionary with the same results.
"""

from __future__ import annotations

import numpy as np

#: the widest price range (ticks) kept as an array: 8 M ticks x 8 bytes = 64 MB per side at most
MAX_DENSE = 8_000_000
_MARGIN = 4_096


class DepthSide:
    __slots__ = ("_base", "_dirty_hi", "_dirty_lo", "_qty", "_sparse")

    def __init__(self) -> None:
        self._base = 0
        self._qty = np.zeros(0, np.int64)
        self._sparse: dict[int, int] | None = None
        # array indices ever written since the last clear: a clear zeroes only those
        self._dirty_lo = 0
        self._dirty_hi = 0

    def clear(self) -> None:
        if self._sparse is not None:
            self._sparse.clear()
        else:
            self._qty[self._dirty_lo : self._dirty_hi] = 0
            self._dirty_lo = self._dirty_hi = 0

    def apply(self, prices: np.ndarray, sizes: np.ndarray) -> None:
        """Level updates in row order (a later update of a price overrides an earlier one; size 0 removes)."""
        if not len(prices):
            return
        lo, hi = int(prices.min()), int(prices.max())
        if self._sparse is None and not self._fit(lo, hi):
            self._to_sparse()
        if self._sparse is not None:
            book = self._sparse
            for p, q in zip(prices.tolist(), sizes.tolist(), strict=True):
                if q:
                    book[p] = q
                else:
                    book.pop(p, None)
            return
        # the last update of each price wins: first occurrences in the reversed batch
        rev = prices[::-1]
        uniq, first = np.unique(rev, return_index=True)
        self._qty[uniq - self._base] = sizes[::-1][first]
        lo_i, hi_i = lo - self._base, hi - self._base + 1
        if self._dirty_hi <= self._dirty_lo:
            self._dirty_lo, self._dirty_hi = lo_i, hi_i
        else:
            self._dirty_lo, self._dirty_hi = min(self._dirty_lo, lo_i), max(self._dirty_hi, hi_i)

    def get(self, price: int) -> int:
        if self._sparse is not None:
            return self._sparse.get(price, 0)
        i = price - self._base
        return int(self._qty[i]) if 0 <= i < len(self._qty) else 0

    def above(self, top: int, limit: int | None) -> list[tuple[int, int]]:
        """(price, size) of the levels with top < price <= limit (None: no limit), ascending."""
        if self._sparse is not None:
            book = self._sparse
            return sorted((p, q) for p, q in book.items() if p > top and (limit is None or p <= limit))
        start = max(top + 1 - self._base, 0)
        end = len(self._qty) if limit is None else min(limit + 1 - self._base, len(self._qty))
        return self._levels(start, end, ascending=True)

    def below(self, top: int, limit: int | None) -> list[tuple[int, int]]:
        """(price, size) of the levels with limit <= price < top (None: no limit), descending."""
        if self._sparse is not None:
            return sorted(
                ((p, q) for p, q in self._sparse.items() if p < top and (limit is None or p >= limit)),
                reverse=True,
            )
        start = 0 if limit is None else max(limit - self._base, 0)
        end = min(top - self._base, len(self._qty))
        return self._levels(start, end, ascending=False)

    def _levels(self, start: int, end: int, ascending: bool) -> list[tuple[int, int]]:
        if start >= end:
            return []
        seg = self._qty[start:end]
        nz = np.flatnonzero(seg)
        if not ascending:
            nz = nz[::-1]
        return list(zip((nz + (start + self._base)).tolist(), seg[nz].tolist(), strict=True))

    def _fit(self, lo: int, hi: int) -> bool:
        """Make the array cover [lo, hi]; False when that range is too wide for an array."""
        size = len(self._qty)
        if size and self._base <= lo and hi < self._base + size:
            return True
        new_lo = min(lo, self._base) if size else lo
        new_hi = max(hi, self._base + size - 1) if size else hi
        new_lo = max(new_lo - _MARGIN, 0)
        new_hi += _MARGIN
        if new_hi - new_lo + 1 > MAX_DENSE:
            return False
        grown = np.zeros(new_hi - new_lo + 1, np.int64)
        if size:
            shift = self._base - new_lo
            grown[shift : shift + size] = self._qty
            if self._dirty_hi > self._dirty_lo:
                self._dirty_lo += shift
                self._dirty_hi += shift
        self._base, self._qty = new_lo, grown
        return True

    def _to_sparse(self) -> None:
        nz = np.flatnonzero(self._qty)
        self._sparse = dict(zip((nz + self._base).tolist(), self._qty[nz].tolist(), strict=True))
        self._qty = np.zeros(0, np.int64)
