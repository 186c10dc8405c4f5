"""Fixtures: a MemoryVenue behind the loopback Binance server, and the real ccxt adapter pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance

BTC = "BTC/USDT:USDT"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def venue() -> MemoryVenue:
    v = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    v.set_book(BTC, Decimal("60000.0"), Decimal("60000.1"))
    return v


@pytest.fixture
async def loopback(venue: MemoryVenue) -> AsyncIterator[tuple[Any, Any]]:
    async with loopback_binance(venue) as pair:
        yield pair
