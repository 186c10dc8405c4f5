"""Pre-flight checks (REQUIREMENTS §2.1): pure judgements over facts fetched from each venue before trading;
one clear failure per failed check, naming the venue and the numbers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class PositionMode(StrEnum):
    ONE_WAY = "one_way"
    HEDGE = "hedge"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"  # a spot leg has no position mode


class PreflightCheck(StrEnum):
    BALANCE = "balance"
    LEVERAGE = "leverage"
    FEES = "fees"
    NET_PROFIT = "net_profit"
    POSITION_MODE = "position_mode"
    PRICE_STREAM = "price_stream"
    ORDER_STREAM = "order_stream"
    FUNDING_STREAM = "funding_stream"


class FeeBasis(StrEnum):
    """The fee a grid round trip pays on both legs: maker for post-only quoting, taker when it falls back."""

    MAKER = "maker"
    TAKER = "taker"


@dataclass(frozen=True, slots=True)
class VenueFacts:
    """What the engine fetched from one venue. A fee of None means it could not be fetched;
    `funding_stream_healthy` None means the venue has no funding stream."""

    venue: str
    balance: Decimal
    leverage: int
    price: Decimal
    maker_fee: Decimal | None
    taker_fee: Decimal | None
    position_mode: PositionMode
    price_stream_healthy: bool
    order_stream_healthy: bool
    funding_stream_healthy: bool | None = None
    quote: str = "USDT"


@dataclass(frozen=True, slots=True)
class PreflightConfig:
    """Legacy defaults: 30 USDT per order, 100 positions covered, leverage ≤ 10, interval 1.0, maker fees.

    `leverage`, when set, is the leverage the engine configured: the venue must report exactly it.
    `max_fee` is the highest acceptable fee rate per side (0 and rebates are fine).
    """

    order_amount: Decimal = Decimal(30)
    position_safety_check: int = 100
    max_leverage: int = 10
    leverage: int | None = None
    interval: Decimal = Decimal(1)
    max_fee: Decimal = Decimal("0.001")
    fee_basis: FeeBasis = FeeBasis.MAKER
    require_funding_stream: bool = False

    def __post_init__(self) -> None:
        if not self.order_amount > 0:
            raise ValueError(f"order_amount: expected > 0, got {self.order_amount}")
        if self.position_safety_check < 1:
            raise ValueError(f"position_safety_check: expected >= 1, got {self.position_safety_check}")
        if self.max_leverage < 1:
            raise ValueError(f"max_leverage: expected >= 1, got {self.max_leverage}")
        if self.leverage is not None and not 1 <= self.leverage <= self.max_leverage:
            raise ValueError(f"leverage: expected 1..max_leverage {self.max_leverage}, got {self.leverage}")
        if not self.interval > 0:
            raise ValueError(f"interval: expected > 0, got {self.interval}")
        if self.max_fee < 0:
            raise ValueError(f"max_fee: expected >= 0, got {self.max_fee}")


@dataclass(frozen=True, slots=True)
class PreflightFailure:
    venue: str
    check: PreflightCheck
    message: str

    def __str__(self) -> str:
        return self.message


def run_preflight(facts: Sequence[VenueFacts], params: PreflightConfig) -> list[PreflightFailure]:
    """Every failed check of every venue, venues in the given order, checks in a fixed order. Empty: go."""
    if not facts:
        raise ValueError("preflight facts: expected at least one venue, got none")
    failures: list[PreflightFailure] = []
    for venue in facts:
        failures.extend(_check_venue(venue, params))
    return failures


def _check_venue(f: VenueFacts, p: PreflightConfig) -> list[PreflightFailure]:
    out: list[PreflightFailure] = []

    def fail(check: PreflightCheck, message: str) -> None:
        out.append(PreflightFailure(f.venue, check, f"{f.venue}: {message}"))

    # Balance: legacy rule balance × leverage / order_amount ≥ position_safety_check, compared as a product.
    need = p.order_amount * p.position_safety_check
    buying_power = f.balance * max(f.leverage, 1)
    if buying_power < need:
        covered = int(buying_power // p.order_amount) if buying_power > 0 else 0
        fail(
            PreflightCheck.BALANCE,
            f"balance {f.balance} {f.quote} × leverage {f.leverage} = {buying_power} covers {covered} "
            f"positions of {p.order_amount} {f.quote}; need {p.position_safety_check} ({need} {f.quote})",
        )

    if f.leverage < 1 or f.leverage > p.max_leverage:
        fail(PreflightCheck.LEVERAGE, f"leverage {f.leverage}x outside 1..{p.max_leverage}x allowed")
    elif p.leverage is not None and f.leverage != p.leverage:
        fail(PreflightCheck.LEVERAGE, f"leverage {f.leverage}x on the venue, configured {p.leverage}x")

    fee = f.maker_fee if p.fee_basis is FeeBasis.MAKER else f.taker_fee
    if f.maker_fee is None or f.taker_fee is None:
        missing = " and ".join(
            name for name, v in (("maker", f.maker_fee), ("taker", f.taker_fee)) if v is None
        )
        fail(PreflightCheck.FEES, f"{missing} fee rate not fetched")
    else:
        too_high = [
            f"{name} {v}" for name, v in (("maker", f.maker_fee), ("taker", f.taker_fee)) if v > p.max_fee
        ]
        if too_high:
            fail(PreflightCheck.FEES, f"fee rate {', '.join(too_high)} above the acceptable {p.max_fee}")

    if fee is not None:
        if f.price <= 0:
            fail(PreflightCheck.NET_PROFIT, f"price {f.price} is not > 0; cannot judge the round-trip profit")
        else:
            # Per unit: buy at P, sell at P + interval, pay `fee` on both notionals.
            net = p.interval - fee * (2 * f.price + p.interval)
            if net <= 0:
                fail(
                    PreflightCheck.NET_PROFIT,
                    f"net profit per round trip {net} per unit <= 0: interval {p.interval} at price "
                    f"{f.price} is {p.interval / f.price} vs 2 × {p.fee_basis.value} fee {fee} = {2 * fee}",
                )

    if f.position_mode is PositionMode.HEDGE:
        fail(PreflightCheck.POSITION_MODE, "position mode is hedge; expected one-way")
    elif f.position_mode is PositionMode.UNKNOWN:
        fail(PreflightCheck.POSITION_MODE, "position mode unknown; expected one-way")

    if not f.price_stream_healthy:
        fail(PreflightCheck.PRICE_STREAM, "price stream unhealthy")
    if not f.order_stream_healthy:
        fail(PreflightCheck.ORDER_STREAM, "order stream unhealthy")
    if p.require_funding_stream and f.funding_stream_healthy is not True:
        state = "missing" if f.funding_stream_healthy is None else "unhealthy"
        fail(PreflightCheck.FUNDING_STREAM, f"funding stream {state}")
    return out
