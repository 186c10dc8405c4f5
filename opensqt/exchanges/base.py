"""The `Exchange` port: ccxt's verbs with typed results, implemented by the sim venue and ccxt adapters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    "fetch_account_margin",
    "fetch_funding_history",
)


@dataclass(frozen=True, slots=True)
class AccountMargin:
    """The margin state of a whole (unified) account, in its settle currency: the venue liquidates when
    `margin_balance` falls to `maintenance_margin`. Read by `MarginSource.fetch_account_margin`."""

    margin_balance: Decimal
    maintenance_margin: Decimal
    ts_ms: int


@runtime_checkable
class MarginSource(Protocol):
    """Optional port (capability `fetch_account_margin`): venues that can report the account's margin health.
    Kept apart from `Exchange` so adapters without it still satisfy the main protocol."""

    async def fetch_account_margin(self) -> AccountMargin: ...


@dataclass(frozen=True, slots=True)
class FundingIncome:
    """One funding payment as the venue booked it on the account (Binance `/fapi/v1/income` FUNDING_FEE).

    `income_id` is the venue's own id of the booking (Binance `tranId`): the key that keeps one payment from
    being counted twice. `amount` is signed, + received, in `asset` (the settle currency).
    """

    income_id: str
    symbol: str
    amount: Decimal
    asset: str
    ts_event: int


@runtime_checkable
class FundingHistorySource(Protocol):
    """Optional port (capability `fetch_funding_history`): what the venue actually paid or charged in funding.
    Apart from `Exchange` so venues without it (spot, test doubles) still satisfy the main protocol."""

    async def fetch_funding_history(self, symbol: str, since_ms: int | None = None) -> list[FundingIncome]:
        """Funding booked on `symbol` at or after `since_ms` (epoch ms), oldest first."""
        ...


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

    async def cancel_all_orders(self, symbol: str, side: Side | None = None) -> list[Order]:
        """Cancel every open order of `symbol` (of one side if given); returns the orders cancelled. Where the
        venue's cancel-all answers with no orders (Binance), these are the open orders as fetched just before,
        marked CANCELED: a fill that raced the cancel is not in their `filled`. The order stream, or
        `fetch_order`, has each order's final state; book fills from those, never from this list."""
        ...

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
