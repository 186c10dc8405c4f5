"""Run the loopback Binance USDT-M server alone: `python -m opensqt.testing.binance_server --port 18080`."""

from __future__ import annotations

import argparse
import contextlib
from decimal import Decimal
from pathlib import Path

import anyio
from loguru import logger

from opensqt.testing.binance_server.memory_venue import MemoryVenue, default_instruments
from opensqt.testing.binance_server.replay import replay
from opensqt.testing.binance_server.server import BinanceServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m opensqt.testing.binance_server")
    parser.add_argument("--port", type=int, default=18080, help="port on 127.0.0.1 (0: any free port)")
    parser.add_argument(
        "--replay", type=Path, help="Binance capture to replay (`<ts_ns> <json>` lines, .gz ok)"
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="replay speed factor (0: as fast as possible)"
    )
    parser.add_argument("--markets", type=int, default=3, help="number of markets served")
    parser.add_argument("--api-key", default="loopback-key")
    parser.add_argument("--secret", default="loopback-secret")
    args = parser.parse_args(argv)
    if args.replay is not None and not args.replay.is_file():
        parser.error(f"--replay: no such file {args.replay}")

    async def run() -> None:
        venue = MemoryVenue(default_instruments(args.markets), balance=Decimal(10_000))
        venue.set_book("BTC/USDT:USDT", Decimal("60000.0"), Decimal("60000.1"))
        async with BinanceServer(venue, port=args.port, api_key=args.api_key, secret=args.secret) as server:
            logger.info(
                "serving Binance USDT-M on {} (ws on ws://127.0.0.1:{})", server.base_url, server.port
            )
            if args.replay is not None:
                n = await replay(venue, args.replay, args.speed)
                logger.info("replayed {} messages from {}", n, args.replay)
            await anyio.sleep_forever()

    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(run)


if __name__ == "__main__":
    main()
