"""Decimals survive the database exactly: same digits, same exponent, same sign, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.store import PnlKind, PnlRecord, Store
from opensqt.store.types import canonical_decimal, decimal_to_text, text_to_decimal
from tests.store.conftest import BOT, SYMBOL, VENUE, fresh_store

finite = st.decimals(allow_nan=False, allow_infinity=False)
_ids = itertools.count()


def _round_trip(store: Store, value: Decimal) -> Decimal:
    ref = f"r{next(_ids)}"
    store.pnl.record(
        [PnlRecord(BOT, VENUE, SYMBOL, PnlKind.FUNDING, ref, value, "USDT", 0, value, value, None)]
    )
    (back,) = [p for p in store.pnl.history(BOT) if p.ref_id == ref]
    assert back.quantity == back.amount == back.entry_price
    return back.amount


@settings(max_examples=300)
@given(value=finite)
def test_sqlite_decimal_round_trip_is_exact(tmp_path_factory: pytest.TempPathFactory, value: Decimal) -> None:
    store = _sqlite_store(tmp_path_factory)
    back = _round_trip(store, value)
    assert (back.as_tuple(), str(back)) == (value.as_tuple(), str(value))


_STORES: dict[str, Store] = {}


def _sqlite_store(factory: pytest.TempPathFactory) -> Store:
    if "sqlite" not in _STORES:
        _STORES["sqlite"] = fresh_store(f"sqlite:///{factory.mktemp('dec') / 'dec.sqlite'}")
    return _STORES["sqlite"]


@pytest.mark.real_part
def test_postgres_decimal_round_trip_is_exact(postgres_url: str) -> None:
    store = fresh_store(postgres_url)
    try:
        for text in [
            "0.00000001",
            "-0",
            "1E+3",
            "123456789012345678901234567890.123456789",
            "-0.10",
            "5E-30",
        ]:
            value = Decimal(text)
            assert _round_trip(store, value).as_tuple() == value.as_tuple()
    finally:
        store.close()


@given(value=finite)
def test_canonical_key_is_equal_exactly_for_equal_numbers(value: Decimal) -> None:
    assert Decimal(canonical_decimal(value)) == value
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    padded = Decimal((sign, (*digits, 0, 0, 0), exponent - 3))  # the same number with more trailing zeros
    assert canonical_decimal(value) == canonical_decimal(padded)
    assert canonical_decimal(Decimal("1.000")) == canonical_decimal(Decimal("1")) == "1"


def test_non_finite_and_float_values_are_refused() -> None:
    with pytest.raises(ValueError, match="expected a finite Decimal, got Decimal\\('NaN'\\)"):
        decimal_to_text(Decimal("NaN"))
    with pytest.raises(TypeError, match=r"expected a Decimal, got float 0\.1"):
        decimal_to_text(0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected decimal text, got 'abc'"):
        text_to_decimal("abc")
    with pytest.raises(ValueError, match="expected a finite decimal, got 'Infinity'"):
        text_to_decimal("Infinity")
