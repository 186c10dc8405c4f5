"""`Slot.evolve` is `dataclasses.replace` spelled out for speed: its keywords are exactly the dataclass's
fields, and it gives what `replace` gives for any set of changes."""

from __future__ import annotations

import inspect
from dataclasses import fields, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import OrderStatus, PositionStatus, Side, Slot, SlotStatus

VALUES: dict[str, st.SearchStrategy[Any]] = {
    "price": st.decimals("0.1", "100000", places=1),
    "slot_status": st.sampled_from(list(SlotStatus)),
    "position_status": st.sampled_from(list(PositionStatus)),
    "position_qty": st.decimals("0", "10", places=3),
    "client_order_id": st.none() | st.text("abcSN0123", min_size=1, max_size=12),
    "venue_order_id": st.none() | st.text("0123456789", min_size=1, max_size=8),
    "order_side": st.none() | st.sampled_from(list(Side)),
    "order_price": st.none() | st.decimals("0.1", "100000", places=1),
    "order_qty": st.decimals("0", "10", places=3),
    "order_status": st.none() | st.sampled_from(list(OrderStatus)),
    "filled_qty": st.decimals("0", "10", places=3),
    "post_only_failures": st.integers(0, 9),
    "attempt": st.integers(0, 10_000),
    "ts_update": st.integers(0, 2**53),
    "position_side": st.none() | st.sampled_from(list(Side)),
}


def test_its_keywords_are_the_fields() -> None:
    keywords = [p for p in inspect.signature(Slot.evolve).parameters if p != "self"]
    assert keywords == [f.name for f in fields(Slot)] == list(VALUES)


@given(base=st.fixed_dictionaries(VALUES), changes=st.fixed_dictionaries({}, optional=VALUES))
def test_it_gives_what_replace_gives(base: dict[str, Any], changes: dict[str, Any]) -> None:
    slot = Slot(**base)
    after = slot.evolve(**changes)
    assert after == replace(slot, **changes)
    assert [getattr(after, f.name) for f in fields(Slot)] == [
        changes.get(f.name, getattr(slot, f.name)) for f in fields(Slot)
    ]
    assert slot == Slot(**base)  # the original is untouched


def test_a_misspelt_field_is_refused() -> None:
    with pytest.raises(TypeError):
        Slot(Decimal(1)).evolve(atempt=2)  # type: ignore[call-arg]
