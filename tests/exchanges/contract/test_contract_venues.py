"""One contract for every venue adapter: the same assertions, parametrized over `venue_cases.CASES`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.exchanges import errors
from opensqt.model import OrderStatus, PlaceOrder, Side, TimeInForce
from opensqt.testing.fixture_transport import push_ws
from tests.exchanges.contract.venue_cases import CASES, Case

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # ccxt runs on asyncio


params = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])


def _order(case: Case, cid: str) -> PlaceOrder:
    return PlaceOrder(
        cid, case.symbol, Side.BUY, case.order_qty, case.order_price, time_in_force=TimeInForce.POST_ONLY
    )


@params
async def test_load_markets(case: Case) -> None:
    async with case.build() as (ex, _):
        markets = await ex.load_markets()
        inst = markets[case.symbol]
        assert (inst.tick_size, inst.lot_size) == (case.tick, case.lot)
        assert all(isinstance(i.tick_size, Decimal) and i.tick_size > 0 for i in markets.values())


@params
async def test_balance(case: Case) -> None:
    async with case.build() as (ex, _):
        balances = await ex.fetch_balance()
        assert balances["USDT"].total == case.balance_usdt


@params
async def test_create_and_cancel(case: Case) -> None:
    async with case.build() as (ex, _):
        await ex.load_markets()
        placed = await ex.create_order(_order(case, "contract1"))
        assert (placed.client_order_id, placed.status, placed.quantity, placed.price) == (
            "contract1",
            OrderStatus.NEW,
            case.order_qty,
            case.order_price,
        )
        assert placed.venue_order_id
        canceled = await ex.cancel_order(case.symbol, "contract1")
        assert (canceled.client_order_id, canceled.status) == ("contract1", OrderStatus.CANCELED)


@params
async def test_funding_rate(case: Case) -> None:
    async with case.build() as (ex, _):
        await ex.load_markets()
        funding = await ex.fetch_funding_rate(case.symbol)
        assert (funding.rate, funding.interval_hours) == (case.funding_rate, case.funding_hours)
        assert (funding.next_funding_time > 0) is case.next_funding_known


@params
async def test_insufficient_margin_maps_to_insufficient_funds(case: Case) -> None:
    async with case.build() as (ex, hooks):
        await ex.load_markets()
        hooks["reject"]("margin")
        with pytest.raises(errors.InsufficientFunds):
            await ex.create_order(_order(case, "contract2"))


@params
async def test_unknown_order_maps_to_order_not_found(case: Case) -> None:
    async with case.build() as (ex, hooks):
        await ex.load_markets()
        hooks["reject"]("unknown")
        with pytest.raises(errors.OrderNotFound):
            await ex.cancel_order(case.symbol, "never-placed")


@params
async def test_order_update_parsing(case: Case) -> None:
    if case.push is None:
        pytest.skip(f"{case.name} reports orders through its live stream (covered by its own tests)")
    async with case.build() as (ex, _):
        await ex.load_markets()
        resolved = push_ws(ex.client, case.push)
        orders = [
            o for result, _ in resolved if isinstance(result, list) for o in result if isinstance(o, dict)
        ]
        assert orders, f"{case.name}: ccxt resolved no orders from the recorded push"
        updates = ex.order_updates(orders[-1:])
        got = updates[0]
        assert case.push_expect is not None
        assert (got.order.client_order_id, got.order.status, got.order.filled) == case.push_expect
        if case.push_fill is None:
            assert got.fill is None
        else:
            assert got.fill is not None
            assert (got.fill.trade_id, got.fill.price, got.fill.quantity) == case.push_fill
