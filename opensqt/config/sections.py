"""Config sections other than the grid: venues, risk, arbitrage, timing, concurrency, API, telemetry, logging,
live server. Every listener defaults to 127.0.0.1; exposing one beyond loopback requires its protection.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from opensqt.config.trading import SYMBOL_EXPECTS, Symbol, cross_field_error
from opensqt.config.types import (
    HOST_PORT_RE,
    NAME_RE,
    Dec,
    Int,
    LogLevel,
    OptDec,
    OptPath,
    OptSecret,
    OptStr,
    Section,
    Timeframe,
    loopback,
    setting,
    split_host_port,
)

ExchangeKind = Literal["sim", "binance", "binance_spot", "bitget", "gate", "okx", "bybit"]
EXCHANGE_KINDS: tuple[str, ...] = ("sim", "binance", "binance_spot", "bitget", "gate", "okx", "bybit")
HostPort = Annotated[str, Field(pattern=HOST_PORT_RE)]
HOST_PORT_EXPECTS = "host:port, e.g. 127.0.0.1:50052"
Name = Annotated[str, Field(pattern=NAME_RE)]
NAME_EXPECTS = "a name of lowercase letters, digits and _ (starting with a letter)"
URL_RE = r"^(https?|wss?)://[^\s]+$"
URL_EXPECTS = "an http(s):// or ws(s):// URL (or empty to leave unset)"
Port = Annotated[Int, Field(ge=1, le=65535)]


def _check_file(path: Path | None, field: str) -> None:
    if path is not None and not path.is_file():
        raise cross_field_error(field, "expected an existing readable file", path)


class SimConfig(Section):
    """The in-process simulated venue (paper trading and backtests)."""

    initial_balance: Dec = setting(Decimal("10000"), "Starting quote balance of the paper account.", ge=0)
    quote_asset: str = setting(
        "USDT",
        "Quote/settlement asset of the paper account.",
        pattern=r"^[A-Z0-9]{2,10}$",
        expects="an asset code such as USDT",
    )
    seed: Int = setting(0, "Seed of the synthetic price path (same seed, same run).", ge=0)
    price_file: OptPath = setting(None, "Recorded prices to replay instead of a synthetic path.")
    persist_account: bool = setting(
        True,
        "Keep the paper account (balances, positions, orders, id counters) in "
        "`<app.data_dir>/sim/<exchange>.json` across runs, as a venue would; false: a fresh account "
        "with `initial_balance` every run (a stored grid then disagrees with it).",
    )


class ExchangeConfig(Section):
    """One venue account. `kind` defaults to the entry's name when the name is a kind (`binance:`)."""

    kind: ExchangeKind = setting(
        description="Venue implementation; defaults to the entry name when that is a kind."
    )
    api_key: OptSecret = setting(None, "API key; prefer `${ENV_VAR}` in files. Never logged.")
    api_secret: OptSecret = setting(None, "API secret. Never logged.")
    passphrase: OptSecret = setting(None, "API passphrase (OKX, Bitget). Never logged.")
    testnet: bool = setting(False, "Use the venue's testnet/sandbox.")
    base_url: OptStr = setting(
        None,
        "Override of the REST base URL (e.g. a loopback venue in tests).",
        pattern=URL_RE,
        expects=URL_EXPECTS,
    )
    ws_url: OptStr = setting(None, "Override of the websocket base URL.", pattern=URL_RE, expects=URL_EXPECTS)
    maker_fee: OptDec = setting(
        None, "Maker fee override (fraction, negative for a rebate).", ge=Decimal("-0.01"), le=Decimal("0.01")
    )
    taker_fee: OptDec = setting(None, "Taker fee override (fraction).", ge=0, le=Decimal("0.01"))
    rate_limit: Int = setting(
        20,
        "Request budget per second of this venue account, in ccxt's cost units (a plain call costs 1; ccxt "
        "weighs some endpoints more, e.g. up to 4 for a Binance order), with a one-second burst. ccxt's own "
        "defaults: Binance, Gate and Bitget 20, Bybit 50, OKX 9.",
        ge=1,
        le=1000,
    )
    order_entry: Literal["rest", "websocket"] = setting(
        "rest",
        "How single orders are placed and cancelled: `rest`, or `websocket` over the venue's websocket API "
        "(Binance USDT-M only; falls back to REST while that connection is down).",
    )
    sim: SimConfig = setting(default_factory=SimConfig, description="Settings of the simulated venue.")

    @model_validator(mode="after")
    def _keys_paired(self) -> Self:
        if (self.api_key is None) != (self.api_secret is None):
            missing = "api_secret" if self.api_secret is None else "api_key"
            raise cross_field_error(missing, "expected both api_key and api_secret, or neither", None)
        if self.order_entry == "websocket" and self.kind != "binance":
            raise cross_field_error(
                "order_entry", "websocket order entry is available for kind binance only", self.order_entry
            )
        return self


class CircuitBreakerConfig(Section):
    """Halts trading on losses, error bursts or state divergence; resets after the cooldown or by hand."""

    enabled: bool = setting(True, "Enable the circuit breaker.")
    max_drawdown: OptDec = setting(None, "Trip when equity falls this much (quote) below its peak.", gt=0)
    max_drawdown_pct: OptDec = setting(
        Decimal("0.20"), "Trip when equity falls this fraction below its peak.", gt=0, le=1
    )
    max_consecutive_losses: Int = setting(
        10, "Trip after this many losing round trips in a row.", ge=1, le=10000
    )
    error_burst_count: Int = setting(
        20, "Trip after this many venue errors within the window.", ge=1, le=100000
    )
    error_burst_window_seconds: Int = setting(60, "Window for counting venue errors.", ge=1, le=86400)
    divergence_threshold: Dec = setting(
        Decimal("0.05"),
        "Reconciliation divergence (fraction) at which trading halts (REQUIREMENTS §2.3).",
        gt=0,
        le=1,
    )
    cooldown_seconds: Int = setting(
        300, "Time an open breaker stays open before it may close.", ge=0, le=86400
    )


DEFAULT_MONITOR_SYMBOLS = [
    "BTC/USDT:USDT",
    "ETH/USDT:USDT",
    "SOL/USDT:USDT",
    "XRP/USDT:USDT",
    "DOGE/USDT:USDT",
]


class RiskControlConfig(Section):
    """Market risk monitor (price below average AND volume spike) and the circuit breaker."""

    enabled: bool = setting(True, "Watch the monitor symbols and stop buying in a crash.")
    monitor_symbols: list[Symbol] = setting(
        default_factory=lambda: list(DEFAULT_MONITOR_SYMBOLS),
        description="Symbols whose klines are watched.",
        expects="a list of ccxt unified symbols such as BTC/USDT:USDT",
        item_expects=SYMBOL_EXPECTS,
        min_length=1,
        max_length=50,
    )
    interval: Timeframe = setting("1m", "Kline timeframe watched.")
    volume_multiplier: Dec = setting(
        Decimal("3.0"), "Panic when volume exceeds average volume times this.", gt=1, le=100
    )
    average_window: Int = setting(20, "Closed candles in the price and volume averages.", ge=2, le=1000)
    recovery_threshold: Int = setting(3, "Symbols that must recover before trading resumes.", ge=1, le=50)
    global_strategy: Literal["all", "any"] = setting(
        "all", "Trigger when all (or any) monitored symbols panic."
    )
    circuit_breaker: CircuitBreakerConfig = setting(
        default_factory=CircuitBreakerConfig, description="Circuit breaker."
    )
    emergency_max_loss: OptDec = setting(
        None,
        "Emergency exit (cancel all, close the position at market, halt until `ctl reset`) when the grid's "
        "unrealized loss reaches this many quote units; empty: off.",
        gt=0,
    )
    emergency_liquidation_buffer: OptDec = setting(
        None,
        "Emergency exit when the mark is within this fraction of the liquidation price; empty: off.",
        gt=0,
        lt=1,
    )
    webhook_url: OptSecret = setting(
        None,
        "Alerts (risk monitor, breaker, margin lock, reconciliation) are POSTed as JSON to this http(s) URL; "
        "kept secret because such URLs often carry a token.",
    )

    @model_validator(mode="after")
    def _recovery_reachable(self) -> Self:
        if self.recovery_threshold > len(self.monitor_symbols):
            raise cross_field_error(
                "recovery_threshold",
                f"expected at most the number of monitor_symbols ({len(self.monitor_symbols)})",
                self.recovery_threshold,
            )
        return self


class ArbitrageConfig(Section):
    """Funding-rate arbitrage (ARBITRAGE.md): spot-perp on one venue, or perp-perp across two."""

    mode: Literal["spot_perp", "cross"] = setting("spot_perp", "Trade shape.")
    spot_exchange: Name = setting(
        "binance_spot", "spot_perp: the spot venue; cross: the first perp venue.", expects=NAME_EXPECTS
    )
    perp_exchange: Name = setting(
        "binance", "spot_perp: the perp venue; cross: the second perp venue.", expects=NAME_EXPECTS
    )
    symbols: list[Symbol] = setting(
        default_factory=list,
        description="Perp symbols to consider; empty selects the universe automatically.",
        expects="a list of ccxt unified symbols such as BTC/USDT:USDT",
        item_expects=SYMBOL_EXPECTS,
    )
    min_spread_apr: Dec = setting(
        Decimal("0.10"), "Enter above this annualised spread (after costs).", gt=0, le=100
    )
    exit_spread_apr: Dec = setting(Decimal("0.01"), "Exit below this annualised spread.", ge=-100, le=100)
    liquidation_threshold: Dec = setting(
        Decimal("0.10"), "Emergency exit when |liq - mark| / mark falls below this.", gt=0, lt=1
    )
    order_amount: Dec = setting(Decimal("100"), "Quote amount per leg.", gt=0)
    max_legs: Int = setting(3, "Most symbols held at once.", ge=1, le=100)
    use_margin: bool = setting(False, "Allow margin-shorting spot for negative funding.")
    min_volume_24h: Dec = setting(Decimal("10000000"), "Minimum 24h quote volume on both legs.", ge=0)
    rescan_interval_seconds: Int = setting(3600, "Seconds between universe rescans.", ge=60, le=7 * 86400)
    holding_period_hours: Int = setting(
        72, "Expected holding period used to annualise round-trip costs.", ge=1, le=24 * 365
    )
    slippage_bps: Dec = setting(Decimal("5"), "Expected slippage per order, in basis points.", ge=0, le=1000)
    funding_stale_seconds: Int = setting(600, "Funding data older than this blocks entries.", ge=10, le=86400)
    switch_enabled: bool = setting(
        True, "Move a held position to a better symbol when every slot (max_legs) is taken."
    )
    switch_min_hold_hours: Int = setting(
        24, "A position is never switched before it has been held this long.", ge=0, le=24 * 365
    )
    switch_cost_multiple: Dec = setting(
        Decimal("2"),
        "Switch only when a week of extra yield exceeds this many times the switch's fees and slippage.",
        ge=0,
        le=100,
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.exit_spread_apr >= self.min_spread_apr:
            raise cross_field_error(
                "exit_spread_apr",
                f"expected less than min_spread_apr ({self.min_spread_apr})",
                self.exit_spread_apr,
            )
        if self.spot_exchange == self.perp_exchange:
            raise cross_field_error(
                "perp_exchange", "expected a venue other than spot_exchange", self.perp_exchange
            )
        return self


class TimingConfig(Section):
    """Delays and periods of the venue connections and housekeeping loops."""

    ws_reconnect_delay_seconds: Dec = setting(
        Decimal("5"), "First delay before reconnecting a stream.", gt=0, le=300
    )
    ws_reconnect_max_delay_seconds: Dec = setting(
        Decimal("60"), "Largest reconnect delay (exponential backoff).", gt=0, le=3600
    )
    ws_ping_interval_seconds: Dec = setting(Decimal("20"), "Websocket ping period.", gt=0, le=300)
    ws_pong_timeout_seconds: Dec = setting(Decimal("60"), "Reconnect when no pong within this.", gt=0, le=600)
    listen_key_keepalive_seconds: Int = setting(1800, "Binance listen-key keepalive period.", ge=60, le=3600)
    rate_limit_retry_delay_seconds: Dec = setting(
        Decimal("1"), "Wait after a rate-limit answer without Retry-After.", gt=0, le=600
    )
    post_only_retry_delay_seconds: Dec = setting(
        Decimal("0.5"), "Wait before re-quoting a rejected post-only order.", ge=0, le=60
    )
    network_retry_base_seconds: Dec = setting(Decimal("0.5"), "First network retry delay.", gt=0, le=60)
    network_retry_max_seconds: Dec = setting(Decimal("30"), "Largest network retry delay.", gt=0, le=3600)
    network_retry_attempts: Int = setting(5, "Network retries before giving up on a call.", ge=0, le=100)
    order_cleanup_interval_seconds: Int = setting(60, "Period of the order cleanup check.", ge=1, le=86400)
    status_print_interval_seconds: Int = setting(10, "Period of the status line.", ge=1, le=86400)
    shutdown_timeout_seconds: Int = setting(
        8, "Time allowed for a clean shutdown (cancel open orders, flush the store).", ge=1, le=600
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ws_reconnect_delay_seconds > self.ws_reconnect_max_delay_seconds:
            raise cross_field_error(
                "ws_reconnect_delay_seconds",
                f"expected at most ws_reconnect_max_delay_seconds ({self.ws_reconnect_max_delay_seconds})",
                self.ws_reconnect_delay_seconds,
            )
        return self


class ConcurrencyConfig(Section):
    """Bounds on queues and pools (REQUIREMENTS §10): memory stays bounded under load."""

    price_queue_size: Int = setting(
        1024, "Price updates buffered per consumer (full: drop oldest).", ge=1, le=1_000_000
    )
    order_event_queue_size: Int = setting(
        4096, "Order events buffered (full: backpressure, never dropped).", ge=1, le=1_000_000
    )
    broadcast_queue_size: Int = setting(
        256, "Events buffered per API subscriber (full: drop oldest).", ge=1, le=100_000
    )
    max_inflight_orders: Int = setting(8, "Concurrent order requests per venue.", ge=1, le=256)
    worker_pool_size: Int = setting(
        4, "Workers for background jobs (klines, funding, cleanup).", ge=1, le=256
    )
    db_pool_size: Int = setting(5, "Database connections (PostgreSQL).", ge=1, le=100)
    max_api_subscribers: Int = setting(64, "Concurrent gRPC stream subscribers.", ge=1, le=10_000)
    cpu_affinity: list[Annotated[Int, Field(ge=0, le=4095)]] = setting(
        default_factory=list,
        description=(
            "CPUs the trading process is pinned to (Linux; empty: wherever the OS schedules it). Checked at "
            "start against the machine's CPUs and the process's cpuset (exit 2 if refused)."
        ),
        expects="a list of distinct CPU numbers",
        item_expects="a CPU number from 0 to 4095",
        max_length=256,
    )

    busy_poll: bool = setting(
        False,
        "Poll sockets without sleeping: a message is read the moment it lands, on a warm CPU. Costs one "
        "whole CPU; pin the process with cpu_affinity to a CPU of its own.",
    )

    @field_validator("cpu_affinity")
    @classmethod
    def _distinct_cpus(cls, cpus: list[int]) -> list[int]:
        if len(set(cpus)) != len(cpus):
            raise ValueError("expected distinct CPU numbers, got a repeat")
        return cpus


class ApiConfig(Section):
    """The agent gRPC API. Beyond loopback it requires TLS files and an API keys file."""

    enabled: bool = setting(True, "Serve the gRPC API.")
    listen: HostPort = setting("127.0.0.1:50052", "Address the gRPC server binds.", expects=HOST_PORT_EXPECTS)
    tls_cert_file: OptPath = setting(None, "PEM certificate; TLS 1.3 is used when set.")
    tls_key_file: OptPath = setting(None, "PEM private key of the certificate.")
    api_keys_file: OptPath = setting(None, "File with one API key per line; empty allows loopback only.")
    rate_limit_per_key: Int = setting(20, "Requests per second allowed per API key.", ge=1, le=100_000)

    @field_validator("listen")
    @classmethod
    def _port_in_range(cls, value: str) -> str:
        if not 1 <= split_host_port(value)[1] <= 65535:
            raise ValueError("port out of range")
        return value

    @model_validator(mode="after")
    def _protected(self) -> Self:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            missing = "tls_key_file" if self.tls_key_file is None else "tls_cert_file"
            raise cross_field_error(missing, "expected both tls_cert_file and tls_key_file, or neither", None)
        _check_file(self.tls_cert_file, "tls_cert_file")
        _check_file(self.tls_key_file, "tls_key_file")
        _check_file(self.api_keys_file, "api_keys_file")
        host = split_host_port(self.listen)[0]
        if not loopback(host) and (self.tls_cert_file is None or self.api_keys_file is None):
            raise cross_field_error(
                "listen",
                "expected a loopback address unless tls_cert_file and api_keys_file are set",
                self.listen,
            )
        return self


class TelemetryConfig(Section):
    """Prometheus metrics endpoint."""

    metrics_enabled: bool = setting(False, "Serve Prometheus metrics.")
    metrics_host: str = setting("127.0.0.1", "Address the metrics endpoint binds.", min_length=1)
    metrics_port: Port = setting(9464, "Port of the metrics endpoint.")


class LoggingConfig(Section):
    """Readable console lines and a rotated JSON-lines file under data_dir/logs; secrets always masked."""

    level: LogLevel = setting("INFO", "Lowest level logged.")
    console: bool = setting(True, "Write readable lines to stderr.")
    json_file: bool = setting(True, "Write JSON lines to a rotated file.")
    dir: OptPath = setting(None, "Log directory; empty means <app.data_dir>/logs.")
    file_name: OptStr = setting(
        None,
        "Log file name; empty means <app.bot_name>.jsonl.",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
        expects="a file name (letters, digits, . _ -) or empty",
    )
    rotation: str = setting(
        "50 MB",
        "Start a new file at this size.",
        pattern=r"^[0-9]{1,6} ?(B|KB|MB|GB)$",
        expects="a size such as 50 MB",
    )
    retention: str = setting(
        "14 days",
        "Delete rotated files older than this.",
        pattern=r"^[0-9]{1,5} ?(hours?|days?|weeks?)$",
        expects="a duration such as 14 days",
    )


class LiveServerConfig(Section):
    """The live web view: serves HTTP and reads the bot's state over gRPC."""

    host: str = setting("127.0.0.1", "Address the HTTP server binds.", min_length=1)
    port: Port = setting(8081, "HTTP port.")
    access_token: OptSecret = setting(None, "Token browsers must present; required beyond loopback.")
    grpc_target: HostPort = setting(
        "127.0.0.1:50052", "market_maker's gRPC address.", expects=HOST_PORT_EXPECTS
    )
    grpc_api_key: OptSecret = setting(None, "API key presented to the gRPC API.")
    grpc_ca_file: OptPath = setting(None, "CA certificate to verify a TLS gRPC server.")
    max_connections: Int = setting(100, "Concurrent browser connections.", ge=1, le=100_000)

    @model_validator(mode="after")
    def _protected(self) -> Self:
        _check_file(self.grpc_ca_file, "grpc_ca_file")
        if not loopback(self.host) and self.access_token is None:
            raise cross_field_error(
                "host", "expected a loopback address unless access_token is set", self.host
            )
        return self
