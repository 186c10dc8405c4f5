"""Order entry over Binance USDT-M's websocket API (`order_entry: websocket`) against the loopback server:
the same outcomes and error families as the REST path, REST while the connection is down, and an answer
lost after the send surfacing as an ambiguous network error with the order placed once, never twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import anyio
import pytest

from opensqt.exchanges import errors
from opensqt.model import OrderStatus, PlaceOrder, Side, TimeInForce
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from opensqt.testing.binance_server.ws_api import signature_payload

pytestmark = pytest.mark.anyio

BTC = "BTC/USDT:USDT"
ORDER_PATH = ("POST", "/fapi/v1/order")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def ws_venue(**options: Any) -> AsyncIterator[tuple[Any, Any, MemoryVenue]]:
    venue = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    venue.set_book(BTC, Decimal("60000.0"), Decimal("60000.1"))
    async with loopback_binance(venue, options={"order_entry": "websocket", **options}) as (server, ex):
        await ex.load_markets()
        assert await ex.ws_orders.wait_ready()
        yield server, ex, venue


async def _resting(venue: MemoryVenue) -> list[str]:
    """Client ids of the orders resting on the venue (its own truth, not the adapter's)."""
    return [o.client_order_id for o in await venue.fetch_open_orders(BTC)]


def _buy(cid: str, price: str = "59000.0", post_only: bool = True) -> PlaceOrder:
    tif = TimeInForce.POST_ONLY if post_only else TimeInForce.GTC
    return PlaceOrder(cid, BTC, Side.BUY, Decimal("0.010"), Decimal(price), time_in_force=tif)


async def test_create_and_cancel_go_over_the_ws_api() -> None:
    async with ws_venue() as (server, ex, venue):
        placed = await ex.create_order(_buy("ws1"))
        assert (placed.client_order_id, placed.status, placed.quantity, placed.price) == (
            "ws1",
            OrderStatus.NEW,
            Decimal("0.010"),
            Decimal("59000.0"),
        )
        assert placed.venue_order_id and placed.time_in_force is TimeInForce.POST_ONLY
        assert await _resting(venue) == ["ws1"]
        canceled = await ex.cancel_order(BTC, "ws1")
        assert (canceled.client_order_id, canceled.status, canceled.venue_order_id) == (
            "ws1",
            OrderStatus.CANCELED,
            placed.venue_order_id,
        )
        assert await _resting(venue) == []
        assert server.ws_api.requests == ["order.place", "order.cancel"]
        assert ORDER_PATH not in server.requests and ("DELETE", "/fapi/v1/order") not in server.requests
        assert (ex.ws_orders.sent, ex.ws_fallbacks) == (2, 0)


async def test_post_only_rejection_is_order_would_cross() -> None:
    async with ws_venue() as (server, ex, venue):
        with pytest.raises(errors.OrderWouldCross) as info:
            await ex.create_order(_buy("ws-cross", "60000.1"))  # at the ask: would take
        assert info.value.code == "-5022"
        assert await _resting(venue) == [] and server.ws_api.requests == ["order.place"]


async def test_insufficient_margin_is_insufficient_funds() -> None:
    async with ws_venue() as (_, ex, venue):
        venue._wallet = Decimal(0)  # as the shared contract's "margin" rejection: nothing to margin with
        with pytest.raises(errors.InsufficientFunds) as info:
            await ex.create_order(_buy("ws-margin"))
        assert info.value.code == "-2019"
        assert await _resting(venue) == []


async def test_rate_limit_is_rate_limited_with_its_retry_after() -> None:
    async with ws_venue() as (server, ex, venue):
        server.faults.rate_limit_next, server.faults.retry_after_s = 1, 2
        with pytest.raises(errors.RateLimited) as info:
            await ex.create_order(_buy("ws-limited"))
        assert info.value.code == "-1003"
        # Binance's ws API names the moment the ban lifts (epoch ms): about 2 s from now
        assert info.value.retry_after is not None and 1.5 < info.value.retry_after <= 2.0
        assert await _resting(venue) == []
        await ex.create_order(_buy("ws-after"))  # the next request is served again
        assert await _resting(venue) == ["ws-after"]


async def test_rate_limit_holds_back_this_accounts_bucket() -> None:
    # with a limiter on (100 units/s), a 429 empties this instance's bucket until its retry time
    async with ws_venue(rate_limit=10) as (server, ex, _):
        server.faults.rate_limit_next, server.faults.retry_after_s = 1, 1
        with pytest.raises(errors.RateLimited):
            await ex.create_order(_buy("ws-limited"))
        started = anyio.current_time()
        await ex.create_order(_buy("ws-after"))
        assert anyio.current_time() - started >= 0.8


async def test_unknown_order_cancel_is_order_not_found() -> None:
    async with ws_venue() as (server, ex, _):
        with pytest.raises(errors.OrderNotFound) as info:
            await ex.cancel_order(BTC, "never-placed")
        assert info.value.code == "-2011"
        assert server.ws_api.requests == ["order.cancel"]


async def test_stale_timestamp_and_bad_signature_are_authentication_errors() -> None:
    async with ws_venue() as (_, ex, venue):
        now = ex.client.milliseconds()
        ex.client.nonce = lambda: now - 120_000  # two minutes old: outside the 5 s receive window
        with pytest.raises(errors.AuthenticationError) as stale:
            await ex.create_order(_buy("ws-stale"))
        assert stale.value.code == "-1021"
        ex.client.nonce = lambda: ex.client.milliseconds()
        ex.client.secret = "not-the-secret"
        with pytest.raises(errors.AuthenticationError) as signed:
            await ex.create_order(_buy("ws-badsig"))
        assert signed.value.code == "-1022"
        assert await _resting(venue) == []


async def test_connection_down_falls_back_to_rest_then_reconnects() -> None:
    async with ws_venue() as (server, ex, venue):
        assert await server.ws_api.drop_all() == 1
        with anyio.fail_after(2):
            while ex.ws_orders.ready:
                await anyio.sleep(0.01)
        placed = await ex.create_order(_buy("ws-down"))  # nothing can be sent: REST carries it
        assert placed.status is OrderStatus.NEW
        assert server.requests.count(ORDER_PATH) == 1 and server.ws_api.requests == []
        assert ex.ws_fallbacks == 1
        # the fallback dialled again: the next order goes over the ws API
        assert await ex.ws_orders.wait_ready()
        await ex.create_order(_buy("ws-back", "58000.0"))
        assert server.ws_api.requests == ["order.place"] and server.requests.count(ORDER_PATH) == 1
        assert sorted(await _resting(venue)) == ["ws-back", "ws-down"]


async def test_drop_after_send_is_ambiguous_and_never_doubles_the_order() -> None:
    async with ws_venue() as (server, ex, venue):
        server.faults.order_delay_s = 0.3  # the venue works on the order while the socket drops
        outcome: list[BaseException] = []

        async def submit() -> None:
            try:
                await ex.create_order(_buy("ws-lost"))
            except errors.VenueError as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(submit)
            with anyio.fail_after(2):
                while server.ws_api.requests != ["order.place"]:
                    await anyio.sleep(0.005)
            await server.ws_api.drop_all()
        # the send happened, the answer never came: ambiguous (NetworkError), not a refusal, not a retry
        assert len(outcome) == 1 and type(outcome[0]) is errors.NetworkError
        await anyio.sleep(0.4)  # the venue finishes the order it received
        assert await _resting(venue) == ["ws-lost"]
        assert server.ws_api.requests == ["order.place"] and ORDER_PATH not in server.requests
        # what settles it: a query finds the one order
        found = await ex.fetch_order(BTC, "ws-lost")
        assert (found.client_order_id, found.status) == ("ws-lost", OrderStatus.NEW)


async def test_no_answer_in_time_is_a_request_timeout_and_the_order_is_placed_once() -> None:
    async with ws_venue(timeout_ms=200) as (server, ex, venue):
        server.faults.order_delay_s = 0.5
        with pytest.raises(errors.RequestTimeout):
            await ex.create_order(_buy("ws-slow"))
        await anyio.sleep(0.5)
        assert await _resting(venue) == ["ws-slow"]
        assert server.ws_api.requests == ["order.place"] and ORDER_PATH not in server.requests


def test_signature_payload_sorts_and_spells_booleans_as_binance_does() -> None:
    params = {"symbol": "BTCUSDT", "timestamp": 1, "returnRateLimits": False, "apiKey": "k", "signature": "x"}
    assert signature_payload(params) == "apiKey=k&returnRateLimits=false&symbol=BTCUSDT&timestamp=1"
