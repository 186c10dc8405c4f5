"""A loopback Binance spot server (`/api/v3` REST, market streams, user data stream) over a spot `Exchange`
backend, so ccxt's `binance` (spot) runs unchanged against it; and `FundingVenue`, the USDT-M test venue that
books funding, for the perp side of a same-venue spot–perp pair.
"""

from opensqt.testing.binance_spot.funding_venue import FundingVenue
from opensqt.testing.binance_spot.server import BinanceSpotServer, spot_error
from opensqt.testing.binance_spot.venue import SpotVenue, spot_instruments

__all__ = ["BinanceSpotServer", "FundingVenue", "SpotVenue", "spot_error", "spot_instruments"]
