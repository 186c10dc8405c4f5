"""Versioned fan-out of slot, position and alert changes to many subscribers, for engines (and the fake) to
publish into. A subscriber that falls behind is not allowed to block the engine: it is resynced from a fresh
snapshot instead (alerts: told how many it missed)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterable
from decimal import Decimal
from typing import Generic, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from opensqt.api.ports import PositionUpdate, RiskAlert, SlotSnapshot, SlotUpdate
from opensqt.model import Position, Slot

T = TypeVar("T")

DEFAULT_BUFFER = 4096


class _Subscriber(Generic[T]):
    __slots__ = ("overflowed", "receive", "send")

    def __init__(self, buffer: int) -> None:
        self.send: MemoryObjectSendStream[T]
        self.receive: MemoryObjectReceiveStream[T]
        self.send, self.receive = anyio.create_memory_object_stream[T](buffer)
        self.overflowed = False


class FanOut(Generic[T]):
    """One bounded queue per subscriber. `broadcast` never waits: a full queue is closed and flagged,
    so its reader can resync. Call it from the event loop's thread."""

    def __init__(self, buffer: int = DEFAULT_BUFFER) -> None:
        if buffer < 1:
            raise ValueError(f"fan-out buffer: expected >= 1, got {buffer}")
        self._buffer = buffer
        self._subscribers: dict[int, _Subscriber[T]] = {}
        self._closed = False
        self.overflows = 0

    def __len__(self) -> int:
        return len(self._subscribers)

    def register(self) -> _Subscriber[T]:
        sub: _Subscriber[T] = _Subscriber(self._buffer)
        if self._closed:
            sub.send.close()
        else:
            self._subscribers[id(sub)] = sub
        return sub

    def unregister(self, sub: _Subscriber[T]) -> None:
        self._subscribers.pop(id(sub), None)
        sub.send.close()
        sub.receive.close()

    def broadcast(self, item: T) -> None:
        for key, sub in list(self._subscribers.items()):
            try:
                sub.send.send_nowait(item)
            except anyio.WouldBlock:
                sub.overflowed = True
                self.overflows += 1
                del self._subscribers[key]
                sub.send.close()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                del self._subscribers[key]

    def close(self) -> None:
        """End every subscription (engine stopping); later subscribers end at once."""
        self._closed = True
        for sub in self._subscribers.values():
            sub.send.close()
        self._subscribers.clear()


async def _drain(sub: _Subscriber[T]) -> AsyncIterator[T]:
    """The subscriber's items until its queue is closed; queued items are taken without a loop round trip
    each (anyio's `receive` always yields to the loop first, which halves stream throughput)."""
    while True:
        try:
            item = sub.receive.receive_nowait()
        except anyio.WouldBlock:
            try:
                item = await sub.receive.receive()
            except anyio.EndOfStream:
                return
        except anyio.EndOfStream:
            return
        yield item


class SlotHub:
    """The current slots of one grid and their subscribers. Each change raises `version` by one."""

    def __init__(self, symbol: str, *, epoch: str | None = None, buffer: int = DEFAULT_BUFFER) -> None:
        self.symbol = symbol
        self.epoch = epoch or secrets.token_hex(6)
        self._slots: dict[Decimal, Slot] = {}
        self._version = 0
        self._centre: Decimal | None = None
        self._last: Decimal | None = None
        self._ts_ms = 0
        self._fan: FanOut[SlotUpdate] = FanOut(buffer)

    @property
    def version(self) -> int:
        return self._version

    @property
    def subscribers(self) -> int:
        return len(self._fan)

    def snapshot(self) -> SlotSnapshot:
        return SlotSnapshot(
            symbol=self.symbol,
            version=self._version,
            epoch=self.epoch,
            centre_price=self._centre,
            last_price=self._last,
            slots=tuple(self._slots[p] for p in sorted(self._slots)),
            ts_ms=self._ts_ms,
        )

    def publish(
        self,
        changed: Iterable[Slot],
        removed: Iterable[Decimal] = (),
        *,
        ts_ms: int,
        centre_price: Decimal | None = None,
        last_price: Decimal | None = None,
    ) -> int:
        """Apply changed slots (by price) and removed prices; None prices keep their last value. Returns the
        new version."""
        changed_t = tuple(changed)
        removed_t = tuple(p for p in removed if p in self._slots)
        for slot in changed_t:
            self._slots[slot.price] = slot
        for price in removed_t:
            del self._slots[price]
        if centre_price is not None:
            self._centre = centre_price
        if last_price is not None:
            self._last = last_price
        self._version += 1
        self._ts_ms = ts_ms
        self._fan.broadcast(
            SlotUpdate(
                symbol=self.symbol,
                version=self._version,
                epoch=self.epoch,
                snapshot=False,
                slots=changed_t,
                removed_prices=removed_t,
                centre_price=self._centre,
                last_price=self._last,
                ts_ms=ts_ms,
            )
        )
        return self._version

    def close(self) -> None:
        self._fan.close()

    async def subscribe(self) -> AsyncIterator[SlotUpdate]:
        """A snapshot, then every change; after an overflow a fresh snapshot, then changes again."""
        while True:
            # Register before taking the snapshot, with no await between: no change can fall in the gap.
            sub = self._fan.register()
            try:
                snap = self.snapshot()
                yield SlotUpdate(
                    symbol=snap.symbol,
                    version=snap.version,
                    epoch=snap.epoch,
                    snapshot=True,
                    slots=snap.slots,
                    removed_prices=(),
                    centre_price=snap.centre_price,
                    last_price=snap.last_price,
                    ts_ms=snap.ts_ms,
                )
                async for update in _drain(sub):
                    yield update
                if not sub.overflowed:
                    return
            finally:
                self._fan.unregister(sub)


class PositionHub:
    """Current positions by symbol and their subscribers; the snapshot-then-changes contract of SlotHub."""

    def __init__(self, *, epoch: str | None = None, buffer: int = DEFAULT_BUFFER) -> None:
        self.epoch = epoch or secrets.token_hex(6)
        self._positions: dict[str, Position] = {}
        self._version = 0
        self._ts_ms = 0
        self._fan: FanOut[PositionUpdate] = FanOut(buffer)

    @property
    def version(self) -> int:
        return self._version

    def positions(self, symbol: str | None = None) -> tuple[Position, ...]:
        return tuple(self._positions[s] for s in sorted(self._positions) if symbol is None or s == symbol)

    def publish(self, changed: Iterable[Position], *, ts_ms: int) -> int:
        changed_t = tuple(changed)
        for position in changed_t:
            self._positions[position.symbol] = position
        self._version += 1
        self._ts_ms = ts_ms
        self._fan.broadcast(
            PositionUpdate(
                version=self._version, epoch=self.epoch, snapshot=False, positions=changed_t, ts_ms=ts_ms
            )
        )
        return self._version

    def close(self) -> None:
        self._fan.close()

    async def subscribe(self, symbol: str | None = None) -> AsyncIterator[PositionUpdate]:
        while True:
            sub = self._fan.register()
            try:
                yield PositionUpdate(
                    version=self._version,
                    epoch=self.epoch,
                    snapshot=True,
                    positions=self.positions(symbol),
                    ts_ms=self._ts_ms,
                )
                async for update in _drain(sub):
                    if symbol is None:
                        yield update
                        continue
                    mine = tuple(p for p in update.positions if p.symbol == symbol)
                    if mine:
                        yield PositionUpdate(update.version, update.epoch, False, mine, update.ts_ms)
                if not sub.overflowed:
                    return
            finally:
                self._fan.unregister(sub)


class AlertHub:
    """Risk alerts to every subscriber from the moment it subscribes. A reader that fell behind gets one
    `alerts_dropped` alert saying how far it lost track, then alerts again."""

    def __init__(self, *, buffer: int = DEFAULT_BUFFER) -> None:
        self._sequence = 0
        self._fan: FanOut[RiskAlert] = FanOut(buffer)

    def publish(self, kind: str, message: str, *, ts_ms: int, symbol: str = "") -> RiskAlert:
        self._sequence += 1
        alert = RiskAlert(sequence=self._sequence, kind=kind, symbol=symbol, message=message, ts_ms=ts_ms)
        self._fan.broadcast(alert)
        return alert

    def close(self) -> None:
        self._fan.close()

    async def subscribe(self) -> AsyncIterator[RiskAlert]:
        last_seen: int | None = None
        while True:
            sub = self._fan.register()
            try:
                if last_seen is not None and self._sequence > last_seen:
                    yield RiskAlert(
                        sequence=self._sequence,
                        kind="alerts_dropped",
                        symbol="",
                        message=(
                            f"subscriber fell behind; alerts {last_seen + 1}..{self._sequence} were dropped"
                        ),
                        ts_ms=0,
                    )
                async for alert in _drain(sub):
                    last_seen = alert.sequence
                    yield alert
                if not sub.overflowed:
                    return
                last_seen = last_seen or 0
            finally:
                self._fan.unregister(sub)
