"""`live_server run`: serve the live page over market_maker's gRPC API until SIGINT/SIGTERM (exit 0).
Klines come from the API's prices, or from the venue's own stream with `--klines venue`."""

from __future__ import annotations

import argparse
import signal
from pathlib import Path
from typing import Any

import anyio
from loguru import logger

import opensqt.api  # noqa: F401  (the TLS 1.3 policy must be set before grpc loads)
from opensqt.cli import EXIT_FAILURE, EXIT_OK, EXIT_USAGE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--klines",
        choices=("auto", "api", "venue"),
        default="auto",
        help="chart candles: from market_maker's prices (api), the venue's kline stream (venue), or venue "
        "unless the active venue is the simulated one (auto)",
    )
    parser.add_argument("--symbol", help="grid symbol to show (default: market_maker's first grid)")
    parser.add_argument(
        "--poll-interval", type=float, default=1.0, metavar="SECONDS", help="status poll period"
    )
    parser.add_argument(
        "--data-dir", type=Path, help="market_maker's data dir, for its API key and certificate"
    )


def _kline_feed(mode: str, settings: Any) -> Any:
    """A venue kline feed for `--klines venue` (public data only: live_server is never given venue keys)."""
    name = settings.app.active_exchanges[0]
    venue = settings.exchanges.get(name)
    kind = str(venue.kind) if venue is not None else name
    if mode == "api" or (mode == "auto" and kind == "sim"):
        return None
    if kind == "sim" or venue is None:
        raise ValueError("--klines venue: the simulated venue lives inside market_maker; use --klines api")
    from opensqt.exchanges.factory import build_exchange
    from opensqt.web.klines import watch_venue_klines

    options: dict[str, Any] = {"label": f"{name}-klines"}
    if getattr(venue, "base_url", None):
        options["base_url"] = venue.base_url
    if getattr(venue, "testnet", False):
        options["testnet"] = True
    # Config kinds name products; the ccxt adapters name ccxt ids (binance = USDT-M futures).
    venue_id = {"binance": "binanceusdm", "binance_spot": "binance"}.get(kind, kind)
    exchange = build_exchange(venue_id, "ccxt", None, options)
    symbol = settings.trading.symbol

    async def feed(emit: Any) -> None:
        try:
            await watch_venue_klines(exchange, symbol, "1m", emit)
        finally:
            with anyio.CancelScope(shield=True):
                await exchange.close()

    return feed


def main(args: argparse.Namespace, settings: Any) -> int:
    from opensqt.api.client import ApiClient
    from opensqt.web.app import WebSettings
    from opensqt.web.server import LiveServer

    live = settings.live_server
    web = WebSettings.from_config(live)
    data_dir = Path(args.data_dir or settings.app.data_dir)
    try:
        feed = _kline_feed(args.klines, settings)
    except ValueError as exc:
        logger.error("{}", exc)
        return EXIT_USAGE

    async def run() -> None:
        key = live.grpc_api_key.get_secret_value() if live.grpc_api_key is not None else None
        try:
            if key:
                ca = Path(live.grpc_ca_file) if live.grpc_ca_file else data_dir / "api" / "tls" / "cert.pem"
                root = ca.read_bytes() if ca.exists() else None
                client = ApiClient(live.grpc_target, key, root_cert=root)
            else:
                client = ApiClient.from_data_dir(
                    data_dir,
                    target=live.grpc_target,
                    ca_file=Path(live.grpc_ca_file) if live.grpc_ca_file else None,
                )
        except (OSError, ValueError) as exc:
            raise SystemExit(f"live_server: no API key for market_maker: {exc}") from None
        server = LiveServer(
            web, client, symbol=args.symbol, poll_interval=args.poll_interval, kline_feed=feed
        )
        async with client, anyio.create_task_group() as tg:
            await tg.start(server.serve)
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for signum in signals:
                    logger.info("live_server stopping ({})", signal.Signals(signum).name)
                    tg.cancel_scope.cancel()
                    break

    try:
        anyio.run(run)
    except SystemExit as stop:
        logger.error("{}", stop.code)
        return EXIT_FAILURE
    except OSError as exc:
        logger.error("{}", exc)
        return EXIT_FAILURE
    return EXIT_OK
