"""`market_maker ctl status | slots | positions | trip REASON | reset | reconcile`: operate a running bot over
its gRPC API, with the certificate and key the server left in the data dir (or ones given here)."""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from opensqt.api.client import ApiClient, ApiError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="host:port of the API (default: config api.listen, 127.0.0.1:50052)")
    parser.add_argument("--data-dir", type=Path, help="data dir holding api/ keys and certificate")
    parser.add_argument(
        "--key-file", type=Path, help="file with the API key (default: <data-dir>/api/control.key)"
    )
    parser.add_argument(
        "--ca-file", type=Path, help="certificate to trust (default: <data-dir>/api/tls/cert.pem)"
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per call (default 5)")
    sub = parser.add_subparsers(dest="ctl_command", required=True, metavar="COMMAND")
    sub.add_parser("status", help="engine, risk and circuit breaker status")
    slots = sub.add_parser("slots", help="the grid's slots")
    slots.add_argument("--symbol", default=None)
    positions = sub.add_parser("positions", help="open positions")
    positions.add_argument("--symbol", default=None)
    trip = sub.add_parser("trip", help="open the circuit breaker (control key)")
    trip.add_argument("reason", nargs="+", help="why (recorded with the key id)")
    reset = sub.add_parser("reset", help="close the circuit breaker (control key)")
    reset.add_argument("--reason", default="", help="why (optional)")
    reconcile = sub.add_parser("reconcile", help="run a reconciliation now (control key)")
    reconcile.add_argument("--symbol", default=None)
    sub.add_parser(
        "reload", help="re-read the config file of the market_maker on this machine (sends it SIGHUP)"
    )


def _setting(settings: Any, *path: str) -> Any:
    for name in path:
        settings = getattr(settings, name, None)
        if settings is None:
            return None
    return settings


def _client(args: argparse.Namespace, settings: Any) -> ApiClient:
    data_dir = args.data_dir or _setting(settings, "app", "data_dir") or Path("data")
    target = args.target
    if target is None and (listen := _setting(settings, "api", "listen")):
        host, _, port = str(listen).rpartition(":")
        # A server bound to every interface is reached on loopback from this machine.
        target = f"127.0.0.1:{port}" if host in {"0.0.0.0", "[::]", "::"} else str(listen)
    ca = args.ca_file or _setting(settings, "api", "tls_cert_file")
    return ApiClient.from_data_dir(
        Path(data_dir), target=target, key_file=args.key_file, ca_file=ca, timeout=args.timeout
    )


def _d(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


async def _run(args: argparse.Namespace, client: ApiClient) -> None:
    command = args.ctl_command
    if command == "status":
        engine = await client.get_engine_status()
        breaker = await client.get_breaker()
        risk = await client.get_risk_status()
        state = "running" if engine.running else "paused (" + "; ".join(engine.paused_reasons) + ")"
        print(f"engine      {engine.symbol}: {state}")
        print(
            f"price       last {_d(engine.last_price)}  centre {_d(engine.centre_price)}  "
            f"interval {_d(engine.interval)}"
        )
        print(
            f"breaker     {'OPEN' if breaker.is_open else 'closed'}"
            + (f" ({breaker.reason}: {breaker.detail}, by {breaker.actor})" if breaker.is_open else "")
        )
        print(f"risk        {'TRIGGERED' if risk.triggered else 'normal'} ({risk.strategy})")
        for s in risk.symbols:
            print(f"  {s.symbol:<14} {s.state:<8} volatility {_d(s.volatility)}  {s.reason}")
    elif command == "slots":
        snap = await client.get_slots(args.symbol)
        print(
            f"{snap.symbol} version {snap.version}  centre {_d(snap.centre_price)}  "
            f"last {_d(snap.last_price)}"
        )
        print(
            f"{'price':>14} {'slot':<8} {'position':<8} {'qty':>12} "
            f"{'order':<5} {'order price':>14} {'filled':>10}"
        )
        for slot in snap.slots:
            side = slot.order_side.value if slot.order_side else "-"
            print(
                f"{slot.price!s:>14} {slot.slot_status.value:<8} {slot.position_status.value:<8} "
                f"{slot.position_qty!s:>12} "
                f"{side:<5} {_d(slot.order_price):>14} {slot.filled_qty!s:>10}"
            )
    elif command == "positions":
        positions = await client.get_positions(args.symbol)
        if not positions:
            print("no positions")
        for p in positions:
            print(
                f"{p.symbol:<14} size {p.size}  entry {p.entry_price}  upnl {p.unrealized_pnl}  "
                f"mark {_d(p.mark_price)}"
            )
    elif command == "trip":
        change = await client.trip_breaker(" ".join(args.reason))
        print("circuit breaker tripped" if change.changed else "circuit breaker was already open")
    elif command == "reset":
        change = await client.reset_breaker(args.reason)
        print("circuit breaker reset" if change.changed else "circuit breaker was already closed")
    elif command == "reconcile":
        ticket = await client.trigger_reconciliation(args.symbol)
        print(
            f"reconciliation {'accepted' if ticket.accepted else 'refused'} {ticket.run_id}: {ticket.message}"
        )


def _reload(settings: Any) -> int:
    """Signal the local market_maker (its pid file in the data dir) to re-read its config file.

    A local signal, not an API call: only the machine's operator account can do it, as with systemd's
    `ExecReload`. The outcome (applied or refused, key by key) is in that process's log and audit trail.
    """
    import os
    import signal

    from opensqt.engines.grid_runtime import pid_path

    path = pid_path(settings)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        print(f"ctl reload: no running market_maker found (no pid in {path})", file=sys.stderr)
        return 1
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        print(f"ctl reload: market_maker pid {pid} from {path} is not running", file=sys.stderr)
        return 1
    print(f"ctl reload: asked market_maker (pid {pid}) to reload its config; see its log for the outcome")
    return 0


def main(args: argparse.Namespace, settings: Any) -> int:
    """0 done; 1 the API refused or failed (message on stderr); 2 no key or certificate found locally."""
    if args.ctl_command == "reload":
        return _reload(settings)

    async def run() -> int:
        # The channel belongs to the event loop, so the client is made inside it.
        try:
            client = _client(args, settings)
        except (ValueError, OSError) as exc:
            print(f"ctl: {exc}", file=sys.stderr)
            return 2
        async with client:
            try:
                await _run(args, client)
            except ApiError as exc:
                print(f"ctl {args.ctl_command}: {exc.code}: {exc.details}", file=sys.stderr)
                return 1
        return 0

    return anyio.run(run)
