"""The grid engine's settings as plain values, and the mapping from the program's config into them."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from opensqt.model import GridMode, Instrument
from opensqt.risk import CircuitBreakerConfig, CleanupConfig, GlobalStrategy, RiskMonitorConfig
from opensqt.trading.execution.executor import ExecutionParams
from opensqt.trading.logic import GridParams, PostOnlyFallback

if TYPE_CHECKING:
    from opensqt.config import Settings


@dataclass(frozen=True, slots=True)
class DynamicIntervalSettings:
    atr_period: int = 14
    timeframe: str = "1m"
    scale: Decimal = Decimal("1")
    baseline_atr: Decimal | None = None  # None: the ATR measured at start-up
    min_interval: Decimal | None = None
    max_interval: Decimal | None = None


@dataclass(frozen=True, slots=True)
class SkewSettings:
    skew_factor: Decimal
    max_inventory: Decimal
    max_shift_intervals: Decimal = Decimal("1")


@dataclass(frozen=True, slots=True)
class GridEngineConfig:
    """Everything the grid engine needs besides its venue and clock. Durations in seconds."""

    symbol: str
    params: GridParams
    leverage: int = 1
    cancel_on_exit: bool = True
    price_stale_seconds: float = 30.0
    margin_lock_seconds: float = 10.0
    post_only_retry_delay: float = 0.5
    reconcile_interval: float = 60.0
    cleanup_interval: float = 60.0
    cleanup: CleanupConfig | None = None
    status_interval: float = 5.0
    shutdown_timeout: float = 10.0
    execution: ExecutionParams = field(default_factory=ExecutionParams)
    dynamic: DynamicIntervalSettings | None = None
    skew: SkewSettings | None = None
    risk_monitor: RiskMonitorConfig | None = None
    breaker: CircuitBreakerConfig = field(default_factory=CircuitBreakerConfig)
    divergence_limit: Decimal = Decimal("0.05")


def tick_problem(config: GridEngineConfig, instrument: Instrument) -> str | None:
    """Why the grid cannot trade `instrument` with this config, or None. Its levels are the centre (on the
    tick) plus whole intervals, so an interval off the instrument's tick would put every level at a price the
    venue refuses (and no client id can name it): refused at start, at a reload and by a backtest."""
    interval, tick = config.params.interval, instrument.tick_size
    if not interval % tick:
        return None
    below = (interval - interval % tick).quantize(tick)
    near = f"{below} or {below + tick}" if below else f"{tick}"
    return (
        f"trading.price_interval: {interval} is not a multiple of {instrument.symbol}'s tick size {tick} "
        f"(nearest: {near})"
    )


def engine_config_from_settings(settings: Settings, bot_tag: str | None = None) -> GridEngineConfig:
    """Map the validated program config onto the engine's values (validation already happened there)."""
    t = settings.trading
    params = GridParams(
        interval=t.price_interval,
        order_amount=t.order_amount,
        min_order_value=t.min_order_value,
        buy_window=t.buy_window,
        sell_window=t.sell_window,
        grid_mode=GridMode(t.grid_mode),
        post_only=t.post_only,
        post_only_max_failures=t.post_only_max_failures,
        post_only_fallback=PostOnlyFallback(t.post_only_fallback),
        order_cleanup_threshold=t.order_cleanup_threshold,
        bot_tag=bot_tag or _tag(settings.app.bot_name),
    )
    dynamic = None
    if t.dynamic_interval.enabled:
        d = t.dynamic_interval
        dynamic = DynamicIntervalSettings(
            atr_period=d.atr_period,
            timeframe=d.timeframe,
            scale=d.scale,
            baseline_atr=None if d.baseline_atr == "auto" else Decimal(d.baseline_atr),
            min_interval=d.min_interval,
            max_interval=d.max_interval,
        )
    skew = None
    if t.inventory_skew.enabled:
        s = t.inventory_skew
        skew = SkewSettings(s.skew_factor, s.max_inventory, s.max_shift_intervals)
    rc = settings.risk_control
    monitor = None
    if rc.enabled:
        monitor = RiskMonitorConfig(
            monitor_symbols=tuple(rc.monitor_symbols),
            timeframe=rc.interval,
            volume_multiplier=rc.volume_multiplier,
            average_window=rc.average_window,
            recovery_threshold=min(rc.recovery_threshold, len(rc.monitor_symbols)),
            global_strategy=GlobalStrategy(rc.global_strategy),
        )
    cb = rc.circuit_breaker
    breaker = (
        CircuitBreakerConfig(
            divergence_limit=cb.divergence_threshold,
            max_drawdown=cb.max_drawdown,
            max_drawdown_pct=cb.max_drawdown_pct,
            max_consecutive_losses=cb.max_consecutive_losses,
            venue_error_limit=cb.error_burst_count,
            venue_error_window_ms=cb.error_burst_window_seconds * 1000,
            cooldown_ms=cb.cooldown_seconds * 1000 if cb.cooldown_seconds else None,
        )
        if cb.enabled
        else CircuitBreakerConfig(divergence_limit=None)
    )
    timing = settings.timing
    return GridEngineConfig(
        symbol=t.symbol,
        params=params,
        leverage=t.leverage,
        cancel_on_exit=t.cancel_on_exit,
        price_stale_seconds=float(t.price_stale_seconds),
        margin_lock_seconds=float(t.margin_lock_duration_seconds),
        post_only_retry_delay=float(timing.post_only_retry_delay_seconds),
        reconcile_interval=float(t.reconcile_interval),
        cleanup_interval=float(timing.order_cleanup_interval_seconds),
        cleanup=CleanupConfig(
            threshold=t.order_cleanup_threshold,
            batch_size=t.cleanup_batch_size,
            max_age_ms=t.max_order_age_seconds * 1000 if t.max_order_age_seconds else None,
        ),
        status_interval=float(timing.status_print_interval_seconds),
        shutdown_timeout=float(timing.shutdown_timeout_seconds),
        execution=ExecutionParams(
            max_retries=timing.network_retry_attempts,
            rate_limit_retry_delay=float(timing.rate_limit_retry_delay_seconds),
            max_concurrency=settings.concurrency.max_inflight_orders,
        ),
        dynamic=dynamic,
        skew=skew,
        risk_monitor=monitor,
        breaker=breaker,
        divergence_limit=cb.divergence_threshold,
    )


def _tag(bot_name: str) -> str:
    """A client-id tag from the bot name: lowercase [a-z0-9], at most 8 characters."""
    cleaned = "".join(ch for ch in bot_name.lower() if ch.isascii() and ch.isalnum())[:8]
    return cleaned or "osqt"
