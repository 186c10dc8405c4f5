"""SlotManager.reattach: at a restart, an order the store knew open goes back on its slot with the part it
had already filled (in the slot's stored position) counted once; the venue's answer books only the rest."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.model import (
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
    TimeInForce,
)
from opensqt.trading.state import SlotManager, SlotStateError

D = Decimal
SYM = "BTC/USDT:USDT"
PRICE = D(100)


def _order(cid: str, side: Side, filled: str, status: OrderStatus, qty: str = "0.002") -> Order:
    return Order(
        cid, SYM, side, OrderType.LIMIT, D(qty), PRICE, "v1", D(filled), None, status, TimeInForce.POST_ONLY
    )


def _command(cid: str, side: Side, qty: str = "0.002") -> PlaceOrder:
    return PlaceOrder(cid, SYM, side, D(qty), PRICE, OrderType.LIMIT, TimeInForce.POST_ONLY)


def _book(held: str, side: Side | None) -> SlotManager:
    """A book restored from the store: slot 100 FREE, holding `held` opened by `side`."""
    book = SlotManager()
    status = PositionStatus.FILLED if D(held) else PositionStatus.EMPTY
    book.load([Slot(PRICE, position_qty=D(held), position_status=status, position_side=side, attempt=1)])
    return book


def test_a_partial_opening_buy_filled_while_down_books_only_the_rest() -> None:
    book = _book("0.001", Side.BUY)  # the store: 0.001 of the 0.002 buy had filled
    book.reattach(PRICE, _command("b2", Side.BUY), D("0.001"), D("0.1"), attempt=2)
    book.on_ack("b2", _order("b2", Side.BUY, "0.001", OrderStatus.PARTIALLY_FILLED))
    slot = book.slot(PRICE)
    assert slot is not None and slot.slot_status is SlotStatus.LOCKED and slot.filled_qty == D("0.001")
    assert book.inventory == D("0.001")  # the stored part is not booked again
    book.apply(OrderUpdated(_order("b2", Side.BUY, "0.002", OrderStatus.FILLED)))
    slot = book.slot(PRICE)
    assert slot is not None and slot.slot_status is SlotStatus.FREE and slot.position_qty == D("0.002")
    assert book.inventory == D("0.002") and book.cost_basis == D("0.2")


def test_a_partial_closing_sell_keeps_the_rest_to_close() -> None:
    book = _book("0.001", Side.BUY)  # held 0.002, its 0.002 sell had closed 0.001
    book.reattach(PRICE, _command("s3", Side.SELL), D("0.001"), D("0.1"), attempt=2)
    book.on_ack("s3", _order("s3", Side.SELL, "0.001", OrderStatus.PARTIALLY_FILLED))
    assert book.inventory == D("0.001")
    book.apply(OrderUpdated(_order("s3", Side.SELL, "0.002", OrderStatus.FILLED)))
    slot = book.slot(PRICE)
    assert slot is not None and slot.position_qty == 0 and slot.position_status is PositionStatus.EMPTY
    assert book.inventory == 0 and book.round_trips == 1


def test_nothing_filled_is_a_plain_reservation() -> None:
    book = _book("0", None)
    book.reattach(PRICE, _command("b2", Side.BUY), D(0), D(0), attempt=2)
    slot = book.slot(PRICE)
    assert slot is not None and slot.slot_status is SlotStatus.PENDING and slot.filled_qty == 0


@pytest.mark.parametrize(("stored", "order", "after"), [(1, 2, 2), (3, 2, 3), (2, 2, 2)])
@pytest.mark.parametrize("booked", ["0", "0.001"])
def test_reattaching_spends_no_attempt(stored: int, order: int, after: int, booked: str) -> None:
    # the slot counts the ids sent: the larger of its own count and the order's, never one more, so
    # the next id does not depend on how many restarts re-attached the order
    book = SlotManager()
    status = PositionStatus.FILLED if D(booked) else PositionStatus.EMPTY
    side = Side.BUY if D(booked) else None
    book.load(
        [Slot(PRICE, position_qty=D(booked), position_status=status, position_side=side, attempt=stored)]
    )
    book.reattach(PRICE, _command(f"b{order}", Side.BUY), D(booked), D(booked) * PRICE, attempt=order)
    slot = book.slot(PRICE)
    assert slot is not None and slot.attempt == after


@pytest.mark.parametrize(
    ("held", "side", "command_side", "booked"),
    [
        ("0.002", Side.BUY, Side.BUY, "0.001"),  # holds more than the opening order's fills
        ("0", None, Side.BUY, "0.001"),  # the order filled, the slot holds nothing
        ("0.0005", Side.BUY, Side.SELL, "0.001"),  # the closing order's rest exceeds what is held
        ("0.001", Side.BUY, Side.BUY, "0.003"),  # booked more than the order's size
    ],
)
def test_a_slot_that_disagrees_with_the_order_is_refused_and_left_as_it_was(
    held: str, side: Side | None, command_side: Side, booked: str
) -> None:
    book = _book(held, side)
    before = book.slot(PRICE)
    with pytest.raises(SlotStateError):
        book.reattach(PRICE, _command("x2", command_side), D(booked), D(0), attempt=2)
    assert book.slot(PRICE) == before and book.inventory == D(held)
    book.reserve(PRICE, _command("x2", Side.SELL if held != "0" else Side.BUY, "0.0001"))  # id not spent
