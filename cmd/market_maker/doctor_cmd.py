"""`market_maker doctor`: check the config, the database schema, each venue (markets, time, credentials),
the clock skew against it, the API's TLS files and API key files; one line per check: ok, warn or FAIL.

Exit 0 when every check is ok, 1 otherwise (`--allow-warnings`: warnings alone still exit 0).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import stat
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import anyio

from opensqt.clock import Clock, WallClock
from opensqt.config import ExchangeConfig, Settings
from opensqt.engines.venues import build_real_exchange
from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import AuthenticationError, ExchangeError, NetworkError
from opensqt.logs import redact

EXIT_OK, EXIT_FAILURE = 0, 1
OK, WARN, FAIL = "ok", "warn", "FAIL"
#: Binance refuses a signed request stamped more than 1000 ms ahead of its clock; others are similar.
SKEW_FAIL_MS = 1000
SKEW_WARN_MS = 250
CERT_WARN_DAYS = 30
DEFAULT_TIMEOUT_SECONDS = 15.0
#: Config venue kinds -> the ccxt adapter names of `opensqt.exchanges.factory.build_exchange`.
VenueBuilder = Callable[[str, ExchangeConfig, Clock], Exchange]


@dataclass(frozen=True, slots=True)
class Check:
    """One verdict: what was checked, ok / warn / FAIL, and why (never a secret)."""

    name: str
    verdict: str
    detail: str

    def line(self) -> str:
        return redact(f"{self.verdict:<5} {self.name:<22} {self.detail}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECONDS,
        metavar="SECONDS",
        help=f"time allowed for each venue (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--allow-warnings", action="store_true", help="exit 0 when there are warnings but no failure"
    )


def main(
    args: argparse.Namespace,
    settings: Settings,
    out: TextIO | None = None,
    *,
    clock: Clock | None = None,
    build: VenueBuilder | None = None,
    env: dict[str, str] | None = None,
) -> int:
    out = out or sys.stdout
    clock = clock or WallClock()
    env = dict(os.environ) if env is None else env
    source = str(args.config) if getattr(args, "config", None) else env.get("OPENSQT_CONFIG") or "defaults"
    checks = [*check_config(settings, source), check_database(settings)]
    checks += anyio.run(
        check_venues, settings, clock, build or build_venue, float(getattr(args, "timeout", 15.0))
    )
    checks += [check_tls(settings, clock), check_api_keys(settings, env)]
    for check in checks:
        print(check.line(), file=out)
    counts = {v: sum(c.verdict == v for c in checks) for v in (OK, WARN, FAIL)}
    print(f"doctor: {counts[OK]} ok, {counts[WARN]} warn, {counts[FAIL]} FAIL", file=out)
    if counts[FAIL] or (counts[WARN] and not getattr(args, "allow_warnings", False)):
        return EXIT_FAILURE
    return EXIT_OK


# -------------------------------------------------------------------------------------------------- config


def check_config(settings: Settings, source: str) -> list[Check]:
    app = settings.app
    venues = ", ".join(app.active_exchanges)
    checks = [
        Check(
            "config",
            OK,
            f"{source}: valid (bot {app.bot_name}, strategy {app.strategy}, exchanges {venues})",
        )
    ]
    checks.append(_check_dir("data dir", Path(app.data_dir)))
    return checks


def _check_dir(name: str, path: Path) -> Check:
    if path.is_dir():
        if os.access(path, os.W_OK | os.X_OK):
            return Check(name, OK, f"{path}: writable")
        return Check(name, FAIL, f"{path}: not writable by this user; expected a writable directory")
    if path.exists():
        return Check(name, FAIL, f"{path}: exists but is not a directory")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.is_dir() and os.access(ancestor, os.W_OK | os.X_OK):
        return Check(name, OK, f"{path}: does not exist yet; created at start-up")
    return Check(name, FAIL, f"{path}: cannot be created ({ancestor} is not a writable directory)")


# ------------------------------------------------------------------------------------------------ database


def check_database(settings: Settings, directory: Path | None = None) -> Check:
    from sqlalchemy.engine import make_url

    from opensqt.store import SchemaBehindError, StoreError, check_schema, status
    from opensqt.store.engine import redact as redact_url

    url = settings.app.database_url or ""
    where = redact_url(url)
    sqlite = url.startswith("sqlite")
    if sqlite:
        database = make_url(url).database or ""
        # Never create the file here: opening a SQLite URL would make an empty database.
        if database and not Path(database).exists():
            return Check("database", OK, f"{where}: not created yet; the first run creates and migrates it")
    try:
        st = check_schema(url, directory)
    except SchemaBehindError as exc:
        if sqlite and _is_empty(status, url, directory):
            return Check(
                "database", WARN, f"{where}: no schema yet; the first run (or `db migrate`) applies it"
            )
        return Check("database", FAIL, str(exc))
    except StoreError as exc:
        return Check("database", FAIL, str(exc))
    return Check("database", OK, f"{where}: schema {st.current} is current")


def _is_empty(status: Callable[..., Any], url: str, directory: Path | None) -> bool:
    try:
        return status(url, directory).current is None
    except Exception:
        return False


# -------------------------------------------------------------------------------------------------- venues


def venue_names(settings: Settings) -> list[str]:
    names = list(settings.app.active_exchanges)
    if settings.app.strategy == "arbitrage":
        names += [settings.arbitrage.spot_exchange, settings.arbitrage.perp_exchange]
    return list(dict.fromkeys(names))


def build_venue(name: str, config: ExchangeConfig, clock: Clock) -> Exchange:
    """The venue as the doctor talks to it: the configured account, or a fresh simulated venue."""
    if config.kind == "sim":
        from opensqt.clock import ManualClock
        from opensqt.exchanges.sim import SimExchange, SimVenue

        venue = SimVenue(
            name=name,
            balances={config.sim.quote_asset: config.sim.initial_balance},
            clock=ManualClock(clock.now_ms()),
        )
        return SimExchange(venue)
    return build_real_exchange(name, config)


async def check_venues(
    settings: Settings, clock: Clock, build: VenueBuilder, timeout: float = DEFAULT_TIMEOUT_SECONDS
) -> list[Check]:
    checks: list[Check] = []
    names = venue_names(settings)
    for name in names:
        traded = settings.trading.symbol if settings.app.strategy == "grid" and name == names[0] else None
        checks += await check_venue(name, settings.exchanges[name], clock, build, timeout, traded)
    return checks


async def check_venue(
    name: str,
    config: ExchangeConfig,
    clock: Clock,
    build: VenueBuilder,
    timeout: float,
    symbol: str | None,
) -> list[Check]:
    """`venue <name>` (markets listed, the traded symbol among them), `clock <name>` (skew) and, for real
    venues, `credentials <name>`."""
    label = f"venue {name}"
    try:
        exchange = build(name, config, clock)
    except Exception as exc:
        return [Check(label, FAIL, f"cannot build the {config.kind} client: {exc}")]
    try:
        markets = await _call(exchange.load_markets(), timeout, "load_markets")
        sent = clock.now_ms()
        venue_ms = await _call(exchange.fetch_time(), timeout, "fetch_time")
        received = clock.now_ms()
    except _VenueFailure as failure:
        await _close(exchange)
        return [Check(label, FAIL, str(failure))]
    checks: list[Check] = []
    if symbol is not None and symbol not in markets:
        checks.append(
            Check(
                label, FAIL, f"{config.kind}: {len(markets)} markets, but trading.symbol {symbol} is not one"
            )
        )
    else:
        listed = f", {symbol} listed" if symbol else ""
        checks.append(Check(label, OK, f"{config.kind}: {len(markets)} markets{listed}"))
    checks.append(skew_check(name, venue_ms, sent, received))
    if config.kind != "sim":
        checks.append(await _check_credentials(name, config, exchange, timeout))
    await _close(exchange)
    return checks


def skew_check(name: str, venue_ms: int, sent_ms: int, received_ms: int) -> Check:
    """Venue time against the middle of our request: positive when the venue is ahead."""
    round_trip = received_ms - sent_ms
    skew = Decimal(venue_ms) - Decimal(sent_ms + received_ms) / 2
    skew_ms = int(skew.to_integral_value())
    side = "ahead of" if skew_ms >= 0 else "behind"
    text = f"venue clock {abs(skew_ms)} ms {side} ours (round trip {round_trip} ms)"
    if abs(skew_ms) >= SKEW_FAIL_MS:
        return Check(
            f"clock {name}",
            FAIL,
            f"{text}: signed requests will be refused (limit {SKEW_FAIL_MS} ms); sync this machine with NTP",
        )
    if abs(skew_ms) >= SKEW_WARN_MS:
        return Check(f"clock {name}", WARN, f"{text}: near the venue's limit; check NTP (chrony, timesyncd)")
    return Check(f"clock {name}", OK, text)


async def _check_credentials(name: str, config: ExchangeConfig, exchange: Exchange, timeout: float) -> Check:
    label = f"credentials {name}"
    if config.api_key is None:
        return Check(label, WARN, "no api_key/api_secret: public data only; trading needs them")
    try:
        balances = await _call(exchange.fetch_balance(), timeout, "fetch_balance")
    except _VenueFailure as failure:
        return Check(label, FAIL, str(failure))
    return Check(label, OK, f"accepted (balance of {len(balances)} asset(s) read)")


class _VenueFailure(Exception):
    pass


async def _call(call: Awaitable[Any], timeout: float, what: str) -> Any:
    try:
        with anyio.fail_after(timeout):
            return await call
    except TimeoutError:
        raise _VenueFailure(f"{what}: no answer within {timeout:g} s") from None
    except AuthenticationError as exc:
        raise _VenueFailure(f"{what}: credentials refused: {exc}") from None
    except NetworkError as exc:
        raise _VenueFailure(f"{what}: unreachable: {exc}") from None
    except ExchangeError as exc:
        raise _VenueFailure(f"{what}: refused: {exc}") from None
    except Exception as exc:  # a client bug must still give a verdict line, not a traceback
        raise _VenueFailure(f"{what}: {type(exc).__name__}: {exc}") from None


async def _close(exchange: Exchange) -> None:
    # closing a half-broken client must not hide the verdict
    with anyio.CancelScope(shield=True), anyio.move_on_after(5), contextlib.suppress(Exception):
        await exchange.close()


# ----------------------------------------------------------------------------------------------------- TLS


def check_tls(settings: Settings, clock: Clock, warn_days: int = CERT_WARN_DAYS) -> Check:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    from opensqt.api.tls import CERT_FILE, KEY_FILE

    api = settings.api
    if not api.enabled:
        return Check("tls", OK, "API disabled (api.enabled: false)")
    if api.tls_cert_file is None or api.tls_key_file is None:
        directory = Path(settings.app.data_dir) / "api" / "tls"
        cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
        if not cert_path.exists() and not key_path.exists():
            return Check(
                "tls", OK, f"no certificate yet: the first start makes a self-signed one in {directory}"
            )
    else:
        cert_path, key_path = api.tls_cert_file, api.tls_key_file
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except OSError as exc:
        return Check("tls", FAIL, f"{cert_path}: cannot read ({exc.strerror})")
    except ValueError:
        return Check("tls", FAIL, f"{cert_path}: expected a PEM certificate")
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        return Check(
            "tls", FAIL, f"{cert_path}: expected an ECDSA (P-256) certificate; RSA would allow TLS 1.2"
        )
    try:
        key = load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        return Check("tls", FAIL, f"{key_path}: cannot read ({exc.strerror})")
    except (ValueError, TypeError):
        return Check("tls", FAIL, f"{key_path}: expected an unencrypted PEM private key")
    if key.public_key() != public:
        return Check("tls", FAIL, f"{key_path}: does not match the certificate {cert_path}")
    mode = stat.S_IMODE(key_path.stat().st_mode)
    if mode & 0o077:
        return Check(
            "tls", FAIL, f"{key_path}: mode {mode:04o} lets group or others read the private key; chmod 600"
        )
    now = datetime.datetime.fromtimestamp(clock.now_ms() / 1000, datetime.UTC)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < start:
        return Check("tls", FAIL, f"{cert_path}: not valid before {start:%Y-%m-%d %H:%M} UTC")
    if now >= end:
        return Check("tls", FAIL, f"{cert_path}: expired on {end:%Y-%m-%d}; renew it (docs/OPERATIONS.md)")
    days = (end - now).days
    text = (
        f"{cert_path}: ECDSA {public.curve.name}, valid until {end:%Y-%m-%d} ({days} days), key matches, "
        f"mode {mode:04o}"
    )
    if public.curve.name != "secp256r1":
        return Check("tls", WARN, f"{text}; expected P-256 (secp256r1), which every gRPC client supports")
    if days < warn_days:
        return Check("tls", WARN, f"{text}; expires in under {warn_days} days: renew it")
    return Check("tls", OK, text)


# ------------------------------------------------------------------------------------------------ API keys


def check_api_keys(settings: Settings, env: dict[str, str]) -> Check:
    from opensqt.api.auth import (
        CONTROL_KEY_FILE,
        KEYS_ENV,
        KEYS_FILE,
        READ_ONLY_KEY_FILE,
        api_dir,
        parse_keys,
    )

    api = settings.api
    if not api.enabled:
        return Check("api keys", OK, "API disabled (api.enabled: false)")
    if env.get(KEYS_ENV, "").strip():
        try:
            entries = parse_keys(env[KEYS_ENV], KEYS_ENV)
        except ValueError as exc:
            return Check("api keys", FAIL, str(exc))
        return Check("api keys", OK, f"{len(entries)} key(s) from {KEYS_ENV}")
    directory = api_dir(Path(settings.app.data_dir))
    keys_path = api.api_keys_file or directory / KEYS_FILE
    if not keys_path.exists():
        if api.api_keys_file is None:
            return Check("api keys", OK, f"none yet: the first start creates keys (mode 0600) in {directory}")
        return Check("api keys", FAIL, f"{keys_path}: api.api_keys_file does not exist")
    try:
        entries = parse_keys(keys_path.read_text(), str(keys_path))
    except (OSError, UnicodeDecodeError) as exc:
        return Check("api keys", FAIL, f"{keys_path}: cannot read ({getattr(exc, 'strerror', None) or exc})")
    except ValueError as exc:
        return Check("api keys", FAIL, str(exc))
    # Raw keys open the API: any group/other bit is a failure. The keys file holds only hashes: a warning.
    raw = [p for p in (directory / CONTROL_KEY_FILE, directory / READ_ONLY_KEY_FILE) if p.exists()]
    open_raw = [p for p in raw if _mode(p) & 0o077]
    if open_raw:
        listed = ", ".join(f"{p} (mode {_mode(p):04o})" for p in open_raw)
        return Check("api keys", FAIL, f"raw key file readable by group or others: {listed}; chmod 600")
    roles = ", ".join(f"{r} {n}" for r, n in _count_roles(entries))
    text = f"{keys_path}: {len(entries)} key(s) ({roles}), mode {_mode(keys_path):04o}"
    if raw:
        text += "; raw key files " + ", ".join(p.name for p in raw) + " mode 0600"
    if _mode(keys_path) & 0o077:
        return Check("api keys", WARN, f"{text}: readable by group or others (hashes only); chmod 600")
    return Check("api keys", OK, text)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _count_roles(entries: Sequence[Any]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[str(entry.role)] = counts.get(str(entry.role), 0) + 1
    return sorted(counts.items())
