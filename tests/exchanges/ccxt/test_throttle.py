"""ccxt's request throttler replaced by our TokenBucket: the burst passes at once, the rate still holds per
ccxt endpoint cost, each client has its own, and a 429's Retry-After holds every call of that account back."""

from __future__ import annotations

import time
from decimal import Decimal
from types import SimpleNamespace

import pytest

from opensqt.exchanges import errors
from opensqt.exchanges.ccxt.throttle import install_token_bucket
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from tests.support.clocks import FakeTime

from .conftest import BTC


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_throttle_spends_ccxt_costs_from_a_one_second_burst() -> None:
    t = FakeTime()
    client = SimpleNamespace(enableRateLimit=True, rateLimit=10)  # 10 ms per unit: 100 units/s
    bucket = install_token_bucket(client, clock=t.clock, sleep=t.sleep)
    assert bucket is not None and (bucket.rate, bucket.capacity) == (100.0, 100.0)
    for _ in range(25):
        await client.throttle(4)  # 25 orders of cost 4: the whole burst, no wait
    assert t.sleeps == []
    await client.throttle(4)
    await client.throttle()  # no cost given: one unit
    assert t.sleeps == [0.04, 0.01]


def test_no_limit_configured_means_no_throttle_at_all() -> None:
    client = SimpleNamespace(enableRateLimit=True, rateLimit=0)
    assert install_token_bucket(client) is None
    assert client.enableRateLimit is False  # ccxt skips its throttler queue too
    off = SimpleNamespace(enableRateLimit=False, rateLimit=50)
    assert install_token_bucket(off) is None and not hasattr(off, "throttle")


def test_each_client_gets_its_own_bucket() -> None:
    from opensqt.exchanges.factory import build_exchange

    a = build_exchange("binanceusdm", "ccxt", {"api_key": "ka", "secret": "sa"}, {"rate_limit": 10})
    b = build_exchange("binanceusdm", "ccxt", {"api_key": "kb", "secret": "sb"}, {"rate_limit": 10})
    ba, bb = a._bucket, b._bucket  # type: ignore[attr-defined]
    assert ba is not None and bb is not None and ba is not bb
    assert a.client.throttle is not b.client.throttle  # type: ignore[attr-defined]
    assert a.client.options["ordersLimit"] == 200  # type: ignore[attr-defined]


async def test_burst_then_rate_over_loopback() -> None:
    venue = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    venue.set_book(BTC, Decimal("60000.0"), Decimal("60000.1"))
    # 50 ms per unit: 20 units/s, a burst of 20; /fapi/v1/time costs 1 unit
    async with loopback_binance(venue, options={"rate_limit": 50}) as (_, ex):
        start = time.monotonic()
        await ex.load_markets()  # exchangeInfo: 1 unit
        t0 = time.monotonic()
        for _ in range(19):
            await ex.fetch_time()
        burst = time.monotonic() - t0
        for _ in range(10):
            await ex.fetch_time()
        total = time.monotonic() - start
    # ccxt's own throttler would have spaced the first 19 calls 50 ms apart (~0.9 s)
    assert burst < 0.4
    # 30 units from a full bucket of 20: the 10 beyond it wait for refills at 20/s, 0.5 s from the first
    # call whatever the burst took (a slow burst refills part of the bucket while it runs)
    assert total >= 0.45


async def test_a_429_with_retry_after_holds_the_next_call_back(venue: MemoryVenue) -> None:
    async with loopback_binance(venue, options={"rate_limit": 1}) as (server, ex):
        await ex.load_markets()
        server.faults.rate_limit_next, server.faults.retry_after_s = 1, 1
        with pytest.raises(errors.RateLimited) as info:
            await ex.fetch_balance()
        assert info.value.retry_after == 1.0  # from the Retry-After header (ccxt drops it)
        t0 = time.monotonic()
        assert (await ex.fetch_balance())["USDT"].total == Decimal("1000")
        assert time.monotonic() - t0 >= 0.9  # the bucket held the call until the venue's time was up
