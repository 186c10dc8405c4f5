"""The grid engine as a metrics source: what `grid_snapshot` reads from a real `GridEngine`."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client.parser import text_string_to_metric_families

from opensqt.clock import ManualClock
from opensqt.config import Settings
from opensqt.engines.grid_config import engine_config_from_settings
from opensqt.engines.grid_engine import GridEngine
from opensqt.exchanges.sim import SimExchange, SimVenue
from opensqt.model import PlaceOrder, PriceUpdated, Side
from opensqt.telemetry import (
    BotSnapshot,
    BreakerSnapshot,
    Metrics,
    RiskSnapshot,
    StreamSnapshot,
    TradingSnapshot,
    grid_snapshot,
    grid_source,
)

NOW = 1_700_000_000_000
SYMBOL = "BTC/USDT:USDT"


def make_engine() -> GridEngine:
    clock = ManualClock(NOW)
    return GridEngine(SimExchange(SimVenue(clock=clock)), engine_config_from_settings(Settings()), clock)


def test_a_fresh_engine_reads_all_zero_with_risk_warming_up() -> None:
    assert grid_snapshot(make_engine()) == BotSnapshot(
        trading=(
            TradingSnapshot(
                SYMBOL, slots={"FREE": 0, "PENDING": 0, "LOCKED": 0}, price_stale=True, rejected={}
            ),
        ),
        streams=(StreamSnapshot("price"), StreamSnapshot("orders")),
        risk=RiskSnapshot(triggered=False, symbols_by_state={"warming_up": 5}),
        breaker=BreakerSnapshot(open=False),
        phase="created",
    )


def test_counters_slots_breaker_and_price_come_from_the_engine() -> None:
    engine = make_engine()
    engine.stats.update(
        {
            "placed": 9,
            "cancelled": 2,
            "fills": 4,
            "rejected:post_only": 3,
            "rejected:other": 1,
            "order_stream_errors": 2,
            "gaps_recovered": 1,
        }
    )
    engine.slots.reserve(
        Decimal("49990"),
        PlaceOrder("g-1", SYMBOL, Side.BUY, Decimal("0.001"), Decimal("49990")),
        NOW,
    )
    engine.prices.publish(PriceUpdated(SYMBOL, Decimal("50000"), ts_event=NOW, ts_init=NOW))
    engine.breaker.trip("ops", "maintenance", NOW)
    snap = grid_snapshot(engine)
    assert snap.trading == (
        TradingSnapshot(
            SYMBOL,
            orders_placed=9,
            orders_cancelled=2,
            fills=4,
            rejected={"post_only": 3, "other": 1},
            slots={"FREE": 0, "PENDING": 1, "LOCKED": 0},
            price_stale=False,
        ),
    )
    assert snap.streams[1] == StreamSnapshot("orders", reconnects=2, gaps_recovered=1, dropped=0)
    assert snap.breaker == BreakerSnapshot(open=True, reason="manual")


def test_registered_engine_is_read_at_each_scrape() -> None:
    engine = make_engine()
    metrics = Metrics("grid-bot")
    metrics.register("grid", grid_source(engine))
    engine.stats["placed"] = 5

    def placed() -> float:
        text = metrics.exposition().decode()
        family = next(f for f in text_string_to_metric_families(text) if f.name == "opensqt_orders_placed")
        return family.samples[0].value

    assert placed() == 5.0
    engine.stats["placed"] = 6
    assert placed() == 6.0
