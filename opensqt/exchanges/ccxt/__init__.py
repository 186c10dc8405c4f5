"""ccxt.pro adapters: one `CcxtExchange` over Binance USDT-M, Binance spot, Bitget, Gate, OKX and Bybit.

Importing this package does not import ccxt; `opensqt.exchanges.factory.build_exchange` does, lazily.
"""

from opensqt.exchanges.ccxt.adapter import CcxtExchange
from opensqt.exchanges.ccxt.errors import VENUE_CODES, map_ccxt_error
from opensqt.exchanges.ccxt.parse import instrument_from_market, order_from_ccxt
from opensqt.exchanges.ccxt.urls import point_at, rewrite_urls
from opensqt.exchanges.ccxt.venues import VENUES, VenueSpec, venue_spec

__all__ = [
    "VENUES",
    "VENUE_CODES",
    "CcxtExchange",
    "VenueSpec",
    "instrument_from_market",
    "map_ccxt_error",
    "order_from_ccxt",
    "point_at",
    "rewrite_urls",
    "venue_spec",
]
