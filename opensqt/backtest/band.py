"""The quiet band: the range of trade prices (in ticks) over which the grid decision provably stays what it
is now, for the current slots and flags. The fast path skips every trade printing inside it.

`decide_grid_orders` reads the price only through the grid centre (a half-interval band) and through
comparisons of fixed levels with `price ± min_distance`; each comparison flips at one tick, so the band is
the centre band cut at every such tick near the price. Where that cannot be shown (a skewed centre that
moves with the price, a closing quota tie) the band is the current price alone.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from opensqt.engines.grid_core import GridCore
from opensqt.model import GridMode, Side
from opensqt.trading.logic.grid import grid_window, holds_near

_HALF = Decimal("0.5")


def _ceil(x: Decimal, tick: Decimal) -> int:
    return int((x / tick).to_integral_value(rounding=ROUND_CEILING))


def _floor(x: Decimal, tick: Decimal) -> int:
    return int((x / tick).to_integral_value(rounding=ROUND_FLOOR))


def quiet_band(core: GridCore, price_ticks: int) -> tuple[int, int]:
    """[lo, hi] in ticks, containing `price_ticks`: every price in it gives the decision the current one."""
    price = core.price
    if price is None:
        return price_ticks, price_ticks
    if core.centre_shift(price) != 0:
        return price_ticks, price_ticks  # the skew moves the centre with the price itself
    inst = core.instrument
    tick = inst.tick_size
    params = core.params
    interval = core.interval
    units = (price / interval).to_integral_value(rounding=ROUND_HALF_UP)
    lo = _ceil((units - _HALF) * interval, tick)
    hi = _ceil((units + _HALF) * interval, tick) - 1
    centre = grid_centre_of(units, core)
    md = params.min_distance_ratio * interval
    mode = params.grid_mode
    cuts: list[int] = []  # ticks t where some comparison differs between t - 1 and t
    if mode is not GridMode.SHORT:
        for i in range(1, params.buy_window + 1):
            level = centre - i * interval
            cuts += (_ceil(level + md, tick), _floor(level, tick) + 1)
    if mode is not GridMode.LONG:
        for i in range(1, params.sell_window + 1):
            level = centre + i * interval
            cuts += (_floor(level - md, tick) + 1, _ceil(level, tick))
    lo_price = lo * tick
    hi_price = hi * tick
    closing = 0
    lattice = False
    # only holding slots whose close can rest inside this centre's window can ever be chosen
    window = grid_window(price, interval, params, inst)
    near = holds_near(core.slots.holds_by_side, core.slots.slots, window, interval, tick)
    for _, slot in near:
        closing += 1
        side = slot.position_side
        if side is None:
            side = Side.BUY if mode is GridMode.LONG else Side.SELL if mode is GridMode.SHORT else None
        # a closing level that stays beyond `price ± min_distance` over the whole centre band is chosen the
        # same way for every price in it: only levels the band can reach add cuts
        if side is Side.BUY:
            target = slot.price + interval
            if target - md > hi_price and target > hi_price:
                continue
            cuts += (_floor(target - md, tick) + 1, _ceil(target, tick))
            lattice = True
        elif side is Side.SELL:
            target = slot.price - interval
            if target + md < lo_price and target < lo_price:
                continue
            cuts += (_ceil(target + md, tick), _floor(target, tick) + 1)
            lattice = True
    if closing > 1:
        quota = params.order_cleanup_threshold - core.slots.open_order_count
        if quota < closing + params.buy_window + params.sell_window:
            # the closest closing orders win a short quota, and "closest" moves with the price
            return price_ticks, price_ticks
    if lattice:
        # a closing order whose natural level the price has passed rests at the next lattice level beyond
        # `price ± min_distance`: that level moves with the price
        for k in range(int(units) - 3, int(units) + 4):
            x = k * interval
            for y in (x - md, x + md, x):
                f = _floor(y, tick)
                cuts += (f, f + 1, f + 2)
    below = [c for c in cuts if c <= price_ticks]
    above = [c for c in cuts if c > price_ticks]
    if below:
        lo = max(lo, max(below))
    if above:
        hi = min(hi, min(above) - 1)
    return lo, hi


def grid_centre_of(units: Decimal, core: GridCore) -> Decimal:
    """The centre `grid_centre` gives for these interval units (on the tick grid)."""
    inst = core.instrument
    return inst.round_price(units * core.interval).quantize(inst.tick_size)
