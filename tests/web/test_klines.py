"""`watch_venue_klines`: history first, then the stream; a network error backs off and reloads history."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import pytest

from opensqt.exchanges.errors import NetworkError
from opensqt.model import Kline
from opensqt.web.klines import watch_venue_klines

T0 = 1_767_225_600_000


def bar(i: int, close: str) -> Kline:
    c = Decimal(close)
    return Kline("BTC/USDT:USDT", "1m", T0 + i * 60_000, c, c, c, c, Decimal("1.5"))


class StubVenue:
    """fetch_ohlcv returns history; watch_ohlcv replays a script of bars and failures."""

    def __init__(self, script: list[Any]) -> None:
        self.script = script
        self.fetches = 0

    async def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: Any = None, limit: Any = None
    ) -> list[Kline]:
        self.fetches += 1
        assert (symbol, timeframe, limit) == ("BTC/USDT:USDT", "1m", 300)
        return [bar(0, "100")]

    async def watch_ohlcv(self, symbol: str, timeframe: str = "1m") -> list[Kline]:
        if not self.script:
            await anyio.sleep_forever()
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return [step]


async def test_history_stream_and_recovery() -> None:
    venue = StubVenue([bar(1, "101"), NetworkError("socket closed"), bar(2, "102")])
    seen: list[tuple[int, Decimal]] = []
    waits: list[float] = []

    async def emit(k: Kline) -> None:
        seen.append(((k.open_time - T0) // 60_000, k.close))

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    with anyio.move_on_after(1):
        await watch_venue_klines(
            venue,  # type: ignore[arg-type]
            "BTC/USDT:USDT",
            "1m",
            emit,
            backoff=lambda n: 0.5 * (n + 1),
            sleep=sleep,
        )
    assert seen == [(0, Decimal(100)), (1, Decimal(101)), (0, Decimal(100)), (2, Decimal(102))]
    assert waits == [0.5] and venue.fetches == 2


async def test_other_errors_propagate() -> None:
    venue = StubVenue([ValueError("bad symbol")])

    async def emit(k: Kline) -> None:
        pass

    with pytest.raises(ValueError, match="bad symbol"):
        await watch_venue_klines(venue, "BTC/USDT:USDT", "1m", emit)  # type: ignore[arg-type]
