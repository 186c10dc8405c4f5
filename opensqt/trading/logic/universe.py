"""Pure universe selection for funding arbitrage: pair symbols across the two legs, keep those liquid on both,
and score them by annualised yield x stability x persistence of the funding spread (ARBITRAGE.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from opensqt.model import ZERO
from opensqt.trading.logic.funding import (
    FundingQuote,
    LegRef,
    Spread,
    annualise,
    cross_spread,
    spot_perp_spread,
)


@dataclass(frozen=True, slots=True)
class MarketStats:
    """One symbol on one venue as a bulk scan sees it. `history` holds recent funding rates per interval,
    oldest first (empty for spot)."""

    symbol: str
    quote_volume_24h: Decimal
    funding: FundingQuote | None = None
    history: tuple[Decimal, ...] = ()


@dataclass(frozen=True, slots=True)
class UniverseParams:
    min_volume_24h: Decimal = Decimal("10000000")
    min_history: int = 3
    #: |mean|/std is unbounded for a constant series; capped so one calm symbol cannot win on stability alone.
    stability_cap: Decimal = Decimal(10)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tradable pair and its score. `key` is the perp symbol that names the position."""

    key: str
    spread: Spread
    stability: Decimal
    persistence: Decimal
    score: Decimal


def spot_symbol_of(perp_symbol: str) -> str:
    """`BTC/USDT:USDT` -> `BTC/USDT` (ccxt unified symbols)."""
    return perp_symbol.split(":", 1)[0]


def stability(samples: Sequence[Decimal], cap: Decimal) -> Decimal:
    """|mean| / population std of the samples, capped at `cap` (and `cap` for a constant non-zero series)."""
    n = len(samples)
    if n == 0:
        return ZERO
    mean = sum(samples, ZERO) / n
    var = sum(((s - mean) ** 2 for s in samples), ZERO) / n
    if var == 0:
        return cap if mean != 0 else ZERO
    return min(cap, abs(mean) / var.sqrt())


def persistence(samples: Sequence[Decimal], positive: bool) -> Decimal:
    """Share of samples with the sign we would trade (zero counts as neither)."""
    if not samples:
        return ZERO
    same = sum(1 for s in samples if (s > 0 if positive else s < 0))
    return Decimal(same) / len(samples)


def _score(
    key: str, spread: Spread, signed: Sequence[Decimal], positive: bool, params: UniverseParams
) -> Candidate | None:
    if len(signed) < params.min_history:
        return None
    stab = stability(signed, params.stability_cap)
    pers = persistence(signed, positive)
    return Candidate(key, spread, stab, pers, spread.apr * stab * pers)


def scan_spot_perp(
    venue: str,
    spot: Mapping[str, MarketStats],
    perps: Mapping[str, MarketStats],
    params: UniverseParams,
) -> list[Candidate]:
    """Score every perp of `venue` whose spot market is listed too, liquid enough on both; best first."""
    out: list[Candidate] = []
    for key, perp in perps.items():
        spot_stats = spot.get(spot_symbol_of(key))
        if spot_stats is None or perp.funding is None:
            continue
        if min(perp.quote_volume_24h, spot_stats.quote_volume_24h) < params.min_volume_24h:
            continue
        spread = spot_perp_spread(LegRef(venue, spot_stats.symbol, spot=True), perp.funding)
        interval = perp.funding.interval_hours
        signed = [annualise(r, interval) for r in perp.history]
        found = _score(key, spread, signed, perp.funding.rate >= 0, params)
        if found is not None:
            out.append(found)
    return _rank(out)


def scan_cross(
    a: Mapping[str, MarketStats],
    b: Mapping[str, MarketStats],
    params: UniverseParams,
) -> list[Candidate]:
    """Score every perp listed on both venues and liquid on both; best first. The history is the APR
    difference b - a per interval (aligned on the most recent), each side annualised with its own interval."""
    out: list[Candidate] = []
    for key, sa in a.items():
        sb = b.get(key)
        if sb is None or sa.funding is None or sb.funding is None:
            continue
        if min(sa.quote_volume_24h, sb.quote_volume_24h) < params.min_volume_24h:
            continue
        spread = cross_spread(sa.funding, sb.funding)
        n = min(len(sa.history), len(sb.history))
        ia, ib = sa.funding.interval_hours, sb.funding.interval_hours
        signed = [
            annualise(rb, ib) - annualise(ra, ia)
            for ra, rb in zip(
                sa.history[len(sa.history) - n :], sb.history[len(sb.history) - n :], strict=True
            )
        ]
        short_is_b = spread.short.venue == sb.funding.venue
        found = _score(key, spread, signed, short_is_b, params)
        if found is not None:
            out.append(found)
    return _rank(out)


def _rank(found: list[Candidate]) -> list[Candidate]:
    return sorted(found, key=lambda c: (-c.score, c.key))
