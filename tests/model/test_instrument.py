"""Instrument rounding: never off the tick or lot grid, never more quantity than asked."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import Instrument, InstrumentKind, Side

BTC = Instrument(
    symbol="BTC/USDT:USDT",
    venue_symbol="BTCUSDT",
    kind=InstrumentKind.LINEAR_PERPETUAL,
    base="BTC",
    quote="USDT",
    tick_size=Decimal("0.1"),
    lot_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("5"),
)

steps = st.sampled_from(
    [Decimal("0.1"), Decimal("0.01"), Decimal("0.0001"), Decimal("0.5"), Decimal("1"), Decimal("25")]
)
prices = st.decimals(min_value=Decimal("0.00001"), max_value=Decimal("1000000"), places=6, allow_nan=False)


def _inst(tick: Decimal, lot: Decimal) -> Instrument:
    return Instrument(
        symbol="X/USDT:USDT",
        venue_symbol="XUSDT",
        kind=InstrumentKind.LINEAR_PERPETUAL,
        base="X",
        quote="USDT",
        tick_size=tick,
        lot_size=lot,
    )


@given(price=prices, tick=steps, lot=steps, side=st.sampled_from([None, Side.BUY, Side.SELL]))
def test_rounded_price_is_on_the_tick_and_passive(
    price: Decimal, tick: Decimal, lot: Decimal, side: Side | None
) -> None:
    inst = _inst(tick, lot)
    rounded = inst.round_price(price, side)
    assert inst.is_on_tick(rounded)
    assert abs(rounded - price) <= tick
    if side is Side.BUY:
        assert rounded <= price
    if side is Side.SELL:
        assert rounded >= price


@given(qty=prices, lot=steps)
def test_floor_qty_is_on_the_lot_and_never_raises_the_quantity(qty: Decimal, lot: Decimal) -> None:
    inst = _inst(Decimal("0.1"), lot)
    floored = inst.floor_qty(qty)
    assert inst.is_on_lot(floored)
    assert 0 <= floored <= qty
    assert qty - floored < lot


@given(amount=st.decimals(min_value=1, max_value=100000, places=2), price=prices)
def test_qty_for_amount_never_spends_more_than_the_amount(amount: Decimal, price: Decimal) -> None:
    qty = BTC.qty_for_amount(amount, price)
    assert BTC.is_on_lot(qty)
    assert qty * price <= amount
    assert (qty + BTC.lot_size) * price > amount


@given(price=prices, qty=prices)
def test_min_notional_check_agrees_with_a_direct_computation(price: Decimal, qty: Decimal) -> None:
    expected = qty > 0 and qty >= Decimal("0.001") and price * qty >= Decimal("5")
    assert BTC.meets_minimums(price, qty) is expected


def test_exact_examples() -> None:
    assert BTC.round_price(Decimal("61800.27"), Side.BUY) == Decimal("61800.2")
    assert BTC.round_price(Decimal("61800.21"), Side.SELL) == Decimal("61800.3")
    assert BTC.round_price(Decimal("61800.26")) == Decimal("61800.3")
    assert BTC.qty_for_amount(Decimal("30"), Decimal("61800")) == Decimal("0.000")
    assert BTC.qty_for_amount(Decimal("300"), Decimal("61800")) == Decimal("0.004")
    assert BTC.meets_minimums(Decimal("61800"), Decimal("0.004")) is True
    assert BTC.meets_minimums(Decimal("1000"), Decimal("0.004")) is False


@pytest.mark.parametrize("field", ["tick_size", "lot_size", "contract_size"])
def test_non_positive_steps_are_refused_naming_the_field(field: str) -> None:
    kwargs = dict(
        symbol="X/USDT:USDT",
        venue_symbol="XUSDT",
        kind=InstrumentKind.SPOT,
        base="X",
        quote="USDT",
        tick_size=Decimal("0.1"),
        lot_size=Decimal("1"),
    )
    kwargs[field] = Decimal("0")
    with pytest.raises(ValueError, match=field):
        Instrument(**kwargs)  # type: ignore[arg-type]
