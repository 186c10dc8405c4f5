"""Start-up restore: rebuild FILLED slots from a position already held on the venue (GRID.md)."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from opensqt.model import GridMode, Instrument, PositionStatus, Side, Slot


def restore_slots_from_position(
    position: Decimal,
    anchor: Decimal,
    interval: Decimal,
    order_amount: Decimal,
    instrument: Instrument,
    mode: GridMode,
) -> list[Slot]:
    """Spread a venue position over slots beyond the anchor, one grid level apart.

    Each slot holds what one level buys: `order_amount / anchor` in base units floored to the lot (the
    legacy code mixed base quantity and quote amount here; this does not). Count = ceil(position / that);
    the last slot holds the remainder, so the slots sum exactly to the position. A long position (> 0) sits
    in slots above the anchor (their closing sells one interval higher), a short one below it. In neutral
    mode the sign of the position says which.
    """
    if anchor <= 0 or interval <= 0 or order_amount <= 0:
        raise ValueError(
            f"restore: anchor, interval and order_amount must be > 0, "
            f"got {anchor}, {interval}, {order_amount}"
        )
    if position == 0:
        return []
    if (position > 0 and mode is GridMode.SHORT) or (position < 0 and mode is GridMode.LONG):
        raise ValueError(f"restore: a position of {position} does not fit grid mode {mode.value}")
    size = abs(position)
    if not instrument.is_on_lot(size):
        raise ValueError(f"restore: position {position} is not a multiple of the lot {instrument.lot_size}")
    per_slot = instrument.floor_qty(order_amount / (anchor * instrument.contract_size))
    if per_slot <= 0:
        raise ValueError(f"restore: order_amount {order_amount} buys less than one lot at {anchor}")
    count = int((size / per_slot).to_integral_value(rounding=ROUND_CEILING))
    side = Side.BUY if position > 0 else Side.SELL
    step = interval if position > 0 else -interval
    slots: list[Slot] = []
    for i in range(1, count + 1):
        price = instrument.round_price(anchor + i * step)
        if price <= 0:
            raise ValueError(f"restore: level {i} below the anchor {anchor} would be at or below zero")
        qty = per_slot if i < count else size - per_slot * (count - 1)
        slots.append(
            Slot(price=price, position_status=PositionStatus.FILLED, position_qty=qty, position_side=side)
        )
    return slots
