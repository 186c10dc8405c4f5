"""Candles for the page's chart: `CandleBuilder` folds prices (and our fills' volume) into fixed-width bars,
and `watch_venue_klines` follows a venue's kline stream (live_server's only direct venue connection)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import anyio
from loguru import logger

from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import NetworkError
from opensqt.model import Kline
from opensqt.runtime.limits import backoff_delays

TIMEFRAMES_MS = {"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000}


class CandleBuilder:
    """Bars keyed by open time, at most `max_bars` (oldest dropped). A price older than the oldest bar is
    ignored: the chart only grows forward."""

    def __init__(self, symbol: str, timeframe_ms: int = 60_000, max_bars: int = 500) -> None:
        if timeframe_ms <= 0 or max_bars <= 0:
            raise ValueError("timeframe_ms and max_bars: expected positive numbers")
        self.symbol = symbol
        self.timeframe_ms = timeframe_ms
        self.max_bars = max_bars
        self._bars: dict[int, Kline] = {}

    def bars(self) -> list[Kline]:
        return [self._bars[t] for t in sorted(self._bars)]

    def clear(self) -> None:
        self._bars.clear()

    def _open_time(self, ts_ms: int) -> int:
        return ts_ms - ts_ms % self.timeframe_ms

    def add_price(self, price: Decimal, ts_ms: int) -> Kline:
        t = self._open_time(ts_ms)
        bar = self._bars.get(t)
        if bar is None:
            bar = Kline(
                self.symbol, f"{self.timeframe_ms // 1000}s", t, price, price, price, price, Decimal(0)
            )
        else:
            bar = Kline(
                bar.symbol,
                bar.timeframe,
                t,
                bar.open,
                max(bar.high, price),
                min(bar.low, price),
                price,
                bar.volume,
                closed=False,
            )
        return self.put(bar)

    def add_volume(self, price: Decimal, quantity: Decimal, ts_ms: int) -> Kline | None:
        """Add a fill's quantity to its bar (creating the bar at the fill price); None if too old to keep."""
        t = self._open_time(ts_ms)
        bar = self._bars.get(t)
        if bar is None:
            if self._bars and t < min(self._bars):
                return None
            bar = Kline(self.symbol, f"{self.timeframe_ms // 1000}s", t, price, price, price, price, quantity)
        else:
            bar = Kline(
                bar.symbol, bar.timeframe, t, bar.open, bar.high, bar.low, bar.close, bar.volume + quantity
            )
        return self.put(bar)

    def put(self, bar: Kline) -> Kline:
        if self._bars and bar.open_time < min(self._bars) and len(self._bars) >= self.max_bars:
            return bar
        self._bars[bar.open_time] = bar
        while len(self._bars) > self.max_bars:
            del self._bars[min(self._bars)]
        return bar


async def watch_venue_klines(
    exchange: Exchange,
    symbol: str,
    timeframe: str,
    emit: Callable[[Kline], Awaitable[None]],
    *,
    history: int = 300,
    backoff: Callable[[int], float] | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> None:
    """Load recent bars once, then follow the venue's kline stream until cancelled; network errors back off
    and reload the history (a gap in the stream is then filled), other errors propagate."""
    delays = backoff or backoff_delays(base=0.2, cap=10.0)
    attempt = 0
    while True:
        try:
            for bar in await exchange.fetch_ohlcv(symbol, timeframe, limit=history):
                await emit(bar)
            while True:
                for bar in await exchange.watch_ohlcv(symbol, timeframe):
                    attempt = 0
                    await emit(bar)
        except NetworkError as exc:
            delay = delays(attempt)
            attempt += 1
            logger.warning("kline stream {} {} lost ({}); again in {:.1f} s", symbol, timeframe, exc, delay)
            await sleep(delay)
