"""`market_maker doctor`: every check's ok / warn / FAIL verdict and the exit code."""

from __future__ import annotations

import argparse
import datetime
import io
import shutil
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from market_maker import doctor_cmd
from market_maker.__main__ import main as market_maker_main
from market_maker.doctor_cmd import (
    Check,
    build_venue,
    check_api_keys,
    check_config,
    check_database,
    check_tls,
    check_venue,
    skew_check,
)

from opensqt.api.auth import Role, create_default_keys, key_line
from opensqt.api.tls import create_self_signed
from opensqt.cli import Io
from opensqt.clock import ManualClock
from opensqt.config import ExchangeConfig, Settings, load_settings
from opensqt.exchanges.errors import NetworkError
from opensqt.store import DEFAULT_MIGRATIONS_DIR, migrate
from opensqt.store.atlas import read_files, render_sum

NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def settings_for(tmp: Path, **overrides: Any) -> Settings:
    return load_settings(None, {"app.data_dir": str(tmp / "data"), **overrides}, {})


def clock() -> ManualClock:
    return ManualClock(NOW_MS)


# ------------------------------------------------------------------------------------------------ config


def test_config_and_a_data_dir_to_be_created_are_ok(tmp_path: Path) -> None:
    checks = check_config(settings_for(tmp_path), "configs/market_maker.yaml")
    assert checks == [
        Check(
            "config",
            "ok",
            "configs/market_maker.yaml: valid (bot opensqt, strategy grid, exchanges sim)",
        ),
        Check("data dir", "ok", f"{tmp_path / 'data'}: does not exist yet; created at start-up"),
    ]


def test_a_data_dir_that_cannot_be_created_fails(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    [_, data] = check_config(load_settings(None, {"app.data_dir": str(tmp_path / "file" / "d")}, {}), "x")
    assert data == Check(
        "data dir",
        "FAIL",
        f"{tmp_path / 'file' / 'd'}: cannot be created ({tmp_path / 'file'} is not a writable directory)",
    )


def test_a_data_dir_that_is_a_file_fails(tmp_path: Path) -> None:
    (tmp_path / "data").write_text("x")
    [_, data] = check_config(settings_for(tmp_path), "x")
    assert data == Check("data dir", "FAIL", f"{tmp_path / 'data'}: exists but is not a directory")


# ---------------------------------------------------------------------------------------------- database


def test_a_missing_sqlite_file_is_ok_and_is_not_created(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    check = check_database(settings)
    db = tmp_path / "data" / "opensqt.sqlite"
    assert check == Check(
        "database", "ok", f"sqlite:///{db}: not created yet; the first run creates and migrates it"
    )
    assert not db.exists()


def test_a_migrated_database_is_ok(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    [version] = migrate(str(settings.app.database_url))
    assert check_database(settings) == Check(
        "database", "ok", f"sqlite:///{tmp_path / 'data' / 'opensqt.sqlite'}: schema {version} is current"
    )


def test_an_empty_sqlite_file_is_a_warning(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "opensqt.sqlite").close()
    check = check_database(settings)
    assert (check.verdict, check.detail.split(": ", 1)[1]) == (
        "warn",
        "no schema yet; the first run (or `db migrate`) applies it",
    )


def test_a_database_behind_the_migrations_fails_naming_the_command(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    migrate(str(settings.app.database_url))
    newer = tmp_path / "migrations"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, newer)
    (newer / "29991231000000_more.sql").write_text('CREATE TABLE "extra" ("id" integer);\n')
    (newer / "atlas.sum").write_text(render_sum(read_files(newer)))
    check = check_database(settings, newer)
    assert check.verdict == "FAIL"
    assert "is behind" in check.detail
    assert "29991231000000_more.sql" in check.detail
    assert "run `market_maker db migrate --url" in check.detail


def test_a_database_from_a_newer_program_fails(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    newer = tmp_path / "migrations"
    shutil.copytree(DEFAULT_MIGRATIONS_DIR, newer)
    (newer / "29991231000000_more.sql").write_text('CREATE TABLE "extra" ("id" integer);\n')
    (newer / "atlas.sum").write_text(render_sum(read_files(newer)))
    migrate(str(settings.app.database_url), newer)
    check = check_database(settings)
    assert check.verdict == "FAIL"
    assert "is at schema version 29991231000000, newer than this program's latest" in check.detail


def test_an_unreachable_postgresql_fails_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://bot:pw-secret-9@127.0.0.1:1/opensqt"
    check = check_database(settings_for(tmp_path, **{"app.database_url": url}))
    assert check.verdict == "FAIL"
    assert check.detail.startswith("database postgresql+psycopg://bot:***@127.0.0.1:1/opensqt: cannot read")
    assert "pw-secret-9" not in check.detail


# ------------------------------------------------------------------------------------------------ venues


def sim_config() -> ExchangeConfig:
    return ExchangeConfig(kind="sim")


async def test_the_sim_venue_counts_markets_and_finds_the_symbol() -> None:
    checks = await check_venue("sim", sim_config(), clock(), build_venue, 5.0, "BTC/USDT:USDT")
    assert checks == [
        Check("venue sim", "ok", "sim: 7 markets, BTC/USDT:USDT listed"),
        Check("clock sim", "ok", "venue clock 0 ms ahead of ours (round trip 0 ms)"),
    ]


async def test_a_symbol_the_venue_does_not_list_fails() -> None:
    [venue, _] = await check_venue("sim", sim_config(), clock(), build_venue, 5.0, "PEPE/USDT:USDT")
    assert venue == Check("venue sim", "FAIL", "sim: 7 markets, but trading.symbol PEPE/USDT:USDT is not one")


class DownVenue:
    name = "down"
    closed = False

    async def load_markets(self, reload: bool = False) -> dict[str, Any]:
        raise NetworkError("connection refused", venue="down")

    async def close(self) -> None:
        self.closed = True


class SlowVenue(DownVenue):
    async def load_markets(self, reload: bool = False) -> dict[str, Any]:
        await anyio.sleep(10)
        return {}


async def test_an_unreachable_venue_fails_and_its_client_is_closed() -> None:
    venue = DownVenue()
    build: Any = lambda *_: venue  # noqa: E731
    checks = await check_venue("down", sim_config(), clock(), build, 5.0, None)
    assert checks == [Check("venue down", "FAIL", "load_markets: unreachable: connection refused")]
    assert venue.closed


async def test_a_venue_that_does_not_answer_fails_after_the_timeout() -> None:
    build: Any = lambda *_: SlowVenue()  # noqa: E731
    checks = await check_venue("slow", sim_config(), clock(), build, 0.05, None)
    assert checks == [Check("venue slow", "FAIL", "load_markets: no answer within 0.05 s")]


def test_a_venue_client_that_cannot_be_built_fails() -> None:
    def broken(*_: Any) -> Any:
        raise ValueError("exchange bitget credentials: password (API passphrase) is required for bitget")

    [check] = anyio.run(check_venue, "bitget", ExchangeConfig(kind="bitget"), clock(), broken, 1.0, None)
    assert check == Check(
        "venue bitget",
        "FAIL",
        "cannot build the bitget client: exchange bitget credentials: password (API passphrase) is "
        "required for bitget",
    )


@pytest.mark.parametrize(
    ("venue_ms", "verdict", "detail"),
    [
        (NOW_MS + 40 + 120, "ok", "venue clock 120 ms ahead of ours (round trip 80 ms)"),
        (NOW_MS + 40 - 249, "ok", "venue clock 249 ms behind ours (round trip 80 ms)"),
        (
            NOW_MS + 40 + 250,
            "warn",
            "venue clock 250 ms ahead of ours (round trip 80 ms): near the venue's limit; check NTP "
            "(chrony, timesyncd)",
        ),
        (
            NOW_MS + 40 - 1500,
            "FAIL",
            "venue clock 1500 ms behind ours (round trip 80 ms): signed requests will be refused (limit "
            "1000 ms); sync this machine with NTP",
        ),
    ],
)
def test_clock_skew_verdicts(venue_ms: int, verdict: str, detail: str) -> None:
    assert skew_check("binance", venue_ms, NOW_MS, NOW_MS + 80) == Check("clock binance", verdict, detail)


async def _loopback_checks(**config: Any) -> list[Check]:
    from opensqt.testing.binance_server import MemoryVenue, default_instruments
    from opensqt.testing.binance_server.server import BinanceServer

    backend = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    async with BinanceServer(backend) as server:
        cfg = ExchangeConfig(kind="binance", base_url=server.base_url, **config)
        return await check_venue("binance", cfg, _WallMs(), build_venue, 10.0, "BTC/USDT:USDT")


class _WallMs(ManualClock):
    def now_ms(self) -> int:
        return int(datetime.datetime.now(datetime.UTC).timestamp() * 1000)


async def test_a_real_ccxt_venue_over_loopback_with_good_keys_is_ok() -> None:
    checks = await _loopback_checks(api_key="loopback-key", api_secret="loopback-secret")
    assert [(c.name, c.verdict) for c in checks] == [
        ("venue binance", "ok"),
        ("clock binance", "ok"),
        ("credentials binance", "ok"),
    ]
    assert checks[0].detail == "binance: 3 markets, BTC/USDT:USDT listed"
    assert checks[2].detail == "accepted (balance of 1 asset(s) read)"


async def test_refused_keys_fail_and_missing_keys_warn() -> None:
    bad = await _loopback_checks(api_key="loopback-key", api_secret="wrong-secret")
    assert (bad[2].name, bad[2].verdict) == ("credentials binance", "FAIL")
    assert bad[2].detail.startswith("fetch_balance: credentials refused")
    assert "wrong-secret" not in bad[2].line()
    none = await _loopback_checks()
    assert none[2] == Check(
        "credentials binance", "warn", "no api_key/api_secret: public data only; trading needs them"
    )


# --------------------------------------------------------------------------------------------------- TLS


def tls_settings(tmp: Path, cert: Path, key: Path) -> Settings:
    return settings_for(tmp, **{"api.tls_cert_file": str(cert), "api.tls_key_file": str(key)})


def test_tls_is_ok_when_the_api_is_off_or_no_certificate_exists_yet(tmp_path: Path) -> None:
    off = check_tls(settings_for(tmp_path, **{"api.enabled": False}), clock())
    assert off == Check("tls", "ok", "API disabled (api.enabled: false)")
    fresh = check_tls(settings_for(tmp_path), clock())
    assert fresh == Check(
        "tls",
        "ok",
        f"no certificate yet: the first start makes a self-signed one in {tmp_path / 'data' / 'api' / 'tls'}",
    )


def test_a_valid_self_signed_certificate_is_ok(tmp_path: Path) -> None:
    cert, key = create_self_signed(tmp_path / "data" / "api" / "tls", now=NOW)
    check = check_tls(settings_for(tmp_path), clock())
    assert check == Check(
        "tls", "ok", f"{cert}: ECDSA secp256r1, valid until 2029-03-05 (825 days), key matches, mode 0600"
    )
    assert key.exists()


def test_an_expired_certificate_fails_and_one_close_to_expiry_warns(tmp_path: Path) -> None:
    cert, key = create_self_signed(tmp_path / "old", now=NOW - datetime.timedelta(days=900))
    expired = check_tls(tls_settings(tmp_path, cert, key), clock())
    assert expired == Check("tls", "FAIL", f"{cert}: expired on 2026-09-17; renew it (docs/OPERATIONS.md)")
    cert, key = create_self_signed(tmp_path / "soon", now=NOW - datetime.timedelta(days=810))
    soon = check_tls(tls_settings(tmp_path, cert, key), clock())
    assert soon.verdict == "warn"
    assert soon.detail.endswith("(15 days), key matches, mode 0600; expires in under 30 days: renew it")


def test_a_certificate_not_yet_valid_fails(tmp_path: Path) -> None:
    cert, key = create_self_signed(tmp_path / "future", now=NOW + datetime.timedelta(days=2))
    check = check_tls(tls_settings(tmp_path, cert, key), clock())
    assert check == Check("tls", "FAIL", f"{cert}: not valid before 2026-12-03 11:55 UTC")


def _rsa_pair(tmp: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=100))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "rsa.pem", tmp / "rsa.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    return cert_path, key_path


def test_an_rsa_certificate_fails_because_it_would_allow_tls12(tmp_path: Path) -> None:
    cert, key = _rsa_pair(tmp_path)
    check = check_tls(tls_settings(tmp_path, cert, key), clock())
    assert check == Check(
        "tls", "FAIL", f"{cert}: expected an ECDSA (P-256) certificate; RSA would allow TLS 1.2"
    )


def test_garbage_a_foreign_key_and_an_open_key_file_fail(tmp_path: Path) -> None:
    cert, key = create_self_signed(tmp_path / "a", now=NOW)
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    assert check_tls(tls_settings(tmp_path, garbage, key), clock()) == Check(
        "tls", "FAIL", f"{garbage}: expected a PEM certificate"
    )
    _, other_key = create_self_signed(tmp_path / "b", now=NOW)
    assert check_tls(tls_settings(tmp_path, cert, other_key), clock()) == Check(
        "tls", "FAIL", f"{other_key}: does not match the certificate {cert}"
    )
    key.chmod(0o644)
    assert check_tls(tls_settings(tmp_path, cert, key), clock()) == Check(
        "tls", "FAIL", f"{key}: mode 0644 lets group or others read the private key; chmod 600"
    )


def test_a_p384_certificate_warns(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(NOW - datetime.timedelta(days=1))
        .not_valid_after(NOW + datetime.timedelta(days=100))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_path.chmod(0o600)
    check = check_tls(tls_settings(tmp_path, cert_path, key_path), clock())
    assert check.verdict == "warn"
    assert check.detail.endswith("; expected P-256 (secp256r1), which every gRPC client supports")


# ---------------------------------------------------------------------------------------------- API keys


def test_api_keys_none_yet_then_created_are_ok(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    api = tmp_path / "data" / "api"
    assert check_api_keys(settings, {}) == Check(
        "api keys", "ok", f"none yet: the first start creates keys (mode 0600) in {api}"
    )
    create_default_keys(api)
    assert check_api_keys(settings, {}) == Check(
        "api keys",
        "ok",
        f"{api / 'keys'}: 2 key(s) (control 1, read_only 1), mode 0600; raw key files control.key, "
        "read_only.key mode 0600",
    )


def test_an_open_raw_key_file_fails_and_an_open_hash_file_warns(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    api = tmp_path / "data" / "api"
    create_default_keys(api)
    (api / "keys").chmod(0o640)
    assert check_api_keys(settings, {}).verdict == "warn"
    (api / "control.key").chmod(0o644)
    assert check_api_keys(settings, {}) == Check(
        "api keys",
        "FAIL",
        f"raw key file readable by group or others: {api / 'control.key'} (mode 0644); chmod 600",
    )


def test_a_bad_keys_file_line_fails_naming_the_line_not_its_content(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text(key_line("a", Role.CONTROL, "osk_x") + "\nosk_rawkeypasted\n")
    keys.chmod(0o600)
    check = check_api_keys(settings_for(tmp_path, **{"api.api_keys_file": str(keys)}), {})
    assert check == Check(
        "api keys",
        "FAIL",
        f"{keys} line 2: expected '<key_id> <read_only|control> sha256:<hex>' (3 fields)",
    )


def test_keys_from_the_environment_are_ok(tmp_path: Path) -> None:
    env = {"OPENSQT_API_KEYS": key_line("agent", Role.READ_ONLY, "osk_y")}
    assert check_api_keys(settings_for(tmp_path), env) == Check(
        "api keys", "ok", "1 key(s) from OPENSQT_API_KEYS"
    )


# ----------------------------------------------------------------------------------------- whole command


def run_doctor(settings: Settings, *, allow_warnings: bool = False) -> tuple[int, list[str]]:
    out = io.StringIO()
    args = argparse.Namespace(config=None, timeout=5.0, allow_warnings=allow_warnings)
    code = doctor_cmd.main(args, settings, out, clock=clock(), env={})
    return code, out.getvalue().splitlines()


def test_all_ok_exits_0_with_one_line_per_check(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    migrate(str(settings.app.database_url))
    create_self_signed(tmp_path / "data" / "api" / "tls", now=NOW)
    create_default_keys(tmp_path / "data" / "api")
    code, lines = run_doctor(settings)
    assert [line[:28].rstrip() for line in lines[:-1]] == [
        "ok    config",
        "ok    data dir",
        "ok    database",
        "ok    venue sim",
        "ok    clock sim",
        "ok    tls",
        "ok    api keys",
    ]
    assert (code, lines[-1]) == (0, "doctor: 7 ok, 0 warn, 0 FAIL")


def test_a_warning_exits_1_unless_allowed_and_a_failure_always_exits_1(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "opensqt.sqlite").close()  # empty schema: a warning
    assert run_doctor(settings)[0] == 1
    code, lines = run_doctor(settings, allow_warnings=True)
    assert (code, lines[-1]) == (0, "doctor: 6 ok, 1 warn, 0 FAIL")
    failing = settings_for(tmp_path, **{"trading.symbol": "PEPE/USDT:USDT"})
    code, lines = run_doctor(failing, allow_warnings=True)
    assert (code, lines[-1]) == (1, "doctor: 5 ok, 1 warn, 1 FAIL")


def test_the_cli_dispatches_doctor_and_a_bad_config_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"OPENSQT_APP__DATA_DIR": str(tmp_path / "data")}
    code = market_maker_main(["doctor", "--timeout", "5"], Io(env, io.StringIO(), io.StringIO()))
    out = capsys.readouterr().out.splitlines()
    assert (code, out[-1]) == (0, "doctor: 7 ok, 0 warn, 0 FAIL")
    err = io.StringIO()
    bad = market_maker_main(["doctor", "--set", "trading.buy_window=500"], Io(env, io.StringIO(), err))
    assert bad == 2
    assert err.getvalue() == "config error: trading.buy_window = 500: expected an integer from 1 to 200\n"
