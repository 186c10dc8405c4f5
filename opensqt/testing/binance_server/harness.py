"""`loopback_binance`: a loopback server plus a real ccxt `binanceusdm` adapter pointed at it, for tests and
benchmarks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from opensqt.exchanges.base import Exchange
from opensqt.testing.binance_server.server import BinanceServer


@asynccontextmanager
async def loopback_binance(
    backend: Exchange, *, options: dict[str, Any] | None = None
) -> AsyncIterator[tuple[BinanceServer, Any]]:
    """Yield (server, CcxtExchange). ccxt's own rate limiter is off unless `options` turn it on: tests drive
    rate limits through the server's fault hooks instead."""
    from opensqt.exchanges.factory import build_exchange

    async with BinanceServer(backend) as server:
        opts: dict[str, Any] = {"base_url": server.base_url, "rate_limit": 0, "timeout_ms": 5000}
        opts.update(options or {})
        exchange = build_exchange(
            "binanceusdm", "ccxt", {"api_key": "loopback-key", "secret": "loopback-secret"}, opts
        )
        try:
            yield server, exchange
        finally:
            await exchange.close()
