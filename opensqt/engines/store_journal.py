"""`StoreJournal`: the engine's journal on the store, through the single store writer.

The engine calls it from synchronous code, so writes go into a bounded hand-off stream that one pump task
feeds to `StoreWriter.submit` (which applies backpressure). If the hand-off is full or the writer fails,
`on_failure` is called once: the engine pauses trading rather than go on with writes it cannot keep.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskStatus
from loguru import logger
from sqlalchemy.engine import Connection

from opensqt.model import Order, OrderType, OrderUpdated, PlaceOrder, Slot
from opensqt.store import AuditRecord, OrderUpdateWrite, PnlKind, PnlRecord, Store, StoreWriter, tables
from opensqt.store.errors import StoreError
from opensqt.store.rows import order_to_row, slot_to_row
from opensqt.store.updates import expire_open_order, insert_ignore, upsert
from opensqt.trading.state import SlotChange


class StoreJournal:
    def __init__(
        self,
        store: Store,
        writer: StoreWriter,
        *,
        bot: str,
        venue: str,
        quote: str,
        on_failure: Callable[[str], None],
        buffer: int = 100_000,
    ) -> None:
        self.store = store
        self.writer = writer
        self.bot = bot
        self.venue = venue
        self.quote = quote
        self._on_failure = on_failure
        self._send, self._receive = anyio.create_memory_object_stream[Any](buffer)
        self._failed = False
        self._queued = 0  # items put into the hand-off
        self._handed = 0  # items the writer has accepted
        self._progress = anyio.Event()

    # --- the pump -------------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        task_status.started()
        async with self._receive:
            async for item in self._receive:
                # The decision that journals an order also wakes the worker that sends it, after this
                # pump: step aside once so the order leaves first (the write is queued either way).
                await anyio.lowlevel.checkpoint()
                try:
                    await self.writer.submit(item)
                except StoreError as exc:
                    self._fail(f"store write failed: {exc}")
                    return
                self._handed += 1
                self._progress.set()
                self._progress = anyio.Event()

    def _put(self, item: Any) -> None:
        if self._failed:
            return
        try:
            self._send.send_nowait(item)
            self._queued += 1
        except anyio.WouldBlock:
            self._fail("store writer is behind (hand-off queue full)")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._fail("store writer stopped")

    def _fail(self, reason: str) -> None:
        if not self._failed:
            self._failed = True
            logger.error("journal: {}; trading pauses", reason)
            self._on_failure(reason)

    # --- EngineJournal --------------------------------------------------------------------------

    def order_sent(self, command: PlaceOrder, ts_ms: int) -> None:
        order = Order(
            client_order_id=command.client_order_id,
            symbol=command.symbol,
            side=command.side,
            type=command.type or OrderType.LIMIT,
            quantity=command.quantity,
            price=command.price,
            time_in_force=command.time_in_force,
            reduce_only=command.reduce_only,
            ts_init=ts_ms,
        )
        bot, venue = self.bot, self.venue

        def write(conn: Connection) -> None:
            insert_ignore(conn, tables.orders, [order_to_row(bot, venue, order, ts_ms)])

        self._put(write)

    def order_update(self, update: OrderUpdated, slot: Slot | None, changes: list[SlotChange]) -> None:
        ts = update.order.ts_event
        pnl: list[PnlRecord] = []
        fill = update.fill
        for change in changes:
            if fill is None:
                continue
            if change.realized_pnl:
                pnl.append(
                    PnlRecord(
                        self.bot,
                        self.venue,
                        update.order.symbol,
                        PnlKind.REALIZED,
                        fill.trade_id,
                        change.realized_pnl,
                        self.quote,
                        fill.ts_event,
                        fill.quantity,
                        None,
                        fill.price,
                    )
                )
            if change.fee:
                pnl.append(
                    PnlRecord(
                        self.bot,
                        self.venue,
                        update.order.symbol,
                        PnlKind.FEE,
                        fill.trade_id,
                        -change.fee,
                        fill.fee_asset or self.quote,
                        fill.ts_event,
                    )
                )
        self._put(OrderUpdateWrite(self.bot, self.venue, update, ts, slot, tuple(pnl)))

    def order_missing(self, symbol: str, client_order_id: str, ts_ms: int) -> None:
        bot, venue = self.bot, self.venue

        def write(conn: Connection) -> None:
            expire_open_order(conn, bot, venue, symbol, client_order_id, ts_ms)

        self._put(write)

    def slots_changed(self, symbol: str, slots: list[Slot]) -> None:
        bot = self.bot
        rows = [slot_to_row(bot, symbol, slot) for slot in slots]

        def write(conn: Connection) -> None:
            upsert(conn, tables.slots, rows, newer_than="ts_update")

        self._put(write)

    def audit(self, kind: str, message: str, ts_ms: int, actor: str = "system") -> None:
        self._put(
            AuditRecord(
                id=uuid.uuid4().hex,
                ts=ts_ms,
                who=actor,
                action=kind,
                target=self.venue,
                result="ok",
                details={"message": message},
                bot=self.bot,
            )
        )

    async def load_slots(self, symbol: str) -> list[Slot]:
        return await anyio.to_thread.run_sync(self.store.load_slots, self.bot, symbol)

    async def load_open_orders(self, symbol: str) -> list[Order]:
        return await anyio.to_thread.run_sync(self.store.load_open_orders, self.bot, symbol)

    async def flush(self) -> None:
        # let the pump hand over everything queued so far, then wait for the writer to commit it
        target = self._queued
        while self._handed < target and not self._failed:
            await self._progress.wait()
        if not self._failed:
            await self.writer.flush()
