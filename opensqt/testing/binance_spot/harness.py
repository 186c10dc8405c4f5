"""`loopback_binance_spot`: a loopback spot server plus a real ccxt `binance` (spot) adapter pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from opensqt.testing.binance_spot.server import BinanceSpotServer


@asynccontextmanager
async def loopback_binance_spot(
    backend: Any, *, options: dict[str, Any] | None = None
) -> AsyncIterator[tuple[BinanceSpotServer, Any]]:
    """Yield (server, CcxtExchange). ccxt's own rate limiter is off unless `options` turn it on."""
    from opensqt.exchanges.factory import build_exchange

    server = BinanceSpotServer(backend)
    async with server:
        opts: dict[str, Any] = {"base_url": server.base_url, "rate_limit": 0, "timeout_ms": 5000}
        opts.update(options or {})
        exchange = build_exchange(
            "binance", "ccxt", {"api_key": "loopback-key", "secret": "loopback-secret"}, opts
        )
        try:
            yield server, exchange
        finally:
            await exchange.close()
