"""Reconciliation's force-sync on the slot book: exact surplus removal and shortfall placement."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.model import PositionStatus, Side, Slot
from opensqt.trading.state import SlotManager


def _book() -> SlotManager:
    book = SlotManager()
    book.load(
        [
            Slot(
                Decimal(100),
                position_status=PositionStatus.FILLED,
                position_qty=Decimal(2),
                position_side=Side.BUY,
            ),
            Slot(
                Decimal(110),
                position_status=PositionStatus.FILLED,
                position_qty=Decimal(3),
                position_side=Side.BUY,
            ),
        ]
    )
    return book


def test_surplus_comes_off_the_highest_long_slot_first() -> None:
    book = _book()
    changes = book.force_position(Decimal("3.5"), Side.BUY, Decimal(90))
    assert [(c.price, c.after.position_qty) for c in changes] == [(Decimal(110), Decimal("1.5"))]
    assert book.inventory == Decimal("3.5")
    assert book.slot_pnl(Decimal(110)).cost_basis == Decimal("165.0")  # 110 × 1.5
    changes = book.force_position(Decimal(0), Side.BUY, Decimal(90))
    assert book.inventory == 0 and all(s.position_status is PositionStatus.EMPTY for s in book.slots.values())
    assert book.realized_pnl == 0


def test_shortfall_lands_on_the_given_level_at_its_price() -> None:
    book = _book()
    changes = book.force_position(Decimal(6), Side.BUY, Decimal(90))
    assert [(c.price, c.after.position_qty, c.after.position_side) for c in changes] == [
        (Decimal(90), Decimal(1), Side.BUY)
    ]
    assert book.inventory == Decimal(6)
    assert book.slot_pnl(Decimal(90)).cost_basis == Decimal(90)
    assert book.force_position(Decimal(6), Side.BUY, Decimal(90)) == []  # already in sync


def test_bad_target_is_refused() -> None:
    with pytest.raises(ValueError, match="target"):
        _book().force_position(Decimal(-1), Side.BUY, Decimal(90))
