"""Channels between producers and consumers, each with an explicit policy when the consumer lags.

- `LatestValue`: the newest value wins (prices); overwritten values are counted as drops.
- anyio memory object streams with a bound give backpressure (order events, fills: never dropped).
"""

from __future__ import annotations

import asyncio
from typing import Generic, TypeVar

import anyio

T = TypeVar("T")


class LatestValue(Generic[T]):
    """A one-slot mailbox: `send_nowait` never blocks, `receive` returns the newest unseen value.

    A value overwritten before the consumer took it is a *drop*; `drops` counts them so lag is visible.
    """

    __slots__ = ("_closed", "_event", "_fresh", "_value", "_waking", "drops", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._value: T | None = None
        self._event = anyio.Event()
        self._fresh = False
        self._closed = False
        self._waking = False
        self.drops = 0

    def send_nowait(self, value: T) -> None:
        if self._closed:
            return
        if self._fresh:
            self.drops += 1
        self._value = value
        self._fresh = True
        self._schedule_wake()

    def redeliver(self) -> None:
        """Deliver the current value once more (not a drop): its consumer has more to do with it (the engine
        leaves the rest of a decision after a fill to its price loop). No-op before the first value."""
        if self._closed or self._value is None or self._fresh:
            return
        self._fresh = True
        self._schedule_wake()

    def _schedule_wake(self) -> None:
        if self._waking:
            return
        # the wake is a loop callback, not an immediate `set`: a consumer that reads the value by other
        # means before it runs (`seen`) is not woken for nothing
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop running (a synchronous caller): wake at once
            self._event.set()
            return
        self._waking = True
        loop.call_soon(self._wake)

    def _wake(self) -> None:
        self._waking = False
        if self._fresh or self._closed:
            self._event.set()

    def seen(self) -> None:
        """The consumer read the newest value by other means (the engine decides on the price monitor's
        latest price from its order stream too): a value not yet received is not delivered again."""
        self._fresh = False

    async def receive(self) -> T:
        """Wait for a value newer than the last one received. Raises `anyio.EndOfStream` once closed."""
        while True:
            if self._fresh:
                value = self._value
                self._fresh = False
                self._event = anyio.Event()
                assert value is not None
                return value
            if self._closed:
                raise anyio.EndOfStream
            await self._event.wait()

    def close(self) -> None:
        self._closed = True
        self._event.set()

    def __aiter__(self) -> LatestValue[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


class Broadcast(Generic[T]):
    """Fan-out of the newest value to any number of `LatestValue` subscribers."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._subscribers: list[LatestValue[T]] = []

    def subscribe(self) -> LatestValue[T]:
        channel: LatestValue[T] = LatestValue(self.name)
        self._subscribers.append(channel)
        return channel

    def unsubscribe(self, channel: LatestValue[T]) -> None:
        if channel in self._subscribers:
            self._subscribers.remove(channel)
        channel.close()

    def publish(self, value: T) -> None:
        for channel in self._subscribers:
            channel.send_nowait(value)

    @property
    def drops(self) -> int:
        return sum(channel.drops for channel in self._subscribers)

    def close(self) -> None:
        for channel in self._subscribers:
            channel.close()
        self._subscribers.clear()
