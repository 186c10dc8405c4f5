"""The quiet band in integer ticks (`opensqt.backtest.band`) equals the same rules worked in Decimal prices
(kept here as the reference: every comparison of the decision as it reads), at every state a backtest asks
about: Hypothesis-chosen synthetic markets and grids, plus the recorded capture."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from decimal import Decimal as D
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.backtest import BacktestConfig, run_backtest
from opensqt.backtest import band as band_module
from opensqt.data import SyntheticMarket, crash, range_bound, recovery, trend
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.engines.grid_core import GridCore
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP
from opensqt.model import GridMode, Side
from opensqt.trading.logic import GridParams
from opensqt.trading.logic.grid import grid_window, holds_near
from tests.backtest.test_fidelity import capture


def _ceil(x: Decimal, tick: Decimal) -> int:
    return int((x / tick).to_integral_value(rounding=ROUND_CEILING))


def _floor(x: Decimal, tick: Decimal) -> int:
    return int((x / tick).to_integral_value(rounding=ROUND_FLOOR))


_HALF = Decimal("0.5")


def _ceil(x: Decimal, tick: Decimal) -> int:
    return int((x / tick).to_integral_value(rounding=ROUND_CEILING))


def _floor(x: Decimal, tick: Decimal) -> int:
    return int((x / tick).to_integral_value(rounding=ROUND_FLOOR))


def reference_band(core: GridCore, price_ticks: int) -> tuple[int, int]:
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
    centre = _centre_of(units, core)
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


def _centre_of(units: Decimal, core: GridCore) -> Decimal:
    """The centre `grid_centre` gives for these interval units (on the tick grid)."""
    inst = core.instrument
    return inst.round_price(units * core.interval).quantize(inst.tick_size)


def _checked(calls: list[int]):  # type: ignore[no-untyped-def]
    def band(core: GridCore, price_ticks: int) -> tuple[int, int]:
        fast = band_module.quiet_band(core, price_ticks)
        assert fast == reference_band(core, price_ticks), (price_ticks, core.interval, core.price)
        calls.append(1)
        return fast

    return band


def _run(config: BacktestConfig, data) -> int:  # type: ignore[no-untyped-def]
    calls: list[int] = []
    with mock.patch("opensqt.backtest.driver.quiet_band", _checked(calls)):
        run_backtest(config, data)
    return len(calls)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    regs=st.lists(
        st.sampled_from([range_bound(2), trend(2), trend(2, -0.0008), crash(1), recovery(2)]),
        min_size=1,
        max_size=3,
    ),
    interval=st.sampled_from([D("0.01"), D("0.5"), D(1), D("2.5"), D("3.33"), D(4)]),
    windows=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    mode=st.sampled_from(list(GridMode)),
    ratio=st.sampled_from([D(0), D("0.1"), D("0.25"), D("0.333"), D("0.9")]),
    threshold=st.integers(2, 50),
)
def test_the_integer_band_equals_the_decimal_rules_on_synthetic_markets(
    seed: int,
    regs: list,
    interval: D,
    windows: tuple[int, int],
    mode: GridMode,
    ratio: D,
    threshold: int,
) -> None:
    data = SyntheticMarket([ETH_USDT_PERP], seed=seed, regimes=regs, step_ms=500).generate()
    engine = GridEngineConfig(
        symbol=ETH_USDT_PERP.symbol,
        params=GridParams(
            interval=interval,
            order_amount=D(50),
            buy_window=windows[0],
            sell_window=windows[1],
            grid_mode=mode,
            min_distance_ratio=ratio,
            order_cleanup_threshold=threshold,
        ),
    )
    assert _run(BacktestConfig(engine, initial_balance=D(2000)), data) > 0


def test_the_integer_band_equals_the_decimal_rules_on_the_capture() -> None:
    engine = GridEngineConfig(
        symbol=BTC_USDT_PERP.symbol,
        params=GridParams(interval=D(10), order_amount=D(300), buy_window=5, sell_window=5),
    )
    assert _run(BacktestConfig(engine), capture()) > 100
