"""`LegManager`: the long and short legs of each arbitrage position (venue, product, size, entry price,
funding, fees, realized PnL), idempotent under replayed executions and funding, re-synced from venue sizes.
Pure state: no I/O, no clock."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from opensqt.model import ZERO, Side


class LegRole(StrEnum):
    LONG = "long"
    SHORT = "short"

    @property
    def opening_side(self) -> Side:
        return Side.BUY if self is LegRole.LONG else Side.SELL


class Phase(StrEnum):
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg. `size` is what it holds, unsigned (the role gives the direction), in base units."""

    role: LegRole
    venue: str
    symbol: str
    product: str  # "spot" or "perp"
    lot_size: Decimal
    size: Decimal = ZERO
    entry_price: Decimal | None = None
    funding: Decimal = ZERO
    fees: Decimal = ZERO
    realized_pnl: Decimal = ZERO

    @property
    def signed_size(self) -> Decimal:
        return self.size if self.role is LegRole.LONG else -self.size


@dataclass(frozen=True, slots=True)
class ArbPosition:
    """A delta-neutral pair. `key` names it (the perp symbol); `position_id` is unique per opening."""

    position_id: str
    key: str
    long: Leg
    short: Leg
    phase: Phase
    opened_at: int
    updated_at: int

    def leg(self, role: LegRole) -> Leg:
        return self.long if role is LegRole.LONG else self.short

    @property
    def naked(self) -> Decimal:
        """Unhedged quantity: the difference between the legs."""
        return abs(self.long.size - self.short.size)

    @property
    def tolerance(self) -> Decimal:
        """One lot of the coarser venue: finer differences cannot be traded away."""
        return max(self.long.lot_size, self.short.lot_size)

    @property
    def delta_neutral(self) -> bool:
        return self.naked < self.tolerance

    @property
    def funding(self) -> Decimal:
        return self.long.funding + self.short.funding

    @property
    def fees(self) -> Decimal:
        return self.long.fees + self.short.fees

    @property
    def realized_pnl(self) -> Decimal:
        return self.long.realized_pnl + self.short.realized_pnl

    @property
    def net_pnl(self) -> Decimal:
        """Funding plus realized price PnL minus fees."""
        return self.funding + self.realized_pnl - self.fees


@dataclass(frozen=True, slots=True)
class SizeResynced:
    """A leg's size differed from the venue's and was replaced by it."""

    key: str
    role: LegRole
    old: Decimal
    new: Decimal


class LegStateError(ValueError):
    """A request the leg book cannot honour (unknown position, second position on a key...)."""


class LegManager:
    """Legs per position key. Every change is keyed (`ref`): a replay after a crash changes nothing twice."""

    def __init__(self) -> None:
        self._active: dict[str, ArbPosition] = {}
        self._closed: list[ArbPosition] = []
        self._seen: set[str] = set()

    # --- reading ---------------------------------------------------------------------------------

    def get(self, key: str) -> ArbPosition | None:
        return self._active.get(key)

    def active(self) -> list[ArbPosition]:
        return sorted(self._active.values(), key=lambda p: (p.opened_at, p.key))

    def closed(self) -> list[ArbPosition]:
        return list(self._closed)

    def find_leg(self, venue: str, symbol: str) -> tuple[ArbPosition, LegRole] | None:
        for pos in self._active.values():
            for role in LegRole:
                leg = pos.leg(role)
                if leg.venue == venue and leg.symbol == symbol:
                    return pos, role
        return None

    @property
    def total_funding(self) -> Decimal:
        return sum((p.funding for p in [*self._closed, *self._active.values()]), ZERO)

    # --- changes ---------------------------------------------------------------------------------

    def open(self, position_id: str, key: str, long: Leg, short: Leg, ts_ms: int) -> ArbPosition:
        """Start tracking a position (phase OPENING, legs empty). Re-opening the same id is a no-op."""
        existing = self._active.get(key)
        if existing is not None:
            if existing.position_id == position_id:
                return existing
            raise LegStateError(f"position {key}: already held as {existing.position_id}")
        if long.role is not LegRole.LONG or short.role is not LegRole.SHORT:
            raise LegStateError(f"position {key}: legs must be (long, short)")
        pos = ArbPosition(position_id, key, long, short, Phase.OPENING, ts_ms, ts_ms)
        self._active[key] = pos
        return pos

    def set_phase(self, key: str, phase: Phase, ts_ms: int) -> ArbPosition:
        pos = self._require(key)
        pos = replace(pos, phase=phase, updated_at=ts_ms)
        if phase is Phase.CLOSED:
            del self._active[key]
            self._closed.append(pos)
        else:
            self._active[key] = pos
        return pos

    def apply_execution(
        self,
        key: str,
        role: LegRole,
        side: Side,
        qty: Decimal,
        price: Decimal,
        fee: Decimal,
        ref: str,
        ts_ms: int,
    ) -> ArbPosition:
        """Book an execution on a leg: the opening side grows it at an averaged entry, the other side
        shrinks it and realizes PnL against the entry. Seen `ref`s change nothing."""
        pos = self._require(key)
        if ref in self._seen or qty <= 0:
            return pos
        if price <= 0:
            raise LegStateError(f"execution {ref}: price must be > 0, got {price}")
        self._seen.add(ref)
        leg = pos.leg(role)
        if side is role.opening_side:
            entry = leg.entry_price if leg.entry_price is not None else price
            new_entry = (leg.size * entry + qty * price) / (leg.size + qty)
            leg = replace(leg, size=leg.size + qty, entry_price=new_entry, fees=leg.fees + fee)
        else:
            closed = min(qty, leg.size)
            entry = leg.entry_price if leg.entry_price is not None else price
            direction = 1 if role is LegRole.LONG else -1
            realized = (price - entry) * closed * direction
            size = leg.size - closed
            leg = replace(
                leg,
                size=size,
                entry_price=leg.entry_price if size > 0 else None,
                fees=leg.fees + fee,
                realized_pnl=leg.realized_pnl + realized,
            )
        return self._put(pos, role, leg, ts_ms)

    def apply_funding(
        self, venue: str, symbol: str, amount: Decimal, ts_event: int, position_id: str | None = None
    ) -> ArbPosition | None:
        """Book a funding payment (+ received) on the leg held on `venue`/`symbol`; None if no leg is.
        `position_id`: book it on that position, also once it has closed (a payment for a funding time it
        held through can be booked by the venue after the exit)."""
        ref = f"funding:{venue}:{symbol}:{ts_event}"
        if position_id is not None:
            for i in range(len(self._closed) - 1, -1, -1):
                closed = self._closed[i]
                role = _role_on(closed, venue, symbol)
                if closed.position_id != position_id or role is None:
                    continue
                if ref in self._seen:
                    return closed
                self._seen.add(ref)
                leg = closed.leg(role)
                leg = replace(leg, funding=leg.funding + amount)
                closed = replace(closed, long=leg) if role is LegRole.LONG else replace(closed, short=leg)
                self._closed[i] = closed
                return closed
        found = self.find_leg(venue, symbol)
        if found is not None and position_id is not None and found[0].position_id != position_id:
            found = None
        if found is None or ref in self._seen:
            return None if found is None else found[0]
        self._seen.add(ref)
        pos, role = found
        leg = pos.leg(role)
        return self._put(pos, role, replace(leg, funding=leg.funding + amount), ts_event)

    def sync(self, venue: str, symbol: str, venue_size: Decimal, ts_ms: int) -> SizeResynced | None:
        """Take the venue's signed size as the truth for the leg on `venue`/`symbol` (start-up and after
        every order update). Returns what changed, or None."""
        found = self.find_leg(venue, symbol)
        if found is None:
            return None
        pos, role = found
        leg = pos.leg(role)
        held = venue_size if role is LegRole.LONG else -venue_size
        held = max(ZERO, held)  # a leg pointing the wrong way holds nothing of ours
        if held == leg.size:
            return None
        self._put(pos, role, replace(leg, size=held), ts_ms)
        return SizeResynced(pos.key, role, leg.size, held)

    def restore(self, position: ArbPosition) -> None:
        """Put back a position loaded from the store (start-up)."""
        if position.phase is Phase.CLOSED:
            self._closed.append(position)
        else:
            self._active[position.key] = position

    # --- internals -------------------------------------------------------------------------------

    def _require(self, key: str) -> ArbPosition:
        pos = self._active.get(key)
        if pos is None:
            raise LegStateError(f"position {key}: not held")
        return pos

    def _put(self, pos: ArbPosition, role: LegRole, leg: Leg, ts_ms: int) -> ArbPosition:
        pos = (
            replace(pos, long=leg, updated_at=max(pos.updated_at, ts_ms))
            if role is LegRole.LONG
            else replace(pos, short=leg, updated_at=max(pos.updated_at, ts_ms))
        )
        self._active[pos.key] = pos
        return pos


def _role_on(pos: ArbPosition, venue: str, symbol: str) -> LegRole | None:
    for role in LegRole:
        leg = pos.leg(role)
        if leg.venue == venue and leg.symbol == symbol:
            return role
    return None
