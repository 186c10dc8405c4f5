"""Configuration of every OpenSQT program: typed sections, layered loading and clear error lines.

`load_settings(path, overrides, env)` is the one way in; `ConfigError` lists every problem at once.
"""

from __future__ import annotations

from opensqt.config.errors import ConfigError, ConfigProblem
from opensqt.config.loader import CONFIG_PATH_ENV, ENV_PREFIX, load_settings
from opensqt.config.render import masked_dict, settings_yaml
from opensqt.config.sections import (
    EXCHANGE_KINDS,
    ApiConfig,
    ArbitrageConfig,
    CircuitBreakerConfig,
    ConcurrencyConfig,
    ExchangeConfig,
    LiveServerConfig,
    LoggingConfig,
    RiskControlConfig,
    SimConfig,
    TelemetryConfig,
    TimingConfig,
)
from opensqt.config.settings import AppConfig, Settings, collect_secrets
from opensqt.config.trading import DynamicIntervalConfig, InventorySkewConfig, TradingConfig

__all__ = [
    "CONFIG_PATH_ENV",
    "ENV_PREFIX",
    "EXCHANGE_KINDS",
    "ApiConfig",
    "AppConfig",
    "ArbitrageConfig",
    "CircuitBreakerConfig",
    "ConcurrencyConfig",
    "ConfigError",
    "ConfigProblem",
    "DynamicIntervalConfig",
    "ExchangeConfig",
    "InventorySkewConfig",
    "LiveServerConfig",
    "LoggingConfig",
    "RiskControlConfig",
    "Settings",
    "SimConfig",
    "TelemetryConfig",
    "TimingConfig",
    "TradingConfig",
    "collect_secrets",
    "load_settings",
    "masked_dict",
    "settings_yaml",
]
