"""The quiet band: the range of trade prices (in ticks) over which the grid decision provably stays what it
is now, for the current slots and flags. The fast path skips every trade printing inside it.

`decide_grid_orders` reads the price only through the grid centre (a half-interval band) and through
comparisons of fixed levels with `price ± min_distance`; each comparison flips at one tick, so the band is
the centre band cut at every such tick near the price. Where that cannot be shown (a skewed centre that
moves with the price, a closing quota tie) the band is the current price alone.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR

from opensqt.engines.grid_core import GridCore
from opensqt.model import GridMode, Side
from opensqt.trading.logic.grid import GridWindow, holds_near


def quiet_band(core: GridCore, price_ticks: int) -> tuple[int, int]:
    """[lo, hi] in ticks, containing `price_ticks`: every price in it gives the decision the current one.

    Worked in integer ticks: levels are the centre (on the tick) plus whole intervals, and the interval is a
    multiple of the tick (`tick_problem`), so each Decimal comparison of the decision is an integer one here;
    only the min distance (a ratio of the interval) may fall between ticks, and enters as its floor and
    ceiling."""
    price = core.price
    if price is None:
        return price_ticks, price_ticks
    if core.centre_shift(price) != 0:
        return price_ticks, price_ticks  # the skew moves the centre with the price itself
    inst = core.instrument
    tick = inst.tick_size
    params = core.params
    interval = core.interval
    if interval % tick:
        return price_ticks, price_ticks  # levels off the tick: no integer band (the engine refuses this)
    step = int(interval / tick)
    units = (2 * price_ticks + step) // (2 * step)  # round(price / interval), halves up, as grid_centre
    lo = -((step - 2 * units * step) // 2)  # ceil((units - 1/2) × step)
    hi = -((-2 * units * step - step) // 2) - 1  # ceil((units + 1/2) × step) - 1
    centre = units * step
    md = params.min_distance_ratio * step  # in ticks, maybe fractional
    md_up = int(md.to_integral_value(rounding=ROUND_CEILING))
    md_down = int(md.to_integral_value(rounding=ROUND_FLOOR))
    mode = params.grid_mode
    cuts: list[int] = []  # ticks t where some comparison differs between t - 1 and t
    if mode is not GridMode.SHORT:
        for i in range(1, params.buy_window + 1):
            level = centre - i * step
            cuts += (level + md_up, level + 1)
    if mode is not GridMode.LONG:
        for i in range(1, params.sell_window + 1):
            level = centre + i * step
            cuts += (level - md_up + 1, level)
    closing = 0
    lattice = False
    # only holding slots whose close can rest inside this centre's window can ever be chosen
    centre_price = centre * tick
    window = GridWindow(
        centre_price,
        centre_price - params.buy_window * interval,
        centre_price + params.sell_window * interval,
    )
    near = holds_near(core.slots.holds_by_side, core.slots.slots, window, interval, tick)
    for slot_price, slot in near:
        closing += 1
        slot_ticks = slot_price / tick
        if slot_ticks % 1:
            return price_ticks, price_ticks  # a slot off the tick (not one the grid places): no integer band
        side = slot.position_side
        if side is None:
            side = Side.BUY if mode is GridMode.LONG else Side.SELL if mode is GridMode.SHORT else None
        # a closing level that stays beyond `price ± min_distance` over the whole centre band is chosen the
        # same way for every price in it: only levels the band can reach add cuts
        if side is Side.BUY:
            target = int(slot_ticks) + step
            if target - hi > md_down:  # beyond hi + md, hence beyond hi
                continue
            cuts += (target - md_up + 1, target)
            lattice = True
        elif side is Side.SELL:
            target = int(slot_ticks) - step
            if lo - target > md_down:
                continue
            cuts += (target + md_up, target + 1)
            lattice = True
    if closing > 1:
        quota = params.order_cleanup_threshold - core.slots.open_order_count
        if quota < closing + params.buy_window + params.sell_window:
            # the closest closing orders win a short quota, and "closest" moves with the price
            return price_ticks, price_ticks
    if lattice:
        # a closing order whose natural level the price has passed rests at the next lattice level beyond
        # `price ± min_distance`: that level moves with the price
        for k in range(units - 3, units + 4):
            x = k * step
            for f in (x - md_up, x + md_down, x):
                cuts += (f, f + 1, f + 2)
    below = [c for c in cuts if c <= price_ticks]
    above = [c for c in cuts if c > price_ticks]
    if below:
        lo = max(lo, max(below))
    if above:
        hi = min(hi, min(above) - 1)
    return lo, hi
