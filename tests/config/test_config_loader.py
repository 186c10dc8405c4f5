"""load_settings: defaults, precedence, `${VAR}` expansion, exact numbers, and one clear line per problem."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import SecretStr

from opensqt.config import ConfigError, Settings, collect_secrets, load_settings, masked_dict, settings_yaml


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _lines(excinfo: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return excinfo.value.lines()


def test_empty_config_runs_the_grid_on_sim() -> None:
    s = load_settings(None, {}, {})
    assert s.app.strategy == "grid"
    assert s.app.active_exchanges == ["sim"]
    assert s.exchanges["sim"].kind == "sim"
    assert s.app.database_url == "sqlite:///data/opensqt.sqlite"
    assert s.trading.symbol == "BTC/USDT:USDT"
    assert s.trading.price_interval == Decimal("50")
    assert s.trading.order_amount == Decimal("100")
    assert (s.trading.buy_window, s.trading.sell_window) == (10, 10)
    assert s.trading.post_only_max_failures == 3
    assert s.risk_control.volume_multiplier == Decimal("3.0")
    assert s.arbitrage.min_spread_apr == Decimal("0.10")
    assert s.api.listen == "127.0.0.1:50052"
    assert s.live_server.port == 8081
    assert s.telemetry.metrics_enabled is False
    assert Settings() == s


def test_cli_beats_env_beats_file_beats_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, "trading:\n  buy_window: 11\n  sell_window: 11\n  order_amount: 40\n")
    env = {"OPENSQT_TRADING__BUY_WINDOW": "12", "OPENSQT_TRADING__SELL_WINDOW": "12"}
    s = load_settings(path, {"trading.buy_window": 13}, env)
    assert s.trading.buy_window == 13  # CLI
    assert s.trading.sell_window == 12  # env
    assert s.trading.order_amount == Decimal("40")  # file
    assert s.trading.min_order_value == Decimal("6")  # default


def test_nested_and_dotted_overrides_merge() -> None:
    s = load_settings(
        None, {"trading": {"dynamic_interval": {"enabled": True}}, "trading.symbol": "ETH/USDT:USDT"}, {}
    )
    assert s.trading.dynamic_interval.enabled is True
    assert s.trading.symbol == "ETH/USDT:USDT"


def test_yaml_and_toml_numbers_are_exact_decimals(tmp_path: Path) -> None:
    yaml_path = _write(tmp_path, "trading:\n  price_interval: 0.1\n  order_amount: 1_000.25\n")
    toml_path = _write(tmp_path, "[trading]\nprice_interval = 0.1\norder_amount = 1000.25\n", "c.toml")
    for path in (yaml_path, toml_path):
        s = load_settings(path, {}, {})
        assert s.trading.price_interval == Decimal("0.1")
        assert str(s.trading.price_interval) == "0.1"
        assert s.trading.order_amount == Decimal("1000.25")


def test_float_from_code_is_refused() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"trading.price_interval": 0.1}, {})
    assert _lines(excinfo) == ["config error: trading.price_interval = float: expected a decimal number > 0"]


def test_boolean_is_not_an_integer() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"trading.buy_window": True}, {})
    assert _lines(excinfo) == ["config error: trading.buy_window = true: expected an integer from 1 to 200"]


def test_variables_expand_with_defaults_and_escapes(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "app:\n  bot_name: ${BOT}\n  data_dir: ${DATA:-/tmp/opensqt-data}\n"
        "exchanges:\n  binance:\n    api_key: ${KEY}\n    api_secret: pre-$${KEY}-post\n",
    )
    s = load_settings(path, {}, {"BOT": "grid-1", "KEY": "k3y-value"})
    assert s.app.bot_name == "grid-1"
    assert s.app.data_dir == Path("/tmp/opensqt-data")
    assert s.app.database_url == "sqlite:////tmp/opensqt-data/opensqt.sqlite"
    assert s.exchanges["binance"].api_key == SecretStr("k3y-value")
    assert s.exchanges["binance"].api_secret == SecretStr("pre-${KEY}-post")


def test_missing_variable_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "exchanges:\n  binance:\n    api_key: ${BINANCE_KEY}\n    api_secret: ${S:-}\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, {}, {})
    assert _lines(excinfo) == [
        "config error: exchanges.binance.api_key = ${BINANCE_KEY}: expected environment variable BINANCE_KEY "
        "to be set (or write ${BINANCE_KEY:-default})"
    ]


def test_empty_default_leaves_a_secret_unset(tmp_path: Path) -> None:
    path = _write(tmp_path, "exchanges:\n  binance:\n    api_key: ${K:-}\n    api_secret: ${S:-}\n")
    s = load_settings(path, {}, {})
    assert s.exchanges["binance"].api_key is None
    assert s.exchanges["binance"].kind == "binance"


def test_env_lists_comma_or_json_and_foreign_variables_ignored() -> None:
    env = {
        "OPENSQT_RISK_CONTROL__MONITOR_SYMBOLS": "BTC/USDT:USDT, ETH/USDT:USDT,SOL/USDT:USDT",
        "OPENSQT_APP__ACTIVE_EXCHANGES": '["sim", "binance"]',
        "OPENSQT_SOAK": "1",
        "OPENSQT_CONFIG": "/nonexistent.yaml",
        "HOME": "/root",
    }
    s = load_settings(None, {}, env)
    assert s.risk_control.monitor_symbols == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert s.app.active_exchanges == ["sim", "binance"]
    assert s.exchanges["binance"].kind == "binance"


def test_cli_set_lists_read_like_the_environment() -> None:
    # `--set KEY=TEXT` gives text, as a variable does: lists comma-separated or JSON, bad JSON named
    s = load_settings(
        None,
        {
            "risk_control.monitor_symbols": "BTC/USDT:USDT,ETH/USDT:USDT,SOL/USDT:USDT",
            "app.active_exchanges": '["sim", "binance"]',
            "concurrency.cpu_affinity": "[1, 0]",
            "trading.buy_window": "7",
        },
        {},
    )
    assert s.risk_control.monitor_symbols == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert s.app.active_exchanges == ["sim", "binance"]
    assert s.concurrency.cpu_affinity == [1, 0]
    assert s.trading.buy_window == 7
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"concurrency.cpu_affinity": "[1,", "concurrency.busy_poll": "maybe"}, {})
    assert _lines(excinfo) == [
        "config error: concurrency.cpu_affinity = [1,: expected a JSON list or comma-separated values"
    ]


def test_env_nested_exchange_and_typo() -> None:
    s = load_settings(
        None, {}, {"OPENSQT_EXCHANGES__OKX__PASSPHRASE": "pp-1234", "OPENSQT_APP__ACTIVE_EXCHANGES": "okx"}
    )
    assert s.exchanges["okx"].passphrase == SecretStr("pp-1234")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {}, {"OPENSQT_TRADING__BUY_WINDW": "5"})
    assert _lines(excinfo) == [
        "config error: trading.buy_windw = 5: unknown key; did you mean trading.buy_window?"
    ]


def test_every_problem_is_listed_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "trading:\n  buy_window: 0\n  grid_mode: up\n  post_only: maybe\n"
        "risk_control:\n  monitor_symbols: [BTC/USDT:USDT, btc]\n  global_strategy: most\n"
        "bogus_section: {a: 1}\n",
    )
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, {}, {})
    assert _lines(excinfo) == [
        "config error: trading.buy_window = 0: expected an integer from 1 to 200",
        "config error: trading.grid_mode = up: expected one of long, short, neutral",
        "config error: trading.post_only = maybe: expected true or false",
        "config error: risk_control.monitor_symbols[1] = btc: expected a ccxt unified symbol such as "
        "BTC/USDT:USDT (perpetual) or BTC/USDT (spot)",
        "config error: risk_control.global_strategy = most: expected one of all, any",
        "config error: bogus_section = {a}: unknown key; expected one of app, exchanges, trading, "
        "risk_control, "
        "arbitrage, timing, concurrency, api, telemetry, logging, live_server",
    ]


def test_cross_field_rules() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(
            None,
            {
                "trading.dynamic_interval": {"min_interval": "5", "max_interval": "2"},
                "risk_control.monitor_symbols": ["BTC/USDT:USDT"],
                "arbitrage.exit_spread_apr": "0.2",
                "live_server.host": "0.0.0.0",
            },
            {},
        )
    assert _lines(excinfo) == [
        "config error: trading.dynamic_interval.min_interval = 5: expected at most max_interval (2)",
        "config error: risk_control.recovery_threshold = 3: expected at most the number of monitor_symbols "
        "(1)",
        "config error: arbitrage.exit_spread_apr = 0.2: expected less than min_spread_apr (0.10)",
        "config error: live_server.host = 0.0.0.0: expected a loopback address unless access_token is set",
    ]
    # A section's own rules run once its fields are valid.
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"trading.leverage": 20, "trading.cleanup_batch_size": 60}, {})
    assert _lines(excinfo) == ["config error: trading.leverage = 20: expected at most max_leverage (10)"]


def test_venues_must_be_configured() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"app.active_exchanges": ["main"]}, {})
    assert _lines(excinfo) == [
        "config error: app.active_exchanges = [main]: expected names configured under exchanges (sim); main "
        "is not"
    ]
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"exchanges.main": {"testnet": True}}, {})
    assert _lines(excinfo) == [
        "config error: exchanges.main.kind: missing: expected one of sim, binance, binance_spot, bitget, "
        "gate, okx, bybit"
    ]
    s = load_settings(None, {"exchanges.main": {"kind": "bybit"}, "app.active_exchanges": ["main"]}, {})
    assert s.exchanges["main"].kind == "bybit"


def test_arbitrage_venues_are_inferred_or_required() -> None:
    s = load_settings(None, {"app.strategy": "arbitrage"}, {})
    assert (s.exchanges["binance_spot"].kind, s.exchanges["binance"].kind) == ("binance_spot", "binance")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"app.strategy": "arbitrage", "arbitrage.perp_exchange": "other"}, {})
    assert _lines(excinfo) == [
        "config error: arbitrage.perp_exchange = other: expected a name configured under exchanges "
        "(binance_spot, sim)"
    ]


def test_secret_values_are_masked_in_errors() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(
            None, {"exchanges.binance": {"api_key": "AKIA-very-secret", "api_secret": 123456789}}, {}
        )
    text = str(excinfo.value)
    assert (
        text
        == "config error: exchanges.binance.api_secret = ***: expected a secret string (or empty to leave "
        "unset)"
    )
    assert "123456789" not in text
    assert excinfo.value.__cause__ is None and excinfo.value.__suppress_context__
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"exchanges.binance": {"api_secrt": "hunter2-hunter2"}}, {})
    assert "hunter2" not in str(excinfo.value)
    assert (
        "exchanges.binance.api_secrt = ***: unknown key; did you mean exchanges.binance.api_secret?"
        in str(excinfo.value)
    )


def test_file_problems_name_the_file_and_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(tmp_path / "missing.yaml", {}, {})
    assert _lines(excinfo) == [f"config error: {tmp_path / 'missing.yaml'}: expected an existing config file"]
    bad = _write(tmp_path, "trading:\n  buy_window: 5\n  buy_window: 6\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(bad, {}, {})
    assert _lines(excinfo) == [f"config error: {bad} line 3: expected valid YAML: duplicate key 'buy_window'"]
    broken = _write(tmp_path, "trading:\n  buy_window: [5\n", "b.yaml")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(broken, {}, {})
    assert _lines(excinfo)[0].startswith(f"config error: {broken} line 3: expected valid YAML:")
    scalar = _write(tmp_path, "just text\n", "s.yaml")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(scalar, {}, {})
    assert _lines(excinfo) == [f"config error: {scalar}: expected a mapping of sections at the top level"]
    other = _write(tmp_path, "{}", "c.json")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(other, {}, {})
    assert _lines(excinfo) == [f"config error: {other}: expected a .yaml, .yml or .toml file"]


def test_non_finite_numbers_are_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, "trading:\n  price_interval: .inf\n  order_amount: .nan\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, {}, {})
    assert _lines(excinfo) == [
        "config error: trading.price_interval = Infinity: expected a decimal number > 0",
        "config error: trading.order_amount = NaN: expected a decimal number > 0",
    ]


def test_api_beyond_loopback_needs_tls_and_keys(tmp_path: Path) -> None:
    cert, key, keys = (tmp_path / n for n in ("c.pem", "k.pem", "keys.txt"))
    for f in (cert, key, keys):
        f.write_text("x")
    s = load_settings(
        None,
        {
            "api": {
                "listen": "0.0.0.0:50052",
                "tls_cert_file": str(cert),
                "tls_key_file": str(key),
                "api_keys_file": str(keys),
            }
        },
        {},
    )
    assert s.api.tls_cert_file == cert
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"api": {"tls_cert_file": str(cert)}}, {})
    assert _lines(excinfo) == [
        "config error: api.tls_key_file = null: expected both tls_cert_file and tls_key_file, or neither"
    ]
    with pytest.raises(ConfigError) as excinfo:
        load_settings(None, {"api.api_keys_file": str(tmp_path / "none.txt")}, {})
    assert _lines(excinfo) == [
        f"config error: api.api_keys_file = {tmp_path / 'none.txt'}: expected an existing readable file"
    ]


def test_show_masks_secrets_and_loads_back(tmp_path: Path) -> None:
    s = load_settings(
        None,
        {
            "exchanges.binance": {"api_key": "key-AAAA1111", "api_secret": "sec-BBBB2222"},
            "app.database_url": "postgresql+psycopg://bot:pw-CCCC3333@127.0.0.1:5432/opensqt",
            "trading.price_interval": "0.10",
        },
        {},
    )
    assert collect_secrets(s) == ["key-AAAA1111", "sec-BBBB2222", "pw-CCCC3333"]
    text = settings_yaml(s)
    for secret in collect_secrets(s):
        assert secret not in text
    assert "    api_key: '***'" in text
    assert "  database_url: postgresql+psycopg://bot:***@127.0.0.1:5432/opensqt" in text
    assert "  price_interval: 0.10\n" in text
    assert masked_dict(s)["exchanges"]["sim"]["api_key"] is None
    again = load_settings(_write(tmp_path, text, "shown.yaml"), {}, {})
    assert again.trading == s.trading
    assert again.risk_control == s.risk_control
    assert again.exchanges["binance"].api_key == SecretStr("***")
