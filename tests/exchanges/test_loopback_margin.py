"""Account margin health through real ccxt on the loopback Binance USDT-M server: `/fapi/v3/account`'s
`totalMaintMargin` and `totalMarginBalance` follow an open position exactly, whichever backend serves it."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from opensqt.exchanges.base import AccountMargin, MarginSource
from opensqt.exchanges.sim import SimExchange
from opensqt.model import OrderType, PlaceOrder, Side, TimeInForce
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from opensqt.testing.binance_server.rest import MAINT_MARGIN_RATIO
from tests.arbitrage.world import PERP, venue

# a short of 0.010 at the synthetic market's mark 59998.3: 0.010 x 59998.3 x 0.004
MAINT = D("2.3999320")
# wallet after the taker fee (999999.70000700) + the short's unrealized PnL (0.0030)
BALANCE = D("999999.70300700")
# the memory venue's wallet after buying 0.010 at 60000.1: 1000 - the 0.05 % taker fee on 600.001
WALLET_AFTER_BUY = D("999.6999995")

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # ccxt runs on asyncio


def _margin_source(exchange: object) -> bool:
    return isinstance(exchange, MarginSource)  # apart, so the check does not narrow the adapter's type


def _market(cid: str, symbol: str, side: Side, qty: str) -> PlaceOrder:
    return PlaceOrder(cid, symbol, side, D(qty), None, OrderType.MARKET, TimeInForce.IOC)


async def test_maintenance_follows_a_sim_position_to_the_cent() -> None:
    v = venue()
    backend = SimExchange(v)
    async with loopback_binance(backend) as (_, exchange):
        assert exchange.has["fetch_account_margin"] and _margin_source(exchange)
        await exchange.load_markets()
        flat = await exchange.fetch_account_margin()
        assert (flat.margin_balance, flat.maintenance_margin) == (D(1_000_000), D(0))

        await exchange.create_order(_market("m1", PERP.symbol, Side.SELL, "0.010"))
        pos = v.positions([PERP.symbol])[0]
        assert pos.size == D("-0.010") and pos.mark_price is not None
        got = await exchange.fetch_account_margin()
        # |size| x mark x the venue's 0.4 %, as the sim ledger states it, carried digit for digit by the wire
        assert got.maintenance_margin == D("0.010") * pos.mark_price * D("0.004") == MAINT
        assert got.margin_balance == v.account.wallet["USDT"] + pos.unrealized_pnl == BALANCE
        assert got == AccountMargin(BALANCE, MAINT, got.ts_ms)

        await exchange.create_order(_market("m2", PERP.symbol, Side.BUY, "0.010"))
        closed = await exchange.fetch_account_margin()
        assert closed.maintenance_margin == 0


async def test_maintenance_follows_a_memory_position_at_the_advertised_rate() -> None:
    symbol = "BTC/USDT:USDT"
    memory = MemoryVenue(default_instruments(3), balance=D(1000))
    memory.set_book(symbol, D("60000.0"), D("60000.1"))
    async with loopback_binance(memory) as (_, exchange):
        await exchange.load_markets()
        await exchange.create_order(_market("b1", symbol, Side.BUY, "0.010"))
        got = await exchange.fetch_account_margin()
        # bought 0.010 at the ask 60000.1: notional 600.001 x the rate /fapi/v1/leverageBracket advertises
        brackets = await exchange.client.fapiPrivateGetLeverageBracket({"symbol": "BTCUSDT"})
        row = brackets[0] if isinstance(brackets, list) else brackets  # one symbol: Binance answers an object
        advertised = D(repr(row["brackets"][0]["maintMarginRatio"]))
        assert advertised == MAINT_MARGIN_RATIO == D("0.004")
        assert got.maintenance_margin == D("600.001") * advertised == D("2.400004")
        wallet = (await memory.fetch_balance())["USDT"].total
        assert got.margin_balance == wallet == WALLET_AFTER_BUY
