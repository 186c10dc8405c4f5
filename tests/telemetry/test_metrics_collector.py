"""Metrics: snapshot sources become exact Prometheus samples; a broken source is skipped and counted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from opensqt.telemetry import (
    SPECS,
    ArbitrageSnapshot,
    BotSnapshot,
    BreakerSnapshot,
    Metrics,
    RiskSnapshot,
    StreamSnapshot,
    TradingSnapshot,
)

SYMBOL = "BTC/USDT:USDT"


def samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the exposition, keyed by (sample name, sorted labels)."""
    text = metrics.exposition().decode()
    out: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def full_snapshot() -> BotSnapshot:
    return BotSnapshot(
        trading=(
            TradingSnapshot(
                symbol=SYMBOL,
                orders_placed=42,
                orders_cancelled=7,
                fills=19,
                rejected={"post_only": 3, "insufficient_funds": 1},
                slots={"FREE": 12, "PENDING": 2, "LOCKED": 6},
                position=Decimal("0.015"),
                realized_pnl=Decimal("12.34"),
                fees=Decimal("-0.56"),
                funding=Decimal("-1.05"),
                price_stale=False,
            ),
        ),
        streams=(StreamSnapshot("price", reconnects=2, dropped=31), StreamSnapshot("orders", 1, 1, 0)),
        risk=RiskSnapshot(triggered=True, symbols_by_state={"panic": 3, "normal": 2}),
        breaker=BreakerSnapshot(
            open=True, reason="max_drawdown", consecutive_losses=4, venue_errors_in_window=9
        ),
        arbitrage=ArbitrageSnapshot(
            legs_by_status={"open": 4, "entering": 1},
            positions_opened=5,
            positions_closed=3,
            apr={"ETH/USDT:USDT": Decimal("0.1525")},
        ),
        phase="trading",
    )


def test_every_part_of_a_snapshot_is_exported_exactly() -> None:
    metrics = Metrics("bot-a")
    metrics.register("grid", full_snapshot)
    got = samples(metrics)
    b, s = ("bot", "bot-a"), ("symbol", SYMBOL)
    expected = {
        ("opensqt_orders_placed_total", (b, s)): 42.0,
        ("opensqt_orders_cancelled_total", (b, s)): 7.0,
        ("opensqt_fills_total", (b, s)): 19.0,
        ("opensqt_orders_rejected_total", (b, ("reason", "insufficient_funds"), s)): 1.0,
        ("opensqt_orders_rejected_total", (b, ("reason", "post_only"), s)): 3.0,
        ("opensqt_slots", (b, ("status", "FREE"), s)): 12.0,
        ("opensqt_slots", (b, ("status", "LOCKED"), s)): 6.0,
        ("opensqt_slots", (b, ("status", "PENDING"), s)): 2.0,
        ("opensqt_position", (b, s)): 0.015,
        ("opensqt_realized_pnl", (b, s)): 12.34,
        ("opensqt_fees", (b, s)): -0.56,
        ("opensqt_funding", (b, s)): -1.05,
        ("opensqt_price_stale", (b, s)): 0.0,
        ("opensqt_stream_reconnects_total", (b, ("stream", "orders"))): 1.0,
        ("opensqt_stream_reconnects_total", (b, ("stream", "price"))): 2.0,
        ("opensqt_stream_gaps_recovered_total", (b, ("stream", "orders"))): 1.0,
        ("opensqt_stream_gaps_recovered_total", (b, ("stream", "price"))): 0.0,
        ("opensqt_queue_dropped_total", (b, ("stream", "orders"))): 0.0,
        ("opensqt_queue_dropped_total", (b, ("stream", "price"))): 31.0,
        ("opensqt_risk_triggered", (b,)): 1.0,
        ("opensqt_risk_symbols", (b, ("state", "normal"))): 2.0,
        ("opensqt_risk_symbols", (b, ("state", "panic"))): 3.0,
        ("opensqt_circuit_breaker_open", (b, ("reason", "max_drawdown"))): 1.0,
        ("opensqt_circuit_breaker_consecutive_losses", (b,)): 4.0,
        ("opensqt_circuit_breaker_venue_errors", (b,)): 9.0,
        ("opensqt_arbitrage_legs", (b, ("status", "entering"))): 1.0,
        ("opensqt_arbitrage_legs", (b, ("status", "open"))): 4.0,
        ("opensqt_arbitrage_positions_opened_total", (b,)): 5.0,
        ("opensqt_arbitrage_positions_closed_total", (b,)): 3.0,
        ("opensqt_arbitrage_apr", (b, ("symbol", "ETH/USDT:USDT"))): 0.1525,
        ("opensqt_trading", (b,)): 1.0,
    }
    snapshot_samples = {k: v for k, v in got.items() if not k[0].startswith("opensqt_tick_to_order")}
    assert snapshot_samples == expected


def test_an_idle_program_exports_only_the_empty_latency_histogram() -> None:
    got = samples(Metrics("idle"))
    names = {name for name, _ in got}
    assert names == {
        "opensqt_tick_to_order_seconds_bucket",
        "opensqt_tick_to_order_seconds_count",
        "opensqt_tick_to_order_seconds_sum",
        "opensqt_tick_to_order_seconds_created",
    }
    assert got[("opensqt_tick_to_order_seconds_count", (("bot", "idle"),))] == 0.0


def test_latency_histogram_counts_each_observation_in_its_bucket() -> None:
    metrics = Metrics("lat", buckets=(0.001, 0.01, 0.1))
    for seconds in (0.0005, 0.0009, 0.005, 0.05, 3.0):
        metrics.tick_to_order.observe(seconds)
    got = samples(metrics)
    bot = ("bot", "lat")

    def bucket(le: str) -> float:
        return got[("opensqt_tick_to_order_seconds_bucket", (bot, ("le", le)))]

    assert (bucket("0.001"), bucket("0.01"), bucket("0.1"), bucket("+Inf")) == (2.0, 3.0, 4.0, 5.0)
    assert got[("opensqt_tick_to_order_seconds_count", (bot,))] == 5.0
    assert got[("opensqt_tick_to_order_seconds_sum", (bot,))] == pytest.approx(3.0564)


def test_a_failing_source_is_left_out_and_counted_while_the_others_still_export() -> None:
    metrics = Metrics("b")
    calls = {"n": 0}

    def broken() -> BotSnapshot:
        calls["n"] += 1
        raise RuntimeError("engine gone")

    metrics.register("broken", broken)
    metrics.register("grid", lambda: BotSnapshot(trading=(TradingSnapshot(SYMBOL, orders_placed=1),)))
    samples(metrics)
    got = samples(metrics)
    assert calls["n"] == 2
    assert got[("opensqt_metrics_source_errors_total", (("bot", "b"), ("source", "broken")))] == 2.0
    assert got[("opensqt_orders_placed_total", (("bot", "b"), ("symbol", SYMBOL)))] == 1.0


def test_two_sources_reporting_the_same_series_are_summed() -> None:
    metrics = Metrics("b")
    metrics.register("one", lambda: BotSnapshot(trading=(TradingSnapshot(SYMBOL, fills=2),)))
    metrics.register("two", lambda: BotSnapshot(trading=(TradingSnapshot(SYMBOL, fills=5),)))
    assert samples(metrics)[("opensqt_fills_total", (("bot", "b"), ("symbol", SYMBOL)))] == 7.0


def test_a_closed_breaker_and_a_stopped_engine_read_zero() -> None:
    metrics = Metrics("b")
    metrics.register("x", lambda: BotSnapshot(breaker=BreakerSnapshot(open=False), phase="stopping"))
    got = samples(metrics)
    assert got[("opensqt_circuit_breaker_open", (("bot", "b"), ("reason", "none")))] == 0.0
    assert got[("opensqt_trading", (("bot", "b"),))] == 0.0


def test_registering_a_name_twice_is_refused_and_unregister_removes_the_source() -> None:
    metrics = Metrics("b")
    metrics.register("grid", BotSnapshot)
    with pytest.raises(ValueError, match="metrics source 'grid': already registered"):
        metrics.register("grid", BotSnapshot)
    metrics.unregister("grid")
    assert metrics.sources == {}


def test_each_metrics_object_has_its_own_registry() -> None:
    a, b = Metrics("a"), Metrics("b")
    a.tick_to_order.observe(0.5)
    assert a.registry is not b.registry
    assert samples(b)[("opensqt_tick_to_order_seconds_count", (("bot", "b"),))] == 0.0


def test_labels_stay_low_cardinality() -> None:
    # Only these label names exist; no order ids, prices or timestamps can become a label.
    allowed = {"symbol", "reason", "status", "stream", "state", "source"}
    assert all(set(spec.labels) <= allowed for spec in SPECS)


@given(
    pnl=st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False),
    placed=st.integers(min_value=0, max_value=2**53),
)
def test_cent_values_and_counters_survive_the_text_format(pnl: Decimal, placed: int) -> None:
    metrics = Metrics("h")
    metrics.register("g", lambda: BotSnapshot(trading=(TradingSnapshot(SYMBOL, placed, realized_pnl=pnl),)))
    got = samples(metrics)
    labels = (("bot", "h"), ("symbol", SYMBOL))
    # float64 keeps every cent amount below 2**53 cents exactly enough to round back to the same Decimal.
    assert Decimal(repr(got[("opensqt_realized_pnl", labels)])).quantize(Decimal("0.01")) == pnl
    assert got[("opensqt_orders_placed_total", labels)] == float(placed)
