"""Bounded per-subscriber stream queues and the trade -> kline aggregator of the simulated venue.

Policies (DESIGN "Concurrency"): market data drops the oldest item when full and counts it; the order stream
never drops silently: on overflow the subscription breaks and the next `watch_orders` raises `NetworkError`,
as a venue disconnects a slow consumer, so the engine reconciles instead of missing a fill.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import anyio

from opensqt.data.market_data import Scale
from opensqt.exchanges.errors import NetworkError
from opensqt.model import Kline

T = TypeVar("T")

_UNITS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_timeframe(timeframe: str) -> int:
    """Milliseconds in a timeframe such as `1m`, `3m`, `90s`, `4h`, `1d` (any positive count of a unit)."""
    match = re.fullmatch(r"(\d+)([smhdw])", timeframe)
    if not match or int(match.group(1)) <= 0:
        raise ValueError(f"timeframe: expected <count><s|m|h|d|w> such as 1m or 4h, got {timeframe!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


class Subscription(Generic[T]):
    """One consumer's queue: `push` never blocks; `next_batch` waits for and returns everything queued."""

    def __init__(
        self,
        maxlen: int,
        *,
        lossless: bool = False,
        conflate: Callable[[T], Hashable] | None = None,
        name: str = "",
    ) -> None:
        self.maxlen = maxlen
        self.lossless = lossless
        self.conflate = conflate
        self.name = name
        self.items: deque[T] = deque()
        self.dropped = 0
        self.broken: NetworkError | None = None
        self.reported = False
        self._waiter: anyio.Event | None = None

    def push(self, item: T) -> None:
        if self.broken is not None:
            return
        items = self.items
        if self.conflate is not None and items and self.conflate(items[-1]) == self.conflate(item):
            items[-1] = item
        elif len(items) >= self.maxlen:
            if self.lossless:
                self.break_(
                    NetworkError(
                        f"stream {self.name}: consumer too slow, {self.maxlen} updates queued; "
                        f"reconcile and resubscribe"
                    )
                )
                return
            items.popleft()
            self.dropped += 1
            items.append(item)
        else:
            items.append(item)
        if self._waiter is not None:
            self._waiter.set()

    def break_(self, error: NetworkError) -> None:
        """Disconnect: queued updates are lost and the next `next_batch` raises `error`."""
        self.broken = error
        self.items.clear()
        if self._waiter is not None:
            self._waiter.set()

    async def next_batch(self) -> list[T]:
        while not self.items:
            if self.broken is not None:
                self.reported = True
                raise self.broken
            self._waiter = anyio.Event()
            await self._waiter.wait()
            self._waiter = None
        if self.broken is not None:
            self.reported = True
            raise self.broken
        out = list(self.items)
        self.items.clear()
        return out


class KlineBuilder:
    """Aggregates trades into candles of one timeframe, in integer ticks; emits forming and closed ones."""

    def __init__(self, symbol: str, timeframe: str, tf_ms: int, scale: Scale) -> None:
        self.symbol = symbol
        self.timeframe = timeframe
        self.tf_ms = tf_ms
        self.scale = scale
        self.open_time = -1
        self.o = self.h = self.lo = self.c = self.v = 0

    def _kline(self, closed: bool) -> Kline:
        p = self.scale.price
        return Kline(
            self.symbol,
            self.timeframe,
            self.open_time,
            p(self.o),
            p(self.h),
            p(self.lo),
            p(self.c),
            self.scale.qty(self.v),
            closed,
        )

    def on_trade(self, ts: int, price: int, qty: int) -> list[Kline]:
        out = []
        start = ts - ts % self.tf_ms
        if start != self.open_time:
            if self.open_time >= 0:
                out.append(self._kline(True))
            self.open_time = start
            self.o = self.h = self.lo = self.c = price
            self.v = qty
        else:
            self.h = max(self.h, price)
            self.lo = min(self.lo, price)
            self.c = price
            self.v += qty
        out.append(self._kline(False))
        return out
