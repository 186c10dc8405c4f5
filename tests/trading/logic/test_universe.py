"""Universe scoring: volume filter on both legs, yield x stability x persistence, ranking."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from opensqt.trading.logic.funding import FundingQuote
from opensqt.trading.logic.universe import (
    MarketStats,
    UniverseParams,
    persistence,
    scan_cross,
    scan_spot_perp,
    stability,
)

NOW = 1_700_000_000_000
P = UniverseParams(min_volume_24h=D(1_000_000))


def perp(
    venue: str, sym: str, rate: str, hist: list[str], vol: int = 5_000_000, hours: int = 8
) -> MarketStats:
    return MarketStats(
        sym, D(vol), FundingQuote(venue, sym, D(rate), D(hours), NOW), tuple(D(h) for h in hist)
    )


def test_stability_and_persistence_exact() -> None:
    assert stability([D(1), D(3)], D(10)) == D(2)  # mean 2, std 1
    assert stability([D(2), D(2)], D(10)) == D(10)
    assert stability([D(0), D(0)], D(10)) == D(0)
    assert persistence([D(1), D(-1), D(2), D(0)], True) == D("0.5")
    assert persistence([D(1), D(-1), D(2), D(0)], False) == D("0.25")


def test_spot_perp_scan_filters_volume_on_both_legs_and_ranks() -> None:
    spot = {
        "BTC/USDT": MarketStats("BTC/USDT", D(9_000_000)),
        "ETH/USDT": MarketStats("ETH/USDT", D(9_000_000)),
        "SOL/USDT": MarketStats("SOL/USDT", D(10)),  # illiquid spot: filtered
    }
    perps = {
        "BTC/USDT:USDT": perp("b", "BTC/USDT:USDT", "0.0002", ["0.0001", "0.0003", "0.0002"]),
        "ETH/USDT:USDT": perp("b", "ETH/USDT:USDT", "0.0001", ["0.0001", "0.0001", "-0.0001"]),
        "SOL/USDT:USDT": perp("b", "SOL/USDT:USDT", "0.001", ["0.001", "0.001", "0.001"]),
        "XRP/USDT:USDT": perp("b", "XRP/USDT:USDT", "0.001", ["0.001"] * 3),  # no spot market
    }
    found = scan_spot_perp("b", spot, perps, P)
    assert [c.key for c in found] == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    btc = found[0]
    # history APRs 0.1095, 0.3285, 0.2190: mean 0.2190, std 0.0894..., persistence 1
    assert btc.persistence == 1
    assert btc.spread.apr == D("0.2190")
    assert btc.score == btc.spread.apr * btc.stability
    eth = found[1]
    assert eth.persistence == D(2) / D(3)


def test_cross_scan_uses_each_venues_interval() -> None:
    a = {"BTC/USDT:USDT": perp("a", "BTC/USDT:USDT", "0.0001", ["0.0001"] * 3, hours=8)}
    b = {"BTC/USDT:USDT": perp("b", "BTC/USDT:USDT", "0.0001", ["0.0001"] * 3, hours=4)}
    (c,) = scan_cross(a, b, P)
    assert (c.spread.long.venue, c.spread.short.venue, c.spread.apr) == ("a", "b", D("0.1095"))
    assert c.persistence == 1 and c.stability == P.stability_cap
    assert c.score == D("0.1095") * 10


@given(st.lists(st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=6), min_size=3, max_size=20))
def test_scores_are_bounded_by_yield_times_cap(hist: list[D]) -> None:
    a = {"X": perp("a", "X", "0", ["0"] * len(hist))}
    b = {"X": MarketStats("X", D(5_000_000), FundingQuote("b", "X", D("0.001"), D(8), NOW), tuple(hist))}
    for c in scan_cross(a, b, P):
        assert D(0) <= c.score <= c.spread.apr * P.stability_cap
        assert D(0) <= c.persistence <= 1
