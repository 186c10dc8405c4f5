"""Candles aggregated from the trades of `MarketData` with numpy (what `watch_ohlcv` would have delivered),
for the risk monitor and the ATR interval of a backtest."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from opensqt.data.market_data import EventKind, MarketData
from opensqt.model import Kline, timeframe_ms

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class KlineSeries:
    """Closed candles of one symbol in ticks and lots. Candle i covers [open_time, open_time + tf_ms) and
    is delivered at `feed_ms[i]`: the first housekeeping tick at or after it closed. Minutes without trades
    have no candle (as on a venue's stream)."""

    symbol: str
    timeframe: str
    tf_ms: int
    open_time: I64
    open: I64
    high: I64
    low: I64
    close: I64
    volume: I64
    feed_ms: I64
    tick: Decimal
    lot: Decimal

    def __len__(self) -> int:
        return len(self.open_time)

    def kline(self, i: int) -> Kline:
        """Candle i as the model's `Kline` (exact Decimal from ticks and lots)."""
        tick, lot = self.tick, self.lot
        return Kline(
            self.symbol,
            self.timeframe,
            int(self.open_time[i]),
            tick * int(self.open[i]),
            tick * int(self.high[i]),
            tick * int(self.low[i]),
            tick * int(self.close[i]),
            lot * int(self.volume[i]),
            True,
        )


def aggregate(data: MarketData, symbol: str, timeframe: str, tick_ms: int) -> KlineSeries:
    """Candles of `symbol`'s trades on `timeframe`, each fed at the first multiple of `tick_ms` >= its
    close."""
    tf = timeframe_ms(timeframe)
    s = data.symbols.index(symbol)
    scale = data.scales[s]
    mask = (data.kind == EventKind.TRADE) & (data.sym == s)
    ts = data.ts[mask]
    px = data.px[mask]
    qty = data.qty[mask]
    if not len(ts):
        e = np.zeros(0, np.int64)
        return KlineSeries(symbol, timeframe, tf, e, e, e, e, e, e, e, scale.tick_size, scale.lot_size)
    bucket = ts // tf
    starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    ends = np.r_[starts[1:], len(ts)]
    open_time = bucket[starts] * tf
    close_at = open_time + tf
    feed = -(-close_at // tick_ms) * tick_ms
    return KlineSeries(
        symbol,
        timeframe,
        tf,
        open_time.astype(np.int64),
        px[starts],
        np.maximum.reduceat(px, starts),
        np.minimum.reduceat(px, starts),
        px[ends - 1],
        np.add.reduceat(qty, starts),
        feed.astype(np.int64),
        scale.tick_size,
        scale.lot_size,
    )
