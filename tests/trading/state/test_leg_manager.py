"""LegManager: exact accounting, idempotent replay, delta-neutral tolerance, venue re-sync."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import Side
from opensqt.trading.state.legs import Leg, LegManager, LegRole, LegStateError, Phase

KEY = "BTC/USDT:USDT"


def book() -> LegManager:
    m = LegManager()
    m.open(
        "p1",
        KEY,
        Leg(LegRole.LONG, "bin", "BTC/USDT", "spot", D("0.00001")),
        Leg(LegRole.SHORT, "bin", KEY, "perp", D("0.001")),
        1,
    )
    return m


def test_entry_and_exit_accounting_to_the_cent() -> None:
    m = book()
    m.apply_execution(KEY, LegRole.LONG, Side.BUY, D("0.010"), D("60000"), D("0.60"), "a", 2)
    m.apply_execution(KEY, LegRole.SHORT, Side.SELL, D("0.010"), D("60010"), D("0.30"), "b", 2)
    m.apply_funding("bin", KEY, D("0.18"), 3)
    m.apply_execution(KEY, LegRole.SHORT, Side.BUY, D("0.010"), D("60100"), D("0.30"), "c", 4)
    pos = m.apply_execution(KEY, LegRole.LONG, Side.SELL, D("0.010"), D("60090"), D("0.60"), "d", 4)
    assert pos.long.realized_pnl == D("0.90000")
    assert pos.short.realized_pnl == D("-0.90000")
    assert pos.funding == D("0.18") and pos.fees == D("1.80")
    assert pos.net_pnl == D("-1.62")
    assert pos.long.size == 0 and pos.short.size == 0 and pos.long.entry_price is None


def test_replayed_execution_and_funding_change_nothing() -> None:
    m = book()
    for _ in range(3):
        m.apply_execution(KEY, LegRole.LONG, Side.BUY, D("0.010"), D("60000"), D("0.6"), "a", 2)
        m.apply_funding("bin", KEY, D("0.18"), 3)
    pos = m.get(KEY)
    assert pos is not None and pos.long.size == D("0.010") and pos.short.funding == D("0.18")
    assert pos.long.fees == D("0.6")


def test_average_entry_price() -> None:
    m = book()
    m.apply_execution(KEY, LegRole.SHORT, Side.SELL, D("0.001"), D("100"), D(0), "a", 1)
    pos = m.apply_execution(KEY, LegRole.SHORT, Side.SELL, D("0.003"), D("200"), D(0), "b", 1)
    assert pos.short.entry_price == D(175)


def test_delta_neutral_within_one_lot_of_the_coarser_venue() -> None:
    m = book()
    m.apply_execution(KEY, LegRole.LONG, Side.BUY, D("0.01099"), D("1"), D(0), "a", 1)
    pos = m.apply_execution(KEY, LegRole.SHORT, Side.SELL, D("0.010"), D("1"), D(0), "b", 1)
    assert pos.tolerance == D("0.001") and pos.naked == D("0.00099") and pos.delta_neutral
    pos = m.apply_execution(KEY, LegRole.LONG, Side.BUY, D("0.00001"), D("1"), D(0), "c", 1)
    assert pos.naked == D("0.00100") and not pos.delta_neutral


def test_sync_takes_the_venue_size() -> None:
    m = book()
    m.apply_execution(KEY, LegRole.SHORT, Side.SELL, D("0.010"), D("1"), D(0), "a", 1)
    change = m.sync("bin", KEY, D("-0.007"), 5)
    assert change is not None and (change.old, change.new) == (D("0.010"), D("0.007"))
    assert m.sync("bin", KEY, D("-0.007"), 6) is None
    assert m.sync("bin", "BTC/USDT", D("0.007"), 6) is not None
    assert m.sync("other", KEY, D(1), 6) is None


def test_one_position_per_key_and_closing_moves_it_to_history() -> None:
    m = book()
    with pytest.raises(LegStateError, match="already held"):
        m.open(
            "p2",
            KEY,
            Leg(LegRole.LONG, "x", "a", "spot", D(1)),
            Leg(LegRole.SHORT, "x", "b", "perp", D(1)),
            1,
        )
    m.set_phase(KEY, Phase.CLOSED, 9)
    assert m.get(KEY) is None and [p.position_id for p in m.closed()] == ["p1"]


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 50), st.integers(1, 1000)), max_size=30))
def test_size_is_never_negative_and_replays_are_idempotent(ops: list[tuple[bool, int, int]]) -> None:
    m1, m2 = book(), book()
    for n, (buy, lots, price) in enumerate(ops):
        args = (KEY, LegRole.LONG, Side.BUY if buy else Side.SELL, D(lots) / 1000, D(price), D(0), f"r{n}", n)
        m1.apply_execution(*args)
        m2.apply_execution(*args)
        m2.apply_execution(*args)
    p1, p2 = m1.get(KEY), m2.get(KEY)
    assert p1 == p2 and p1 is not None and p1.long.size >= 0


def test_funding_booked_after_the_exit_lands_on_the_closed_position_once() -> None:
    m = book()
    m.apply_execution(KEY, LegRole.SHORT, Side.SELL, D("0.010"), D("60010"), D("0.30"), "b", 2)
    m.apply_execution(KEY, LegRole.SHORT, Side.BUY, D("0.010"), D("60100"), D("0.30"), "c", 4)
    m.set_phase(KEY, Phase.CLOSED, 5)
    m.open("p2", KEY, Leg(LegRole.LONG, "bin", "BTC/USDT", "spot", D("0.00001")),
           Leg(LegRole.SHORT, "bin", KEY, "perp", D("0.001")), 6)  # fmt: skip
    for _ in range(2):  # a replay changes nothing
        closed = m.apply_funding("bin", KEY, D("0.18"), 3, position_id="p1")
    assert closed is not None and closed.position_id == "p1" and closed.phase is Phase.CLOSED
    assert [p.short.funding for p in m.closed()] == [D("0.18")]
    held = m.get(KEY)
    assert held is not None and held.position_id == "p2" and held.short.funding == 0
    assert m.total_funding == D("0.18")
    # a payment for the new position does not land on the old one
    assert m.apply_funding("bin", KEY, D("0.05"), 7, position_id="p2") is not None
    assert (m.closed()[0].short.funding, m.get(KEY).short.funding) == (D("0.18"), D("0.05"))  # type: ignore[union-attr]
