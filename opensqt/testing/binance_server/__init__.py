"""A loopback Binance USDT-M server (REST + websockets) over any `Exchange` backend, for end-to-end tests.

Run alone: `python -m opensqt.testing.binance_server --port 18080 [--replay FILE]`.
"""

from opensqt.testing.binance_server.memory_venue import MemoryVenue, default_instruments
from opensqt.testing.binance_server.server import ApiError, BinanceServer, Faults

__all__ = ["ApiError", "BinanceServer", "Faults", "MemoryVenue", "default_instruments"]
