"""Trades recovered over REST after a dropped order stream are reported with the order as it stood right
after each one (`as_of_each_trade`), not with its state now: an early trade must not look like a newer
execution to the slot book, which drops a report at or below what an order query already booked."""

from __future__ import annotations

from decimal import Decimal

from opensqt.exchanges.ccxt.user_stream import as_of_each_trade
from opensqt.model import (
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Side,
)
from opensqt.trading.state import SlotManager

D = Decimal


def _fill(
    trade_id: str, qty: str, price: str = "100", ts: int = 0, cid: str = "tBaN1", vid: str = "7"
) -> Fill:
    return Fill(
        trade_id, cid, "S", Side.BUY, D(price), D(qty), D("0.01"), "USDT", LiquiditySide.MAKER, vid, None, ts
    )


def _now(filled: str, status: OrderStatus, cid: str = "tBaN1", vid: str = "7", qty: str = "0.005") -> Order:
    return Order(
        cid, "S", Side.BUY, OrderType.LIMIT, D(qty), D(100), vid, D(filled), D(100), status, ts_event=9
    )


def test_each_trade_carries_the_cumulative_right_after_it() -> None:
    final = _now("0.004", OrderStatus.FILLED, qty="0.004")
    other = _now("0.002", OrderStatus.NEW, cid="tBaN2", vid="8")
    found = [
        (_fill("a", "0.001", ts=1), final),
        (_fill("x", "0.002", ts=2, cid="tBaN2", vid="8"), other),
        (_fill("b", "0.002", ts=3), final),
        (_fill("c", "0.001", ts=4), final),
    ]
    out = as_of_each_trade(found)
    assert [(f.trade_id, o.filled, o.status, o.average_price, o.ts_event) for f, o in out] == [
        ("a", D("0.001"), OrderStatus.PARTIALLY_FILLED, None, 1),
        ("x", D("0.002"), OrderStatus.NEW, D(100), 9),  # the last (only) trade of its order: as it is now
        ("b", D("0.003"), OrderStatus.PARTIALLY_FILLED, None, 3),
        ("c", D("0.004"), OrderStatus.FILLED, D(100), 9),
    ]


def test_a_query_then_a_reconnect_recovery_of_the_same_trades_counts_each_once() -> None:
    # a query booked the first execution (0.002 of 0.005); the stream then dropped, a second execution
    # happened, and the reconnect recovers both trades over REST with the order now at 0.004
    book = SlotManager()
    book.reserve(D(100), PlaceOrder("tBaN1", "S", Side.BUY, D("0.005"), D(100)))
    book.apply(OrderUpdated(_now("0", OrderStatus.NEW)))
    queried = _now("0.002", OrderStatus.PARTIALLY_FILLED)
    book.apply(OrderUpdated(queried, _fill("7@0.002", "0.002"), recovered=True))
    fees = book.fees
    now = _now("0.004", OrderStatus.PARTIALLY_FILLED)
    for fill, order in as_of_each_trade([(_fill("a", "0.002", ts=1), now), (_fill("b", "0.002", ts=2), now)]):
        book.apply(OrderUpdated(order, fill))
    assert book.inventory == D("0.004")
    assert book.fees == fees + D("0.01")  # only the second execution's fee is new
