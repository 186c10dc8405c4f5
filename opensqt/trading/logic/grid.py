"""The trailing grid's decision: a snapshot of price and slots in, the orders to place and cancel out.

Pure and deterministic: the same snapshot always gives the same commands. See docs/GRID.md for the rules.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from opensqt.model import (
    ZERO,
    CancelOrder,
    Command,
    GridMode,
    Instrument,
    OrderType,
    PlaceOrder,
    Side,
    Slot,
    SlotStatus,
    TimeInForce,
)
from opensqt.trading.logic.client_ids import client_order_id
from opensqt.trading.logic.params import GridParams, PostOnlyFallback

_EMPTY_ATTEMPTS: Mapping[Decimal, int] = {}
_LOCKED = SlotStatus.LOCKED
_FREE = SlotStatus.FREE
_BUY = Side.BUY
_SELL = Side.SELL


@dataclass(frozen=True, slots=True)
class GridSnapshot:
    """Everything one decision needs, read by the engine from its state at one instant.

    `slots`: the SlotManager's slots by price level (a missing level is a fresh FREE slot).
    `open_orders`: our orders now PENDING or LOCKED (the quota's base). `interval`: the effective interval;
    `centre_shift`: the inventory skew (both from opensqt.trading.logic.dynamic). `inventory`: signed held
    quantity, carried for the record (the engine derives the shift from it). `paused`, `margin_locked`,
    `risk_triggered`: no new opening orders (the last two also cancel resting ones); `price_stale`: no
    commands at all. `cancels_in_flight`: client ids already being cancelled (not cancelled twice).
    `retired_attempts`: attempt counters of pruned levels, so a revived level never reuses an id.
    `working` and `holds`: when the caller keeps them (the slot manager does), the slots with an order out
    and the prices of the FREE slots holding a position by opening side (None: unknown), ascending; the
    decision then looks only at those that can matter. None: it walks every slot of `slots`.
    """

    price: Decimal
    slots: Mapping[Decimal, Slot]
    open_orders: int
    interval: Decimal
    centre_shift: Decimal = ZERO
    inventory: Decimal = ZERO
    paused: bool = False
    margin_locked: bool = False
    risk_triggered: bool = False
    price_stale: bool = False
    cancels_in_flight: frozenset[str] = frozenset()
    retired_attempts: Mapping[Decimal, int] = field(default_factory=lambda: _EMPTY_ATTEMPTS)
    working: Mapping[Decimal, Slot] | None = None
    holds: Mapping[Side | None, Sequence[Decimal]] | None = None


@dataclass(frozen=True, slots=True)
class GridWindow:
    """The grid around a price: centre and the far edges of the windows for new placements."""

    centre: Decimal
    buy_floor: Decimal  # centre − buy_window × interval: lowest new buy; resting buys below are cancelled
    sell_ceiling: Decimal  # centre + sell_window × interval: highest new sell; resting sells above cancelled


def grid_centre(price: Decimal, interval: Decimal, instrument: Instrument, shift: Decimal = ZERO) -> Decimal:
    """`round((price + shift) / interval) × interval` on the tick grid (half away from zero, as legacy).

    The shift moves the reference before snapping, so levels stay on the interval lattice and slot keys
    stay stable while inventory changes; the centre moves by whole intervals.
    """
    units = ((price + shift) / interval).to_integral_value(rounding=ROUND_HALF_UP)
    # quantize: one exponent for every level, so prices print plainly and slot keys look alike
    return instrument.round_price(units * interval).quantize(instrument.tick_size)


def grid_window(
    price: Decimal, interval: Decimal, params: GridParams, instrument: Instrument, shift: Decimal = ZERO
) -> GridWindow:
    centre = grid_centre(price, interval, instrument, shift)
    return GridWindow(centre, centre - params.buy_window * interval, centre + params.sell_window * interval)


#: the last lattice per (step, count): a memo, not state: results never depend on it, only speed does
_RECENT: dict[tuple[Decimal, int], tuple[Decimal, tuple[Decimal, ...]]] = {}


def _lattice(centre: Decimal, step: Decimal, count: int) -> tuple[Decimal, ...]:
    """centre + i × step for i = 1..count, stopping before zero.

    The decision's hot path looks slots up by level; hashing a fresh Decimal costs far more than a cached
    one (`_decimal` caches an object's hash). So the last lattice is kept, and when the centre has moved
    by k steps the new one reuses the old objects and computes only k new levels.
    """
    key = (step, count)
    recent = _RECENT.get(key)
    if recent is not None:
        old_centre, old = recent
        if old_centre == centre:
            return old
        levels = _shifted(old, old_centre, centre, step, count)
        if levels is not None:
            _RECENT[key] = (centre, levels)
            return levels
    fresh: list[Decimal] = []
    level = centre
    for _ in range(count):
        level += step
        if level <= 0:
            break
        fresh.append(level)
    levels = tuple(fresh)
    if len(_RECENT) > 64:
        _RECENT.clear()
    _RECENT[key] = (centre, levels)
    return levels


def _shifted(
    old: tuple[Decimal, ...], old_centre: Decimal, centre: Decimal, step: Decimal, count: int
) -> tuple[Decimal, ...] | None:
    """The lattice around `centre` from the one around `old_centre`, or None when it cannot be reused."""
    if len(old) != count:
        return None  # truncated at zero: recompute
    moved = (centre - old_centre) / step
    k = int(moved)
    if k != moved or abs(k) >= count:
        return None
    if k > 0:  # moved along the step: drop the k nearest, extend beyond the far end
        tail = [old[-1] + step * j for j in range(1, k + 1)]
        if tail[-1] <= 0:
            return None
        return old[k:] + tuple(tail)
    head = tuple(centre + step * j for j in range(1, -k + 1))
    return head + old[: count + k]


def buy_levels(window: GridWindow, interval: Decimal, params: GridParams) -> tuple[Decimal, ...]:
    """Buy levels, closest first: centre − i × interval for i = 1..buy_window (positive ones only)."""
    return _lattice(window.centre, -interval, params.buy_window)


def sell_levels(window: GridWindow, interval: Decimal, params: GridParams) -> tuple[Decimal, ...]:
    """Sell levels, closest first: centre + i × interval for i = 1..sell_window."""
    return _lattice(window.centre, interval, params.sell_window)


def _opens(slot: Slot, mode: GridMode) -> bool:
    """Whether the slot's working order adds inventory (as opposed to closing what the slot holds)."""
    if slot.position_qty <= 0:
        return True
    return slot.order_side is _position_side(slot, mode)


def _position_side(slot: Slot, mode: GridMode) -> Side | None:
    if slot.position_qty <= 0:
        return None
    if slot.position_side is not None:
        return slot.position_side
    # A slot restored or built without the side: the mode says it (neutral cannot, so None).
    if mode is GridMode.LONG:
        return _BUY
    if mode is GridMode.SHORT:
        return _SELL
    return None


def _time_in_force(slot: Slot | None, params: GridParams) -> TimeInForce | None:
    """Post-only while the slot's failures stay below the limit; then the fallback (None: paused slot)."""
    if not params.post_only:
        return TimeInForce.GTC
    failures = 0 if slot is None else slot.post_only_failures
    if failures < params.post_only_max_failures:
        return TimeInForce.POST_ONLY
    return TimeInForce.GTC if params.post_only_fallback is PostOnlyFallback.LIMIT else None


def decide_grid_orders(snapshot: GridSnapshot, params: GridParams, instrument: Instrument) -> list[Command]:
    """The grid's orders for this instant: cancels first, then placements within the round's quota.

    Placements go only to FREE slots. Opening orders (buys in long mode, sells in short mode, both in
    neutral) go to empty slots at window levels at least `min_distance_ratio × interval` away from the price
    on the passive side. Slots holding a position get their closing order one interval away (or at the
    first passive level when the price has already passed it), when within the window's far edge. Resting
    orders are cancelled only beyond the far edge, or, if margin is locked or risk triggered, when opening.
    """
    if snapshot.price_stale:
        return []
    price = snapshot.price
    interval = snapshot.interval
    mode = params.grid_mode
    window = _window(snapshot, params, instrument)
    buy_floor = window.buy_floor
    sell_ceiling = window.sell_ceiling
    min_distance = params.min_distance_ratio * interval
    highest_buy = price - min_distance  # a new buy must rest at or below this, and below the price
    lowest_sell = price + min_distance
    defensive = snapshot.margin_locked or snapshot.risk_triggered
    symbol = instrument.symbol
    slots = snapshot.slots
    in_flight = snapshot.cancels_in_flight

    commands: list[Command] = []
    closing: list[tuple[Decimal, Slot]] = []
    working = slots if snapshot.working is None else snapshot.working
    if snapshot.holds is not None:
        closing = holds_near(snapshot.holds, slots, window, interval, instrument.tick_size)
    for slot in working.values():
        status = slot.slot_status
        if status is _LOCKED:
            order_price = slot.order_price
            if order_price is None:
                continue
            if slot.order_side is _BUY:
                if order_price < buy_floor:
                    reason = "below the buy window"
                elif defensive and _opens(slot, mode):
                    reason = "margin locked" if snapshot.margin_locked else "risk triggered"
                else:
                    continue
            elif order_price > sell_ceiling:
                reason = "above the sell window"
            elif defensive and _opens(slot, mode):
                reason = "margin locked" if snapshot.margin_locked else "risk triggered"
            else:
                continue
            cid = slot.client_order_id
            if cid is not None and cid not in in_flight:
                commands.append(CancelOrder(cid, symbol, slot.venue_order_id, reason))
        elif status is _FREE and slot.position_qty and snapshot.holds is None:
            closing.append((slot.price, slot))

    quota = params.order_cleanup_threshold - snapshot.open_orders
    if quota <= 0:
        return commands
    placements: list[PlaceOrder] = []
    if not (snapshot.paused or defensive):
        placements = _opening_orders(snapshot, params, instrument, window, highest_buy, lowest_sell, quota)
    if closing and len(placements) < quota:
        placements += _closing_orders(
            closing, snapshot, params, instrument, window, highest_buy, lowest_sell, quota - len(placements)
        )
    commands += placements
    return commands


def decide_slot_orders(
    snapshot: GridSnapshot, params: GridParams, instrument: Instrument, slot_prices: Sequence[Decimal]
) -> list[PlaceOrder]:
    """What `decide_grid_orders` would place now for the slots at `slot_prices` alone. After a fill, the
    filled slot's next order (the close of what it now holds, or a new opening order where its close
    filled) can go out before the rest of the decision (re-quoting and re-centring, most of its cost) is
    worked out. The caller then makes the whole decision, which finds these slots PENDING and places the
    rest: the two together send what the whole decision alone would.

    Empty unless the round's quota cannot bind. The whole decision allots opening orders first (GRID.md),
    so a slot's order is surely part of it only when every window level and every close fit in the quota.
    """
    if snapshot.price_stale:
        return []
    mode = params.grid_mode
    openings = (params.buy_window if mode is not GridMode.SHORT else 0) + (
        params.sell_window if mode is not GridMode.LONG else 0
    )
    if snapshot.holds is not None:
        holding = sum(len(prices) for prices in snapshot.holds.values())
    else:
        working = snapshot.slots if snapshot.working is None else snapshot.working
        holding = sum(1 for s in working.values() if s.slot_status is _FREE and s.position_qty)
    quota = params.order_cleanup_threshold - snapshot.open_orders
    if quota < openings + holding:
        return []
    window = _window(snapshot, params, instrument)
    interval = snapshot.interval
    min_distance = params.min_distance_ratio * interval
    highest_buy = snapshot.price - min_distance
    lowest_sell = snapshot.price + min_distance
    opening = not (snapshot.paused or snapshot.margin_locked or snapshot.risk_triggered)
    closing: list[tuple[Decimal, Slot]] = []
    orders: list[PlaceOrder] = []
    for price in slot_prices:
        slot = snapshot.slots.get(price)
        if slot is not None and slot.slot_status is not _FREE:
            continue
        if slot is not None and slot.position_qty:
            closing.append((price, slot))
            continue
        if not opening:
            continue
        if mode is not GridMode.SHORT and price in buy_levels(window, interval, params):
            side = _BUY
        elif mode is not GridMode.LONG and price in sell_levels(window, interval, params):
            side = _SELL
        else:
            continue
        order = _open_level(price, slot, side, snapshot, params, instrument, highest_buy, lowest_sell)
        if order is not None:
            orders.append(order)
    if closing:
        orders += _closing_orders(
            closing, snapshot, params, instrument, window, highest_buy, lowest_sell, quota
        )
    return orders


def _window(snapshot: GridSnapshot, params: GridParams, instrument: Instrument) -> GridWindow:
    price = snapshot.price
    interval = snapshot.interval
    if price <= 0 or interval <= 0:
        raise ValueError(f"grid decision: price and interval must be > 0, got {price} and {interval}")
    return grid_window(price, interval, params, instrument, snapshot.centre_shift)


def _opening_orders(
    snapshot: GridSnapshot,
    params: GridParams,
    instrument: Instrument,
    window: GridWindow,
    highest_buy: Decimal,
    lowest_sell: Decimal,
    quota: int,
) -> list[PlaceOrder]:
    mode = params.grid_mode
    neutral = mode is GridMode.NEUTRAL
    interval = snapshot.interval
    slots = snapshot.slots
    get = slots.get
    buys: list[PlaceOrder] = []
    sells: list[PlaceOrder] = []
    # hot path: a busy slot is skipped before any other work
    if mode is not GridMode.SHORT:
        for level in buy_levels(window, interval, params):
            slot = get(level)
            if slot is not None and (slot.slot_status is not _FREE or slot.position_qty):
                continue
            order = _open_level(level, slot, _BUY, snapshot, params, instrument, highest_buy, lowest_sell)
            if order is not None:
                buys.append(order)
    if mode is not GridMode.LONG:
        for level in sell_levels(window, interval, params):
            slot = get(level)
            if slot is not None and (slot.slot_status is not _FREE or slot.position_qty):
                continue
            order = _open_level(level, slot, _SELL, snapshot, params, instrument, highest_buy, lowest_sell)
            if order is not None:
                sells.append(order)
    if neutral:
        # both sides open inventory: alternate closest buy, closest sell, ... so a tight quota stays balanced
        merged: list[PlaceOrder] = []
        for i in range(max(len(buys), len(sells))):
            merged += buys[i : i + 1] + sells[i : i + 1]
        return merged[:quota]
    return (buys or sells)[:quota]


def _open_level(
    level: Decimal,
    slot: Slot | None,
    side: Side,
    snapshot: GridSnapshot,
    params: GridParams,
    instrument: Instrument,
    highest_buy: Decimal,
    lowest_sell: Decimal,
) -> PlaceOrder | None:
    """The opening order at a window level whose slot is FREE and empty (`slot` None: a level never used or
    pruned), if it may rest there now."""
    price = snapshot.price
    neutral = params.grid_mode is GridMode.NEUTRAL
    if side is _BUY:
        if level > highest_buy or level >= price:
            return None
        # neutral: a short slot one interval up closes with a buy here; one order per level
        if neutral and _holds(snapshot.slots.get(level + snapshot.interval), _SELL, params.grid_mode):
            return None
    else:
        if level < lowest_sell or level <= price:
            return None
        if neutral and _holds(snapshot.slots.get(level - snapshot.interval), _BUY, params.grid_mode):
            return None
    attempt = snapshot.retired_attempts.get(level, 0) if slot is None else slot.attempt
    tif = _time_in_force(slot, params)
    if tif is None:
        return None
    qty = instrument.qty_for_amount(params.order_amount, level)
    if not instrument.meets_minimums(level, qty) or instrument.notional(level, qty) < params.min_order_value:
        return None
    cid = client_order_id(params.bot_tag, side, level, attempt + 1, instrument.tick_size)
    return PlaceOrder(cid, instrument.symbol, side, qty, level, OrderType.LIMIT, tif, False)


def _holds(slot: Slot | None, side: Side, mode: GridMode) -> bool:
    return slot is not None and slot.position_qty > 0 and _position_side(slot, mode) is side


def holds_near(
    holds: Mapping[Side | None, Sequence[Decimal]],
    slots: Mapping[Decimal, Slot],
    window: GridWindow,
    interval: Decimal,
    tick: Decimal,
) -> list[tuple[Decimal, Slot]]:
    """The holding slots whose close can rest inside the window (see `_close_caps`), found by bisection."""
    sell_cap, buy_cap = _close_caps(window, interval, tick)
    long = holds[_BUY]
    short = holds[_SELL]
    prices = [
        *long[: bisect_right(long, sell_cap)],
        *short[bisect_left(short, buy_cap) :],
        *holds[None],
    ]
    return [(p, slots[p]) for p in prices]


def _close_caps(window: GridWindow, interval: Decimal, tick: Decimal) -> tuple[Decimal, Decimal]:
    """A close rests at least one interval (less half a tick of rounding) from its slot: a long slot above
    the first cap, or a short one below the second, would close outside the window."""
    return window.sell_ceiling - interval + tick, window.buy_floor + interval - tick


def _closing_orders(
    closing: list[tuple[Decimal, Slot]],
    snapshot: GridSnapshot,
    params: GridParams,
    instrument: Instrument,
    window: GridWindow,
    highest_buy: Decimal,
    lowest_sell: Decimal,
    quota: int,
) -> list[PlaceOrder]:
    mode = params.grid_mode
    interval = snapshot.interval
    price = snapshot.price
    reduce_only = mode is not GridMode.NEUTRAL
    tick = instrument.tick_size
    candidates: list[tuple[Decimal, Decimal, PlaceOrder]] = []
    sell_cap, buy_cap = _close_caps(window, interval, tick)  # slots beyond are passed over at once
    for slot_price, slot in closing:
        held = _position_side(slot, mode)
        if held is None:
            continue
        if held is _BUY:
            if slot_price > sell_cap:
                continue  # its close would rest above the window
            side = _SELL
            target = (slot_price + interval).quantize(tick)
            if target < lowest_sell or target <= price:
                # the price already passed the close: rest at the first lattice level that stays passive
                target = instrument.round_price(
                    (lowest_sell / interval).to_integral_value(rounding=ROUND_CEILING) * interval, _SELL
                ).quantize(tick)
                if target <= price:
                    target += interval
            if target > window.sell_ceiling:
                continue
        else:
            if slot_price < buy_cap:
                continue
            side = _BUY
            target = (slot_price - interval).quantize(tick)
            if target > highest_buy or target >= price:
                target = instrument.round_price(
                    (highest_buy / interval).to_integral_value(rounding=ROUND_FLOOR) * interval, _BUY
                ).quantize(tick)
                if target >= price:
                    target -= interval
            if target < window.buy_floor or target <= 0:
                continue
        tif = _time_in_force(slot, params)
        if tif is None:
            continue
        qty = instrument.floor_qty(slot.position_qty)
        # reduce-only orders are exempt from min notional on the venues we trade; the min quantity holds
        if qty <= 0 or qty < instrument.min_qty:
            continue
        if not reduce_only and not instrument.meets_minimums(target, qty):
            continue
        cid = client_order_id(params.bot_tag, side, slot_price, slot.attempt + 1, instrument.tick_size)
        order = PlaceOrder(cid, instrument.symbol, side, qty, target, OrderType.LIMIT, tif, reduce_only)
        candidates.append((abs(target - price), slot_price, order))
    # closest first; equally close ones by slot level, so the choice never depends on iteration order
    candidates.sort(key=lambda c: (c[0], c[1]))
    return [order for _, _, order in candidates[:quota]]
