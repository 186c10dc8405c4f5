"""`PriceMonitor`: the single source of truth for price (REQUIREMENTS §1.1).

It reads the venue's websocket trade stream only (no REST polling), keeps the latest price in a plain
attribute (readable without a lock: one reference assignment is atomic), and broadcasts every update to
subscribers whose mailboxes keep the newest price when they lag (drops counted).
"""

from __future__ import annotations

from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus
from loguru import logger

from opensqt.clock import Clock
from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import ExchangeError, NetworkError
from opensqt.model import PriceUpdated
from opensqt.runtime.channels import Broadcast, LatestValue
from opensqt.runtime.limits import backoff_delays


class PriceMonitor:
    def __init__(
        self,
        exchange: Exchange,
        symbol: str,
        clock: Clock,
        *,
        stale_after_seconds: float = 30.0,
        backoff: Callable[[int], float] | None = None,
    ) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.clock = clock
        self.stale_after_ms = int(stale_after_seconds * 1000)
        self.latest: PriceUpdated | None = None
        self.updates = 0
        self.reconnects = 0
        self._broadcast: Broadcast[PriceUpdated] = Broadcast(f"price:{symbol}")
        self._first = anyio.Event()
        self._backoff = backoff or backoff_delays()

    def subscribe(self) -> LatestValue[PriceUpdated]:
        """A mailbox of the newest price: a slow consumer skips ticks instead of falling behind."""
        return self._broadcast.subscribe()

    def unsubscribe(self, channel: LatestValue[PriceUpdated]) -> None:
        self._broadcast.unsubscribe(channel)

    @property
    def dropped(self) -> int:
        return self._broadcast.drops

    async def wait_first_price(self) -> PriceUpdated:
        await self._first.wait()
        assert self.latest is not None
        return self.latest

    def is_stale(self, now_ms: int) -> bool:
        """No price yet, or none for `stale_after` (new orders pause until prices return)."""
        latest = self.latest
        return latest is None or now_ms - latest.ts_init > self.stale_after_ms

    def publish(self, update: PriceUpdated) -> None:
        """Record one price from the stream (also the hook a backtest driver uses)."""
        self.latest = update
        self.updates += 1
        if not self._first.is_set():
            self._first.set()
        self._broadcast.publish(update)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Follow the trade stream forever, reconnecting with backoff; report ready once subscribed."""
        started = False
        failures = 0
        while True:
            try:
                if not started:
                    started = True
                    task_status.started()
                trades = await self.exchange.watch_trades(self.symbol)
                failures = 0
            except (NetworkError, ExchangeError) as exc:
                self.reconnects += 1
                delay = self._backoff(failures)
                failures += 1
                logger.warning("price stream {} failed ({}); retrying in {:.2f}s", self.symbol, exc, delay)
                await self.clock.sleep(delay)
                continue
            if not trades:
                continue
            last = trades[-1]
            self.publish(
                PriceUpdated(self.symbol, last.price, ts_event=last.ts_event, ts_init=self.clock.now_ms())
            )

    def close(self) -> None:
        self._broadcast.close()
