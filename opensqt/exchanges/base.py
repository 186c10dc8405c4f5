"""The `Exchange` port: ccxt's verbs with typed results, implemented by the sim venue and ccxt adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Protocol, runtime_checkable

from opensqt.model import (
    Balance,
    BookTop,
    FundingRate,
    Instrument,
    Kline,
    Order,
    OrderUpdated,
    PlaceOrder,
    Position,
    Side,
    Ticker,
    Trade,
)

#: Capabilities, ccxt-style. An adapter lists what it does natively; callers fall back for the rest
#: (e.g. no `create_orders` -> bounded concurrent `create_order` calls).
CAPABILITIES = (
    "create_orders",
    "cancel_orders",
    "cancel_all_orders",
    "watch_trades",
    "watch_ticker",
    "watch_bids_asks",
    "watch_ohlcv",
    "watch_orders",
    "watch_positions",
    "watch_balance",
    "watch_funding_rate",
    "fetch_funding_rates",
    "set_leverage",
    "margin_short",
)


@runtime_checkable
class Exchange(Protocol):
    """One venue account. Every call may raise `NetworkError` or an `ExchangeError` subclass.

    `watch_*` follow ccxt: each call waits for and returns the next batch of updates (never empty).
    """

    name: str
    has: Mapping[str, bool]

    async def load_markets(self, reload: bool = False) -> Mapping[str, Instrument]: ...

    async def fetch_balance(self) -> Mapping[str, Balance]: ...

    async def fetch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]: ...

    async def fetch_open_orders(self, symbol: str | None = None) -> list[Order]: ...

    async def fetch_order(self, symbol: str, client_order_id: str) -> Order: ...

    async def create_order(self, command: PlaceOrder) -> Order: ...

    async def create_orders(self, commands: Sequence[PlaceOrder]) -> list[Order | Exception]: ...

    async def cancel_order(self, symbol: str, client_order_id: str) -> Order: ...

    async def cancel_orders(
        self, symbol: str, client_order_ids: Sequence[str]
    ) -> list[Order | Exception]: ...

    async def cancel_all_orders(self, symbol: str, side: Side | None = None) -> list[Order]: ...

    async def set_leverage(self, symbol: str, leverage: int) -> int: ...

    async def fetch_leverage(self, symbol: str) -> int: ...

    async def fetch_trading_fees(self, symbol: str) -> tuple[Decimal, Decimal]:
        """(maker, taker) fee rates for the account on `symbol`."""
        ...

    async def fetch_position_mode(self) -> bool:
        """True when the account is in hedge (dual-side) mode; we trade one-way only."""
        ...

    async def fetch_funding_rate(self, symbol: str) -> FundingRate: ...

    async def fetch_funding_rates(self, symbols: Sequence[str] | None = None) -> dict[str, FundingRate]: ...

    async def fetch_tickers(self, symbols: Sequence[str] | None = None) -> dict[str, Ticker]: ...

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[Kline]: ...

    async def fetch_time(self) -> int:
        """The venue's clock, epoch ms (for clock-skew checks)."""
        ...

    async def watch_trades(self, symbol: str) -> list[Trade]: ...

    async def watch_ticker(self, symbol: str) -> Ticker: ...

    async def watch_bids_asks(self, symbol: str) -> BookTop: ...

    async def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> list[Kline]: ...

    async def watch_orders(self, symbol: str | None = None) -> list[OrderUpdated]: ...

    async def watch_positions(self, symbols: Sequence[str] | None = None) -> list[Position]: ...

    async def watch_balance(self) -> Mapping[str, Balance]: ...

    async def watch_funding_rate(self, symbol: str) -> FundingRate: ...

    async def close(self) -> None: ...
