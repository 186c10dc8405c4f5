"""Market data value objects."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.model import BookTop, FundingRate, Kline, timeframe_ms


def test_kline_validates_its_range() -> None:
    k = Kline("S", "1m", 0, Decimal(10), Decimal(12), Decimal(9), Decimal(11), Decimal(5))
    assert k.closed
    with pytest.raises(ValueError, match="within"):
        Kline("S", "1m", 0, Decimal(10), Decimal(12), Decimal(9), Decimal(13), Decimal(5))
    with pytest.raises(ValueError, match="volume"):
        Kline("S", "1m", 0, Decimal(10), Decimal(12), Decimal(9), Decimal(11), Decimal(-1))


def test_timeframes_and_book() -> None:
    assert timeframe_ms("1m") == 60_000 and timeframe_ms("4h") == 14_400_000
    with pytest.raises(ValueError, match="timeframe"):
        timeframe_ms("7m")
    assert BookTop("S", Decimal("1.0"), Decimal(1), Decimal("1.2"), Decimal(1)).mid == Decimal("1.1")
    with pytest.raises(ValueError, match="interval_hours"):
        FundingRate("S", Decimal("0.0001"), Decimal(0))
