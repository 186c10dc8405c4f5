"""The real ccxt binanceusdm client, through our adapter, against the loopback server (MemoryVenue behind)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anyio
import pytest

from opensqt.exchanges import errors
from opensqt.model import OrderStatus, OrderUpdated, PlaceOrder, Side, TimeInForce
from opensqt.testing.binance_server import MemoryVenue

BTC = "BTC/USDT:USDT"
pytestmark = pytest.mark.anyio


def _buy(cid: str, price: str, qty: str = "0.010", post_only: bool = True) -> PlaceOrder:
    tif = TimeInForce.POST_ONLY if post_only else TimeInForce.GTC
    return PlaceOrder(cid, BTC, Side.BUY, Decimal(qty), Decimal(price), time_in_force=tif)


async def test_load_markets_gives_exact_instruments(loopback: Any) -> None:
    server, ex = loopback
    markets = await ex.load_markets()
    btc = markets[BTC]
    assert (btc.venue_symbol, btc.tick_size, btc.lot_size, btc.min_qty, btc.min_notional) == (
        "BTCUSDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal("0.001"),
        Decimal("5"),
    )
    assert sorted(markets) == ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]
    assert server.not_found == []


async def test_balance_create_cancel_round_trip(loopback: Any) -> None:
    _, ex = loopback
    await ex.load_markets()
    assert (await ex.fetch_balance())["USDT"].total == Decimal("1000")
    order = await ex.create_order(_buy("grid-1", "59000.0"))
    assert (order.client_order_id, order.status, order.price, order.quantity) == (
        "grid-1",
        OrderStatus.NEW,
        Decimal("59000.0"),
        Decimal("0.010"),
    )
    assert order.post_only
    # 59000 * 0.01 / 20x leverage = 29.5 USDT of margin held by the open order
    bal = (await ex.fetch_balance())["USDT"]
    assert (bal.free, bal.used) == (Decimal("970.5"), Decimal("29.5"))
    canceled = await ex.cancel_order(BTC, "grid-1")
    assert canceled.status is OrderStatus.CANCELED
    assert await ex.fetch_open_orders(BTC) == []
    with pytest.raises(errors.OrderNotFound) as info:
        await ex.cancel_order(BTC, "grid-1")
    assert info.value.code == "-2011"


async def test_post_only_cross_is_order_would_cross(loopback: Any) -> None:
    _, ex = loopback
    await ex.load_markets()
    with pytest.raises(errors.OrderWouldCross) as info:
        await ex.create_order(_buy("grid-x", "60000.1"))
    assert info.value.code == "-5022"
    assert await ex.fetch_open_orders(BTC) == []


async def test_insufficient_margin_maps_to_insufficient_funds(loopback: Any) -> None:
    _, ex = loopback
    await ex.load_markets()
    with pytest.raises(errors.InsufficientFunds) as info:
        await ex.create_order(_buy("big", "59000.0", qty="1.000"))  # 59000 / 20 = 2950 > 1000
    assert info.value.code == "-2019"


async def test_rate_limit_answer_maps_to_rate_limited_then_recovers(loopback: Any) -> None:
    server, ex = loopback
    await ex.load_markets()
    server.faults.rate_limit_next = 1
    with pytest.raises(errors.RateLimited):
        await ex.fetch_balance()
    assert (await ex.fetch_balance())["USDT"].total == Decimal("1000")


async def test_duplicate_client_id_and_bad_id_are_refused(loopback: Any) -> None:
    _, ex = loopback
    await ex.load_markets()
    await ex.create_order(_buy("dup-1", "59000.0"))
    with pytest.raises(errors.DuplicateClientOrderId) as info:
        await ex.create_order(_buy("dup-1", "58000.0"))
    assert info.value.code == "-4116"
    with pytest.raises(errors.InvalidOrder, match="at most 36"):
        await ex.create_order(_buy("x" * 37, "58000.0"))


async def test_batch_create_and_cancel(loopback: Any) -> None:
    _, ex = loopback
    await ex.load_markets()
    commands = [_buy(f"b-{i}", f"5900{i}.0") for i in range(6)] + [_buy("b-cross", "60000.1")]
    results = await ex.create_orders(commands)
    assert [type(r).__name__ for r in results] == ["Order"] * 6 + ["OrderWouldCross"]
    canceled = await ex.cancel_orders(BTC, [f"b-{i}" for i in range(6)])
    assert [r.status for r in canceled] == [OrderStatus.CANCELED] * 6


async def test_account_settings(loopback: Any) -> None:
    _, ex = loopback
    await ex.load_markets()
    assert await ex.set_leverage(BTC, 10) == 10
    assert await ex.fetch_leverage(BTC) == 10
    assert await ex.fetch_trading_fees(BTC) == (Decimal("0.0002"), Decimal("0.0005"))
    assert await ex.fetch_position_mode() is False
    await ex.ensure_one_way()
    funding = await ex.fetch_funding_rate(BTC)
    assert (funding.rate, funding.interval_hours, funding.mark_price) == (
        Decimal("0.0001"),
        Decimal(8),
        Decimal("60000.05"),
    )
    assert funding.next_funding_time % (8 * 3_600_000) == 0


async def test_hedge_mode_is_refused_with_a_clear_error(loopback: Any, venue: MemoryVenue) -> None:
    _, ex = loopback
    venue.set_hedge_mode(True)
    with pytest.raises(errors.PositionModeError, match="hedge"):
        await ex.ensure_one_way()


async def _collect(ex: Any, sink: list[OrderUpdated], stop: anyio.Event) -> None:
    while not stop.is_set():
        try:
            sink.extend(await ex.watch_orders())
        except errors.NetworkError:
            continue  # dropped stream: the next call resubscribes and recovers the gap


async def _wait(cond: Any, timeout: float = 5.0) -> None:
    with anyio.fail_after(timeout):
        while not cond():
            await anyio.sleep(0.01)


async def test_order_updates_and_fill_over_user_stream(loopback: Any, venue: MemoryVenue) -> None:
    _, ex = loopback
    await ex.load_markets()
    seen: list[OrderUpdated] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(_collect, ex, seen, stop)
        await anyio.sleep(0.3)  # order stream up before orders (REQUIREMENTS 1.2)
        await ex.create_order(_buy("f-1", "59990.0"))
        await _wait(lambda: any(u.order.client_order_id == "f-1" for u in seen))
        venue.publish_trade(BTC, Decimal("59990.0"), Decimal("1"), Side.SELL)
        await _wait(lambda: any(u.fill for u in seen))
        stop.set()
        tg.cancel_scope.cancel()
    fills = [u.fill for u in seen if u.fill is not None]
    assert len(fills) == 1
    fill = fills[0]
    assert (fill.client_order_id, fill.price, fill.quantity, fill.fee, fill.liquidity.value) == (
        "f-1",
        Decimal("59990.0"),
        Decimal("0.010"),
        Decimal("0.1199800"),
        "maker",
    )
    final = [u.order for u in seen if u.order.client_order_id == "f-1"][-1]
    assert (final.status, final.filled, final.average_price) == (
        OrderStatus.FILLED,
        Decimal("0.010"),
        Decimal("59990.0"),
    )


async def test_websocket_drop_loses_no_fill(loopback: Any, venue: MemoryVenue) -> None:
    server, ex = loopback
    await ex.load_markets()
    seen: list[OrderUpdated] = []
    stop = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(_collect, ex, seen, stop)
        await anyio.sleep(0.3)
        await ex.create_order(_buy("gap-1", "59980.0"))
        await _wait(lambda: any(u.order.client_order_id == "gap-1" for u in seen))
        dropped = await server.hub.drop_user_streams()
        venue.publish_trade(BTC, Decimal("59980.0"), Decimal("1"), Side.SELL)  # fills while disconnected
        await _wait(lambda: any(u.fill for u in seen))
        await anyio.sleep(0.3)  # let any late duplicate arrive: it must be filtered
        stop.set()
        tg.cancel_scope.cancel()
    assert dropped == 1
    fills = [u.fill for u in seen if u.fill is not None]
    assert [(f.client_order_id, f.price, f.quantity) for f in fills] == [
        ("gap-1", Decimal("59980.0"), Decimal("0.010"))
    ]
    assert [u.order.status for u in seen if u.order.client_order_id == "gap-1"][-1] is OrderStatus.FILLED
