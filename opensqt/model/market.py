"""Market data: public trades, top of book, tickers, klines and funding rates."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.model.enums import Side
from opensqt.model.numbers import ZERO


@dataclass(frozen=True, slots=True)
class Trade:
    """A public trade print. `side` is the taker's side (a sell hits bids)."""

    symbol: str
    price: Decimal
    quantity: Decimal
    side: Side
    trade_id: str = ""
    ts_event: int = 0


@dataclass(frozen=True, slots=True)
class BookTop:
    """Best bid and ask with their displayed sizes."""

    symbol: str
    bid: Decimal
    bid_qty: Decimal
    ask: Decimal
    ask_qty: Decimal
    ts_event: int = 0

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2


@dataclass(frozen=True, slots=True)
class Ticker:
    """24h statistics, for market discovery and liquidity filters (REQUIREMENTS §1.5)."""

    symbol: str
    last: Decimal
    bid: Decimal | None = None
    ask: Decimal | None = None
    quote_volume_24h: Decimal = ZERO
    change_pct_24h: Decimal = ZERO
    ts_event: int = 0


@dataclass(frozen=True, slots=True)
class Kline:
    """One candle. `open_time` in epoch ms; `closed` is False while the candle is still forming."""

    symbol: str
    timeframe: str
    open_time: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    closed: bool = True

    def __post_init__(self) -> None:
        if not (self.low <= self.open <= self.high and self.low <= self.close <= self.high):
            raise ValueError(
                f"kline {self.symbol} {self.open_time}: open and close must lie within [low, high]"
            )
        if self.volume < 0:
            raise ValueError(f"kline {self.symbol} {self.open_time}: volume must be >= 0")


@dataclass(frozen=True, slots=True)
class FundingRate:
    """The current funding rate of a perpetual. `next_funding_time` 0 means not applicable."""

    symbol: str
    rate: Decimal
    interval_hours: Decimal
    next_funding_time: int = 0
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    ts_event: int = 0

    def __post_init__(self) -> None:
        if self.interval_hours <= 0:
            raise ValueError(
                f"funding rate {self.symbol}: interval_hours must be > 0, got {self.interval_hours}"
            )


TIMEFRAME_MS: dict[str, int] = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "1d": 86_400_000,
}


def timeframe_ms(timeframe: str) -> int:
    """Milliseconds in a ccxt timeframe string such as `1m` or `4h`."""
    try:
        return TIMEFRAME_MS[timeframe]
    except KeyError:
        raise ValueError(f"timeframe: expected one of {', '.join(TIMEFRAME_MS)}, got {timeframe!r}") from None
