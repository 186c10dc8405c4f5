"""The uniform risk interface (§16): gates, exit policies and their test doubles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.model import Position
from opensqt.risk import (
    AnyRiskGate,
    CircuitBreaker,
    EmergencyExitPolicy,
    ExitContext,
    LossLimitExitPolicy,
    RiskGate,
    RiskMonitor,
    StaticExitPolicy,
    StaticRiskGate,
)

D = Decimal
LONG = Position(
    "BTC/USDT:USDT",
    size=D("0.5"),
    entry_price=D(100),
    unrealized_pnl=D(-20),
    liquidation_price=D(80),
    mark_price=D(90),
)
CTX = ExitContext(now_ms=1)


def test_static_gate_is_set_by_hand() -> None:
    gate = StaticRiskGate()
    assert isinstance(gate, RiskGate)
    assert not gate.is_triggered()
    gate.set_triggered(True)
    assert gate.is_triggered()


def test_any_gate_combines_monitor_and_breaker() -> None:
    breaker = CircuitBreaker()
    gate = AnyRiskGate([RiskMonitor(), breaker, StaticRiskGate()])
    assert not gate.is_triggered()
    breaker.trip("alice", "test", 5)
    assert gate.is_triggered()
    with pytest.raises(ValueError, match="gates must hold at least one gate"):
        AnyRiskGate([])


def test_static_exit_policy() -> None:
    assert isinstance(StaticExitPolicy(), EmergencyExitPolicy)
    assert StaticExitPolicy(exit=True).should_emergency_exit(LONG, CTX)
    assert not StaticExitPolicy().should_emergency_exit(LONG, CTX)


def test_loss_limit_exits_at_the_loss_limit() -> None:
    assert LossLimitExitPolicy(max_loss=D(20)).should_emergency_exit(LONG, CTX)
    assert not LossLimitExitPolicy(max_loss=D("20.01")).should_emergency_exit(LONG, CTX)


def test_loss_limit_exits_near_liquidation() -> None:
    policy = LossLimitExitPolicy(liquidation_buffer=D("0.1"))
    # mark 90, liquidation 80: distance 10 is 11.1% of the mark: not yet; at mark 88 it is 9.1%.
    assert not policy.should_emergency_exit(LONG, CTX)
    assert policy.should_emergency_exit(LONG, ExitContext(now_ms=1, mark_price=D(88)))
    # At mark 100 the distance is exactly 20 = 20% of the mark: the boundary counts.
    assert LossLimitExitPolicy(liquidation_buffer=D("0.2")).should_emergency_exit(
        LONG, ExitContext(now_ms=1, mark_price=D(100))
    )
    no_mark = Position("X", size=D(1), liquidation_price=D(80))
    assert not policy.should_emergency_exit(no_mark, CTX)
    no_liq = Position("X", size=D(1), mark_price=D(80))
    assert not policy.should_emergency_exit(no_liq, CTX)


def test_a_flat_position_never_exits() -> None:
    flat = Position("BTC/USDT:USDT", unrealized_pnl=D(-1000))
    assert not LossLimitExitPolicy(max_loss=D(1), liquidation_buffer=D("0.5")).should_emergency_exit(
        flat, CTX
    )


def test_policy_config_errors() -> None:
    with pytest.raises(ValueError, match="max_loss: expected > 0 or None, got 0"):
        LossLimitExitPolicy(max_loss=D(0))
    with pytest.raises(ValueError, match=r"liquidation_buffer: expected a fraction in \(0, 1\)"):
        LossLimitExitPolicy(liquidation_buffer=D(1))
