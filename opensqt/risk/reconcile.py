"""Reconciliation decisions: compare our slots and position with the venue's open orders and position and
decide what to cancel, query, adopt, force-sync or escalate. Pure: the engine fetches and executes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from opensqt.model import ZERO, CancelOrder, Order, Slot, SlotStatus
from opensqt.trading.logic import parse_client_order_id

#: Maps one of our client order ids back to its slot's price; None when it encodes no slot.
SlotPriceDecoder = Callable[[str], Decimal | None]


def grid_slot_decoder(tick_size: Decimal) -> SlotPriceDecoder:
    """The decoder for the grid's client order ids (`opensqt.trading.logic.client_ids`)."""

    def decode(client_order_id: str) -> Decimal | None:
        try:
            return parse_client_order_id(client_order_id, tick_size).slot_price
        except ValueError:
            return None

    return decode


@dataclass(frozen=True, slots=True)
class LocalView:
    """Our state for one symbol: the grid's slots and the signed position we believe we hold."""

    symbol: str
    slots: tuple[Slot, ...]
    position: Decimal


@dataclass(frozen=True, slots=True)
class VenueView:
    """The venue's state for one symbol, fetched just before reconciling."""

    symbol: str
    open_orders: tuple[Order, ...]
    position: Decimal


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    """`position_floor` is the smallest denominator of the divergence ratio (about one lot's worth), so a
    near-flat venue position does not turn a dust difference into a huge percentage. `grace_ms` leaves alone
    slots changed that recently: their order may be in flight."""

    client_id_prefix: str
    position_floor: Decimal
    divergence_limit: Decimal = Decimal("0.05")
    grace_ms: int = 5_000
    slot_price_of: SlotPriceDecoder | None = None

    def __post_init__(self) -> None:
        if not self.client_id_prefix:
            raise ValueError("reconcile client_id_prefix: expected a non-empty prefix")
        if not isinstance(self.position_floor, Decimal) or not self.position_floor > 0:
            raise ValueError(f"reconcile position_floor: expected a Decimal > 0, got {self.position_floor!r}")
        if not isinstance(self.divergence_limit, Decimal) or not self.divergence_limit > 0:
            raise ValueError(
                f"reconcile divergence_limit: expected a Decimal > 0, got {self.divergence_limit!r}"
            )
        if self.grace_ms < 0:
            raise ValueError(f"reconcile grace_ms: expected >= 0, got {self.grace_ms}")


@dataclass(frozen=True, slots=True)
class QueryOrder:
    """The slot's order is no longer open on the venue: fetch it, apply its fill if it filled, else free the
    slot."""

    symbol: str
    slot_price: Decimal
    client_order_id: str
    venue_order_id: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class AdoptOrder:
    """An order of ours, unknown locally, that maps to a free slot: bind it to that slot."""

    slot_price: Decimal
    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class ForceSyncPosition:
    """A small divergence: set the local position to the venue's."""

    symbol: str
    local: Decimal
    venue: Decimal
    divergence: Decimal


@dataclass(frozen=True, slots=True)
class TripBreaker:
    """A large divergence: open the circuit breaker (with `divergence`) and alert."""

    symbol: str
    local: Decimal
    venue: Decimal
    divergence: Decimal
    detail: str


ReconcileAction = CancelOrder | QueryOrder | AdoptOrder | ForceSyncPosition | TripBreaker


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    """One run's decisions and a human-readable finding per decision, for the "last run" display."""

    symbol: str
    at_ms: int
    actions: tuple[ReconcileAction, ...]
    findings: tuple[str, ...]
    matched: int
    foreign: int
    divergence: Decimal

    @property
    def cancels(self) -> tuple[CancelOrder, ...]:
        return tuple(a for a in self.actions if isinstance(a, CancelOrder))

    @property
    def queries(self) -> tuple[QueryOrder, ...]:
        return tuple(a for a in self.actions if isinstance(a, QueryOrder))

    @property
    def adoptions(self) -> tuple[AdoptOrder, ...]:
        return tuple(a for a in self.actions if isinstance(a, AdoptOrder))

    @property
    def position_action(self) -> ForceSyncPosition | TripBreaker | None:
        for a in self.actions:
            if isinstance(a, ForceSyncPosition | TripBreaker):
                return a
        return None

    @property
    def clean(self) -> bool:
        return not self.actions


def _has_order(slot: Slot) -> bool:
    return slot.slot_status is not SlotStatus.FREE


def _describe(order: Order) -> str:
    price = "market" if order.price is None else f"@ {order.price}"
    return f"{order.client_order_id} ({order.side.value} {order.remaining} {price})"


def _check_inputs(local: LocalView, venue: VenueView) -> None:
    if local.symbol != venue.symbol:
        raise ValueError(
            f"reconcile: venue.symbol {venue.symbol!r} differs from local.symbol {local.symbol!r}"
        )
    for i, order in enumerate(venue.open_orders):
        if order.symbol != venue.symbol:
            raise ValueError(
                f"reconcile {venue.symbol}: venue.open_orders[{i}].symbol is {order.symbol!r}, "
                f"expected {venue.symbol!r}"
            )
    seen: set[Decimal] = set()
    for i, slot in enumerate(local.slots):
        if slot.price in seen:
            raise ValueError(f"reconcile {local.symbol}: local.slots[{i}] repeats slot price {slot.price}")
        seen.add(slot.price)


def reconcile(local: LocalView, venue: VenueView, now_ms: int, params: ReconcileConfig) -> ReconcileReport:
    """Decide the reconciliation of one symbol (rules in docs/RISK.md); bad input raises ValueError."""
    _check_inputs(local, venue)
    symbol = local.symbol
    actions: list[ReconcileAction] = []
    findings: list[str] = []

    by_cid = {s.client_order_id: s for s in local.slots if _has_order(s) and s.client_order_id}
    by_vid = {s.venue_order_id: s for s in local.slots if _has_order(s) and s.venue_order_id}
    by_price = {s.price: s for s in local.slots}
    open_orders = sorted((o for o in venue.open_orders if o.is_open), key=lambda o: o.client_order_id)

    matched_slots: set[Decimal] = set()
    adopted_slots: set[Decimal] = set()
    matched = foreign = 0
    for order in open_orders:
        if not order.client_order_id.startswith(params.client_id_prefix):
            foreign += 1
            continue
        slot = by_cid.get(order.client_order_id)
        if slot is None and order.venue_order_id is not None:
            slot = by_vid.get(order.venue_order_id)
        if slot is not None:
            matched += 1
            matched_slots.add(slot.price)
            continue
        target = params.slot_price_of(order.client_order_id) if params.slot_price_of else None
        home = by_price.get(target) if target is not None else None
        if home is not None and not _has_order(home) and home.price not in adopted_slots:
            adopted_slots.add(home.price)
            reason = (
                f"order {_describe(order)} is ours and unknown locally; slot {home.price} is free -> adopt"
            )
            actions.append(AdoptOrder(slot_price=home.price, order=order, reason=reason))
            findings.append(reason)
            continue
        why = "in no slot" if home is None else f"its slot {home.price} already works another order"
        reason = f"orphan order {_describe(order)}: ours by prefix, {why} -> cancel"
        actions.append(
            CancelOrder(
                client_order_id=order.client_order_id,
                symbol=symbol,
                venue_order_id=order.venue_order_id,
                reason=f"reconcile: {reason}",
            )
        )
        findings.append(reason)
    if foreign:
        findings.append(f"{foreign} open order(s) without our prefix {params.client_id_prefix!r} left alone")

    # Slots whose order the venue no longer lists; their unfilled quantity bounds what missed fills explain.
    explain_low = explain_high = ZERO
    for slot in sorted(local.slots, key=lambda s: s.price):
        if not _has_order(slot) or slot.price in matched_slots:
            continue
        unfilled = max(slot.order_qty - slot.filled_qty, ZERO)
        if slot.order_side is not None:
            if slot.order_side.sign > 0:
                explain_high += unfilled
            else:
                explain_low -= unfilled
        if now_ms - slot.ts_update < params.grace_ms:
            findings.append(
                f"slot {slot.price}: {slot.slot_status.value} order {slot.client_order_id} not on the venue, "
                f"changed {now_ms - slot.ts_update} ms ago (< grace {params.grace_ms} ms) -> left for the "
                "next run"
            )
            continue
        if not slot.client_order_id:
            findings.append(
                f"slot {slot.price}: {slot.slot_status.value} without a client order id -> nothing to query"
            )
            continue
        reason = (
            f"slot {slot.price}: {slot.slot_status.value} order {slot.client_order_id} is no longer open on "
            "the venue -> query it, then apply its fill or free the slot"
        )
        actions.append(
            QueryOrder(
                symbol=symbol,
                slot_price=slot.price,
                client_order_id=slot.client_order_id,
                venue_order_id=slot.venue_order_id,
                reason=reason,
            )
        )
        findings.append(reason)

    divergence = _position(local, venue, params, explain_low, explain_high, actions, findings)
    return ReconcileReport(
        symbol=symbol,
        at_ms=now_ms,
        actions=tuple(actions),
        findings=tuple(findings),
        matched=matched,
        foreign=foreign,
        divergence=divergence,
    )


def _position(
    local: LocalView,
    venue: VenueView,
    params: ReconcileConfig,
    explain_low: Decimal,
    explain_high: Decimal,
    actions: list[ReconcileAction],
    findings: list[str],
) -> Decimal:
    """Judge the position; returns the divergence ratio |local − venue| / max(|venue|, floor)."""
    diff = venue.position - local.position
    if diff == 0:
        findings.append(f"position {local.position} matches the venue")
        return ZERO
    divergence = abs(diff) / max(abs(venue.position), params.position_floor)
    text = f"position local {local.position} vs venue {venue.position}: divergence {divergence}"
    # Orders that vanished may have filled while a stream was down: if their unfilled quantity can explain
    # the whole difference, wait for the queries to apply those fills before judging.
    if (explain_low != 0 or explain_high != 0) and explain_low <= diff <= explain_high:
        findings.append(f"{text} may come from fills of vanished orders -> judged after their queries")
        return divergence
    limit = params.divergence_limit
    if divergence < limit:
        actions.append(
            ForceSyncPosition(
                symbol=local.symbol, local=local.position, venue=venue.position, divergence=divergence
            )
        )
        findings.append(f"{text} < {limit} -> force-sync local to the venue")
    else:
        detail = f"{text} >= {limit} -> trip the circuit breaker"
        actions.append(
            TripBreaker(
                symbol=local.symbol,
                local=local.position,
                venue=venue.position,
                divergence=divergence,
                detail=detail,
            )
        )
        findings.append(detail)
    return divergence
