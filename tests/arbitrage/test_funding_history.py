"""Funding read from the venue: the `fetch_funding_history` port on the simulated venue, and through real ccxt
(`/fapi/v1/income`, FUNDING_FEE) on the loopback USDT-M server, to the last digit."""

from __future__ import annotations

import hashlib
import hmac
import time
from decimal import Decimal as D

import aiohttp
import anyio

from opensqt.exchanges.base import FundingHistorySource, FundingIncome
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP, SimExchange, SimVenue
from opensqt.model import FundingPaid, OrderType, PlaceOrder, Side
from opensqt.testing.binance_server import default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from opensqt.testing.binance_spot import FundingVenue

BTC = "BTC/USDT:USDT"
# Binance's documented income row (USDT-M "Get Income History").
INCOME_KEYS = {"symbol", "incomeType", "income", "asset", "info", "time", "tranId", "tradeId"}


async def test_sim_exchange_keeps_the_funding_it_booked() -> None:
    ex = SimExchange(SimVenue([BTC_USDT_PERP, ETH_USDT_PERP]))
    assert isinstance(ex, FundingHistorySource) and ex.has["fetch_funding_history"]
    ex.publish(
        [
            FundingPaid(BTC, D("-0.06000000"), D("0.0001"), 28_800_000),
            FundingPaid("ETH/USDT:USDT", D("0.01"), D("0.0001"), 28_800_000),
            FundingPaid(BTC, D("0.03000000"), D("-0.00005"), 57_600_000),
        ]
    )
    assert await ex.fetch_funding_history(BTC) == [
        FundingIncome("1", BTC, D("-0.06000000"), "USDT", 28_800_000),
        FundingIncome("3", BTC, D("0.03000000"), "USDT", 57_600_000),
    ]
    assert [f.income_id for f in await ex.fetch_funding_history(BTC, 28_800_001)] == ["3"]


async def test_ccxt_reads_the_income_history_of_the_loopback_venue() -> None:
    venue = FundingVenue(default_instruments(3), balance=D(10_000), funding_rate=D("0.001"))
    venue.set_book(BTC, D("60000.0"), D("60000.1"))
    venue.publish_trade(BTC, D("60000.0"), D("0.01"), Side.SELL)  # the mark funding is paid on
    async with loopback_binance(venue) as (server, exchange):
        assert exchange.has["fetch_funding_history"]
        await exchange.load_markets()
        await exchange.create_order(PlaceOrder("short-1", BTC, Side.SELL, D("0.001"), None, OrderType.MARKET))
        assert venue.settle_funding(BTC, 1_700_000_000_000) == FundingIncome(
            "9689322392", BTC, D("0.06000000"), "USDT", 1_700_000_000_000
        )  # a short receives 0.001 x 60000.0 x 0.1 %
        venue.set_funding_rate(D("-0.00025"))
        venue.settle_funding(BTC, 1_700_028_800_000)  # ...and pays 0.015 when the rate turns negative

        got = await exchange.fetch_funding_history(BTC, 1_699_999_999_000)
        assert got == [
            FundingIncome("9689322392", BTC, D("0.06000000"), "USDT", 1_700_000_000_000),
            FundingIncome("9689322393", BTC, D("-0.01500000"), "USDT", 1_700_028_800_000),
        ]
        assert sum(f.amount for f in got) == D("0.045")
        assert [f.income_id for f in await exchange.fetch_funding_history(BTC, 1_700_000_000_001)] == [
            "9689322393"
        ]
        assert ("GET", "/fapi/v1/income") in server.requests

        # The raw row has every field of Binance's documented sample.
        status, rows = await _income(server.base_url)
        assert status == 200 and {frozenset(r) for r in rows} == {frozenset(INCOME_KEYS)}
        assert [(r["income"], r["tranId"], r["incomeType"]) for r in rows] == [
            ("0.06000000", 9689322392, "FUNDING_FEE"),
            ("-0.01500000", 9689322393, "FUNDING_FEE"),
        ]


async def _income(base_url: str) -> tuple[int, list[dict[str, object]]]:
    query = f"symbol=BTCUSDT&incomeType=FUNDING_FEE&timestamp={int(time.time() * 1000)}"
    signature = hmac.new(b"loopback-secret", query.encode(), hashlib.sha256).hexdigest()
    headers = {"X-MBX-APIKEY": "loopback-key"}
    with anyio.fail_after(5):
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{base_url}/fapi/v1/income?{query}&signature={signature}", headers=headers) as r,
        ):
            return r.status, await r.json()
