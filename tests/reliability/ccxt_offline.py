"""A real ccxt `binanceusdm` adapter that never connects, for feeding recorded or mutated messages through
ccxt's own parsers and ours."""

from __future__ import annotations

from functools import cache
from typing import Any

from opensqt.exchanges.factory import build_exchange
from opensqt.testing.binance_server import default_instruments, shapes


@cache
def _markets() -> dict[str, Any]:
    return shapes.exchange_info(list(default_instruments(3).values()), 1_700_000_000_000)


def offline_adapter() -> Any:
    """A fresh adapter whose ccxt client knows the loopback server's markets (no network call)."""
    ex: Any = build_exchange(
        "binanceusdm",
        "ccxt",
        {"api_key": "k", "secret": "s"},
        {"base_url": "http://127.0.0.1:9", "rate_limit": 0},
    )
    client = ex.client
    client.set_markets(client.parse_markets(_markets()["symbols"]))
    return ex
