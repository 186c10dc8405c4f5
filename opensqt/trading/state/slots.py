"""`SlotManager`: the grid's slots keyed by price level, moved only by reservations and order events.

Pure and single-threaded: the engine serialises calls (its per-slot locks live above this layer).
Order updates are idempotent: they key on the order's client id (or venue id), its cumulative filled
quantity as a high-water mark, the status rank and transition table, and the fills' trade ids.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from opensqt.model import (
    ZERO,
    Order,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
)
from opensqt.trading.state.book import (
    RejectReason,
    SlotBookSnapshot,
    SlotChange,
    SlotPnl,
    SlotStateError,
)

_FREE = SlotStatus.FREE
_PENDING = SlotStatus.PENDING
_LOCKED = SlotStatus.LOCKED
#: final statuses that, on a post-only order we did not cancel and that never filled, mean "would cross"
_POST_ONLY_REJECT = frozenset({OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED})


@dataclass(slots=True)
class _OrderTrack:
    """What we know of one order: the idempotency keys and its share of the slot's accounting."""

    client_order_id: str
    slot_price: Decimal
    side: Side
    quantity: Decimal
    price: Decimal | None
    opening: bool
    post_only: bool
    venue_order_id: str | None = None
    status: OrderStatus | None = None  # None: not yet acknowledged
    filled: Decimal = ZERO  # high-water mark of cumulative filled
    value: Decimal = ZERO  # quote value of `filled`
    trade_qty: Decimal = ZERO  # sum of the distinct fills the venue reported
    recovered_to: Decimal = ZERO  # cumulative filled already booked without trade ids (query, restart)
    trade_ids: set[str] = field(default_factory=set)
    cancel_requested: bool = False
    ambiguous: bool = False
    last_report: Order | None = None  # the last order snapshot applied without a fill


@dataclass(slots=True)
class _Account:
    realized: Decimal = ZERO
    fees: Decimal = ZERO
    round_trips: int = 0
    cost: Decimal = ZERO  # quote paid (long) or received (short) for what the slot holds


class SlotManager:
    """Slots by price level (values are `opensqt.model.Slot`), their orders, inventory and realized PnL.

    Lifecycle of a slot's order: `reserve` FREE -> PENDING; `on_ack` / a NEW update PENDING -> LOCKED;
    `on_rejected` PENDING -> FREE; `on_ambiguous` keeps PENDING; `request_cancel` marks a LOCKED order;
    a final update (filled, cancelled, expired, rejected) -> FREE. Fills move the position whatever the
    slot status, so a fill arriving before its ack, or after its cancel, is booked exactly once.
    """

    def __init__(self, finished_order_memory: int = 2_000) -> None:
        if finished_order_memory < 1:
            raise ValueError(f"slot manager: finished_order_memory must be >= 1, got {finished_order_memory}")
        self._slots: dict[Decimal, Slot] = {}
        self._accounts: dict[Decimal, _Account] = {}
        self._orders: dict[str, _OrderTrack] = {}
        self._by_venue_id: dict[str, str] = {}
        # finished orders are remembered (bounded) so their replays are recognised and change nothing
        self._finished: deque[str] = deque()
        self._finished_memory = finished_order_memory
        self._retired: dict[Decimal, int] = {}
        self._cancelling: set[str] = set()
        self._realized = ZERO
        self._fees = ZERO
        self._round_trips = 0
        self._overfilled = ZERO
        self._version = 0
        # kept with every store, so the hot reads are O(1) and a decision looks only at slots it can act on
        self._working: dict[Decimal, Slot] = {}  # PENDING or LOCKED: an order out
        # FREE slots holding a position, by the side that opened it, as sorted price lists: the decision
        # takes the few whose close can rest inside the window by bisection, not by walking hundreds
        self._holds: dict[Side | None, list[Decimal]] = {Side.BUY: [], Side.SELL: [], None: []}
        self._inventory = ZERO
        # live read-only views, made once (a decision asks for them on every tick)
        self._view_slots = MappingProxyType(self._slots)
        self._view_working = MappingProxyType(self._working)
        self._view_holds = MappingProxyType(self._holds)
        self._view_retired = MappingProxyType(self._retired)

    # --- reads -----------------------------------------------------------------------------------

    @property
    def slots(self) -> Mapping[Decimal, Slot]:
        """Live read-only view of the slots by price (what `GridSnapshot.slots` wants)."""
        return self._view_slots

    @property
    def working(self) -> Mapping[Decimal, Slot]:
        """Live read-only view of the slots with an order out (PENDING or LOCKED)."""
        return self._view_working

    @property
    def holds_by_side(self) -> Mapping[Side | None, Sequence[Decimal]]:
        """Prices of the FREE slots holding a position, by the side that opened it (None: unknown),
        ascending. A live view for one synchronous read (what `GridSnapshot.holds` wants)."""
        return self._view_holds

    @property
    def idle_count(self) -> int:
        """FREE, empty slots: what `prune` can drop."""
        return len(self._slots) - len(self._working) - sum(len(h) for h in self._holds.values())

    @property
    def retired_attempts(self) -> Mapping[Decimal, int]:
        """Attempt counters of pruned levels (what `GridSnapshot.retired_attempts` wants)."""
        return self._view_retired

    def slot(self, price: Decimal) -> Slot | None:
        return self._slots.get(price)

    def cancels_in_flight(self) -> frozenset[str]:
        return frozenset(self._cancelling)

    def ambiguous_orders(self) -> list[str]:
        """Client ids submitted with an unknown outcome: reconciliation or an order query must settle them."""
        # only a slot's current order can be ambiguous (the slot stays PENDING on it): look there, not
        # through every remembered order (the engine asks once a second)
        found = []
        for slot in self._slots.values():
            cid = slot.client_order_id
            if cid is not None and slot.slot_status is _PENDING:
                track = self._orders.get(cid)
                if track is not None and track.ambiguous:
                    found.append(cid)
        return sorted(found)

    def slot_price_of(self, client_order_id: str) -> Decimal | None:
        track = self._orders.get(client_order_id)
        return None if track is None else track.slot_price

    @property
    def open_order_count(self) -> int:
        """Slots with an order out (PENDING or LOCKED): the base of the grid's order quota."""
        return len(self._working)

    @property
    def inventory(self) -> Decimal:
        """Signed held quantity: long slots count positive, short slots negative."""
        return self._inventory

    @property
    def cost_basis(self) -> Decimal:
        """What the held inventory cost, over every slot (the position's entry is this over inventory)."""
        return sum((a.cost for a in self._accounts.values()), ZERO)

    def counts(self) -> dict[SlotStatus, int]:
        out = dict.fromkeys(SlotStatus, 0)
        for s in self._slots.values():
            out[s.slot_status] += 1
        return out

    @property
    def realized_pnl(self) -> Decimal:
        """PnL realized by closing fills, gross of fees."""
        return self._realized

    @property
    def fees(self) -> Decimal:
        return self._fees

    @property
    def net_pnl(self) -> Decimal:
        return self._realized - self._fees

    @property
    def round_trips(self) -> int:
        return self._round_trips

    @property
    def overfilled_qty(self) -> Decimal:
        """Closing quantity reported beyond what the slot held (a venue or reconciliation anomaly)."""
        return self._overfilled

    @property
    def version(self) -> int:
        """Increases with every change: lets readers skip an unchanged book."""
        return self._version

    def slot_pnl(self, price: Decimal) -> SlotPnl:
        a = self._accounts.get(price, _Account())
        return SlotPnl(price, a.realized, a.fees, a.round_trips, a.cost)

    def snapshot(self) -> SlotBookSnapshot:
        counts = self.counts()
        prices = sorted(self._slots)
        return SlotBookSnapshot(
            slots=tuple(self._slots[p] for p in prices),
            pnl=tuple(self.slot_pnl(p) for p in sorted(self._accounts)),
            free=counts[_FREE],
            pending=counts[_PENDING],
            locked=counts[_LOCKED],
            filled=sum(1 for s in self._slots.values() if s.position_status is PositionStatus.FILLED),
            inventory=self.inventory,
            realized_pnl=self._realized,
            fees=self._fees,
            round_trips=self._round_trips,
            version=self._version,
        )

    # --- the order lifecycle -----------------------------------------------------------------------

    def reserve(self, price: Decimal, command: PlaceOrder, now_ms: int = 0) -> Slot:
        """FREE -> PENDING for `command` (about to be submitted). Refused unless the slot is FREE.

        An order adding to inventory needs an empty slot; a closing order may not exceed what is held.
        """
        # built, not stored, until every check passed: a refusal leaves the book as it was
        slot = self._free_slot(price, command.client_order_id, "reserve")
        opening = self._check_new_order(slot, command)
        return self._pend(slot, command, opening, ZERO, ZERO, now_ms, slot.attempt + 1)

    @staticmethod
    def _check_new_order(slot: Slot, command: PlaceOrder) -> bool:
        """Whether an order with nothing filled yet opens on the slot (else it closes); refused unless an
        opening order finds the slot empty and a closing one closes at most what it holds."""
        held = slot.position_qty
        opening = held <= 0 or command.side is slot.position_side
        if opening and held > 0:
            raise SlotStateError(f"slot {slot.price}: holds {held}; an order adding to it is refused")
        if not opening and command.quantity > held:
            raise SlotStateError(f"slot {slot.price}: closing {command.quantity} exceeds the held {held}")
        return opening

    def reattach(
        self,
        price: Decimal,
        command: PlaceOrder,
        booked: Decimal,
        booked_value: Decimal,
        now_ms: int = 0,
        *,
        attempt: int,
    ) -> Slot:
        """Restore: FREE -> PENDING for an order the store knew open (or the venue had), of which `booked`
        (worth `booked_value` in quote) is already in the slot's position. Its track starts from there, so
        the venue's answer (`on_ack`, an order query) books only what filled after: a part filled before a
        crash is neither counted twice nor lost. Refused unless the slot is FREE and what it holds agrees
        with `booked`.

        `attempt` is the order's own (from its id): the slot's counter becomes the larger of the two, so
        re-attaching spends no attempt. The next order's id then depends only on the ids sent, never on how
        many lives re-attached the order, and a restart after a life the store never saw can find what that
        life sent by its id (`GridRecovery`)."""
        cid = command.client_order_id
        slot = self._free_slot(price, cid, "reattach")
        if booked == 0:
            opening = self._check_new_order(slot, command)
            return self._pend(slot, command, opening, ZERO, ZERO, now_ms, max(slot.attempt, attempt))
        if not ZERO < booked <= command.quantity:
            raise SlotStateError(f"slot {price}: {cid} booked {booked} of {command.quantity}")
        held = slot.position_qty
        opening = held > 0 and command.side is slot.position_side
        # an opening order's fills are all the slot holds; a closing one's rest is at most what is left
        if opening and held != booked:
            raise SlotStateError(f"slot {price}: holds {held}, but its order {cid} filled {booked}")
        if not opening and (held <= 0 or command.quantity - booked > held):
            raise SlotStateError(
                f"slot {price}: holds {held}; {cid} has {command.quantity - booked} left to close"
            )
        return self._pend(slot, command, opening, booked, booked_value, now_ms, max(slot.attempt, attempt))

    def _free_slot(self, price: Decimal, cid: str, action: str) -> Slot:
        """The slot at `price` (built, not stored, if new) when `action` may put order `cid` on it."""
        slot = self._slots.get(price) or Slot(price=price, attempt=self._retired.get(price, 0))
        if slot.slot_status is not _FREE:
            raise SlotStateError(f"slot {price}: {action} needs FREE, it is {slot.slot_status.value}")
        if cid in self._orders:
            raise SlotStateError(f"slot {price}: client order id {cid} was already used")
        return slot

    def _pend(
        self,
        slot: Slot,
        command: PlaceOrder,
        opening: bool,
        booked: Decimal,
        value: Decimal,
        now_ms: int,
        attempt: int,
    ) -> Slot:
        """The checked FREE -> PENDING step of `reserve` and `reattach`: the slot names the order (and counts
        `attempt`), and the order's track starts from what it had already filled (`booked`, worth `value`)."""
        cid = command.client_order_id
        after = slot.evolve(
            slot_status=_PENDING,
            client_order_id=cid,
            venue_order_id=None,
            order_side=command.side,
            order_price=command.price,
            order_qty=command.quantity,
            order_status=None,
            filled_qty=booked,
            attempt=attempt,
            ts_update=now_ms,
        )
        self._orders[cid] = _OrderTrack(
            cid,
            slot.price,
            command.side,
            command.quantity,
            command.price,
            opening,
            command.post_only,
            filled=booked,
            value=value,
            recovered_to=booked,  # filled before the restart: a later report of those executions is not new
        )
        self._retired.pop(slot.price, None)
        self._store(after)
        return after

    def on_ack(self, client_order_id: str, order: Order | None = None) -> list[SlotChange]:
        """The venue accepted the submit (REST answer): PENDING -> LOCKED, or whatever `order` shows
        (an ack may already report fills). Idempotent like `apply`."""
        track = self._orders.get(client_order_id)
        if track is None:
            return []
        if order is None:
            return self._ack_without_detail(track)
        if order.client_order_id != client_order_id:
            order = replace(order, client_order_id=client_order_id)
        return self.apply(OrderUpdated(order))

    def on_rejected(self, client_order_id: str, reason: RejectReason) -> list[SlotChange]:
        """The venue refused the submit: PENDING -> FREE; a post-only rejection counts one failure."""
        track = self._orders.get(client_order_id)
        if track is None or track.status is not None:
            return []  # unknown, or the stream already showed the order: the stream wins
        slot = self._slots.get(track.slot_price)
        track.status = OrderStatus.REJECTED
        track.ambiguous = False
        self._finish(track)
        if slot is None or slot.client_order_id != client_order_id:
            return []
        failures = slot.post_only_failures + (1 if reason is RejectReason.POST_ONLY else 0)
        after = _cleared(slot, order_status=OrderStatus.REJECTED, post_only_failures=failures)
        self._store(after)
        return [SlotChange(slot.price, slot, after, f"rejected: {reason.value}")]

    def on_ambiguous(self, client_order_id: str) -> None:
        """The submit's outcome is unknown (timeout): the slot stays PENDING until proof arrives."""
        track = self._orders.get(client_order_id)
        if track is not None and track.status is None:
            track.ambiguous = True

    def on_order_missing(self, client_order_id: str) -> list[SlotChange]:
        """Proof (order query or reconciliation) that the venue has no such order and it never filled."""
        track = self._orders.get(client_order_id)
        if track is None or (track.status is not None and track.status.is_final):
            return []
        track.status = OrderStatus.EXPIRED
        track.ambiguous = False
        self._finish(track)
        slot = self._slots.get(track.slot_price)
        if slot is None or slot.client_order_id != client_order_id:
            return []
        after = _cleared(slot, order_status=OrderStatus.EXPIRED)
        self._store(after)
        return [SlotChange(slot.price, slot, after, "missing on venue")]

    def request_cancel(self, client_order_id: str) -> Slot:
        """Mark the slot's resting order as being cancelled. Refused unless the slot is LOCKED on it."""
        track = self._orders.get(client_order_id)
        slot = None if track is None else self._slots.get(track.slot_price)
        if track is None or slot is None or slot.client_order_id != client_order_id:
            raise SlotStateError(f"cancel {client_order_id}: no slot works this order")
        if slot.slot_status is not _LOCKED:
            raise SlotStateError(f"cancel {client_order_id}: slot {slot.price} is {slot.slot_status.value}")
        track.cancel_requested = True
        self._cancelling.add(client_order_id)
        self._version += 1  # the decision reads the cancels in flight
        return slot

    def reset_post_only_failures(self, price: Decimal) -> list[SlotChange]:
        """Let a slot paused by post-only failures quote post-only again (the engine decides when)."""
        slot = self._slots.get(price)
        if slot is None or slot.post_only_failures == 0:
            return []
        return self._changed(slot, slot.evolve(post_only_failures=0), "post-only failures reset")

    def on_cancel_failed(self, client_order_id: str) -> None:
        """The cancel request failed (the order may still rest): allow the grid to ask again."""
        self._cancelling.discard(client_order_id)
        self._version += 1
        track = self._orders.get(client_order_id)
        if track is not None:
            track.cancel_requested = False

    def apply(self, event: OrderUpdated) -> list[SlotChange]:
        """Apply a venue order update once; a replayed, duplicated or stale one returns [], no change."""
        order = event.order
        track = self._orders.get(order.client_order_id)
        if track is None and order.venue_order_id is not None:
            cid = self._by_venue_id.get(order.venue_order_id)
            track = None if cid is None else self._orders.get(cid)
        if track is None:
            return []  # not ours, or finished long ago: reconciliation's business
        if order is track.last_report and event.fill is None:
            return []  # the very report applied last (a venue that acks and streams one snapshot): no news
        if order.venue_order_id is not None and track.venue_order_id is None:
            track.venue_order_id = order.venue_order_id
            self._by_venue_id[order.venue_order_id] = track.client_order_id
        slot = self._slot_or_new(track.slot_price)
        before = slot
        reasons: list[str] = []
        fee = ZERO
        realized = ZERO
        fill = event.fill
        if fill is not None and fill.trade_id not in track.trade_ids:
            track.trade_ids.add(fill.trade_id)
        else:
            fill = None
        if fill is not None and event.recovered:
            track.recovered_to = max(track.recovered_to, order.filled)
        elif fill is not None and (
            (track.recovered_to and order.filled <= track.recovered_to)
            or track.trade_qty + fill.quantity > track.quantity
        ):
            # An execution at or below the cumulative an order query (or the store) already booked: the
            # venue's report of it under its own trade id is not new. Venues report a fill with the
            # order's cumulative at or after that execution, never before, so nothing newer is dropped.
            # More fills than the order's size: one was booked under another id; count it once only.
            fill = None
        elif fill is not None:
            track.trade_qty += fill.quantity
        if fill is not None:
            fee = fill.fee
            account = self._account(track.slot_price)
            account.fees += fee
            self._fees += fee
            reasons.append("fee")
        # never above what the venue can have filled: its cumulative, its distinct reported fills, or what a
        # query saw; a sum mixing the query's booking with the venue's trade ids would count executions twice
        filled = min(max(order.filled, track.trade_qty, track.recovered_to), track.quantity)
        if filled > track.filled:
            delta = filled - track.filled
            if order.average_price is not None and order.filled == filled and filled > 0:
                value = order.average_price * filled - track.value
            elif fill is not None and fill.quantity == delta:
                value = fill.price * delta
            else:
                # no better price reported: a limit order fills at its price
                value = (order.price or track.price or (fill.price if fill else ZERO)) * delta
            track.filled = filled
            track.value += value
            slot, realized = self._book_fill(slot, track, delta, value)
            reasons.append("filled" if track.opening else "closed")

        status = order.status
        previous = track.status
        accepted = previous is None or (
            status is not previous and previous.can_become(status) and status.rank >= previous.rank
        )
        current = slot.client_order_id == track.client_order_id
        if accepted:
            track.status = status
            track.ambiguous = False
        if current:
            slot = self._apply_status(slot, track, accepted, order.ts_event, reasons)
        elif accepted and status.is_final:
            self._finish(track)
        track.last_report = order if event.fill is None else None
        if slot == before and not reasons:
            return []
        self._store(slot)
        return [SlotChange(slot.price, before, slot, ", ".join(reasons) or "status", realized, fee)]

    # --- restore and housekeeping --------------------------------------------------------------------

    def load(self, slots: Iterable[Slot], entry_price: Decimal | None = None) -> None:
        """Install slots rebuilt at start-up (see `restore_slots_from_position`); their cost basis is
        `entry_price` (the venue's average entry) or else the slot price."""
        for slot in slots:
            if slot.slot_status is not _FREE:
                raise SlotStateError(f"load: slot {slot.price} must be FREE, it is {slot.slot_status.value}")
            self._store(slot)
            self._account(slot.price).cost = (entry_price or slot.price) * slot.position_qty

    def force_position(self, target: Decimal, side: Side, price: Decimal) -> list[SlotChange]:
        """Reconciliation's force-sync: make the held inventory on `side` equal `target` (unsigned).

        A surplus is taken from the slots holding that side, those without a working order first, then the
        highest-priced (long) or lowest-priced (short) first: the levels furthest from closing. A shortfall is
        added to the slot at `price` (a level on the grid's lattice, chosen by the engine), its cost basis at
        that price. No PnL is realized either way: the difference was never traded by the grid.
        """
        if target < 0:
            raise ValueError(f"force_position: target must be >= 0, got {target}")
        held = sum(
            (sl.position_qty for sl in self._slots.values() if sl.position_qty and sl.position_side is side),
            ZERO,
        )
        changes: list[SlotChange] = []
        if target < held:
            excess = held - target
            holders = [sl for sl in self._slots.values() if sl.position_qty and sl.position_side is side]
            far_first = sorted(holders, key=lambda sl: sl.price, reverse=side is Side.BUY)
            for slot in sorted(far_first, key=lambda sl: sl.slot_status is not _FREE):
                if excess <= 0:
                    break
                take = min(excess, slot.position_qty)
                excess -= take
                remaining = slot.position_qty - take
                account = self._account(slot.price)
                account.cost = account.cost * remaining / slot.position_qty
                after = slot.evolve(
                    position_qty=remaining,
                    position_status=PositionStatus.FILLED if remaining > 0 else PositionStatus.EMPTY,
                    position_side=side if remaining > 0 else None,
                )
                self._store(after)
                changes.append(SlotChange(slot.price, slot, after, "force-synced to the venue"))
        elif target > held:
            missing = target - held
            slot = self._slots.get(price) or Slot(price=price, attempt=self._retired.get(price, 0))
            if slot.position_qty and slot.position_side is not side:
                raise SlotStateError(f"force_position: slot {price} holds the other side")
            after = slot.evolve(
                position_qty=slot.position_qty + missing,
                position_status=PositionStatus.FILLED,
                position_side=side,
            )
            self._account(price).cost += price * missing
            self._store(after)
            changes.append(SlotChange(price, slot, after, "force-synced to the venue"))
        return changes

    def prune(self, low: Decimal, high: Decimal) -> int:
        """Drop FREE, empty slots outside [low, high]; their attempt counters are kept. Returns the count."""
        gone = [
            p
            for p, s in self._slots.items()
            if (p < low or p > high) and s.slot_status is _FREE and not s.position_qty
        ]
        for p in gone:
            self._retired[p] = self._slots.pop(p).attempt
        if gone:
            self._version += 1
        return len(gone)

    # --- internals -------------------------------------------------------------------------------------

    def _ack_without_detail(self, track: _OrderTrack) -> list[SlotChange]:
        slot = self._slots.get(track.slot_price)
        if track.status is not None or slot is None or slot.client_order_id != track.client_order_id:
            return []
        track.status = OrderStatus.NEW
        track.ambiguous = False
        return self._changed(slot, self._apply_status(slot, track, True, slot.ts_update, []), "acknowledged")

    def _apply_status(
        self, slot: Slot, track: _OrderTrack, accepted: bool, ts_event: int, reasons: list[str]
    ) -> Slot:
        status = track.status
        if status is None:
            return slot
        if status.is_final:
            if not accepted:
                return slot
            failures = slot.post_only_failures
            if (
                track.post_only
                and status in _POST_ONLY_REJECT
                and track.filled == 0
                and not track.cancel_requested
            ):
                failures += 1
                reasons.append("post-only failure")
            self._finish(track)
            reasons.append(status.value)
            return _cleared(slot, order_status=status, post_only_failures=failures, ts_update=ts_event)
        updated = slot.evolve(
            slot_status=_LOCKED,
            venue_order_id=track.venue_order_id,
            order_status=status,
            filled_qty=track.filled,
            # a resting post-only order proves the slot can quote passively again
            post_only_failures=0 if track.post_only else slot.post_only_failures,
            ts_update=ts_event if accepted else slot.ts_update,
        )
        if updated != slot and slot.slot_status is _PENDING:
            reasons.append("acknowledged")
        return updated

    def _book_fill(
        self, slot: Slot, track: _OrderTrack, delta: Decimal, value: Decimal
    ) -> tuple[Slot, Decimal]:
        account = self._account(track.slot_price)
        own_filled = track.filled if slot.client_order_id == track.client_order_id else slot.filled_qty
        if track.opening:
            account.cost += value
            return (
                slot.evolve(
                    position_qty=slot.position_qty + delta,
                    position_status=PositionStatus.FILLED,
                    position_side=track.side,
                    filled_qty=own_filled,
                ),
                ZERO,
            )
        held = slot.position_qty
        qty = min(delta, held)
        if qty < delta:
            self._overfilled += delta - qty
        if qty <= 0:
            return slot, ZERO
        released = account.cost if qty == held else account.cost * qty / held
        exit_value = value if qty == delta else value * qty / delta
        realized = exit_value - released if slot.position_side is not Side.SELL else released - exit_value
        account.cost -= released
        account.realized += realized
        self._realized += realized
        remaining = held - qty
        if remaining == 0:
            account.round_trips += 1
            self._round_trips += 1
            account.cost = ZERO
        return (
            slot.evolve(
                position_qty=remaining,
                position_status=PositionStatus.FILLED if remaining > 0 else PositionStatus.EMPTY,
                position_side=slot.position_side if remaining > 0 else None,
                filled_qty=own_filled,
            ),
            realized,
        )

    def _finish(self, track: _OrderTrack) -> None:
        self._cancelling.discard(track.client_order_id)
        self._finished.append(track.client_order_id)
        while len(self._finished) > self._finished_memory:
            old = self._orders.pop(self._finished.popleft(), None)
            if old is not None and old.venue_order_id is not None:
                self._by_venue_id.pop(old.venue_order_id, None)

    def _slot_or_new(self, price: Decimal) -> Slot:
        slot = self._slots.get(price)
        if slot is None:
            slot = Slot(price=price, attempt=self._retired.pop(price, 0))
            self._slots[price] = slot
        return slot

    def _account(self, price: Decimal) -> _Account:
        account = self._accounts.get(price)
        if account is None:
            account = self._accounts[price] = _Account()
        return account

    def _store(self, slot: Slot) -> None:
        price = slot.price
        old = self._slots.get(price)
        self._slots[price] = slot
        self._version += 1
        if old is not None and old.position_qty:
            self._inventory -= _signed_position(old)
            if old.slot_status is _FREE:
                holds = self._holds[old.position_side]
                del holds[bisect_left(holds, price)]
        if slot.slot_status is not _FREE:
            self._working[price] = slot
        else:
            self._working.pop(price, None)
        if slot.position_qty:
            self._inventory += _signed_position(slot)
            if slot.slot_status is _FREE:
                insort(self._holds[slot.position_side], price)

    def _changed(self, before: Slot, after: Slot, reason: str) -> list[SlotChange]:
        if after == before:
            return []
        self._store(after)
        return [SlotChange(after.price, before, after, reason)]


def _signed_position(slot: Slot) -> Decimal:
    """Held quantity, negative for a short slot (inventory sums these)."""
    return -slot.position_qty if slot.position_side is Side.SELL else slot.position_qty


def _cleared(slot: Slot, **more: Any) -> Slot:
    """The slot with no order working (FREE); position and counters kept; `more`: other fields to set."""
    return slot.evolve(
        slot_status=_FREE,
        client_order_id=None,
        venue_order_id=None,
        order_side=None,
        order_price=None,
        order_qty=ZERO,
        filled_qty=ZERO,
        **more,
    )
