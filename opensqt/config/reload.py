"""Live config reload, decided without side effects: `plan_reload(old, new)` lists what changed, which keys
may apply while running and which are refused (with the reason), and the settings the process keeps.

A reload is all or nothing: if any changed key cannot change live, nothing is applied and the running
config stays, so the process never runs a mix that matches neither the old file nor the new one. The caller
(SIGHUP, `market_maker ctl reload`) re-reads the file with `load_settings` (a bad file raises `ConfigError`
and changes nothing either), applies `plan.settings` when `plan.ok`, and writes `plan.lines()` to the
audit log. Values in every message are masked when secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, SecretStr

from opensqt.config.errors import MASK, SECRET_KEY_RE, show_value
from opensqt.config.settings import Settings, database_password

_NEXT_ROUND = "applies from the next decision round"
_RESTART = "restart to change it"


@dataclass(frozen=True, slots=True)
class ReloadRule:
    """Keys matching `pattern` (a dotted key, or a prefix ending in `.*`) are live or refused, and why."""

    pattern: str
    live: bool
    reason: str

    def matches(self, key: str) -> bool:
        if self.pattern.endswith(".*"):
            return key.startswith(self.pattern[:-1])
        return key == self.pattern


def _live(reason: str, *patterns: str) -> list[ReloadRule]:
    return [ReloadRule(p, True, reason) for p in patterns]


def _refused(reason: str, *patterns: str) -> list[ReloadRule]:
    return [ReloadRule(p, False, f"{reason}; {_RESTART}") for p in patterns]


#: First match wins; a key no rule names is refused (a new setting is never assumed safe).
RULES: tuple[ReloadRule, ...] = (
    # --- refused: identity, venues, credentials, storage, listeners -------------------------------
    *_refused("names this bot's rows, logs and metrics", "app.bot_name"),
    *_refused("the strategy is what this process runs", "app.strategy"),
    *_refused("venue connections are opened at start-up", "app.active_exchanges"),
    *_refused("the database, logs and keys under it are open", "app.data_dir"),
    *_refused("the store is opened at start-up (migrate a new database first)", "app.database_url"),
    *_refused("venue accounts and credentials are bound to the open connections", "exchanges.*"),
    *_refused("the grid's instrument cannot change while its orders and position are live", "trading.symbol"),
    *_refused("switching the side the grid accumulates would strand its inventory", "trading.grid_mode"),
    *_refused("leverage is set on the venue at start-up", "trading.leverage"),
    *_refused(
        "checked only by the pre-flight at start-up", "trading.max_leverage", "trading.position_safety_check"
    ),
    *_refused(
        "the ATR kline stream is started at start-up",
        "trading.dynamic_interval.enabled",
        "trading.dynamic_interval.timeframe",
    ),
    *_refused(
        "the alert webhook and the emergency-exit policy are set up at start-up",
        "risk_control.webhook_url",
        "risk_control.emergency_max_loss",
        "risk_control.emergency_liquidation_buffer",
    ),
    *_refused(
        "the risk monitor's kline streams and averages are built at start-up",
        "risk_control.enabled",
        "risk_control.monitor_symbols",
        "risk_control.interval",
        "risk_control.average_window",
    ),
    *_refused(
        "the trade shape and its venues are fixed at start-up",
        "arbitrage.mode",
        "arbitrage.spot_exchange",
        "arbitrage.perp_exchange",
        "arbitrage.use_margin",
    ),
    *_refused("queues and pools are sized at start-up", "concurrency.*"),
    *_refused("the gRPC server binds and loads its TLS files and API keys at start-up", "api.*"),
    *_refused("the metrics endpoint binds at start-up", "telemetry.*"),
    *_refused("read by live_server at its own start-up (restart live_server)", "live_server.*"),
    # --- live: sizes, windows, thresholds, timing, log level ----------------------------------------
    *_live(
        _NEXT_ROUND,
        "trading.price_interval",
        "trading.order_amount",
        "trading.min_order_value",
        "trading.buy_window",
        "trading.sell_window",
        "trading.post_only",
        "trading.post_only_max_failures",
        "trading.post_only_fallback",
        "trading.margin_lock_duration_seconds",
        "trading.price_stale_seconds",
        "trading.cancel_on_exit",
        "trading.dynamic_interval.*",
        "trading.inventory_skew.*",
    ),
    *_live(
        "cleanup and reconciliation read it at their next run",
        "trading.reconcile_interval",
        "trading.order_cleanup_threshold",
        "trading.cleanup_batch_size",
        "trading.max_order_age_seconds",
    ),
    *_live(
        "risk thresholds apply from the next candle",
        "risk_control.volume_multiplier",
        "risk_control.recovery_threshold",
        "risk_control.global_strategy",
    ),
    *_live("breaker limits apply from the next event", "risk_control.circuit_breaker.*"),
    *_live(
        "arbitrage thresholds apply from the next scan",
        "arbitrage.symbols",
        "arbitrage.min_spread_apr",
        "arbitrage.exit_spread_apr",
        "arbitrage.liquidation_threshold",
        "arbitrage.order_amount",
        "arbitrage.max_legs",
        "arbitrage.min_volume_24h",
        "arbitrage.rescan_interval_seconds",
        "arbitrage.holding_period_hours",
        "arbitrage.slippage_bps",
        "arbitrage.funding_stale_seconds",
        "arbitrage.switch_enabled",
        "arbitrage.switch_min_hold_hours",
        "arbitrage.switch_cost_multiple",
    ),
    *_live("delays and periods apply from the next wait", "timing.*"),
    *_live("the log level changes at once", "logging.level"),
    *_refused("log sinks are opened at start-up", "logging.*"),
)
UNKNOWN_REASON = f"not known to be safe to change while running; {_RESTART}"
IGNORED_REASON = "not used by this program; nothing to apply"


def rule_for(key: str) -> ReloadRule | None:
    return next((rule for rule in RULES if rule.matches(key)), None)


@dataclass(frozen=True, slots=True)
class KeyChange:
    """One changed setting: dotted key, old and new values as shown (masked), and the verdict."""

    key: str
    old: str
    new: str
    live: bool
    reason: str

    def line(self) -> str:
        verdict = "applies live" if self.live else "refused"
        return f"{self.key}: {self.old} -> {self.new}: {verdict}: {self.reason}"


@dataclass(frozen=True, slots=True, eq=False)
class ReloadPlan:
    """What a reload would do. `settings` is what the process runs with afterwards: the new settings when
    `ok`, else the old ones unchanged."""

    changes: tuple[KeyChange, ...]
    settings: Settings

    @property
    def ok(self) -> bool:
        return not self.refused

    @property
    def live(self) -> tuple[KeyChange, ...]:
        return tuple(c for c in self.changes if c.live)

    @property
    def refused(self) -> tuple[KeyChange, ...]:
        return tuple(c for c in self.changes if not c.live)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes)

    def touches(self, prefix: str) -> bool:
        """Whether an applied change lies under `prefix` (`"trading"`, `"logging.level"`): what to rebuild."""
        return self.ok and any(c.key == prefix or c.key.startswith(prefix + ".") for c in self.changes)

    def lines(self) -> list[str]:
        """One headline, then one line per changed key: for the operator and the audit log."""
        if not self.changes:
            return ["config reload: nothing changed"]
        if self.ok:
            head = f"config reload: applied {len(self.changes)} change(s)"
        else:
            head = (
                f"config reload refused: {len(self.refused)} of {len(self.changes)} changed key(s) cannot "
                "change while running; the running config stays (nothing applied)"
            )
        return [head, *(f"  {c.line()}" for c in self.changes)]


def plan_reload(old: Settings, new: Settings, *, ignore: Iterable[str] = ()) -> ReloadPlan:
    """Compare two validated settings. `ignore` names sections this program does not use (e.g.
    `("live_server",)` in market_maker): changes there are accepted and need nothing applied."""
    ignored = tuple(ignore)
    before, after = dict(_leaves(old)), dict(_leaves(new))
    changes: list[KeyChange] = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if _same(was, now):
            continue
        if any(key == p or key.startswith(p + ".") for p in ignored):
            live, reason = True, IGNORED_REASON
        else:
            rule = rule_for(key)
            live, reason = (rule.live, rule.reason) if rule is not None else (False, UNKNOWN_REASON)
        changes.append(KeyChange(key, _show(key, was), _show(key, now), live, reason))
    plan_changes = tuple(changes)
    keep = new if all(c.live for c in plan_changes) else old
    return ReloadPlan(plan_changes, keep)


class _Absent:
    def __repr__(self) -> str:
        return "absent"


_ABSENT: Any = _Absent()


def _leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf setting as (dotted key, value); dict entries (exchanges) by name, lists as one value."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _leaves(getattr(value, name), f"{prefix}{name}.")
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _leaves(item, f"{prefix}{name}.")
    else:
        yield prefix[:-1], value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, SecretStr) and isinstance(b, SecretStr):
        return a.get_secret_value() == b.get_secret_value()
    return bool(a == b) and type(a) is type(b)


def _show(key: str, value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    if value is None:
        return "(unset)"
    secret = isinstance(value, SecretStr) or bool(SECRET_KEY_RE.search(key.rsplit(".", 1)[-1]))
    if not secret and key == "app.database_url" and isinstance(value, str):
        password = database_password(value)
        if password:
            value = value.replace(f":{password}@", f":{MASK}@", 1)
    return show_value(value, secret=secret)
