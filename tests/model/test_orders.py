"""Orders, fills and the order-status transition table."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import (
    ORDER_STATUS_TRANSITIONS,
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
    to_decimal,
)


@given(st.sampled_from(list(OrderStatus)), st.sampled_from(list(OrderStatus)))
def test_no_transition_leaves_a_final_state(old: OrderStatus, new: OrderStatus) -> None:
    if old.is_final and new is not old:
        assert not old.can_become(new)


@given(st.sampled_from(list(OrderStatus)), st.sampled_from(list(OrderStatus)))
def test_transitions_never_lower_the_rank(old: OrderStatus, new: OrderStatus) -> None:
    if old.can_become(new):
        assert new.rank >= old.rank


def test_the_table_is_exactly_the_documented_machine() -> None:
    assert ORDER_STATUS_TRANSITIONS[OrderStatus.NEW] == {
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.FILLED,
        OrderStatus.CANCELED,
        OrderStatus.REJECTED,
        OrderStatus.EXPIRED,
    }
    assert not OrderStatus.PARTIALLY_FILLED.can_become(OrderStatus.NEW)
    assert not OrderStatus.PARTIALLY_FILLED.can_become(OrderStatus.REJECTED)
    assert OrderStatus.PARTIALLY_FILLED.can_become(OrderStatus.CANCELED)


def test_order_values() -> None:
    order = Order(
        client_order_id="c1",
        symbol="BTC/USDT:USDT",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal("0.010"),
        price=Decimal("60000.0"),
        filled=Decimal("0.004"),
        time_in_force=TimeInForce.POST_ONLY,
    )
    assert order.remaining == Decimal("0.006")
    assert order.post_only and order.is_open
    assert order.with_status(OrderStatus.CANCELED).is_open is False
    assert Side.BUY.opposite is Side.SELL and Side.SELL.sign == -1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"quantity": Decimal("0")}, "quantity must be > 0"),
        ({"filled": Decimal("2")}, "filled must be within"),
        ({"price": None}, "needs a price"),
    ],
)
def test_bad_orders_are_refused_with_the_field_named(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = dict(
        client_order_id="c1",
        symbol="S",
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal("1"),
        price=Decimal("1"),
    )
    base.update(kwargs)
    with pytest.raises(ValueError, match=message):
        Order(**base)  # type: ignore[arg-type]


def test_fill_and_command_validation() -> None:
    fill = Fill(
        trade_id="t1",
        client_order_id="c1",
        symbol="S",
        side=Side.SELL,
        price=Decimal("2.5"),
        quantity=Decimal("4"),
        fee=Decimal("0.002"),
        fee_asset="USDT",
        liquidity=LiquiditySide.MAKER,
    )
    assert fill.notional == Decimal("10.0")
    with pytest.raises(ValueError, match="quantity"):
        Fill(
            trade_id="t",
            client_order_id="c",
            symbol="S",
            side=Side.BUY,
            price=Decimal(1),
            quantity=Decimal(0),
            fee=Decimal(0),
            fee_asset="USDT",
            liquidity=LiquiditySide.TAKER,
        )
    with pytest.raises(ValueError, match="needs a price"):
        PlaceOrder(client_order_id="c", symbol="S", side=Side.BUY, quantity=Decimal(1))
    assert PlaceOrder(
        client_order_id="c",
        symbol="S",
        side=Side.BUY,
        quantity=Decimal(1),
        price=Decimal(1),
        time_in_force=TimeInForce.POST_ONLY,
    ).post_only


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("61800.30", Decimal("61800.30")), (5, Decimal(5)), (Decimal("1.5"), Decimal("1.5"))],
)
def test_to_decimal_is_exact(raw: object, expected: Decimal) -> None:
    assert to_decimal(raw) == expected


@pytest.mark.parametrize("raw", ["NaN", "inf", "abc", 1.5, True, None])
def test_to_decimal_refuses_non_numbers_naming_the_field(raw: object) -> None:
    with pytest.raises(ValueError, match=r"^price: "):
        to_decimal(raw, "price")
