"""Dynamic strategy (REQUIREMENTS §9): ATR-scaled grid interval and the inventory skew of the grid centre."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from opensqt.model import ONE, ZERO, Kline


def true_ranges(klines: Sequence[Kline]) -> list[Decimal]:
    """True range of each candle; the first has no previous close, so its range is high − low."""
    out: list[Decimal] = []
    prev_close: Decimal | None = None
    for k in klines:
        if prev_close is None:
            out.append(k.high - k.low)
        else:
            out.append(max(k.high - k.low, abs(k.high - prev_close), abs(k.low - prev_close)))
        prev_close = k.close
    return out


def atr(klines: Sequence[Kline], period: int) -> Decimal:
    """Wilder's average true range over `klines` (oldest first, closed candles).

    Seeded with the mean of the first `period` true ranges, then `atr = (atr × (period − 1) + tr) / period`.
    """
    if period < 1:
        raise ValueError(f"atr: period must be >= 1, got {period}")
    if len(klines) < period:
        raise ValueError(f"atr: needs at least {period} klines, got {len(klines)}")
    trs = true_ranges(klines)
    value = sum(trs[:period], ZERO) / period
    for tr in trs[period:]:
        value = (value * (period - 1) + tr) / period
    return value


def dynamic_interval(
    base: Decimal,
    scale: Decimal,
    atr_value: Decimal,
    baseline_atr: Decimal,
    min_interval: Decimal,
    max_interval: Decimal,
    tick: Decimal,
) -> Decimal:
    """`clamp(base × scale × atr / baseline, min, max)` rounded to the nearest tick, never below one tick.

    Wider in a volatile regime (ATR above its baseline), narrower in a calm one. The engine applies a new
    value only when it re-centres, so resting orders keep the interval they were placed with.
    """
    if baseline_atr <= 0:
        raise ValueError(f"dynamic interval: baseline_atr must be > 0, got {baseline_atr}")
    if tick <= 0:
        raise ValueError(f"dynamic interval: tick must be > 0, got {tick}")
    if min_interval <= 0 or max_interval < min_interval:
        raise ValueError(
            f"dynamic interval: need 0 < min_interval <= max_interval, got {min_interval} and {max_interval}"
        )
    if atr_value < 0:
        raise ValueError(f"dynamic interval: atr must be >= 0, got {atr_value}")
    raw = base * scale * atr_value / baseline_atr
    clamped = min(max(raw, min_interval), max_interval)
    rounded = (clamped / tick).to_integral_value(rounding=ROUND_HALF_UP) * tick
    return max(rounded, tick)


def inventory_skew(
    inventory: Decimal,
    max_inventory: Decimal,
    interval: Decimal,
    skew_factor: Decimal,
    max_shift_intervals: Decimal = ONE,
) -> Decimal:
    """Centre shift `−skew_factor × inventory / max_inventory × interval`, bounded to ± max_shift_intervals.

    Long inventory shifts the grid down (buy lower, sell sooner); short inventory shifts it up.
    """
    if max_inventory <= 0:
        raise ValueError(f"inventory skew: max_inventory must be > 0, got {max_inventory}")
    if skew_factor < 0 or max_shift_intervals < 0:
        raise ValueError("inventory skew: skew_factor and max_shift_intervals must be >= 0")
    shift = -skew_factor * inventory / max_inventory * interval
    bound = max_shift_intervals * interval
    return min(max(shift, -bound), bound)
