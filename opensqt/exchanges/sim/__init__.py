"""The simulated venue: an in-process matching exchange for paper trading, backtests and fault rehearsal.

- `SimVenue`: the synchronous core (one account, several markets): `attach(data)`, `step()`,
  `advance(until_ms, fast=True)`, `place_order`, `cancel_order`, ... returning typed venue events.
- `SimExchange(venue, faults=FaultPlan(...))`: the `opensqt.exchanges.Exchange` port over a venue.
- `MarketPlayer(data, [exchanges], speed=None)`: plays `MarketData` into exchanges under anyio;
  `run_paper(...)` plays the synthetic generator on the wall clock.
- `FaultPlan`: seeded, scriptable faults. `DEFAULT_INSTRUMENTS`: Binance-like perps and spot markets.

See docs/SIMULATOR.md for the fill/queue model, fees, margin, funding, faults and the speed design.
"""

from opensqt.exchanges.sim.exchange import RequestWeightLimit, SimExchange
from opensqt.exchanges.sim.faults import FaultPlan
from opensqt.exchanges.sim.instruments import (
    BTC_USDT_PERP,
    BTC_USDT_SPOT,
    DEFAULT_INSTRUMENTS,
    DOGE_USDT_PERP,
    ETH_USDT_PERP,
    ETH_USDT_SPOT,
    SOL_USDT_PERP,
    XRP_USDT_PERP,
)
from opensqt.exchanges.sim.orders import Liquidated, VenueEvent
from opensqt.exchanges.sim.player import MarketPlayer, run_paper
from opensqt.exchanges.sim.streams import parse_timeframe
from opensqt.exchanges.sim.venue import SimVenue

__all__ = [
    "BTC_USDT_PERP",
    "BTC_USDT_SPOT",
    "DEFAULT_INSTRUMENTS",
    "DOGE_USDT_PERP",
    "ETH_USDT_PERP",
    "ETH_USDT_SPOT",
    "SOL_USDT_PERP",
    "XRP_USDT_PERP",
    "FaultPlan",
    "Liquidated",
    "MarketPlayer",
    "RequestWeightLimit",
    "SimExchange",
    "SimVenue",
    "VenueEvent",
    "parse_timeframe",
    "run_paper",
]
