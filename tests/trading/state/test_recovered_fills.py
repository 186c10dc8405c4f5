"""A fill recovered by an order query and reported again by the stream under the venue's id counts once."""

from __future__ import annotations

from decimal import Decimal

from opensqt.model import Side
from opensqt.trading.state import SlotManager


def test_a_fill_reported_again_under_another_id_books_its_fee_once() -> None:
    # the engine recovers a fill from an order query (its own id "7@0.016"); the stream later reports the
    # same execution with the venue's id "2": the order cannot have filled more than its size
    from opensqt.model import Fill, LiquiditySide, Order, OrderStatus, OrderType, OrderUpdated, PlaceOrder

    book = SlotManager()
    cmd = PlaceOrder("tBaN1", "S", Side.BUY, Decimal("0.016"), Decimal(100))
    book.reserve(Decimal(100), cmd)
    filled = Order(
        "tBaN1",
        "S",
        Side.BUY,
        OrderType.LIMIT,
        Decimal("0.016"),
        Decimal(100),
        venue_order_id="7",
        filled=Decimal("0.016"),
        status=OrderStatus.FILLED,
    )

    def fill(trade_id: str) -> Fill:
        return Fill(
            trade_id,
            "tBaN1",
            "S",
            Side.BUY,
            Decimal(100),
            Decimal("0.016"),
            Decimal("0.00032"),
            "USDT",
            LiquiditySide.MAKER,
            "7",
        )

    book.apply(OrderUpdated(filled, fill("7@0.016")))
    assert book.apply(OrderUpdated(filled, fill("2"))) == []
    assert book.fees == Decimal("0.00032") and book.inventory == Decimal("0.016")
