"""The engine's dynamic strategy (§9): the ATR interval widens in a volatile market, at re-centring only;
the inventory skew shifts the grid down as long inventory grows."""

from __future__ import annotations

from decimal import Decimal

from opensqt.engines.grid_config import DynamicIntervalSettings, SkewSettings
from tests.engines.harness import T0, config, params, run_grid


def _minutes(start_ms: int, minutes: int, centre: int, swing: int) -> list[tuple[object, ...]]:
    """Trades every 10 s swinging ± `swing` around `centre`: candles with a range of 2 × swing."""
    rows: list[tuple[object, ...]] = []
    for i in range(minutes * 6):
        price = centre + (swing if i % 2 else -swing)
        rows.append(("trade", start_ms + i * 10_000, str(price), "0.001", "buy" if i % 2 else "sell"))
    return rows


async def test_interval_widens_with_volatility() -> None:
    calm = _minutes(T0 + 1000, 10, 60000, 10)  # 1m true range ~20
    wild = _minutes(T0 + 1000 + 600_000, 10, 60000, 160)  # 1m true range ~320
    dynamic = DynamicIntervalSettings(
        atr_period=3,
        timeframe="1m",
        scale=Decimal(1),
        baseline_atr=Decimal(20),
        min_interval=Decimal(100),
        max_interval=Decimal(1000),
    )
    cfg = config(params=params(buy_window=2, sell_window=2), dynamic=dynamic, cancel_on_exit=False)
    calm_run = await run_grid(calm, cfg=cfg)
    assert calm_run.engine.interval == Decimal(100)  # clamp(100 × 20/20) = 100
    wild_run = await run_grid(calm + wild, cfg=cfg)
    # the first wild candle lifts Wilder's ATR(3) from 20 to (2 × 20 + 320) / 3 = 120: at the next
    # re-centring the interval becomes 100 × 120 / 20 = 600; at that width the swings of ±160 never move
    # the centre again, so it stays (the interval changes only at re-centring)
    assert wild_run.engine.interval == Decimal("600.0")


async def test_inventory_skew_shifts_the_centre_down() -> None:
    skew = SkewSettings(skew_factor=Decimal(1), max_inventory=Decimal(1000), max_shift_intervals=Decimal(1))
    rows = [("trade", T0 + 1000, "60000", "0.5", "buy"), ("trade", T0 + 2000, "59850", "1", "sell")]
    plain = await run_grid(rows, cfg=config(cancel_on_exit=False))
    skewed = await run_grid(rows, cfg=config(skew=skew, cancel_on_exit=False))
    assert plain.engine.slots.inventory == skewed.engine.slots.inventory == Decimal("0.016")
    # 0.016 BTC at 59850 = 957.6 USDT of inventory: shift = -957.6/1000 × 100 = -95.76; the centre snaps
    # from round(59850/100) = 59900 down to round(59754.24/100) = 59800
    assert plain.engine.centre == Decimal("59900.0")
    assert skewed.engine.centre == Decimal("59800.0")
