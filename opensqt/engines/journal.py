"""`EngineJournal`: where an engine records what it did (orders, updates, slots, audit) and reloads slots.

The store-backed journal writes through the single store writer; `NullJournal` keeps nothing (tests, the
default paper run without a database).
"""

from __future__ import annotations

from typing import Protocol

from opensqt.model import Order, OrderUpdated, PlaceOrder, Slot
from opensqt.trading.state import SlotChange


class EngineJournal(Protocol):
    def order_sent(self, command: PlaceOrder, ts_ms: int) -> None: ...

    def order_update(self, update: OrderUpdated, slot: Slot | None, changes: list[SlotChange]) -> None: ...

    def order_missing(self, symbol: str, client_order_id: str, ts_ms: int) -> None:
        """The venue has no such order and it never filled (an order query said so): no longer open."""
        ...

    def slots_changed(self, symbol: str, slots: list[Slot]) -> None: ...

    def audit(self, kind: str, message: str, ts_ms: int, actor: str = "system") -> None: ...

    async def load_slots(self, symbol: str) -> list[Slot]: ...

    async def load_open_orders(self, symbol: str) -> list[Order]: ...

    async def flush(self) -> None: ...


class NullJournal:
    """Remembers nothing; what a run without a database uses."""

    def order_sent(self, command: PlaceOrder, ts_ms: int) -> None:
        return None

    def order_update(self, update: OrderUpdated, slot: Slot | None, changes: list[SlotChange]) -> None:
        return None

    def order_missing(self, symbol: str, client_order_id: str, ts_ms: int) -> None:
        return None

    def slots_changed(self, symbol: str, slots: list[Slot]) -> None:
        return None

    def audit(self, kind: str, message: str, ts_ms: int, actor: str = "system") -> None:
        return None

    async def load_slots(self, symbol: str) -> list[Slot]:
        return []

    async def load_open_orders(self, symbol: str) -> list[Order]:
        return []

    async def flush(self) -> None:
        return None
