"""The typed client end to end: orders, fills and PnL history with paging, status reads, exact Decimals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.api.client import ApiClient, ApiError
from opensqt.api.ports import (
    BreakerStatus,
    EngineStatus,
    PageQuery,
    PnlPoint,
    PositionLimit,
    RiskMetrics,
    RiskStatus,
    SymbolRiskStatus,
)
from opensqt.model import Fill, LiquiditySide, Order, OrderStatus, OrderType, Side, TimeInForce
from tests.api.harness import Api


def _order(i: int, symbol: str = "BTCUSDT") -> Order:
    return Order(
        client_order_id=f"g-{i}",
        symbol=symbol,
        side=Side.BUY if i % 2 else Side.SELL,
        type=OrderType.LIMIT,
        quantity=Decimal("0.003"),
        price=Decimal("27000.5") + i,
        venue_order_id=str(9000 + i),
        filled=Decimal("0.001"),
        average_price=Decimal("27000.50"),
        status=OrderStatus.PARTIALLY_FILLED,
        time_in_force=TimeInForce.POST_ONLY,
        ts_event=1000 + i,
        ts_init=1000 + i,
    )


def _fill(i: int) -> Fill:
    return Fill(
        trade_id=f"t{i}",
        client_order_id=f"g-{i}",
        symbol="BTCUSDT",
        side=Side.SELL,
        price=Decimal("27001.1"),
        quantity=Decimal("0.001"),
        fee=Decimal("-0.0054"),
        fee_asset="USDT",
        liquidity=LiquiditySide.MAKER,
        realized_pnl=Decimal("0.12"),
        ts_event=2000 + i,
    )


async def test_order_history_pages_newest_first_until_the_last_page(api: Api) -> None:
    api.engine.add_orders([_order(i) for i in range(5)] + [_order(9, "ETHUSDT")])
    client = api.client(api.read_key)
    first = await client.get_order_history(PageQuery(symbol="BTCUSDT", page_size=2))
    second = await client.get_order_history(
        PageQuery(symbol="BTCUSDT", page_size=2, page_token=first.next_page_token)
    )
    third = await client.get_order_history(
        PageQuery(symbol="BTCUSDT", page_size=2, page_token=second.next_page_token)
    )
    assert first.items == (_order(4), _order(3))
    assert second.items == (_order(2), _order(1))
    assert (third.items, third.next_page_token) == ((_order(0),), "")
    ranged = await client.get_order_history(PageQuery(since_ms=1002, until_ms=1004))
    assert ranged.items == (_order(3), _order(2))


async def test_fills_open_orders_pnl_and_status_arrive_as_exact_values(api: Api) -> None:
    e = api.engine
    e.add_fills([_fill(1), _fill(2)])
    e.open_orders = [_order(7)]
    e.add_pnl(
        [
            PnlPoint(ts_ms=t, symbol="BTCUSDT", realized=Decimal("1.25") * t, unrealized=Decimal("-0.10"))
            for t in (3, 1, 2)
        ]
    )
    e.engine_status = EngineStatus(
        False,
        ("risk monitor triggered",),
        "BTCUSDT",
        Decimal("27000.1"),
        Decimal("27000"),
        Decimal("10.5"),
        5,
    )
    e.risk_status = RiskStatus(
        True, 1234, "cancel_buys", (SymbolRiskStatus("BTCUSDT", "panic", "volume 5x", Decimal("0.0213")),)
    )
    e.risk_metrics = RiskMetrics(
        Decimal("270.01"),
        Decimal("1000.00"),
        Decimal("1010"),
        Decimal("10.00"),
        (PositionLimit("BTCUSDT", Decimal("0.01"), Decimal("270.01"), None),),
        9,
    )
    client = api.client(api.read_key)
    fills = await client.get_fills()
    assert (fills.items, fills.next_page_token) == ((_fill(2), _fill(1)), "")
    assert await client.get_open_orders("BTCUSDT") == (_order(7),)
    assert await client.get_open_orders("ETHUSDT") == ()
    pnl = await client.get_pnl_history("BTCUSDT", limit=2)
    assert pnl == (
        PnlPoint(2, "BTCUSDT", Decimal("2.50"), Decimal("-0.10")),
        PnlPoint(3, "BTCUSDT", Decimal("3.75"), Decimal("-0.10")),
    )
    assert await client.get_engine_status() == e.engine_status
    assert await client.get_risk_status() == e.risk_status
    assert await client.get_risk_metrics() == e.risk_metrics
    assert await client.get_breaker() == BreakerStatus(False, "", "", "", None)
    assert (await client.get_reconciliation_status()).state == "idle"


async def test_client_from_data_dir_finds_the_local_key_and_certificate(api: Api) -> None:
    async with ApiClient.from_data_dir(api.data_dir, target=api.server.target, env={}) as client:
        change = await client.trip_breaker("from the data dir")
    assert change.status.actor == "local-control"
    with pytest.raises(ValueError, match="api key: none found"):
        ApiClient.from_data_dir(api.data_dir / "nowhere", env={})


async def test_unknown_symbol_is_not_found(api: Api) -> None:
    with pytest.raises(ApiError) as info:
        await api.client().trigger_reconciliation("XRPUSDT")
    assert (info.value.code, info.value.details) == ("NOT_FOUND", "symbol 'XRPUSDT': no grid for it")
    assert [a.outcome for a in api.audits] == ["error: NotFound"]
