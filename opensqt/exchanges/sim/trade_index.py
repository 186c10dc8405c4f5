"""`TradeIndex`: one symbol's trades in replayed market data, with their running notional, so the simulated
venue's 24 h ticker and its candles cost two binary searches instead of a scan of the rows replayed so far.

The arbitrage engine asks every venue for every ticker each round: scanning a day of rows per ticker per
round was half of an arbitrage backtest's time.
"""

from __future__ import annotations

import numpy as np

from opensqt.data.market_data import EventKind, MarketData

#: running notional (ticks x lots) kept as int64 only while it provably fits; else sums are exact Python ints
_SAFE = float(1 << 62)


class TradeIndex:
    __slots__ = ("_cum", "px", "qty", "rows", "ts")

    def __init__(self, data: MarketData, sym: int) -> None:
        rows = np.flatnonzero((data.kind == EventKind.TRADE) & (data.sym == sym))
        self.rows = rows
        self.ts = data.ts[rows]
        self.px = data.px[rows]
        self.qty = data.qty[rows]
        self._cum: np.ndarray | None = None
        # float64 first: if the total could overflow int64, keep no running sum (the exact path below)
        if len(rows) and float(np.sum(self.px.astype(np.float64) * self.qty.astype(np.float64))) < _SAFE:
            self._cum = np.concatenate([np.zeros(1, np.int64), np.cumsum(self.px * self.qty)])

    def before(self, upto: int) -> int:
        """How many of the trades are in rows before `upto`."""
        return int(self.rows.searchsorted(upto))

    def since(self, ts_ms: int, end: int) -> int:
        """Index of the first trade at or after `ts_ms` among the first `end` trades."""
        return int(self.ts[:end].searchsorted(ts_ms, side="left"))

    def notional(self, lo: int, hi: int) -> int:
        """Sum of price x quantity (ticks x lots) over trades [lo, hi), exact."""
        if hi <= lo:
            return 0
        if self._cum is not None:
            return int(self._cum[hi]) - int(self._cum[lo])
        return sum(p * q for p, q in zip(self.px[lo:hi].tolist(), self.qty[lo:hi].tolist(), strict=True))
