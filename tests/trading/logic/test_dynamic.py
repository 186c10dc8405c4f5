"""ATR (Wilder), the ATR-scaled interval and the inventory skew."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import Kline
from opensqt.trading.logic import atr, dynamic_interval, inventory_skew, true_ranges

D = Decimal


def k(i: int, o: str, h: str, low: str, c: str) -> Kline:
    return Kline("BTC/USDT:USDT", "1m", i * 60_000, D(o), D(h), D(low), D(c), D(1))


KLINES = [
    k(0, "9", "10", "8", "9"),  # tr 2 (no previous close)
    k(1, "10", "11", "9", "10"),  # tr max(2, |11 − 9|, |9 − 9|) = 2
    k(2, "10", "12", "9", "11"),  # tr 3
    k(3, "12", "15", "11", "14"),  # tr 4
    k(4, "13", "14", "10", "10"),  # tr max(4, 0, |10 − 14|) = 4
]


def test_true_ranges_use_the_previous_close() -> None:
    assert true_ranges(KLINES) == [D(2), D(2), D(3), D(4), D(4)]
    gap = [k(0, "10", "10", "10", "10"), k(1, "20", "21", "20", "21")]
    assert true_ranges(gap) == [D(0), D(11)]


def test_wilder_atr_exact() -> None:
    # seed (2 + 2 + 3) / 3 = 7/3; then (7/3 × 2 + 4) / 3 = 26/9; then (26/9 × 2 + 4) / 3 = 88/27
    assert atr(KLINES[:3], 3) == D(7) / 3
    assert atr(KLINES, 3).quantize(D("1e-20")) == (D(88) / 27).quantize(D("1e-20"))
    assert atr(KLINES, 1) == D(4)


def test_atr_refuses_too_few_klines_or_a_bad_period() -> None:
    with pytest.raises(ValueError, match="needs at least 6 klines, got 5"):
        atr(KLINES, 6)
    with pytest.raises(ValueError, match="period must be >= 1"):
        atr(KLINES, 0)


def test_interval_widens_with_volatility_clamped_and_on_the_tick() -> None:
    args = (D("0.5"), D(5), D("0.1"))
    assert dynamic_interval(D(1), D(1), D(10), D(10), *args) == D(1)
    assert dynamic_interval(D(1), D(1), D(25), D(10), *args) == D("2.5")
    assert dynamic_interval(D(1), D("1.5"), D(23), D(10), *args) == D("3.5")  # 3.45 rounds half up
    assert dynamic_interval(D(1), D(1), D(100), D(10), *args) == D(5)
    assert dynamic_interval(D(1), D(1), D(1), D(10), *args) == D("0.5")
    assert dynamic_interval(D(1), D(1), D(0), D(10), D("0.01"), D(5), D("0.1")) == D("0.1")  # >= one tick


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((D(1), D(1), D(1), D(0), D(1), D(2), D("0.1")), "baseline_atr must be > 0"),
        ((D(1), D(1), D(1), D(1), D(1), D(2), D(0)), "tick must be > 0"),
        ((D(1), D(1), D(1), D(1), D(3), D(2), D("0.1")), "min_interval <= max_interval"),
        ((D(1), D(1), D(-1), D(1), D(1), D(2), D("0.1")), "atr must be >= 0"),
    ],
)
def test_dynamic_interval_refuses_bad_input(args: tuple[Decimal, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dynamic_interval(*args)


def test_skew_shifts_down_when_long_and_up_when_short_bounded() -> None:
    assert inventory_skew(D(5), D(10), D(2), D(1)) == D(-1)
    assert inventory_skew(D(-5), D(10), D(2), D(1)) == D(1)
    assert inventory_skew(D(50), D(10), D(2), D(1)) == D(-2)  # bounded to one interval
    assert inventory_skew(D(50), D(10), D(2), D(1), max_shift_intervals=D(3)) == D(-6)
    assert inventory_skew(D(0), D(10), D(2), D(1)) == 0
    with pytest.raises(ValueError, match="max_inventory must be > 0"):
        inventory_skew(D(1), D(0), D(1), D(1))
    with pytest.raises(ValueError, match="skew_factor and max_shift_intervals must be >= 0"):
        inventory_skew(D(1), D(1), D(1), D(-1))


@given(inv=st.integers(-(10**6), 10**6), factor=st.integers(0, 5))
def test_skew_never_exceeds_its_bound_and_opposes_inventory(inv: int, factor: int) -> None:
    shift = inventory_skew(D(inv), D(1000), D(2), D(factor))
    assert abs(shift) <= D(2)
    assert shift * inv <= 0
