"""Live config reload planning: safe keys apply, unsafe keys refuse the whole reload, secrets stay masked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.config import Settings, load_settings
from opensqt.config.reload import (
    IGNORED_REASON,
    RULES,
    UNKNOWN_REASON,
    KeyChange,
    ReloadRule,
    _leaves,
    plan_reload,
    rule_for,
)

ENV: dict[str, str] = {}


def settings(**overrides: Any) -> Settings:
    return load_settings(None, overrides, ENV)


def test_nothing_changed_is_an_empty_accepted_plan() -> None:
    old = settings()
    plan = plan_reload(old, settings())
    assert (plan.ok, plan.changes, plan.settings is old) == (True, (), False)
    assert plan.settings == old
    assert plan.lines() == ["config reload: nothing changed"]


def test_safe_keys_apply_live_and_the_new_settings_are_kept() -> None:
    # the old values are pinned here so the test does not depend on the defaults of the day
    old = settings(
        **{
            "trading.buy_window": 10,
            "trading.order_amount": "30",
            "trading.price_interval": "1",
            "risk_control.volume_multiplier": "3.0",
            "risk_control.circuit_breaker.max_drawdown_pct": "0.20",
            "trading.max_order_age_seconds": 0,
            "logging.level": "info",
            "timing.status_print_interval_seconds": 60,
        }
    )
    new = settings(
        **{
            "trading.buy_window": 20,
            "trading.order_amount": "45.5",
            "trading.price_interval": "2",
            "risk_control.volume_multiplier": "4",
            "risk_control.circuit_breaker.max_drawdown_pct": "0.1",
            "trading.max_order_age_seconds": 600,
            "logging.level": "debug",
            "timing.status_print_interval_seconds": 30,
        }
    )
    plan = plan_reload(old, new)
    assert plan.ok
    assert plan.settings is new
    assert plan.keys == (
        "logging.level",
        "risk_control.circuit_breaker.max_drawdown_pct",
        "risk_control.volume_multiplier",
        "timing.status_print_interval_seconds",
        "trading.buy_window",
        "trading.max_order_age_seconds",
        "trading.order_amount",
        "trading.price_interval",
    )
    assert plan.lines() == [
        "config reload: applied 8 change(s)",
        "  logging.level: INFO -> DEBUG: applies live: the log level changes at once",
        "  risk_control.circuit_breaker.max_drawdown_pct: 0.20 -> 0.1: applies live: "
        "breaker limits apply from the next event",
        "  risk_control.volume_multiplier: 3.0 -> 4: applies live: "
        "risk thresholds apply from the next candle",
        "  timing.status_print_interval_seconds: 60 -> 30: applies live: delays and periods apply from the "
        "next wait",
        "  trading.buy_window: 10 -> 20: applies live: applies from the next decision round",
        "  trading.max_order_age_seconds: 0 -> 600: applies live: cleanup and reconciliation read it at "
        "their next run",
        "  trading.order_amount: 30 -> 45.5: applies live: applies from the next decision round",
        "  trading.price_interval: 1 -> 2: applies live: applies from the next decision round",
    ]
    assert plan.touches("trading") and plan.touches("logging.level") and not plan.touches("api")


def test_one_unsafe_key_refuses_the_whole_reload_and_keeps_the_running_config() -> None:
    old = settings(**{"trading.symbol": "BTC/USDT:USDT", "trading.buy_window": 10})
    new = settings(**{"trading.symbol": "ETH/USDT:USDT", "trading.buy_window": 20})
    plan = plan_reload(old, new)
    assert not plan.ok
    assert plan.settings is old
    assert [c.key for c in plan.refused] == ["trading.symbol"]
    assert [c.key for c in plan.live] == ["trading.buy_window"]
    assert not plan.touches("trading")
    assert plan.lines() == [
        "config reload refused: 1 of 2 changed key(s) cannot change while running; the running config "
        "stays (nothing applied)",
        "  trading.buy_window: 10 -> 20: applies live: applies from the next decision round",
        "  trading.symbol: BTC/USDT:USDT -> ETH/USDT:USDT: refused: the grid's instrument cannot change "
        "while its orders and position are live; restart to change it",
    ]


@pytest.mark.parametrize(
    ("overrides", "key", "reason"),
    [
        ({"app.active_exchanges": ["binance"]}, "app.active_exchanges", "venue connections are opened"),
        ({"app.database_url": "postgresql://u@db:5432/x"}, "app.database_url", "the store is opened"),
        ({"app.data_dir": "/srv/other"}, "app.data_dir", "the database, logs and keys under it"),
        ({"exchanges.sim.sim.seed": 7}, "exchanges.sim.sim.seed", "venue accounts and credentials"),
        ({"api.listen": "127.0.0.1:6000"}, "api.listen", "the gRPC server binds"),
        ({"telemetry.metrics_port": 9999}, "telemetry.metrics_port", "the metrics endpoint binds"),
        ({"trading.leverage": 2}, "trading.leverage", "leverage is set on the venue"),
        ({"logging.rotation": "10 MB"}, "logging.rotation", "log sinks are opened"),
        ({"concurrency.price_queue_size": 8}, "concurrency.price_queue_size", "queues and pools"),
    ],
)
def test_keys_that_cannot_change_live_are_refused_with_their_reason(
    overrides: dict[str, Any], key: str, reason: str
) -> None:
    plan = plan_reload(settings(), settings(**overrides))
    # a key may drag derived ones along (data_dir moves the default database_url): all are refused
    assert plan.refused == plan.changes and not plan.ok
    [change] = [c for c in plan.changes if c.key == key]
    assert change.reason.startswith(reason)
    assert change.reason.endswith("; restart to change it")


def test_credentials_are_refused_and_never_shown() -> None:
    env = {
        "OPENSQT_EXCHANGES__BINANCE__API_KEY": "AKIAverysecret1",
        "OPENSQT_EXCHANGES__BINANCE__API_SECRET": "s3cr3t-one",
    }
    old = load_settings(None, {"app.active_exchanges": ["binance"]}, env)
    env2 = {
        "OPENSQT_EXCHANGES__BINANCE__API_KEY": "AKIAverysecret2",
        "OPENSQT_EXCHANGES__BINANCE__API_SECRET": "s3cr3t-two",
    }
    new = load_settings(None, {"app.active_exchanges": ["binance"]}, env2)
    plan = plan_reload(old, new)
    assert [c.line() for c in plan.refused] == [
        "exchanges.binance.api_key: *** -> ***: refused: venue accounts and credentials are bound to the "
        "open connections; restart to change it",
        "exchanges.binance.api_secret: *** -> ***: refused: venue accounts and credentials are bound to the "
        "open connections; restart to change it",
    ]
    text = "\n".join(plan.lines())
    assert "secret1" not in text and "s3cr3t" not in text


def test_a_database_password_is_masked_in_the_message() -> None:
    old = settings(**{"app.database_url": "postgresql://bot:hunter2pass@db:5432/opensqt"})
    new = settings(**{"app.database_url": "postgresql://bot:hunter3pass@db:5432/opensqt"})
    [change] = plan_reload(old, new).changes
    assert (change.old, change.new) == (
        "postgresql://bot:***@db:5432/opensqt",
        "postgresql://bot:***@db:5432/opensqt",
    )


def test_an_added_venue_entry_is_shown_as_absent_before() -> None:
    old = settings()
    new = settings(**{"exchanges.paper2": {"kind": "sim"}})
    keys = [(c.key, c.old, c.new, c.live) for c in plan_reload(old, new).changes]
    assert ("exchanges.paper2.kind", "(absent)", "sim", False) in keys


def test_ignored_sections_are_accepted_without_applying_anything() -> None:
    old = settings(**{"live_server.port": 8081, "trading.sell_window": 10})
    new = settings(**{"live_server.port": 9000, "trading.sell_window": 12})
    refused = plan_reload(old, new)
    assert not refused.ok
    plan = plan_reload(old, new, ignore=("live_server",))
    assert plan.ok and plan.settings is new
    assert plan.changes[0] == KeyChange("live_server.port", "8081", "9000", True, IGNORED_REASON)


def test_a_key_no_rule_names_is_refused() -> None:
    assert rule_for("trading.some_future_key") is None
    assert UNKNOWN_REASON == "not known to be safe to change while running; restart to change it"


def test_every_current_setting_has_an_explicit_rule() -> None:
    # A new setting must be classified on purpose; the default (refuse) is only a safety net.
    unclassified = [key for key, _ in _leaves(Settings()) if rule_for(key) is None]
    assert unclassified == []


def test_rule_patterns_match_exact_keys_or_prefixes() -> None:
    rule = ReloadRule("timing.*", True, "x")
    assert rule.matches("timing.ws_ping_interval_seconds")
    assert not rule.matches("timingx.a")
    assert not ReloadRule("trading.symbol", False, "x").matches("trading.symbols")
    assert len({r.pattern for r in RULES}) == len(RULES)


@given(
    buy=st.integers(min_value=1, max_value=200),
    amount=st.decimals(min_value=Decimal(6), max_value=Decimal(10_000), places=2),
    symbol=st.sampled_from(["BTC/USDT:USDT", "ETH/USDT:USDT"]),
)
def test_the_kept_settings_are_exactly_old_or_exactly_new(buy: int, amount: Decimal, symbol: str) -> None:
    old = settings(**{"trading.symbol": "BTC/USDT:USDT"})
    new = settings(**{"trading.buy_window": buy, "trading.order_amount": amount, "trading.symbol": symbol})
    plan = plan_reload(old, new)
    assert plan.settings is (new if symbol == "BTC/USDT:USDT" else old)
    assert plan.ok == (symbol == "BTC/USDT:USDT")
    # planning twice gives the same plan: it reads nothing but its two arguments
    assert plan_reload(old, new).changes == plan.changes
