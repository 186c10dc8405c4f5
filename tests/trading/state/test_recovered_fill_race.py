"""A known gap, kept as a failing test until it is fixed: an execution booked from an order query (the
engine's id "<venue order id>@<cumulative>") and then reported by the stream under the venue's trade id is
booked twice when the order is not complete, because the only guard is "no more fills than the order's size".
It happens when a fill lands between the order stream going live and restore's (or reconciliation's) query
of the order: the stream's report is held until the slots are restored, the query has already booked it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.model import Fill, LiquiditySide, Order, OrderStatus, OrderType, OrderUpdated, PlaceOrder, Side
from opensqt.trading.state import SlotManager

D = Decimal


def _order(filled: str, status: OrderStatus) -> Order:
    return Order("tBaN1", "S", Side.BUY, OrderType.LIMIT, D("0.002"), D(100), "7", D(filled), None, status)


def _fill(trade_id: str) -> Fill:
    return Fill(trade_id, "tBaN1", "S", Side.BUY, D(100), D("0.001"), D(0), "USDT", LiquiditySide.MAKER, "7")


@pytest.mark.xfail(
    strict=True,
    reason="known gap: the same execution under the query's id and the venue's id counts twice while the "
    "order is incomplete (see the module docstring)",
)
def test_a_recovered_partial_fill_reported_again_by_the_stream_counts_once() -> None:
    book = SlotManager()
    book.reserve(D(100), PlaceOrder("tBaN1", "S", Side.BUY, D("0.002"), D(100)))
    book.apply(OrderUpdated(_order("0", OrderStatus.NEW)))
    # the query finds 0.001 of 0.002 filled and books it under the engine's own id
    book.apply(OrderUpdated(_order("0.001", OrderStatus.PARTIALLY_FILLED), _fill("7@0.001")))
    assert book.inventory == D("0.001")
    # the stream's report of that same execution (cumulative still 0.001), under the venue's trade id
    book.apply(OrderUpdated(_order("0.001", OrderStatus.PARTIALLY_FILLED), _fill("55")))
    assert book.inventory == D("0.001")
