"""Pure funding-rate arbitrage decisions (ARBITRAGE.md): spreads, APR with each venue's real interval, the
cost-aware entry threshold, exit, sign flip and emergency rules. No I/O, no clock: time comes in as epoch ms.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from opensqt.model import ZERO

HOURS_PER_YEAR = Decimal(8760)
BPS = Decimal(10_000)


class Shape(StrEnum):
    SPOT_PERP = "spot_perp"  # same venue: spot and its perpetual
    CROSS = "cross"  # perp against perp on two venues


@dataclass(frozen=True, slots=True)
class FundingQuote:
    """The current funding of one perpetual on one venue. `ts_ms` is when we received it."""

    venue: str
    symbol: str
    rate: Decimal
    interval_hours: Decimal
    ts_ms: int
    next_funding_time: int = 0  # 0: not applicable

    def __post_init__(self) -> None:
        if self.interval_hours <= 0:
            raise ValueError(
                f"funding {self.venue} {self.symbol}: interval_hours must be > 0, got {self.interval_hours}"
            )

    @property
    def apr(self) -> Decimal:
        return annualise(self.rate, self.interval_hours)


def annualise(rate: Decimal, interval_hours: Decimal) -> Decimal:
    """APR of a per-interval rate: `rate x 8760 / interval_hours` (a 4h venue pays twice as often as 8h)."""
    if interval_hours <= 0:
        raise ValueError(f"interval_hours: expected > 0, got {interval_hours}")
    return rate * HOURS_PER_YEAR / interval_hours


@dataclass(frozen=True, slots=True)
class LegRef:
    """One side of a trade: which venue and instrument, and whether it is spot (pays no funding)."""

    venue: str
    symbol: str
    spot: bool = False


@dataclass(frozen=True, slots=True)
class Spread:
    """What holding `long` against `short` earns now, annualised (> 0: we are paid)."""

    shape: Shape
    long: LegRef
    short: LegRef
    apr: Decimal

    @property
    def needs_margin_short(self) -> bool:
        return self.short.spot


def spot_perp_spread(spot: LegRef, perp: FundingQuote) -> Spread:
    """Positive funding: long spot, short perp. Negative: margin-short spot, long perp. Spot pays nothing,
    so the spread is the perp's funding, signed to what we would earn."""
    perp_leg = LegRef(perp.venue, perp.symbol)
    if perp.rate >= 0:
        return Spread(Shape.SPOT_PERP, spot, perp_leg, perp.apr)
    return Spread(Shape.SPOT_PERP, perp_leg, LegRef(spot.venue, spot.symbol, spot=True), -perp.apr)


def cross_spread(a: FundingQuote, b: FundingQuote) -> Spread:
    """Long the perp with the lower annualised rate, short the higher: spread = APR(short) - APR(long).

    Compared annualised, not per interval: 0.01% every 4h beats 0.015% every 8h.
    """
    low, high = (a, b) if a.apr <= b.apr else (b, a)
    return Spread(
        Shape.CROSS, LegRef(low.venue, low.symbol), LegRef(high.venue, high.symbol), high.apr - low.apr
    )


def held_apr(long: LegRef, short: LegRef, quotes: dict[tuple[str, str], FundingQuote]) -> Decimal | None:
    """What an open position earns now (the long leg pays its funding, the short leg receives it);
    None when a perp leg's funding is unknown."""
    total = ZERO
    for leg, sign in ((long, -1), (short, 1)):
        if leg.spot:
            continue
        quote = quotes.get((leg.venue, leg.symbol))
        if quote is None:
            return None
        total += sign * quote.apr
    return total


# --- costs and thresholds ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FundingParams:
    """Thresholds of the arbitrage logic (config `arbitrage:`). Fractions are plain Decimals: 0.10 = 10%."""

    min_spread_apr: Decimal = Decimal("0.10")
    exit_spread_apr: Decimal = Decimal("0.01")
    liquidation_threshold: Decimal = Decimal("0.10")
    holding_period_hours: int = 72
    slippage_bps: Decimal = Decimal("5")
    funding_stale_ms: int = 600_000
    use_margin: bool = False
    basis_stop_bps: Decimal = Decimal("-5")
    basis_stop_intervals: int = 3
    margin_health_exit: Decimal = Decimal("0.5")
    margin_health_reduce: Decimal = Decimal("0.7")
    switch_enabled: bool = True
    #: A position younger than this is never switched: funding prints are noisy, and churn costs fees.
    switch_min_hold_ms: int = 24 * 3_600_000
    #: The week of extra yield must cover this many times the switch's own cost (exit held + enter new).
    switch_cost_multiple: Decimal = Decimal(2)

    def __post_init__(self) -> None:
        if self.exit_spread_apr >= self.min_spread_apr:
            raise ValueError(
                f"exit_spread_apr: expected less than min_spread_apr ({self.min_spread_apr}), "
                f"got {self.exit_spread_apr}"
            )
        if self.holding_period_hours < 1 or self.funding_stale_ms < 1 or self.basis_stop_intervals < 1:
            raise ValueError("holding_period_hours, funding_stale_ms and basis_stop_intervals must be >= 1")
        if self.switch_min_hold_ms < 0 or self.switch_cost_multiple < 0:
            raise ValueError("switch_min_hold_ms and switch_cost_multiple must be >= 0")
        if not 0 < self.liquidation_threshold < 1:
            raise ValueError(
                f"liquidation_threshold: expected a fraction in (0, 1), got {self.liquidation_threshold}"
            )


def round_trip_cost(fee_long: Decimal, fee_short: Decimal, slippage_bps: Decimal) -> Decimal:
    """Cost of entering and leaving both legs as a fraction of one leg's notional: four taker orders, each
    paying its venue's fee and the expected slippage."""
    return 2 * (fee_long + fee_short) + 4 * slippage_bps / BPS


def cost_apr(round_trip: Decimal, holding_period_hours: int) -> Decimal:
    """Round-trip cost annualised over the expected holding period (paid once per holding period)."""
    return round_trip * HOURS_PER_YEAR / Decimal(holding_period_hours)


def entry_threshold(params: FundingParams, fee_long: Decimal, fee_short: Decimal) -> Decimal:
    """The APR a spread must exceed to enter: `min_spread_apr + annualised round-trip costs`."""
    return params.min_spread_apr + cost_apr(
        round_trip_cost(fee_long, fee_short, params.slippage_bps), params.holding_period_hours
    )


def is_fresh(quote: FundingQuote | None, now_ms: int, ttl_ms: int) -> bool:
    return quote is not None and 0 <= now_ms - quote.ts_ms <= ttl_ms


# --- entry ---------------------------------------------------------------------------------------------


class Blocked(StrEnum):
    STALE_FUNDING = "stale_funding"
    MISSING_FUNDING = "missing_funding"
    BELOW_THRESHOLD = "below_threshold"
    NEEDS_MARGIN = "needs_margin"
    RISK = "risk_triggered"


@dataclass(frozen=True, slots=True)
class EntryDecision:
    """`spread` qualifies when `blocked` is None; `threshold` is what it had to beat."""

    spread: Spread | None
    threshold: Decimal
    blocked: Blocked | None

    @property
    def enter(self) -> bool:
        return self.blocked is None


def decide_spot_perp_entry(
    params: FundingParams,
    spot: LegRef,
    perp: FundingQuote | None,
    fees: tuple[Decimal, Decimal],
    now_ms: int,
    risk_triggered: bool = False,
) -> EntryDecision:
    """Whether to open spot against perp now. `fees` are the (spot, perp) taker fees."""
    threshold = entry_threshold(params, fees[0], fees[1])
    if perp is None:
        return EntryDecision(None, threshold, Blocked.MISSING_FUNDING)
    spread = spot_perp_spread(spot, perp)
    return _gate(params, spread, threshold, [perp], now_ms, risk_triggered)


def decide_cross_entry(
    params: FundingParams,
    a: FundingQuote | None,
    b: FundingQuote | None,
    fees: tuple[Decimal, Decimal],
    now_ms: int,
    risk_triggered: bool = False,
) -> EntryDecision:
    """Whether to open perp against perp now. `fees` are the taker fees of venue a and venue b."""
    threshold = entry_threshold(params, fees[0], fees[1])
    if a is None or b is None:
        return EntryDecision(None, threshold, Blocked.MISSING_FUNDING)
    return _gate(params, cross_spread(a, b), threshold, [a, b], now_ms, risk_triggered)


def _gate(
    params: FundingParams,
    spread: Spread,
    threshold: Decimal,
    quotes: Sequence[FundingQuote],
    now_ms: int,
    risk_triggered: bool,
) -> EntryDecision:
    if risk_triggered:
        return EntryDecision(spread, threshold, Blocked.RISK)
    if not all(is_fresh(q, now_ms, params.funding_stale_ms) for q in quotes):
        return EntryDecision(spread, threshold, Blocked.STALE_FUNDING)
    if spread.needs_margin_short and not params.use_margin:
        return EntryDecision(spread, threshold, Blocked.NEEDS_MARGIN)
    if spread.apr <= threshold:
        return EntryDecision(spread, threshold, Blocked.BELOW_THRESHOLD)
    return EntryDecision(spread, threshold, None)


# --- exit and emergencies ------------------------------------------------------------------------------


class ExitReason(StrEnum):
    SPREAD_BELOW_EXIT = "spread_below_exit"
    SIGN_FLIP = "funding_sign_flip"
    LIQUIDATION_DISTANCE = "liquidation_distance"
    BASIS_STOP = "basis_stop"
    MARGIN_HEALTH = "margin_health"
    RISK_POLICY = "risk_policy"
    SWITCH = "switch"
    SHUTDOWN = "shutdown"


class ExitAction(StrEnum):
    EXIT = "exit"
    REDUCE_HALF = "reduce_half"


@dataclass(frozen=True, slots=True)
class PerpHealth:
    """A perp leg's distance to liquidation: both prices from the venue's position report."""

    liquidation_price: Decimal | None
    mark_price: Decimal | None


@dataclass(frozen=True, slots=True)
class PositionHealth:
    """What the emergency rules look at. `basis_bps` holds one sample per funding interval, oldest first
    (see `basis_drift_bps`); `margin_health` is a unified account's health ratio (1 healthy, 0 liquidated),
    None where the venue has no unified account."""

    perps: tuple[PerpHealth, ...] = ()
    basis_bps: tuple[Decimal, ...] = ()
    margin_health: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ExitDecision:
    action: ExitAction
    reason: ExitReason
    emergency: bool


def basis_drift_bps(
    long_entry: Decimal, short_entry: Decimal, long_now: Decimal, short_now: Decimal
) -> Decimal:
    """What the price legs of a delta-neutral position have made since entry, in bps of the long price.

    Long L and short S gain `(S_entry - L_entry) - (S_now - L_now)` per unit: negative when the basis moved
    against us. The basis stop fires on this being under -5 bps for 3 funding intervals in a row.
    """
    if long_now <= 0:
        raise ValueError(f"long_now: expected a price > 0, got {long_now}")
    return ((short_entry - long_entry) - (short_now - long_now)) / long_now * BPS


def emergency(params: FundingParams, health: PositionHealth) -> ExitDecision | None:
    """The rules that bypass every spread check: liquidation distance, basis stop, unified margin health."""
    for perp in health.perps:
        liq, mark = perp.liquidation_price, perp.mark_price
        if (
            liq is not None
            and mark is not None
            and mark > 0
            and abs(liq - mark) / mark < params.liquidation_threshold
        ):
            return ExitDecision(ExitAction.EXIT, ExitReason.LIQUIDATION_DISTANCE, True)
    n = params.basis_stop_intervals
    recent = health.basis_bps[-n:]
    if len(recent) == n and all(b < params.basis_stop_bps for b in recent):
        return ExitDecision(ExitAction.EXIT, ExitReason.BASIS_STOP, True)
    if health.margin_health is not None:
        if health.margin_health < params.margin_health_exit:
            return ExitDecision(ExitAction.EXIT, ExitReason.MARGIN_HEALTH, True)
        if health.margin_health < params.margin_health_reduce:
            return ExitDecision(ExitAction.REDUCE_HALF, ExitReason.MARGIN_HEALTH, True)
    return None


def decide_exit(
    params: FundingParams,
    held: Decimal | None,
    health: PositionHealth,
    policy_exit: bool = False,
) -> ExitDecision | None:
    """Whether to leave an open position now. `held` is its current APR (`held_apr`), None when a leg's
    funding is unknown (then only emergencies can close it: a missing number is no reason to trade)."""
    urgent = emergency(params, health)
    if urgent is not None:
        return urgent
    if policy_exit:
        return ExitDecision(ExitAction.EXIT, ExitReason.RISK_POLICY, True)
    if held is None:
        return None
    if held < 0:
        return ExitDecision(ExitAction.EXIT, ExitReason.SIGN_FLIP, False)
    if held < params.exit_spread_apr:
        return ExitDecision(ExitAction.EXIT, ExitReason.SPREAD_BELOW_EXIT, False)
    return None


def margin_health(margin_balance: Decimal, maintenance_margin: Decimal) -> Decimal:
    """A unified account's health ratio: `1 - maintenance / margin balance`, 1 with nothing at risk, 0 when
    the margin balance is down to the maintenance margin (where the venue liquidates) or below."""
    if margin_balance <= 0:
        return ZERO
    return min(Decimal(1), max(ZERO, 1 - maintenance_margin / margin_balance))


# --- switching ------------------------------------------------------------------------------------------

WEEK_HOURS = Decimal(7 * 24)


def switch_cost(
    held_fees: tuple[Decimal, Decimal], candidate_fees: tuple[Decimal, Decimal], slippage_bps: Decimal
) -> Decimal:
    """What a switch costs as a fraction of one leg's notional: close both held legs and open both candidate
    legs, four taker orders, each paying its venue's fee and the expected slippage."""
    return sum(held_fees, ZERO) + sum(candidate_fees, ZERO) + 4 * slippage_bps / BPS


def should_switch(
    current_apr: Decimal, candidate_apr: Decimal, round_trip: Decimal, multiple: Decimal = Decimal(2)
) -> bool:
    """Move a position to a better symbol only when the extra yield over a week covers `multiple` (2 in the
    spec) times the round-trip fees (`round_trip` as a fraction of notional, e.g. from `switch_cost`)."""
    return week_gain(current_apr, candidate_apr) > multiple * round_trip


def week_gain(current_apr: Decimal, candidate_apr: Decimal) -> Decimal:
    """The extra yield of a week in the candidate, as a fraction of notional."""
    return (candidate_apr - current_apr) * WEEK_HOURS / HOURS_PER_YEAR


@dataclass(frozen=True, slots=True)
class HeldYield:
    """An open position as the switch rule sees it: its current APR (None: a leg's funding is unknown),
    when it was opened, and the taker fees of its (long, short) legs."""

    key: str
    apr: Decimal | None
    opened_at: int
    fees: tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class CandidateYield:
    """A symbol that qualifies for entry now (`EntryDecision.enter`): its spread APR, (long, short) fees."""

    key: str
    apr: Decimal
    fees: tuple[Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class SwitchDecision:
    """Leave `exit_key`, then enter `enter_key`: a week of `gain` beats `multiple x cost`."""

    exit_key: str
    enter_key: str
    held_apr: Decimal
    candidate_apr: Decimal
    gain: Decimal
    cost: Decimal


def decide_switch(
    params: FundingParams,
    held: Sequence[HeldYield],
    candidates: Sequence[CandidateYield],
    now_ms: int,
) -> SwitchDecision | None:
    """The best switch, if any: over every (held, candidate) pair whose position is past the minimum hold
    and whose APR is known, the one whose week of extra yield most exceeds `switch_cost_multiple` times its
    cost. Ties go to the lower (held key, candidate key), so the choice does not depend on input order."""
    if not params.switch_enabled:
        return None
    best: tuple[Decimal, str, str] | None = None
    found: SwitchDecision | None = None
    for h in held:
        if h.apr is None or now_ms - h.opened_at < params.switch_min_hold_ms:
            continue
        for c in candidates:
            if c.key == h.key:
                continue
            cost = switch_cost(h.fees, c.fees, params.slippage_bps)
            if not should_switch(h.apr, c.apr, cost, params.switch_cost_multiple):
                continue
            gain = week_gain(h.apr, c.apr)
            rank = (-(gain - params.switch_cost_multiple * cost), h.key, c.key)
            if best is None or rank < best:
                best = rank
                found = SwitchDecision(h.key, c.key, h.apr, c.apr, gain, cost)
    return found
