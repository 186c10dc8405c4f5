"""The loopback Binance spot server: ccxt's `binance` (spot) runs unchanged against it (markets, tickers,
balances, orders, the WebSocket API user data stream), requests are authenticated like Binance, errors carry
Binance spot's codes, and the wire shapes have every field of Binance's documented samples."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any
from urllib.parse import urlencode

import aiohttp
import anyio
import pytest

from opensqt.exchanges import errors as ours
from opensqt.model import (
    Balance,
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Side,
)
from opensqt.testing.binance_spot import BinanceSpotServer, SpotVenue, spot_instruments
from opensqt.testing.binance_spot import shapes as spot_shapes
from opensqt.testing.binance_spot.harness import loopback_binance_spot

BTC = "BTC/USDT"

# Key sets of Binance's documented samples (binance-spot-api-docs user-data-stream.md and rest-api.md). The
# executionReport fields only present for trailing-stop or strategy orders (d, D, j, J) are left out.
EXECUTION_REPORT_KEYS = set("e E s c S o f q p P F g C x X r i l z L n N T t I w m M O Z Y Q W V".split())  # noqa: SIM905
ACCOUNT_POSITION_KEYS = {"e", "E", "u", "B"}
ORDER_FULL_KEYS = {
    "symbol", "orderId", "orderListId", "clientOrderId", "transactTime", "price", "origQty", "executedQty",
    "origQuoteOrderQty", "cummulativeQuoteQty", "status", "timeInForce", "type", "side", "workingTime",
    "selfTradePreventionMode", "fills",
}  # fmt: skip
QUERY_ORDER_KEYS = {
    "symbol", "orderId", "orderListId", "clientOrderId", "price", "origQty", "executedQty",
    "cummulativeQuoteQty", "status", "timeInForce", "type", "side", "stopPrice", "icebergQty", "time",
    "updateTime", "isWorking", "workingTime", "origQuoteOrderQty", "selfTradePreventionMode",
}  # fmt: skip
ACCOUNT_KEYS = {
    "makerCommission", "takerCommission", "buyerCommission", "sellerCommission", "commissionRates",
    "canTrade", "canWithdraw", "canDeposit", "brokered", "requireSelfTradePrevention", "preventSor",
    "updateTime", "accountType", "balances", "permissions", "uid",
}  # fmt: skip


def _order(status: OrderStatus = OrderStatus.FILLED) -> Order:
    return Order(
        "c1", BTC, Side.BUY, OrderType.MARKET, D("0.001"), None, "5000000001",
        filled=D("0.001") if status is OrderStatus.FILLED else D(0),
        average_price=D("60000.01") if status is OrderStatus.FILLED else None,
        status=status, ts_event=1, ts_init=1,
    )  # fmt: skip


def _fill() -> Fill:
    return Fill(
        "7", "c1", BTC, Side.BUY, D("60000.01"), D("0.001"), D("0.06000001"), "USDT", LiquiditySide.TAKER,
        "5000000001", None, 1,
    )  # fmt: skip


def test_shapes_have_every_documented_field() -> None:
    report = spot_shapes.execution_report(_order(), _fill(), "BTCUSDT", 5000000001, 2)
    assert set(report) == EXECUTION_REPORT_KEYS
    assert (report["x"], report["X"], report["l"], report["z"], report["L"], report["n"], report["N"]) == (
        "TRADE", "FILLED", "0.001", "0.001", "60000.01", "0.06000001", "USDT",
    )  # fmt: skip
    assert report["Z"] == "60.00001"  # cumulative quote: 0.001 x 60000.01
    position = spot_shapes.account_position([Balance("BTC", D("0.001"), D("0.001"), D(0), 5)], 6)
    assert set(position) == ACCOUNT_POSITION_KEYS
    assert position["B"] == [{"a": "BTC", "f": "0.001", "l": "0"}]
    assert set(spot_shapes.order_ack_full(_order(), "BTCUSDT", 1, [_fill()])) == ORDER_FULL_KEYS
    assert set(spot_shapes.order(_order(OrderStatus.NEW), "BTCUSDT", 1)) == QUERY_ORDER_KEYS
    assert set(spot_shapes.account([], D("0.001"), D("0.001"), 1)) == ACCOUNT_KEYS


@pytest.fixture
async def spot() -> AsyncIterator[tuple[BinanceSpotServer, Any, SpotVenue]]:
    venue = SpotVenue(spot_instruments(), balances={"USDT": D(1000)})
    venue.set_book(BTC, D("60000.00"), D("60000.01"))
    async with loopback_binance_spot(venue) as (server, exchange):
        yield server, exchange, venue


async def _updates(exchange: Any, n: int) -> list[OrderUpdated]:
    got: list[OrderUpdated] = []
    with anyio.fail_after(10):
        while len(got) < n:
            got += await exchange.watch_orders(None)
    return got


async def test_ccxt_spot_trades_through_the_loopback(spot: Any) -> None:
    server, exchange, _ = spot
    markets = await exchange.load_markets()
    inst = markets[BTC]
    assert (inst.venue_symbol, inst.tick_size, inst.lot_size, inst.min_notional, inst.is_perpetual) == (
        "BTCUSDT", D("0.01"), D("0.00001"), D(5), False,
    )  # fmt: skip
    ticker = (await exchange.fetch_tickers([BTC]))[BTC]
    assert (ticker.bid, ticker.ask) == (D("60000.00"), D("60000.01"))
    assert await exchange.fetch_trading_fees(BTC) == (D("0.001"), D("0.001"))

    # The user data stream first (WebSocket API subscription, as ccxt does it on spot), then a market buy.
    async with anyio.create_task_group() as tg:
        updates: list[OrderUpdated] = []

        async def watch() -> None:
            updates.extend(await _updates(exchange, 2))

        tg.start_soon(watch)
        with anyio.fail_after(10):
            while not server._ws_api:
                await anyio.sleep(0.02)
        order = await exchange.create_order(
            PlaceOrder("buy-1", BTC, Side.BUY, D("0.001"), None, OrderType.MARKET)
        )
    assert (order.status, order.filled, order.average_price) == (
        OrderStatus.FILLED,
        D("0.001"),
        D("60000.01"),
    )
    assert [(u.order.status, u.fill is not None) for u in updates] == [
        (OrderStatus.NEW, False),
        (OrderStatus.FILLED, True),
    ]
    fill = updates[1].fill
    assert fill is not None and (fill.price, fill.quantity, fill.fee, fill.fee_asset) == (
        D("60000.01"), D("0.001"), D("0.06000001"), "USDT",
    )  # fmt: skip
    balances = await exchange.fetch_balance()
    # 1000 - 60.00001 notional - 0.06000001 taker fee
    assert (balances["BTC"].total, balances["USDT"].total) == (D("0.001"), D("939.93998999"))

    # A resting limit sell locks the base; query, list and cancel it.
    rest = await exchange.create_order(PlaceOrder("sell-1", BTC, Side.SELL, D("0.001"), D("61000.00")))
    assert rest.status is OrderStatus.NEW
    assert [o.client_order_id for o in await exchange.fetch_open_orders(BTC)] == ["sell-1"]
    assert (await exchange.fetch_balance())["BTC"].free == D(0)
    canceled = await exchange.cancel_order(BTC, "sell-1")
    assert canceled.status is OrderStatus.CANCELED
    assert (await exchange.fetch_order(BTC, "sell-1")).status is OrderStatus.CANCELED
    assert (await exchange.fetch_balance())["BTC"].free == D("0.001")
    assert server.not_found == []


async def test_spot_error_codes(spot: Any) -> None:
    server, exchange, _ = spot
    await exchange.load_markets()
    # -2010 "Account has insufficient balance for requested action." (ccxt reads the message)
    with pytest.raises(ours.InsufficientFunds, match="insufficient balance"):
        await exchange.create_order(PlaceOrder("big-1", BTC, Side.BUY, D("1"), None, OrderType.MARKET))
    with pytest.raises(ours.OrderNotFound) as unknown:
        await exchange.cancel_order(BTC, "never-sent")
    assert unknown.value.code == "-2011"
    server.faults.rate_limit_next = 1
    with pytest.raises(ours.RateLimited):
        await exchange.fetch_balance()


def _signed(params: dict[str, Any], secret: str = "loopback-secret") -> str:
    query = urlencode(params)
    return query + "&signature=" + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


async def test_signed_requests_and_websocket_api_subscription_are_checked(spot: Any) -> None:
    server, _, _ = spot
    ts = server.clock.now_ms()
    headers = {"X-MBX-APIKEY": "loopback-key"}
    async with aiohttp.ClientSession() as s:
        for query, expected in (
            (_signed({"timestamp": ts}), (200, None)),
            (_signed({"timestamp": ts}, secret="wrong"), (400, -1022)),
            (_signed({"timestamp": ts - 10_000, "recvWindow": 5000}), (400, -1021)),
        ):
            async with s.get(f"{server.base_url}/api/v3/account?{query}", headers=headers) as r:
                body = await r.json()
                assert (r.status, body.get("code") if r.status != 200 else None) == expected
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "1", "timestamp": ts}
        async with s.post(f"{server.base_url}/api/v3/order?{_signed(order)}", headers=headers) as r:
            assert (r.status, await r.json()) == (
                400,
                {"code": -2010, "msg": "Account has insufficient balance for requested action."},
            )
        async with s.ws_connect(f"ws://127.0.0.1:{server.port}/ws-api/v3") as ws:
            params = {"apiKey": "loopback-key", "timestamp": ts}
            payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
            good = hmac.new(b"loopback-secret", payload.encode(), hashlib.sha256).hexdigest()
            method = "userDataStream.subscribe.signature"
            await ws.send_json({"id": "1", "method": method, "params": {**params, "signature": "0" * 64}})
            assert json.loads((await ws.receive()).data)["error"]["code"] == -1022
            await ws.send_json({"id": "2", "method": method, "params": {**params, "signature": good}})
            assert json.loads((await ws.receive()).data) == {
                "id": "2",
                "status": 200,
                "result": {"subscriptionId": 0},
            }
