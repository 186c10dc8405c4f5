"""The loopback Binance server speaks the venue's protocol: shapes match the recorded samples, requests are
authenticated like Binance, unknown paths answer 404, websocket SUBSCRIBE and depth update ids chain."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from opensqt.model import Fill, LiquiditySide, Order, OrderStatus, OrderType, Side, TimeInForce
from opensqt.testing.binance_server import BinanceServer, MemoryVenue, default_instruments, shapes
from tests.conftest import SHARED_DATA

SAMPLES = SHARED_DATA / "venues" / "binance-usdm"
BTC = "BTC/USDT:USDT"
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


@pytest.fixture
async def server() -> AsyncIterator[tuple[BinanceServer, MemoryVenue]]:
    venue = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    venue.set_book(BTC, Decimal("60000.0"), Decimal("60000.1"))
    async with BinanceServer(venue) as srv:
        yield srv, venue


def _signed(params: dict[str, Any], secret: str = "loopback-secret") -> str:
    query = urlencode(params)
    return query + "&signature=" + hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()


async def _get(srv: BinanceServer, path: str, query: str = "", key: str = "loopback-key") -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{srv.base_url}{path}?{query}", headers={"X-MBX-APIKEY": key}) as r,
    ):
        text = await r.text()
        return r.status, json.loads(text) if r.content_type == "application/json" else text


# --- shapes against the venue's own samples -------------------------------------------------------


def test_exchange_info_symbol_has_every_sample_field() -> None:
    sample = _sample("http_futures_market_exchange_info.json")["symbols"][0]
    ours = shapes.symbol_info(default_instruments(1)[BTC])
    assert set(sample) - set(ours) == set()
    assert [f["filterType"] for f in sample["filters"]] == [f["filterType"] for f in ours["filters"]]


def test_order_trade_update_has_every_sample_field() -> None:
    sample = _sample("ws_futures_order_update_trade_reduce_only_qty.json")["data"]
    order = Order(
        "c1",
        BTC,
        Side.SELL,
        OrderType.LIMIT,
        Decimal("1.000"),
        Decimal("2500.00"),
        "77",
        Decimal("1.000"),
        Decimal("2500.00"),
        OrderStatus.FILLED,
        TimeInForce.GTC,
        True,
        5,
        5,
    )
    fill = Fill(
        "9988776655",
        "c1",
        BTC,
        Side.SELL,
        Decimal("2500.00"),
        Decimal("1.000"),
        Decimal("0.5"),
        "USDT",
        LiquiditySide.TAKER,
        "77",
        Decimal(0),
        5,
    )
    ours = shapes.order_trade_update(order, fill, "BTCUSDT", 77, 6)
    assert set(sample) == set(ours)
    # AP/cr (trailing stops) and W (working time) are not sent for plain limit orders.
    assert set(sample["o"]) - set(ours["o"]) <= {"AP", "cr", "W"}
    assert (
        ours["o"]["x"],
        ours["o"]["X"],
        ours["o"]["l"],
        ours["o"]["L"],
        ours["o"]["t"],
        ours["o"]["n"],
    ) == (
        "TRADE",
        "FILLED",
        "1.000",
        "2500.00",
        9988776655,
        "0.5",
    )


def test_rest_shapes_cover_the_samples() -> None:
    order = Order("c1", BTC, Side.BUY, OrderType.LIMIT, Decimal("0.010"), Decimal("59000.0"), "77")
    sample_order = _sample("http_futures_account_orders.json")
    sample_order = sample_order[0] if isinstance(sample_order, list) else sample_order
    assert set(sample_order) - set(shapes.order(order, "BTCUSDT", 77)) <= {"activatePrice", "priceRate"}
    ticker = _sample("http_futures_market_ticker_24hr.json")
    ticker = ticker[0] if isinstance(ticker, list) else ticker
    from opensqt.model import Ticker

    assert set(ticker) == set(shapes.ticker_24hr(Ticker(BTC, Decimal(1)), "BTCUSDT"))


# --- authentication, errors and unknown paths -----------------------------------------------------


async def test_signed_request_is_checked(server: Any) -> None:
    srv, _ = server
    ts = srv.clock.now_ms()
    assert (await _get(srv, "/fapi/v2/balance", _signed({"timestamp": ts})))[0] == 200
    status, body = await _get(srv, "/fapi/v2/balance", _signed({"timestamp": ts}, secret="wrong"))
    assert (status, body["code"]) == (400, -1022)
    status, body = await _get(srv, "/fapi/v2/balance", _signed({"timestamp": ts}), key="other")
    assert (status, body["code"]) == (401, -2015)
    status, body = await _get(
        srv, "/fapi/v2/balance", _signed({"timestamp": ts - 10_000, "recvWindow": 5000})
    )
    assert (status, body["code"]) == (400, -1021)


async def test_unknown_path_is_404_and_recorded(server: Any) -> None:
    srv, _ = server
    status, _ = await _get(srv, "/fapi/v9/nothing")
    assert status == 404
    assert srv.not_found == [("GET", "/fapi/v9/nothing")]


async def test_rate_limit_fault_answers_429_with_retry_after(server: Any) -> None:
    srv, _ = server
    srv.faults.rate_limit_next = 1
    async with aiohttp.ClientSession() as s, s.get(f"{srv.base_url}/fapi/v1/time") as r:
        assert (r.status, (await r.json())["code"], r.headers["Retry-After"]) == (429, -1003, "1")


# --- websockets -----------------------------------------------------------------------------------


async def test_subscribe_and_depth_update_ids_chain(server: Any) -> None:
    srv, venue = server
    async with aiohttp.ClientSession() as s, s.ws_connect(f"ws://127.0.0.1:{srv.port}/ws") as ws:
        await ws.send_json(
            {"method": "SUBSCRIBE", "params": ["btcusdt@depth@100ms", "btcusdt@trade"], "id": 7}
        )
        assert await ws.receive_json(timeout=2) == {"result": None, "id": 7}
        await ws.receive_json(timeout=2)  # the book as it stood when the stream started
        venue.set_book(BTC, Decimal("60000.1"), Decimal("60000.2"))
        first = await ws.receive_json(timeout=2)
        venue.set_book(BTC, Decimal("60000.0"), Decimal("60000.2"))
        second = await ws.receive_json(timeout=2)
        venue.publish_trade(BTC, Decimal("60000.2"), Decimal("0.5"), Side.BUY)
        trade = await ws.receive_json(timeout=2)
    assert first["e"] == second["e"] == "depthUpdate"
    assert second["pu"] == first["u"] and second["U"] == first["u"] + 1
    assert second["b"] == [["60000.0", "1"], ["60000.1", "0"]]
    assert (trade["e"], trade["p"], trade["q"], trade["m"]) == ("trade", "60000.2", "0.5", False)
    _, snap = await _get(srv, "/fapi/v1/depth", "symbol=BTCUSDT")
    assert snap["lastUpdateId"] == second["u"]
