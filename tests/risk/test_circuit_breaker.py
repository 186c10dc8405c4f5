"""CircuitBreaker: each trip reason with exact numbers, manual trip/reset, cooldown, and invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.risk import (
    BreakerReset,
    BreakerTripped,
    CircuitBreaker,
    CircuitBreakerConfig,
    RiskGate,
    TripReason,
)

D = Decimal


def test_divergence_trips_at_the_limit_not_below() -> None:
    breaker = CircuitBreaker()
    assert breaker.record_divergence(D("0.0499"), now_ms=1) is None
    assert breaker.allows_new_orders()
    event = breaker.record_divergence(D("0.05"), now_ms=2, detail="BTC/USDT:USDT local 0.95 venue 1")
    assert event == BreakerTripped(
        reason=TripReason.RECONCILIATION_DIVERGENCE,
        detail="position divergence 0.05 >= limit 0.05: BTC/USDT:USDT local 0.95 venue 1",
        actor="system",
        at_ms=2,
    )
    assert not breaker.allows_new_orders()
    state = breaker.state()
    assert (state.is_open, state.reason, state.actor, state.since_ms) == (
        True,
        TripReason.RECONCILIATION_DIVERGENCE,
        "system",
        2,
    )
    assert breaker.record_divergence(D("0.5"), now_ms=3) is None  # already open: no second trip
    assert breaker.state().since_ms == 2


def test_absolute_drawdown_from_the_peak() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(max_drawdown=D(100)))
    assert breaker.record_equity(D(1000), 1) is None
    assert breaker.record_equity(D(1050), 2) is None  # new peak
    assert breaker.record_equity(D("950.01"), 3) is None  # drawdown 99.99
    assert breaker.record_equity(D(950), 4) == BreakerTripped(
        TripReason.MAX_DRAWDOWN, "drawdown 100 (peak 1050, equity 950) >= limit 100", "system", 4
    )
    assert breaker.state().peak_equity == D(1050)


def test_percent_drawdown_of_peak_equity() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(max_drawdown_pct=D("0.1")))
    breaker.record_equity(D(2000), 1)
    assert breaker.record_equity(D("1800.01"), 2) is None
    assert breaker.record_equity(D(1800), 3) == BreakerTripped(
        TripReason.MAX_DRAWDOWN_PCT, "drawdown 200 is 0.1 of peak equity 2000 >= limit 0.1", "system", 3
    )


def test_consecutive_losing_round_trips() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(max_consecutive_losses=3))
    assert breaker.record_round_trip(D("-0.01"), 1) is None
    assert breaker.record_round_trip(D("-0.02"), 2) is None
    assert breaker.record_round_trip(D("0"), 3) is None  # break-even ends the streak
    assert breaker.state().consecutive_losses == 0
    assert breaker.record_round_trip(D("-1"), 4) is None
    assert breaker.record_round_trip(D("-1"), 5) is None
    assert breaker.record_round_trip(D("-0.37"), 6) == BreakerTripped(
        TripReason.CONSECUTIVE_LOSSES,
        "3 consecutive losing round trips >= limit 3 (last pnl -0.37)",
        "system",
        6,
    )


def test_venue_errors_counted_within_the_window() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(venue_error_limit=3, venue_error_window_ms=60_000))
    assert breaker.record_venue_error(0, "timeout") is None
    assert breaker.record_venue_error(30_000, "timeout") is None
    # At 60 000 the first error is exactly one window old and has left it: 2 in the window.
    assert breaker.record_venue_error(60_000, "rejected") is None
    assert breaker.state().venue_errors_in_window == 2
    assert breaker.record_venue_error(60_001, "rejected") == BreakerTripped(
        TripReason.VENUE_ERRORS,
        "3 venue errors within 60000 ms >= limit 3 (last: rejected)",
        "system",
        60_001,
    )


def test_a_late_venue_error_report_is_counted_in_time_order() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(venue_error_limit=2, venue_error_window_ms=1_000))
    breaker.record_venue_error(5_000)
    assert breaker.record_venue_error(3_000) is None  # older than the window at 5 000: dropped
    assert breaker.state().venue_errors_in_window == 1
    breaker.tick(10_000)
    assert breaker.state().venue_errors_in_window == 0


def test_manual_trip_and_reset_with_actor() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(max_consecutive_losses=2, max_drawdown=D(10)))
    breaker.record_round_trip(D(-1), 1)
    breaker.record_equity(D(100), 1)
    assert breaker.trip("alice", "venue maintenance", 10) == BreakerTripped(
        TripReason.MANUAL, "venue maintenance", "alice", 10
    )
    assert breaker.trip("bob", "again", 11) is None
    assert breaker.reset("bob", 20, "maintenance over") == BreakerReset(
        actor="bob", at_ms=20, tripped_reason=TripReason.MANUAL, tripped_at_ms=10, detail="maintenance over"
    )
    assert breaker.reset("bob", 21) is None
    state = breaker.state()
    assert (state.is_open, state.reason, state.actor, state.since_ms) == (False, None, "bob", 20)
    # Reset clears the streak and re-bases the peak: the old facts cannot trip it at once.
    assert (state.consecutive_losses, state.peak_equity) == (0, None)
    assert breaker.record_round_trip(D(-1), 22) is None
    assert breaker.record_equity(D(95), 23) is None


def test_manual_actions_need_an_actor_and_a_reason() -> None:
    breaker = CircuitBreaker()
    with pytest.raises(ValueError, match="actor: expected a non-empty name"):
        breaker.trip(" ", "x", 1)
    with pytest.raises(ValueError, match="manual trip reason: expected a non-empty text"):
        breaker.trip("alice", "", 1)
    with pytest.raises(ValueError, match="actor"):
        breaker.reset("", 1)
    with pytest.raises(ValueError, match="divergence: expected >= 0, got -1"):
        breaker.record_divergence(D(-1), 1)
    assert breaker.allows_new_orders()


def test_cooldown_resets_automatic_trips_but_never_manual_ones() -> None:
    breaker = CircuitBreaker(CircuitBreakerConfig(max_consecutive_losses=1, cooldown_ms=5_000))
    breaker.record_round_trip(D(-1), 1_000)
    assert breaker.tick(5_999) is None
    assert breaker.tick(6_000) == BreakerReset(
        actor="cooldown",
        at_ms=6_000,
        tripped_reason=TripReason.CONSECUTIVE_LOSSES,
        tripped_at_ms=1_000,
        detail="cooldown of 5000 ms elapsed",
    )
    assert breaker.allows_new_orders()
    breaker.trip("alice", "hold", 7_000)
    assert breaker.tick(1_000_000) is None
    assert breaker.is_open


def test_without_cooldown_tick_never_resets() -> None:
    breaker = CircuitBreaker()
    breaker.record_divergence(D(1), 1)
    assert breaker.tick(10**12) is None
    assert breaker.is_triggered()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"divergence_limit": D(0)}, "divergence_limit: expected a Decimal > 0 or None"),
        ({"max_drawdown": D(-5)}, "max_drawdown: expected a Decimal > 0 or None"),
        ({"max_drawdown_pct": D("1.5")}, "max_drawdown_pct: expected a fraction <= 1"),
        ({"max_consecutive_losses": 0}, "max_consecutive_losses: expected >= 1 or None, got 0"),
        ({"venue_error_limit": 0}, "venue_error_limit: expected >= 1 or None, got 0"),
        ({"cooldown_ms": 0}, "cooldown_ms: expected >= 1 or None, got 0"),
        ({"venue_error_window_ms": 0}, "venue_error_window_ms: expected >= 1, got 0"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreakerConfig(**kwargs)  # type: ignore[arg-type]


def test_breaker_is_a_risk_gate_and_keeps_its_config() -> None:
    config = CircuitBreakerConfig(cooldown_ms=9)
    assert isinstance(CircuitBreaker(config), RiskGate)
    assert CircuitBreaker(config).config is config


operations = st.lists(
    st.one_of(
        st.tuples(st.just("divergence"), st.integers(0, 10)),
        st.tuples(st.just("equity"), st.integers(900, 1100)),
        st.tuples(st.just("round_trip"), st.integers(-3, 3)),
        st.tuples(st.just("error"), st.integers(0, 0)),
        st.tuples(st.just("trip"), st.integers(0, 0)),
        st.tuples(st.just("reset"), st.integers(0, 0)),
        st.tuples(st.just("tick"), st.integers(0, 0)),
    ),
    max_size=80,
)


@given(operations, st.integers(1, 4))
def test_events_alternate_and_open_means_no_new_orders(ops: list[tuple[str, int]], losses: int) -> None:
    breaker = CircuitBreaker(
        CircuitBreakerConfig(
            max_drawdown=D(50),
            max_drawdown_pct=D("0.04"),
            max_consecutive_losses=losses,
            venue_error_limit=3,
            venue_error_window_ms=5_000,
            cooldown_ms=7_000,
        )
    )
    streak = 0
    was_open = False
    for step, (op, value) in enumerate(ops):
        now = step * 1_000
        event: BreakerTripped | BreakerReset | None
        if op == "divergence":
            event = breaker.record_divergence(D(value) / 100, now)
        elif op == "equity":
            event = breaker.record_equity(D(value), now)
        elif op == "round_trip":
            streak = streak + 1 if value < 0 else 0
            event = breaker.record_round_trip(D(value), now)
        elif op == "error":
            event = breaker.record_venue_error(now)
        elif op == "trip":
            event = breaker.trip("op", "by hand", now)
        elif op == "reset":
            event = breaker.reset("op", now)
        else:
            event = breaker.tick(now)
        if isinstance(event, BreakerReset):
            streak = 0
        if event is None:
            assert breaker.is_open is was_open
        else:
            assert isinstance(event, BreakerReset if was_open else BreakerTripped)
            assert event.at_ms == now
        was_open = breaker.is_open
        assert breaker.allows_new_orders() is not breaker.is_open
        assert breaker.state().consecutive_losses == streak
        if not breaker.is_open:
            assert streak < losses
