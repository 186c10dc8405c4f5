"""The root `Settings` and its `app:` section, plus `collect_secrets` for the log redactor.

An empty configuration is valid and runs the grid on the simulated venue `sim`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from opensqt.config.sections import (
    EXCHANGE_KINDS,
    NAME_EXPECTS,
    ApiConfig,
    ArbitrageConfig,
    ConcurrencyConfig,
    ExchangeConfig,
    LiveServerConfig,
    LoggingConfig,
    Name,
    RiskControlConfig,
    TelemetryConfig,
    TimingConfig,
)
from opensqt.config.trading import TradingConfig, cross_field_error
from opensqt.config.types import OptStr, Section, setting

DB_URL_RE = r"^(sqlite|sqlite\+aiosqlite|postgresql|postgresql\+psycopg)://.*$"
DB_FILE_NAME = "opensqt.sqlite"


class AppConfig(Section):
    """What this process is: which strategy, on which venues, keeping its files where."""

    bot_name: str = setting(
        "opensqt",
        "Name of this bot (log file, metrics label, database rows).",
        expects="1 to 64 letters, digits, _ . or -",
        pattern=r"^[A-Za-z0-9_.-]{1,64}$",
    )
    strategy: Literal["grid", "arbitrage"] = setting("grid", "Strategy this process runs.")
    active_exchanges: list[Name] = setting(
        default_factory=lambda: ["sim"],
        description="Venues (names under `exchanges:`) this process connects to.",
        expects="a list of exchange names",
        item_expects=NAME_EXPECTS,
        min_length=1,
        max_length=10,
    )
    data_dir: Path = setting(
        Path("data"), "Directory for the database, logs and downloaded data.", expects="a directory path"
    )
    database_url: OptStr = setting(
        None,
        f"SQLAlchemy URL (sqlite or postgresql); empty means sqlite:///<data_dir>/{DB_FILE_NAME}.",
        pattern=DB_URL_RE,
        expects="a sqlite:// or postgresql:// URL (or empty for the default)",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_database(cls, data: Any) -> Any:
        # Derived here rather than left None so every consumer sees the one URL actually used.
        if isinstance(data, dict) and not data.get("database_url"):
            data_dir = data.get("data_dir", "data")
            if isinstance(data_dir, str | Path):
                return {**data, "database_url": f"sqlite:///{Path(data_dir).as_posix()}/{DB_FILE_NAME}"}
        return data


class Settings(BaseSettings):
    """Every setting of every program. Build it with `load_settings` (file < env < CLI); `Settings()` alone
    gives the defaults, because the layering and its error reporting live in `opensqt.config.loader`.
    """

    model_config = SettingsConfigDict(
        env_prefix="OPENSQT_", env_nested_delimiter="__", extra="forbid", frozen=True, validate_default=True
    )

    app: AppConfig = Field(default_factory=AppConfig, description="Process identity and files.")
    exchanges: dict[Name, ExchangeConfig] = setting(
        default_factory=lambda: {"sim": ExchangeConfig(kind="sim")},
        description="Venue accounts by name.",
        expects=NAME_EXPECTS,
    )
    trading: TradingConfig = Field(default_factory=TradingConfig, description="The grid.")
    risk_control: RiskControlConfig = Field(default_factory=RiskControlConfig, description="Risk monitor.")
    arbitrage: ArbitrageConfig = Field(default_factory=ArbitrageConfig, description="Funding arbitrage.")
    timing: TimingConfig = Field(default_factory=TimingConfig, description="Delays and periods.")
    concurrency: ConcurrencyConfig = Field(default_factory=ConcurrencyConfig, description="Queues and pools.")
    api: ApiConfig = Field(default_factory=ApiConfig, description="gRPC API.")
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig, description="Metrics.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Logs.")
    live_server: LiveServerConfig = Field(default_factory=LiveServerConfig, description="Live web view.")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # load_settings merges file, environment and CLI itself so each problem can name its key path.
        return (init_settings,)

    @model_validator(mode="before")
    @classmethod
    def _infer_exchanges(cls, data: Any) -> Any:
        """Give `kind` from the entry name (`binance:` is kind binance), and add a default entry for a used
        venue name that is itself a kind (`active_exchanges: [sim]` needs no `exchanges.sim` section)."""
        if not isinstance(data, dict):
            return data
        exchanges = data.get("exchanges", {"sim": {"kind": "sim"}})
        if not isinstance(exchanges, dict):
            return data
        exchanges = dict(exchanges)
        for name, entry in exchanges.items():
            if isinstance(entry, dict) and "kind" not in entry and name in EXCHANGE_KINDS:
                exchanges[name] = {**entry, "kind": name}
        for name in _used_venue_names(data):
            if name in EXCHANGE_KINDS and name not in exchanges:
                exchanges[name] = {"kind": name}
        return {**data, "exchanges": exchanges}

    @model_validator(mode="after")
    def _venues_configured(self) -> Self:
        known = ", ".join(sorted(self.exchanges))
        for name in self.app.active_exchanges:
            if name not in self.exchanges:
                raise cross_field_error(
                    "app.active_exchanges",
                    f"expected names configured under exchanges ({known}); {name} is not",
                    self.app.active_exchanges,
                )
        if self.app.strategy == "arbitrage":
            for key in ("spot_exchange", "perp_exchange"):
                name = getattr(self.arbitrage, key)
                if name not in self.exchanges:
                    raise cross_field_error(
                        f"arbitrage.{key}", f"expected a name configured under exchanges ({known})", name
                    )
        return self


def _used_venue_names(data: dict[str, Any]) -> list[str]:
    names: list[str] = []
    app = data.get("app")
    active = app.get("active_exchanges", ["sim"]) if isinstance(app, dict) else ["sim"]
    if isinstance(active, list):
        names += [n for n in active if isinstance(n, str)]
    strategy = app.get("strategy") if isinstance(app, dict) else None
    arbitrage = data.get("arbitrage")
    if strategy == "arbitrage":
        arb = arbitrage if isinstance(arbitrage, dict) else {}
        names += [arb.get("spot_exchange", "binance_spot"), arb.get("perp_exchange", "binance")]
    return [n for n in names if isinstance(n, str)]


def collect_secrets(settings: Settings) -> list[str]:
    """Every secret value in the settings (keys, tokens, database password), for the log redactor."""
    found: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, Section | BaseSettings):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(settings)
    password = database_password(settings.app.database_url)
    if password:
        found.append(password)
    return [s for s in dict.fromkeys(found) if s]


def database_password(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None
