"""Bitget and Gate through the real ccxt client and a fixture transport: every venue error body in
`tests/exchanges/contract/payloads/<venue>/errors.json` maps to our error family with the venue's code, and
orders go out with each venue's post-only, reduce-only and client-order-id fields."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from opensqt.exchanges import errors
from opensqt.exchanges.ccxt.parse import last_fill_from_info, order_from_ccxt
from opensqt.model import LiquiditySide, OrderStatus, PlaceOrder, Side, TimeInForce
from opensqt.testing.fixture_transport import Canned, load_json
from tests.exchanges.contract.venue_cases import CASES, PAYLOADS, Case

pytestmark = pytest.mark.anyio

BTC = "BTC/USDT:USDT"
_CASES = {c.name.removesuffix("-fixture"): c for c in CASES}
# Where each venue's order submit and cancel land (ccxt 4.5).
_SUBMIT = {
    "bitget": ("POST", "/api/v2/mix/order/place-order"),
    "gate": ("POST", "/api/v4/futures/usdt/orders"),
}
_CANCEL = {
    "bitget": ("POST", "/api/v2/mix/order/cancel-order"),
    "gate": ("DELETE", "/api/v4/futures/usdt/orders/t-contract1"),
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _bodies() -> Iterator[Any]:
    for venue in ("bitget", "gate"):
        for name, entry in load_json(PAYLOADS / venue / "errors.json").items():
            yield pytest.param(venue, name, entry, id=f"{venue}-{name}")


def _order(case: Case, cid: str = "contract1", **kw: Any) -> PlaceOrder:
    kw.setdefault("time_in_force", TimeInForce.POST_ONLY)
    return PlaceOrder(cid, BTC, Side.BUY, case.order_qty, case.order_price, **kw)


def _code(body: dict[str, Any]) -> str:
    return str(body.get("code") or body.get("label"))


@pytest.mark.parametrize(("venue", "name", "entry"), list(_bodies()))
async def test_venue_error_body_maps_on_submit_and_cancel(
    venue: str, name: str, entry: dict[str, Any]
) -> None:
    """The body goes through ccxt's own error handling (status and payload), then our mapping: the class and
    the venue code must be exact, whichever call met the error."""
    ours = getattr(errors, entry["ours"])
    case = _CASES[venue]
    async with case.build() as (ex, hooks):
        await ex.load_markets()
        t = hooks["transport"]
        t.add(*_SUBMIT[venue], Canned(entry["body"], entry["status"]))
        with pytest.raises(errors.VenueError) as raised:
            await ex.create_order(_order(case))
        assert (type(raised.value), raised.value.code, raised.value.venue) == (
            ours,
            _code(entry["body"]),
            venue,
        )
        t.add(*_CANCEL[venue], Canned(entry["body"], entry["status"]))
        with pytest.raises(errors.VenueError) as raised:
            await ex.cancel_order(BTC, "contract1")
        assert (type(raised.value), raised.value.code) == (ours, _code(entry["body"]))


def test_every_error_family_is_covered_for_both_venues() -> None:
    """A guard on the fixtures themselves: each venue's errors.json exercises every family the brief names
    (Bitget has no post-only rejection code: it cancels the order instead)."""
    wanted = {"InsufficientFunds", "RateLimited", "OrderNotFound", "AuthenticationError"}
    for venue, extra in (("bitget", set()), ("gate", {"OrderWouldCross"})):
        families = {e["ours"] for e in load_json(PAYLOADS / venue / "errors.json").values()}
        assert wanted | extra <= families, f"{venue}: missing {sorted((wanted | extra) - families)}"


@pytest.mark.parametrize(
    ("venue", "post_only", "reduce_only", "ioc", "cid_field", "sent_cid"),
    [
        ("bitget", {"force": "post_only"}, {"reduceOnly": "YES"}, {"force": "IOC"}, "clientOid", "grid-7_b"),
        ("gate", {"tif": "poc"}, {"reduce_only": "true"}, {"tif": "ioc"}, "text", "t-grid-7_b"),
    ],
)
async def test_order_fields_per_venue(
    venue: str,
    post_only: dict[str, str],
    reduce_only: dict[str, str],
    ioc: dict[str, str],
    cid_field: str,
    sent_cid: str,
) -> None:
    case = _CASES[venue]
    async with case.build() as (ex, hooks):
        await ex.load_markets()
        t = hooks["transport"]
        placed = await ex.create_order(_order(case, "grid-7_b", reduce_only=True))
        sent = t.calls[-1][2]
        assert {k: sent.get(k) for k in (*post_only, *reduce_only, cid_field)} == {
            **post_only,
            **reduce_only,
            cid_field: sent_cid,
        }
        assert placed.client_order_id == "grid-7_b"  # gate's "t-" never reaches the caller
        await ex.create_order(_order(case, "grid8", time_in_force=TimeInForce.IOC))
        sent = t.calls[-1][2]
        assert {k: sent.get(k) for k in ioc} == ioc
        assert not set(post_only.items()) & set(sent.items()) and not set(reduce_only) & set(sent)


@pytest.mark.parametrize(("venue", "limit"), [("bitget", 50), ("gate", 26)])
async def test_client_id_limit_is_checked_before_sending(venue: str, limit: int) -> None:
    case = _CASES[venue]
    async with case.build() as (ex, hooks):
        await ex.load_markets()
        t = hooks["transport"]
        sent_before = len(t.calls)
        await ex.create_order(_order(case, "a" * limit))
        assert len(t.calls) == sent_before + 1
        with pytest.raises(errors.InvalidOrder, match=f"at most {limit}"):
            await ex.create_order(_order(case, "a" * (limit + 1)))
        with pytest.raises(errors.InvalidOrder, match="characters"):
            await ex.create_order(_order(case, "grid 7"))  # a space: neither venue accepts it
        assert len(t.calls) == sent_before + 1  # refused ids never reach the venue


def _bitget_update(**fields: str) -> dict[str, Any]:
    push = load_json(PAYLOADS / "bitget/ws_orders_filled.json")["data"][0]
    return {**push, **fields}


def test_bitget_fill_fields_partial_rebate_and_taker() -> None:
    """Bitget's push names its own execution (tradeId, fillPrice, baseVolume, fillFee, tradeScope)."""
    info = _bitget_update(
        status="partially_filled",
        accBaseVolume="0.0050",
        baseVolume="0.0050",
        fillPrice="58999.9",
        fillFee="0.0059",  # positive: a maker rebate was paid to us
        tradeScope="M",
        tradeId="1233932966658228300",
    )
    order = order_from_ccxt(
        {
            "id": info["orderId"],
            "clientOrderId": info["clientOid"],
            "symbol": BTC,
            "side": "buy",
            "type": "limit",
            "amount": "0.0150",
            "price": "59000.0",
            "filled": "0.0050",
            "status": "open",
        }
    )
    fill = last_fill_from_info(order, info)
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert fill is not None
    assert (fill.trade_id, fill.price, fill.quantity, fill.fee, fill.fee_asset, fill.liquidity) == (
        "1233932966658228300",
        Decimal("58999.9"),
        Decimal("0.0050"),
        Decimal("-0.0059"),
        "USDT",
        LiquiditySide.MAKER,
    )
    taker = last_fill_from_info(order, {**info, "tradeScope": "T", "fillFee": "-0.177"})
    assert taker is not None and (taker.liquidity, taker.fee) == (LiquiditySide.TAKER, Decimal("0.177"))
    # A status-only push (no tradeId) states no execution.
    assert last_fill_from_info(order, {**info, "tradeId": ""}) is None


async def test_bitget_push_then_replay_reports_the_fill_once() -> None:
    from opensqt.testing.fixture_transport import push_ws

    case = _CASES["bitget"]
    async with case.build() as (ex, _):
        await ex.load_markets()
        assert case.push is not None
        first = [o for result, _ in push_ws(ex.client, case.push) for o in result]
        again = [o for result, _ in push_ws(ex.client, case.push) for o in result]
        updates = ex.order_updates(first[-1:]) + ex.order_updates(again[-1:])
        assert [u.fill.trade_id if u.fill else None for u in updates] == ["1233932966658228225", None]
        assert [u.order.status for u in updates] == [OrderStatus.FILLED, OrderStatus.FILLED]


@pytest.mark.parametrize(
    ("venue", "route", "patch", "next_time"),
    [
        (
            "bitget",
            "/api/v2/mix/market/current-fund-rate",
            lambda body: {**body, "data": [{**body["data"][0], "fundingRateInterval": "4"}]},
            1732089600000,
        ),
        (
            "gate",
            "/api/v4/futures/usdt/contracts/BTC_USDT",
            lambda body: {**body, "funding_interval": 14400},
            1684944000000,
        ),
    ],
)
async def test_funding_interval_and_next_time_come_from_the_venue(
    venue: str, route: str, patch: Any, next_time: int
) -> None:
    """Both venues state the interval (Bitget `fundingRateInterval` hours, Gate `funding_interval` seconds):
    a 4 h contract reads as 4 h, not the 8 h default."""
    case = _CASES[venue]
    async with case.build() as (ex, hooks):
        await ex.load_markets()
        t = hooks["transport"]
        canned = t.routes[("GET", route)]
        assert isinstance(canned, Canned)
        t.add("GET", route, Canned(patch(canned.body)))
        funding = await ex.fetch_funding_rate(BTC)
        assert (funding.rate, funding.interval_hours, funding.next_funding_time) == (
            case.funding_rate,
            Decimal(4),
            next_time,
        )
