"""Funding arbitrage decisions: APR per real interval, cost-aware entry, exit, flip, emergencies, switch."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from opensqt.trading.logic.funding import (
    Blocked,
    ExitAction,
    ExitReason,
    FundingParams,
    FundingQuote,
    LegRef,
    PerpHealth,
    PositionHealth,
    annualise,
    basis_drift_bps,
    cost_apr,
    cross_spread,
    decide_cross_entry,
    decide_exit,
    decide_spot_perp_entry,
    entry_threshold,
    held_apr,
    round_trip_cost,
    should_switch,
    spot_perp_spread,
)

NOW = 1_700_000_000_000
SPOT = LegRef("binance", "BTC/USDT", spot=True)
P = FundingParams()


def q(venue: str, rate: str, hours: str = "8", ts: int = NOW) -> FundingQuote:
    return FundingQuote(venue, "BTC/USDT:USDT", D(rate), D(hours), ts)


def test_apr_uses_each_venues_real_interval() -> None:
    assert annualise(D("0.0001"), D(8)) == D("0.1095")
    assert annualise(D("0.0001"), D(4)) == D("0.2190")
    assert annualise(D("0.0001"), D(1)) == D("0.8760")


def test_spot_perp_positive_funding_is_long_spot_short_perp() -> None:
    s = spot_perp_spread(SPOT, q("binance", "0.0003"))
    assert (s.long, s.short.symbol, s.apr) == (SPOT, "BTC/USDT:USDT", D("0.3285"))
    assert not s.needs_margin_short


def test_spot_perp_negative_funding_is_margin_short_spot_long_perp() -> None:
    s = spot_perp_spread(SPOT, q("binance", "-0.0003"))
    assert s.long == LegRef("binance", "BTC/USDT:USDT")
    assert s.short == SPOT and s.needs_margin_short
    assert s.apr == D("0.3285")


def test_cross_spread_longs_the_lower_annualised_rate() -> None:
    # 0.015% every 8h (16.425% APR) against 0.01% every 4h (21.9% APR): the 4h venue is the richer one.
    s = cross_spread(q("binance", "0.00015", "8"), q("bybit", "0.0001", "4"))
    assert (s.long.venue, s.short.venue) == ("binance", "bybit")
    assert s.apr == D("0.054750")


def test_entry_threshold_adds_round_trip_costs_annualised_over_holding() -> None:
    rt = round_trip_cost(D("0.001"), D("0.0005"), D("5"))
    assert rt == D("0.0050")
    assert cost_apr(rt, 72) == D("0.0050") * 8760 / 72
    assert entry_threshold(P, D("0.001"), D("0.0005")) == D("0.10") + D("0.0050") * D(8760) / D(72)


def test_entry_needs_apr_above_threshold() -> None:
    fees = (D("0.001"), D("0.0005"))
    assert (
        decide_spot_perp_entry(P, SPOT, q("binance", "0.0006"), fees, NOW).blocked is Blocked.BELOW_THRESHOLD
    )
    ok = decide_spot_perp_entry(P, SPOT, q("binance", "0.0007"), fees, NOW)
    assert ok.enter and ok.spread is not None and ok.spread.apr == D("0.7665")


def test_stale_or_missing_funding_blocks_entry() -> None:
    fees = (D("0.0005"), D("0.0005"))
    stale = q("bybit", "0.002", ts=NOW - P.funding_stale_ms - 1)
    assert decide_cross_entry(P, q("binance", "0"), stale, fees, NOW).blocked is Blocked.STALE_FUNDING
    assert decide_cross_entry(P, q("binance", "0"), None, fees, NOW).blocked is Blocked.MISSING_FUNDING
    fresh = q("bybit", "0.002", ts=NOW - P.funding_stale_ms)
    assert decide_cross_entry(P, q("binance", "0"), fresh, fees, NOW).enter


def test_risk_and_margin_block_entry() -> None:
    fees = (D("0.001"), D("0.0005"))
    assert decide_spot_perp_entry(P, SPOT, q("binance", "0.002"), fees, NOW, True).blocked is Blocked.RISK
    neg = decide_spot_perp_entry(P, SPOT, q("binance", "-0.002"), fees, NOW)
    assert neg.blocked is Blocked.NEEDS_MARGIN
    margin = FundingParams(use_margin=True)
    assert decide_spot_perp_entry(margin, SPOT, q("binance", "-0.002"), fees, NOW).enter


def test_exit_on_low_spread_and_on_sign_flip() -> None:
    none = PositionHealth()
    assert decide_exit(P, D("0.02"), none) is None
    low = decide_exit(P, D("0.005"), none)
    assert low is not None and (low.reason, low.emergency) == (ExitReason.SPREAD_BELOW_EXIT, False)
    flip = decide_exit(P, D("-0.0001"), none)
    assert flip is not None and flip.reason is ExitReason.SIGN_FLIP
    assert decide_exit(P, None, none) is None  # unknown funding alone never trades


def test_held_apr_short_receives_long_pays() -> None:
    long, short = LegRef("a", "X"), LegRef("b", "X")
    quotes = {
        ("a", "X"): FundingQuote("a", "X", D("0.0001"), D(8), NOW),
        ("b", "X"): FundingQuote("b", "X", D("0.0001"), D(4), NOW),
    }
    assert held_apr(long, short, quotes) == D("0.1095")
    assert held_apr(LegRef("s", "X/Y", spot=True), short, quotes) == D("0.2190")
    assert held_apr(long, LegRef("c", "X"), quotes) is None


def test_liquidation_distance_is_an_emergency() -> None:
    near = PositionHealth(perps=(PerpHealth(D("109"), D("100")),))
    far = PositionHealth(perps=(PerpHealth(D("110"), D("100")),))
    d = decide_exit(P, D("0.5"), near)
    assert d is not None and (d.reason, d.emergency) == (ExitReason.LIQUIDATION_DISTANCE, True)
    assert decide_exit(P, D("0.5"), far) is None


def test_basis_stop_needs_three_consecutive_intervals() -> None:
    two = PositionHealth(basis_bps=(D(-6), D(1), D(-6), D(-6)))
    three = PositionHealth(basis_bps=(D(1), D(-6), D("-5.01"), D(-7)))
    assert decide_exit(P, D("0.5"), two) is None
    d = decide_exit(P, D("0.5"), three)
    assert d is not None and d.reason is ExitReason.BASIS_STOP
    assert decide_exit(P, D("0.5"), PositionHealth(basis_bps=(D(-6), D(-6), D(-5)))) is None


def test_basis_drift_sign() -> None:
    # Long at 100, short at 100; the short leg rallies to 100.1 while the long stays: we lose 10 bps.
    assert basis_drift_bps(D(100), D(100), D(100), D("100.1")) == D(-10)


def test_margin_health_cuts_half_then_exits() -> None:
    half = decide_exit(P, D("0.5"), PositionHealth(margin_health=D("0.69")))
    assert half is not None and half.action is ExitAction.REDUCE_HALF
    out = decide_exit(P, D("0.5"), PositionHealth(margin_health=D("0.49")))
    assert out is not None and out.action is ExitAction.EXIT and out.reason is ExitReason.MARGIN_HEALTH
    assert decide_exit(P, D("0.5"), PositionHealth(margin_health=D("0.7"))) is None


def test_switch_only_when_a_weeks_extra_yield_covers_twice_the_fees() -> None:
    rt = D("0.004")  # 0.4% round trip -> needs > 0.8% extra over a week = 41.71% APR more
    assert not should_switch(D("0.20"), D("0.61"), rt)
    assert should_switch(D("0.20"), D("0.62"), rt)


@given(
    rate=st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=8),
    hours=st.sampled_from([D(1), D(2), D(4), D(8)]),
)
def test_spot_perp_spread_is_never_negative_and_matches_abs_apr(rate: D, hours: D) -> None:
    s = spot_perp_spread(SPOT, FundingQuote("binance", "BTC/USDT:USDT", rate, hours, NOW))
    assert s.apr == abs(annualise(rate, hours))
    assert s.long.spot != s.short.spot


@given(
    ra=st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=8),
    rb=st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=8),
    ha=st.sampled_from([D(1), D(4), D(8)]),
    hb=st.sampled_from([D(1), D(4), D(8)]),
)
def test_cross_spread_is_symmetric_and_non_negative(ra: D, rb: D, ha: D, hb: D) -> None:
    a, b = FundingQuote("a", "X", ra, ha, NOW), FundingQuote("b", "X", rb, hb, NOW)
    s1, s2 = cross_spread(a, b), cross_spread(b, a)
    assert s1.apr == s2.apr >= 0
    assert s1.apr == abs(a.apr - b.apr)
