"""Exact scripted price paths through the matching core: which orders fill, at what price, with what fee."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING
from decimal import Decimal as D
from typing import Any

import pytest

from opensqt.data import MarketData
from opensqt.exchanges.errors import (
    DuplicateClientOrderId,
    InsufficientFunds,
    InvalidOrder,
    OrderNotFound,
    OrderWouldCross,
)
from opensqt.exchanges.sim import BTC_USDT_PERP, BTC_USDT_SPOT, Liquidated, SimVenue
from opensqt.model import FundingPaid, OrderStatus, OrderType, OrderUpdated, PlaceOrder, Side, TimeInForce

BTC = "BTC/USDT:USDT"
Tape = Callable[..., MarketData]


def order(side: Side, cid: str, qty: str, price: str | None, symbol: str = BTC,
          time_in_force: TimeInForce = TimeInForce.GTC, reduce_only: bool = False) -> PlaceOrder:
    typ = OrderType.MARKET if price is None else OrderType.LIMIT
    return PlaceOrder(cid, symbol, side, D(qty), None if price is None else D(price), typ, time_in_force,
                      reduce_only)


def buy(cid: str, qty: str, price: str | None, **kw: Any) -> PlaceOrder:
    return order(Side.BUY, cid, qty, price, **kw)


def sell(cid: str, qty: str, price: str | None, **kw: Any) -> PlaceOrder:
    return order(Side.SELL, cid, qty, price, **kw)


def fills(events: Sequence[object]) -> list[tuple[str, D, D, D, D | None]]:
    return [
        (e.fill.client_order_id, e.fill.price, e.fill.quantity, e.fill.fee, e.fill.realized_pnl)
        for e in events
        if isinstance(e, OrderUpdated) and e.fill is not None
    ]


def venue_on(data: MarketData, rows: int, **kw: object) -> SimVenue:
    v = SimVenue([BTC_USDT_PERP, BTC_USDT_SPOT], **kw)  # type: ignore[arg-type]
    v.attach(data)
    v.advance(max_rows=rows, stop_on_event=False)
    return v


def test_trade_through_fills_resting_orders_with_maker_fees_and_pnl(tape: Tape) -> None:
    data = tape(
        [
            ("book", 1000, "60000.5", "1", "60000.6", "1"),
            ("trade", 2000, "59999.0", "0.2", "sell"),
            ("trade", 3000, "60100.0", "0.005", "buy"),
            ("trade", 4000, "60100.5", "0.1", "buy"),
        ]
    )
    v = venue_on(data, 1)
    v.place_order(buy("b1", "0.010", "60000.0"))
    assert fills(v.advance()) == [("b1", D("60000.0"), D("0.010"), D("0.12000"), D(0))]
    v.place_order(sell("s1", "0.010", "60100.0"))
    assert fills(v.advance()) == [("s1", D("60100.0"), D("0.005"), D("0.0601000"), D("0.5"))]
    assert v.fetch_order(BTC, "s1").status is OrderStatus.PARTIALLY_FILLED
    assert fills(v.advance()) == [("s1", D("60100.0"), D("0.005"), D("0.0601000"), D("0.5"))]
    assert v.fetch_order(BTC, "s1").status is OrderStatus.FILLED
    assert v.fetch_order(BTC, "s1").average_price == D("60100.0")
    assert v.account.wallet["USDT"] == D("10000.7598")
    assert v.positions([BTC])[0].size == 0


def test_queue_at_equal_price_is_eaten_before_our_order_fills(tape: Tape) -> None:
    data = tape(
        [
            ("book", 1000, "60000.0", "0.5", "60000.1", "1"),
            ("trade", 2000, "60000.0", "0.3", "sell"),
            ("trade", 3000, "60000.0", "0.25", "sell"),
            ("trade", 4000, "60000.0", "0.02", "sell"),
            ("trade", 5000, "59999.9", "0.001", "sell"),
        ]
    )
    v = venue_on(data, 1)
    v.place_order(buy("b1", "0.100", "60000.0"))  # joins behind the displayed 0.5
    got = fills(v.advance(stop_on_event=False))
    assert [(c, p, q) for c, p, q, _, _ in got] == [
        ("b1", D("60000.0"), D("0.050")),  # 0.55 traded, 0.5 was ahead
        ("b1", D("60000.0"), D("0.020")),
        ("b1", D("60000.0"), D("0.030")),  # a print through the price fills the rest
    ]


def test_market_order_walks_top_of_book_then_recorded_depth(tape: Tape) -> None:
    data = tape(
        [
            (
                "snapshot",
                900,
                [("bid", "59999.0", "3"), ("ask", "60001.0", "0.2"), ("ask", "60002.0", "0.5")],
            ),
            ("book", 1000, "60000.0", "1", "60000.5", "0.1"),
        ]
    )
    v = venue_on(data, 2)
    order = v.place_order(buy("m1", "0.5", None))
    assert order.status is OrderStatus.FILLED
    assert order.average_price == D("60001.3")
    events = v.drain()
    assert [(p, q) for _, p, q, _, _ in fills(events)] == [
        (D("60000.5"), D("0.1")),
        (D("60001.0"), D("0.2")),
        (D("60002.0"), D("0.2")),
    ]
    assert sum((f[3] for f in fills(events)), D(0)) == D("15.000325")


def test_ioc_expires_the_rest_and_fok_fills_all_or_nothing(tape: Tape) -> None:
    data = tape(
        [
            ("snapshot", 900, [("ask", "60001.0", "0.2"), ("ask", "60002.0", "0.5")]),
            ("book", 1000, "60000.0", "1", "60000.5", "0.1"),
        ]
    )
    v = venue_on(data, 2)
    ioc = v.place_order(buy("i1", "0.5", "60001.0", time_in_force=TimeInForce.IOC))
    assert (ioc.status, ioc.filled) == (OrderStatus.EXPIRED, D("0.3"))
    fok = v.place_order(buy("f1", "0.5", "60001.0", time_in_force=TimeInForce.FOK))
    assert (fok.status, fok.filled) == (OrderStatus.EXPIRED, D(0))
    gtc = v.place_order(buy("g1", "0.5", "60001.0"))
    assert (gtc.status, gtc.filled) == (OrderStatus.PARTIALLY_FILLED, D("0.3"))
    assert [o.client_order_id for o in v.open_orders(BTC)] == ["g1"]


def test_post_only_that_would_take_is_refused_and_changes_nothing(tape: Tape) -> None:
    v = venue_on(tape([("book", 1000, "60000.0", "1", "60000.5", "1")]), 1)
    before = (v.open_orders(), v.balances())
    with pytest.raises(OrderWouldCross):
        v.place_order(buy("p1", "0.01", "60000.5", time_in_force=TimeInForce.POST_ONLY))
    assert (v.open_orders(), v.balances()) == before
    assert v.drain() == []
    resting = v.place_order(buy("p1", "0.01", "60000.4", time_in_force=TimeInForce.POST_ONLY))
    assert resting.status is OrderStatus.NEW


def test_reduce_only_never_increases_or_flips(tape: Tape) -> None:
    data = tape(
        [
            ("book", 1000, "60000.0", "1", "60000.5", "1"),
            ("trade", 2000, "60300.0", "1", "buy"),
        ]
    )
    v = venue_on(data, 1)
    with pytest.raises(InvalidOrder, match="reduce_only"):
        v.place_order(sell("r0", "0.01", "60100.0", reduce_only=True))
    v.place_order(buy("b1", "0.010", None))
    with pytest.raises(InvalidOrder, match="reduce_only"):
        v.place_order(buy("r1", "0.01", "59000.0", reduce_only=True))
    v.place_order(sell("r2", "0.020", "60100.0", reduce_only=True))
    v.advance(stop_on_event=False)
    assert v.positions([BTC])[0].size == 0
    order = v.fetch_order(BTC, "r2")
    assert (order.status, order.filled) == (OrderStatus.EXPIRED, D("0.010"))


def test_bad_orders_name_the_field_and_leave_state_unchanged(tape: Tape) -> None:
    v = venue_on(tape([("book", 1000, "60000.0", "1", "60000.5", "1")]), 1)
    v.place_order(buy("x1", "0.01", "59000.0"))
    v.drain()
    before = (v.open_orders(), v.balances(), v.positions())
    negative = buy("neg", "0.01", "59000.0")
    object.__setattr__(negative, "quantity", D("-0.01"))
    cases: list[tuple[PlaceOrder, type[Exception], str]] = [
        (buy("u1", "0.01", "100", symbol="NOPE/USDT:USDT"), InvalidOrder, "symbol"),
        (buy("t1", "0.01", "59000.05"), InvalidOrder, "price"),
        (buy("l1", "0.0105", "59000.0"), InvalidOrder, "quantity"),
        (negative, InvalidOrder, "quantity"),
        (buy("n1", "0.001", "1000.0"), InvalidOrder, "notional"),
        (buy("x1", "0.01", "59000.0"), DuplicateClientOrderId, "client_order_id"),
    ]
    for cmd, error, field in cases:
        with pytest.raises(error, match=field):
            v.place_order(cmd)
    with pytest.raises(OrderNotFound):
        v.cancel_order(BTC, "missing")
    assert (v.open_orders(), v.balances(), v.positions()) == before
    assert v.drain() == []


def test_margin_check_refuses_what_the_wallet_cannot_carry(tape: Tape) -> None:
    v = venue_on(tape([("book", 1000, "60000.0", "1", "60000.5", "1")]), 1, balances={"USDT": D(100)})
    with pytest.raises(InsufficientFunds):
        v.place_order(buy("b1", "0.040", "59000.0"))  # 2360 notional / 20x = 118 > 100
    assert v.place_order(buy("b2", "0.030", "59000.0")).status is OrderStatus.NEW  # 88.5 margin
    with pytest.raises(InsufficientFunds):
        v.place_order(buy("b3", "0.010", "59000.0"))  # 29.5 more than the 11.5 left
    assert v.set_leverage(BTC, 50) == 50
    assert v.place_order(buy("b3", "0.010", "59000.0")).status is OrderStatus.NEW
    with pytest.raises(InvalidOrder, match="leverage"):
        v.set_leverage(BTC, 126)


def test_funding_is_paid_at_the_funding_time_from_the_market_rate(tape: Tape) -> None:
    data = tape(
        [
            ("book", 1000, "59999.9", "1", "60000.0", "1"),
            ("funding", 1500, "0.0001", 5000),
            ("trade", 4000, "60000.0", "1", "buy"),
            ("trade", 5000, "60010.0", "1", "buy"),
        ]
    )
    v = venue_on(data, 2)
    v.place_order(buy("b1", "0.010", None))  # taker at 60000.0, fee 0.3
    v.advance(until_ms=4000, stop_on_event=False)
    events = v.advance()
    paid = [e for e in events if isinstance(e, FundingPaid)]
    assert paid == [FundingPaid(BTC, D("-0.06000000"), D("0.0001"), 5000)]
    assert v.account.wallet["USDT"] == D("10000") - D("0.3") - D("0.06")
    assert v.funding_rate(BTC).next_funding_time == 8 * 3_600_000


def test_liquidation_closes_the_position_at_the_estimated_price(tape: Tape) -> None:
    data = tape(
        [
            ("book", 1000, "59999.9", "1", "60000.0", "1"),
            ("trade", 2000, "60000.0", "1", "buy"),
            ("trade", 3000, "58000.0", "1", "sell"),
            ("trade", 4000, "56000.0", "1", "sell"),
        ]
    )
    v = venue_on(data, 2, balances={"USDT": D(100)})
    v.place_order(buy("b1", "0.030", None))  # 1800 notional, taker fee 0.9
    wallet = D(100) - D("0.9")
    liq = (D("1800") - wallet) / (D("0.030") * D("0.996"))
    liq_tick = (liq / D("0.1")).to_integral_value(rounding=ROUND_CEILING) * D("0.1")
    assert v.positions([BTC])[0].liquidation_price == liq
    assert not [e for e in v.advance(until_ms=3000) if isinstance(e, Liquidated)]
    events = v.advance()
    assert [e for e in events if isinstance(e, Liquidated)] == [
        Liquidated(BTC, Side.SELL, D("0.030"), liq_tick, 4000)
    ]
    realized = (liq_tick - D("60000.0")) * D("0.030")
    fee = liq_tick * D("0.030") * D("0.0005")
    assert v.account.wallet["USDT"] == wallet + realized - fee
    assert v.positions([BTC])[0].size == 0


def test_spot_balances_and_margin_short(tape: Tape) -> None:
    from opensqt.exchanges.sim.instruments import BTC_USDT_SPOT as SPOT

    rows = [("book", 1000, "60000.00", "1", "60000.01", "1")]
    data = tape(rows, SPOT)
    v = venue_on(data, 1)
    v.place_order(buy("s1", "0.01000", None, symbol=SPOT.symbol))
    bal = v.balances()
    assert bal["BTC"].total == D("0.01")
    assert bal["USDT"].total == D(10_000) - D("600.0001") - D("0.6000001")
    with pytest.raises(InsufficientFunds, match="use_margin"):
        v.place_order(sell("s2", "0.02000", None, symbol=SPOT.symbol))
    m = venue_on(data, 1, use_margin=True)
    m.place_order(sell("s3", "0.02000", None, symbol=SPOT.symbol))
    assert m.balances()["BTC"].total == D("-0.02")
    with pytest.raises(InvalidOrder, match="reduce_only"):
        m.place_order(buy("s4", "0.01000", None, symbol=SPOT.symbol, reduce_only=True))
