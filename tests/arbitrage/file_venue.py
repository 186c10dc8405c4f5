"""A simulated venue whose state lives in a file, so it survives `kill -9` of the process trading on it.

Every call takes an exclusive `flock`, loads the pickled `SimVenue`, runs, and (for changes) writes the new
state by atomic rename before answering. A process killed after the venue changed but before the rename is a
request the venue never got; one killed after the rename but before the answer is a lost answer: the two
ambiguities a real venue has.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import signal
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio

from opensqt.exchanges.sim import SimVenue
from opensqt.model import Balance, FundingRate, Instrument, Order, PlaceOrder, Position, Ticker

T = TypeVar("T")


def save_venue(path: Path, venue: SimVenue) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(venue, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_venue(path: Path) -> SimVenue:
    with open(path, "rb") as f:
        venue: SimVenue = pickle.load(f)
    return venue


class FileVenueExchange:
    """The subset of the `Exchange` port the leg workflows and the arbitrage engine use, over a venue state
    file (no account-margin capability: `has` is empty)."""

    def __init__(self, path: Path, name: str, *, kill_after_order: int = 0, delay: float = 0.0) -> None:
        self.path = path
        self.name = name
        self.has: Mapping[str, bool] = {}
        self.kill_after_order = kill_after_order  # SIGKILL ourselves right after the n-th order is stored
        self.delay = delay
        self.orders_placed = 0

    def _with(self, fn: Callable[[SimVenue], T], mutate: bool) -> T:
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            venue = load_venue(self.path)
            result = fn(venue)
            if mutate:
                venue.drain()
                save_venue(self.path, venue)
            return result

    async def _call(self, fn: Callable[[SimVenue], T], mutate: bool = False) -> T:
        if self.delay:
            await anyio.sleep(self.delay)
        return await anyio.to_thread.run_sync(self._with, fn, mutate)

    async def load_markets(self, reload: bool = False) -> Mapping[str, Instrument]:
        return await self._call(lambda v: dict(v.instruments))

    async def fetch_order(self, symbol: str, client_order_id: str) -> Order:
        return await self._call(lambda v: v.fetch_order(symbol, client_order_id))

    async def create_order(self, command: PlaceOrder) -> Order:
        order = await self._call(lambda v: v.place_order(command), mutate=True)
        self.orders_placed += 1
        if self.kill_after_order and self.orders_placed == self.kill_after_order:
            os.kill(os.getpid(), signal.SIGKILL)  # the venue has the order; we never saw the answer
        return order

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]:
        return await self._call(lambda v: v.positions(symbols))

    async def fetch_balance(self) -> Mapping[str, Balance]:
        return await self._call(lambda v: v.balances())

    async def fetch_funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]:
        def rates(v: SimVenue) -> dict[str, FundingRate]:
            names = (
                symbols if symbols is not None else [s for s, i in v.instruments.items() if i.is_perpetual]
            )
            return {s: v.funding_rate(s) for s in names}

        return await self._call(rates)

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]:
        return await self._call(lambda v: {s: v.ticker(s) for s in (symbols or list(v.instruments))})

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"FileVenueExchange: {name} is not used by the leg workflows or the engine")
