"""`GridRecovery`: how the grid engine finds its footing against the venue (REQUIREMENTS §2.3, §17): restoring
slots at start (from the store, else from the venue's position), settling single orders by query, and
reconciliation (adopt, cancel, force-sync, trip the breaker). Split from `GridEngine` so the engine module
holds the trading loop; it works on the engine's state through the engine.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from loguru import logger

from opensqt.exchanges.errors import OrderNotFound, VenueError
from opensqt.model import (
    CancelOrder,
    Fill,
    GridMode,
    LiquiditySide,
    Order,
    OrderUpdated,
    PlaceOrder,
    Side,
    Slot,
    SlotStatus,
)
from opensqt.risk import (
    AdoptOrder,
    ForceSyncPosition,
    LocalView,
    QueryOrder,
    ReconcileConfig,
    ReconcileReport,
    TripBreaker,
    VenueView,
    grid_slot_decoder,
    reconcile,
)
from opensqt.trading.logic import client_order_id, grid_centre, parse_client_order_id
from opensqt.trading.state import SlotChange, SlotStateError, restore_slots_from_position

if TYPE_CHECKING:
    from opensqt.engines.grid_engine import GridEngine


# ids past the last found that may have no venue order (refused before it rested) while an unexplained gap
# is chased: one in a row is tolerated
_LOOKAHEAD = 2


class GridRecovery:
    def __init__(self, engine: GridEngine) -> None:
        self.engine = engine

    async def restore(self) -> None:
        """Rebuild slots: from the store when it has them (then settle every order it knew was open against
        the venue), else from the venue's position."""
        assert self.engine.instrument is not None
        stored = await self.engine.journal.load_slots(self.engine.symbol)
        if stored:
            await self.restore_from_store(stored)
            return
        self.engine._release_early_updates()
        position = await self.venue_position()
        if position != 0:
            latest = self.engine.prices.latest
            assert latest is not None
            anchor = grid_centre(latest.price, self.engine.interval, self.engine.instrument)
            restored = restore_slots_from_position(
                position,
                anchor,
                self.engine.interval,
                self.engine.params.order_amount,
                self.engine.instrument,
                self.engine.params.grid_mode,
            )
            self.engine.slots.load(restored)
            self.engine._notice(
                "restore", f"rebuilt {len(restored)} filled slots from a venue position of {position}"
            )

    async def restore_from_store(self, stored: list[Slot]) -> None:
        """Slots come back FREE with what they held. The orders the store last saw open are re-attached to
        their slots one at a time, oldest attempt first, each asked of the venue at once: filled while down
        (applied once), cancelled (slot freed) or still resting (kept). A part an order filled before the
        restart is in its slot's position already: re-attaching starts from it, so only the rest is booked.
        A kill can leave an older attempt recorded as open when it was final: the venue's answer frees the
        slot for the next one. Orders the store never saw are reconciliation's (adopt or cancel)."""
        now = self.engine.clock.now_ms()
        self.engine.slots.load([freed(slot) for slot in stored])
        orders = await self.engine.journal.load_open_orders(self.engine.symbol)
        by_slot: dict[Decimal, list[Order]] = {}
        for order in orders:
            price = self.slot_price(order.client_order_id)
            if price is not None:
                by_slot.setdefault(price, []).append(order)
        for price, group in by_slot.items():
            group.sort(key=lambda o: self.attempt(o.client_order_id))
            for i, order in enumerate(group):
                cid = order.client_order_id
                try:
                    # what it filled before the restart is in the slot's position already
                    booked_value = (order.average_price or order.price or Decimal(0)) * order.filled
                    self.engine.slots.reattach(
                        price, command_of(order), order.filled, booked_value, now, attempt=self.attempt(cid)
                    )
                except SlotStateError as exc:
                    logger.warning("restore: order {} not re-attached: {}", cid, exc)
                    continue
                self.engine.slots.on_ack(cid, order)
                await self.settle(cid)
                slot = self.engine.slots.slot(price)
                if (
                    i < len(group) - 1
                    and slot is not None
                    and slot.client_order_id == cid
                    and slot.slot_status is SlotStatus.LOCKED
                ):
                    # an older attempt still rests though a newer one was sent: one order per slot, always
                    await self.engine.executor.cancel(
                        [CancelOrder(cid, self.engine.symbol, order.venue_order_id, "restart")]
                    )
        known = {order.client_order_id for order in orders}
        await self.find_unrecorded(stored, known, now)
        self.engine._release_early_updates()
        self.engine._notice(
            "restore", f"restored {len(stored)} slots and {len(orders)} open orders from the store"
        )

    async def find_unrecorded(self, stored: list[Slot], known: set[str], now_ms: int) -> None:
        """A kill between an order's send and the journal's commit leaves an order the venue has and the store
        never saw. Its id is the slot's next: a slot's attempts count the ids it sent, one by one, and
        re-attaching spends none, so the next id after the last recorded one is known whichever life sent it.

        Each slot holding after restore is asked for its next id (one order query each): its close, if sent.
        Then, only if the venue's position still differs from what the slots hold (an opening order filled
        while down, or a close a refused id hid), the ids past them are chased on the side that explains the
        gap, among the holding slots and the empty levels where the grid was opening: the lattice around
        the price now and around the level the store saw last, nearest to the price first, until the gap
        is explained or the levels run out. Each order found is re-attached to its slot and settled (its
        fill booked once, as a recorded fill). What stays unexplained is reconciliation's: it force-syncs a
        small gap and trips the breaker on a large one, and it adopts an unrecorded order still resting."""
        engine, slots = self.engine, self.engine.slots
        inst, latest = engine.instrument, engine.prices.latest
        if inst is None or latest is None:
            return
        attempts = {slot.price: slot.attempt for slot in stored}
        holding = [
            sl.price for sl in slots.slots.values() if sl.slot_status is SlotStatus.FREE and sl.position_qty
        ]
        chased = {
            price: await self.chase(price, None, attempts, known, now_ms, misses=1) for price in holding
        }
        # asked once: each order taken back below moves only the slots (a fill while restoring is
        # reconciliation's, like any other gap)
        venue_position = await self.venue_position()
        gap = venue_position - slots.inventory
        if abs(gap) < inst.lot_size:
            return
        side = Side.BUY if gap > 0 else Side.SELL
        mode = engine.params.grid_mode
        opens = mode is not (GridMode.SHORT if side is Side.BUY else GridMode.LONG)
        interval, tick = engine.interval, inst.tick_size
        reach = max(engine.params.buy_window, engine.params.sell_window) + 1
        anchors = [grid_centre(latest.price, interval, inst)]
        if stored:
            anchors.append(max(stored, key=lambda sl: sl.ts_update).price)
        levels = {
            (anchor + i * interval).quantize(tick)
            for anchor in anchors
            for i in range(-reach, reach + 1)
            if anchor + i * interval > 0
        }
        levels.update(chased)
        for level in sorted(levels, key=lambda lv: (abs(lv - latest.price), lv)):
            slot = slots.slot(level)
            if slot is not None and slot.slot_status is not SlotStatus.FREE:
                continue
            if slot is not None and slot.position_qty:
                if slot.position_side is None or slot.position_side.opposite is not side:
                    continue  # its close would not explain the gap
            elif not opens:
                continue  # the mode never opens on that side: not an opening order
            if level in chased:
                attempts[level] = chased[level]
            await self.chase(level, side if opens else None, attempts, known, now_ms, misses=_LOOKAHEAD)
            gap = venue_position - slots.inventory
            if abs(gap) < inst.lot_size or (gap > 0) is not (side is Side.BUY):
                return

    async def chase(
        self,
        price: Decimal,
        open_side: Side | None,
        attempts: dict[Decimal, int],
        known: set[str],
        now_ms: int,
        misses: int,
    ) -> int:
        """Ask the venue for the slot's ids after its last (the larger of `attempts[price]` and the slot's
        own), one by one: its close while it holds, else an opening order on `open_side` (none: stop). Each
        order found is taken back; it stops at an order still resting, at an id the store knew, or after
        `misses` ids in a row the venue does not have (an id can be spent on an order refused before it
        rested). Returns the last attempt asked."""
        engine, slots = self.engine, self.engine.slots
        assert engine.instrument is not None
        attempt = attempts.get(price, 0)
        left = misses
        while left > 0:
            slot = slots.slot(price)
            if slot is not None and slot.slot_status is not SlotStatus.FREE:
                break
            if slot is not None and slot.position_qty and slot.position_side is not None:
                side = slot.position_side.opposite
            elif open_side is None:
                break
            else:
                side = open_side
            attempt = max(attempt, slot.attempt if slot is not None else 0) + 1
            cid = client_order_id(engine.params.bot_tag, side, price, attempt, engine.instrument.tick_size)
            if cid in known:
                break
            found = await self.take_back(cid, price, attempt, now_ms)
            left = misses if found is not None else left - 1
        return attempt

    async def take_back(self, cid: str, slot_price: Decimal, attempt: int, now_ms: int) -> Order | None:
        """Ask the venue for an order the store never recorded; found, re-attach it to its (FREE) slot and
        settle it: what it filled is booked by the query, as one recorded fill. Returns the order found."""
        engine = self.engine
        try:
            order = await engine._retry(engine.exchange.fetch_order, engine.symbol, cid)
        except OrderNotFound:
            return None
        try:
            engine.slots.reattach(
                slot_price, command_of(order), Decimal(0), Decimal(0), now_ms, attempt=attempt
            )
        except SlotStateError as exc:
            logger.warning("restore: unrecorded order {} not re-attached: {}", cid, exc)
            return None
        logger.warning("restore: order {} reached the venue but not the store; taken back", cid)
        engine.slots.on_ack(cid)
        await self.settle(cid)
        return order

    def attempt(self, client_order_id: str) -> int:
        assert self.engine.instrument is not None
        return parse_client_order_id(client_order_id, self.engine.instrument.tick_size).attempt

    def slot_price(self, client_order_id: str) -> Decimal | None:
        assert self.engine.instrument is not None
        try:
            ref = parse_client_order_id(client_order_id, self.engine.instrument.tick_size)
        except ValueError:
            return None
        return ref.slot_price if ref.tag == self.engine.params.bot_tag else None

    async def venue_position(self) -> Decimal:
        positions = await self.engine._retry(self.engine.exchange.fetch_positions, [self.engine.symbol])
        return sum((p.size for p in positions if p.symbol == self.engine.symbol), Decimal(0))

    async def reconcile(self) -> ReconcileReport:
        """Compare slots with the venue's orders and position, and act on what differs (§2.3)."""
        assert self.engine.instrument is not None
        open_orders = await self.engine._retry(self.engine.exchange.fetch_open_orders, self.engine.symbol)
        position = await self.venue_position()
        now = self.engine.clock.now_ms()
        local_position = self.engine.slots.inventory  # signed: short slots count negative
        report = reconcile(
            LocalView(self.engine.symbol, tuple(self.engine.slots.slots.values()), local_position),
            VenueView(self.engine.symbol, tuple(open_orders), position),
            now,
            ReconcileConfig(
                client_id_prefix=self.engine.params.bot_tag,
                position_floor=self.engine.instrument.lot_size,
                divergence_limit=self.engine.config.divergence_limit,
                slot_price_of=grid_slot_decoder(self.engine.instrument.tick_size),
            ),
        )
        self.engine.last_reconcile = report
        self.engine.stats["reconciliations"] += 1
        cancels: list[CancelOrder] = []
        for action in report.actions:
            if isinstance(action, CancelOrder):
                cancels.append(action)
            elif isinstance(action, QueryOrder):
                await self.settle(action.client_order_id)
            elif isinstance(action, AdoptOrder):
                self.adopt(action, now)
            elif isinstance(action, ForceSyncPosition):
                self.engine._notice(
                    "reconcile", f"position {action.local} -> venue {action.venue}: force-synced"
                )
                self.force_sync(action.venue)
            elif isinstance(action, TripBreaker):
                self.engine.core.breaker_event(
                    self.engine.breaker.record_divergence(action.divergence, now, action.detail), now
                )
        if cancels:
            await self.engine.executor.cancel(cancels)
        for finding in report.findings:
            logger.info("reconcile: {}", finding)
        return report

    async def settle(self, client_order_id: str) -> None:
        """Ask the venue about one of our orders and apply what it says (filled, cancelled, missing).

        Fills found this way (they happened while the stream was away) come without the venue's trade
        record: one fill is booked for the difference, with a deterministic id and the instrument's fee rate,
        so that the position, the PnL and the store see it exactly once."""
        try:
            order = await self.engine._retry(
                self.engine.exchange.fetch_order, self.engine.symbol, client_order_id
            )
        except OrderNotFound:
            changes = self.engine.slots.on_order_missing(client_order_id)
            # the store too: else every later restart asks the venue about it again
            self.engine.journal.order_missing(self.engine.symbol, client_order_id, self.engine.clock.now_ms())
            if changes:
                self.engine._after_changes(changes)
            return
        except VenueError as exc:
            logger.warning("could not query order {}: {}", client_order_id, exc)
            return
        price = self.engine.slots.slot_price_of(client_order_id)
        slot = self.engine.slots.slot(price) if price is not None else None
        known = slot.filled_qty if slot is not None and slot.client_order_id == client_order_id else None
        fill = None
        if known is not None and order.filled > known:
            fill = self.missed_fill(order, order.filled - known)
        if slot is not None and slot.slot_status is SlotStatus.PENDING:
            self.engine.slots.on_ack(client_order_id, order)
        self.engine._apply_updates([OrderUpdated(order, fill, recovered=fill is not None)])

    def missed_fill(self, order: Order, quantity: Decimal) -> Fill:
        assert self.engine.instrument is not None
        price = order.average_price or order.price or Decimal(0)
        rate = self.engine.instrument.maker_fee if order.post_only else self.engine.instrument.taker_fee
        self.engine.stats["gaps_recovered"] += 1
        return Fill(
            trade_id=f"{order.venue_order_id or order.client_order_id}@{order.filled}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            fee=(price * quantity * rate).quantize(Decimal("0.00000001")),
            fee_asset=self.engine.instrument.settle,
            liquidity=LiquiditySide.MAKER if order.post_only else LiquiditySide.TAKER,
            venue_order_id=order.venue_order_id,
            ts_event=order.ts_event,
        )

    def adopt(self, action: AdoptOrder, now_ms: int) -> None:
        order = action.order
        try:
            self.engine.slots.reserve(action.slot_price, command_of(order), now_ms)
        except SlotStateError as exc:
            logger.warning("cannot adopt {}: {}; cancelling it", order.client_order_id, exc)
            self.engine.spawn(self.engine.executor.cancel, [CancelOrder(order.client_order_id, order.symbol)])
            return
        self.engine._after_changes(self.engine.slots.on_ack(order.client_order_id, order))

    def force_sync(self, venue_position: Decimal) -> None:
        """Small divergence (< the breaker's limit): make the slots hold what the venue says we hold.
        A shortfall lands on the first passive level of the grid (its closing order one interval on)."""
        assert self.engine.instrument is not None
        centre = self.engine.centre
        if centre is None:
            latest = self.engine.prices.latest
            assert latest is not None
            centre = grid_centre(latest.price, self.engine.interval, self.engine.instrument)
        below, above = centre - self.engine.interval, centre + self.engine.interval
        long_target = max(venue_position, Decimal(0))
        short_target = max(-venue_position, Decimal(0))
        changes: list[SlotChange] = []
        if self.engine.params.grid_mode is not GridMode.SHORT:
            changes += self.engine.slots.force_position(long_target, Side.BUY, below)
        if self.engine.params.grid_mode is not GridMode.LONG:
            changes += self.engine.slots.force_position(short_target, Side.SELL, above)
        if changes:
            self.engine._after_changes(changes)


def command_of(order: Order) -> PlaceOrder:
    """The placement an order found at the venue stands for (to re-attach or adopt it on a slot)."""
    return PlaceOrder(
        order.client_order_id,
        order.symbol,
        order.side,
        order.quantity,
        order.price,
        order.type,
        order.time_in_force,
        order.reduce_only,
    )


def freed(slot: Slot) -> Slot:
    """A stored slot as it restarts: what it holds, its counters; no order (re-attached separately)."""
    return replace(
        slot,
        slot_status=SlotStatus.FREE,
        client_order_id=None,
        venue_order_id=None,
        order_side=None,
        order_price=None,
        order_qty=Decimal(0),
        order_status=None,
        filled_qty=Decimal(0),
    )
