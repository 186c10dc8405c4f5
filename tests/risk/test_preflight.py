"""Pre-flight: healthy facts pass; each failing check alone gives its own clear message."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.risk import (
    FeeBasis,
    PositionMode,
    PreflightCheck,
    PreflightConfig,
    PreflightFailure,
    VenueFacts,
    run_preflight,
)

D = Decimal
GOOD = VenueFacts(
    venue="binance",
    balance=D(1000),
    leverage=10,
    price=D(100),
    maker_fee=D("0.0002"),
    taker_fee=D("0.0005"),
    position_mode=PositionMode.ONE_WAY,
    price_stream_healthy=True,
    order_stream_healthy=True,
    funding_stream_healthy=True,
)
PARAMS = PreflightConfig()


def test_healthy_facts_pass() -> None:
    assert run_preflight([GOOD], PARAMS) == []


def test_zero_fees_are_acceptable() -> None:
    assert run_preflight([replace(GOOD, maker_fee=D(0), taker_fee=D(0))], PARAMS) == []
    assert run_preflight([replace(GOOD, maker_fee=D("-0.0001"))], PARAMS) == []  # a maker rebate


@pytest.mark.parametrize(
    ("change", "params", "check", "message"),
    [
        (
            {"balance": D(250)},
            PARAMS,
            PreflightCheck.BALANCE,
            "binance: balance 250 USDT × leverage 10 = 2500 covers 83 positions of 30 USDT; "
            "need 100 (3000 USDT)",
        ),
        ({"leverage": 20}, PARAMS, PreflightCheck.LEVERAGE, "binance: leverage 20x outside 1..10x allowed"),
        (
            {},
            PreflightConfig(leverage=5),
            PreflightCheck.LEVERAGE,
            "binance: leverage 10x on the venue, configured 5x",
        ),
        ({"maker_fee": None}, PARAMS, PreflightCheck.FEES, "binance: maker fee rate not fetched"),
        (
            {"maker_fee": None, "taker_fee": None},
            PARAMS,
            PreflightCheck.FEES,
            "binance: maker and taker fee rate not fetched",
        ),
        (
            {"taker_fee": D("0.002")},
            PARAMS,
            PreflightCheck.FEES,
            "binance: fee rate taker 0.002 above the acceptable 0.001",
        ),
        (
            {"price": D(10000)},
            PARAMS,
            PreflightCheck.NET_PROFIT,
            "binance: net profit per round trip -3.0002 per unit <= 0: interval 1 at price 10000 is 0.0001 "
            "vs 2 × maker fee 0.0002 = 0.0004",
        ),
        (
            {"price": D(3000)},
            PreflightConfig(fee_basis=FeeBasis.TAKER),
            PreflightCheck.NET_PROFIT,
            "binance: net profit per round trip -2.0005 per unit <= 0: interval 1 at price 3000 is "
            f"{D(1) / D(3000)} vs 2 × taker fee 0.0005 = 0.0010",
        ),
        (
            {"price": D(0)},
            PARAMS,
            PreflightCheck.NET_PROFIT,
            "binance: price 0 is not > 0; cannot judge the round-trip profit",
        ),
        (
            {"position_mode": PositionMode.HEDGE},
            PARAMS,
            PreflightCheck.POSITION_MODE,
            "binance: position mode is hedge; expected one-way",
        ),
        (
            {"position_mode": PositionMode.UNKNOWN},
            PARAMS,
            PreflightCheck.POSITION_MODE,
            "binance: position mode unknown; expected one-way",
        ),
        (
            {"price_stream_healthy": False},
            PARAMS,
            PreflightCheck.PRICE_STREAM,
            "binance: price stream unhealthy",
        ),
        (
            {"order_stream_healthy": False},
            PARAMS,
            PreflightCheck.ORDER_STREAM,
            "binance: order stream unhealthy",
        ),
        (
            {"funding_stream_healthy": False},
            PreflightConfig(require_funding_stream=True),
            PreflightCheck.FUNDING_STREAM,
            "binance: funding stream unhealthy",
        ),
        (
            {"funding_stream_healthy": None},
            PreflightConfig(require_funding_stream=True),
            PreflightCheck.FUNDING_STREAM,
            "binance: funding stream missing",
        ),
    ],
)
def test_each_failing_check_alone_gives_its_own_message(
    change: dict[str, object], params: PreflightConfig, check: PreflightCheck, message: str
) -> None:
    failures = run_preflight([replace(GOOD, **change)], params)  # type: ignore[arg-type]
    assert failures == [PreflightFailure("binance", check, message)]
    assert str(failures[0]) == message


def test_the_balance_boundary_is_exact() -> None:
    assert run_preflight([replace(GOOD, balance=D(300))], PARAMS) == []  # 300 × 10 / 30 = 100 exactly
    failures = run_preflight([replace(GOOD, balance=D("299.99"))], PARAMS)
    assert [f.check for f in failures] == [PreflightCheck.BALANCE]


def test_funding_stream_is_not_required_for_the_grid_and_spot_has_no_position_mode() -> None:
    spot = replace(
        GOOD, venue="binance-spot", position_mode=PositionMode.NOT_APPLICABLE, funding_stream_healthy=None
    )
    assert run_preflight([spot], PARAMS) == []


def test_every_venue_is_checked_and_named() -> None:
    bybit = replace(GOOD, venue="bybit", balance=D(0), order_stream_healthy=False)
    failures = run_preflight([GOOD, bybit], PARAMS)
    assert [str(f) for f in failures] == [
        "bybit: balance 0 USDT × leverage 10 = 0 covers 0 positions of 30 USDT; need 100 (3000 USDT)",
        "bybit: order stream unhealthy",
    ]


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="preflight facts: expected at least one venue"):
        run_preflight([], PARAMS)
    for kwargs, message in [
        ({"order_amount": D(0)}, "order_amount: expected > 0, got 0"),
        ({"position_safety_check": 0}, "position_safety_check: expected >= 1, got 0"),
        ({"max_leverage": 0}, "max_leverage: expected >= 1, got 0"),
        ({"leverage": 11}, "leverage: expected 1..max_leverage 10, got 11"),
        ({"interval": D(0)}, "interval: expected > 0, got 0"),
        ({"max_fee": D(-1)}, "max_fee: expected >= 0, got -1"),
    ]:
        with pytest.raises(ValueError, match=message):
            PreflightConfig(**kwargs)  # type: ignore[arg-type]


@given(
    balance=st.integers(0, 5000),
    leverage=st.integers(0, 30),
    price=st.integers(1, 20000),
    maker=st.integers(0, 30),
)
def test_failures_are_one_per_check_and_match_the_rules(
    balance: int, leverage: int, price: int, maker: int
) -> None:
    facts = replace(GOOD, balance=D(balance), leverage=leverage, price=D(price), maker_fee=D(maker) / 10000)
    failures = run_preflight([facts], PARAMS)
    checks = [f.check for f in failures]
    assert len(checks) == len(set(checks))
    assert (PreflightCheck.BALANCE in checks) is (D(balance) * max(leverage, 1) < 3000)
    assert (PreflightCheck.LEVERAGE in checks) is not (1 <= leverage <= 10)
    fee = D(maker) / 10000
    assert (PreflightCheck.NET_PROFIT in checks) is (1 - fee * (2 * price + 1) <= 0)
    assert (PreflightCheck.FEES in checks) is (fee > D("0.001"))
