"""Finished orders are archived after a while and their ids forgotten after a longer while: memory stays
bounded, and a client id is refused while the venue still knows it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.exchanges.errors import DuplicateClientOrderId, OrderNotFound
from opensqt.exchanges.sim import BTC_USDT_PERP, SimVenue
from opensqt.model import PlaceOrder, Side, TimeInForce

SYMBOL = BTC_USDT_PERP.symbol


def _place(venue: SimVenue, cid: str) -> None:
    venue.place_order(
        PlaceOrder(cid, SYMBOL, Side.BUY, Decimal("0.001"), Decimal("50000.0"), time_in_force=TimeInForce.GTC)
    )


def test_finished_orders_are_archived_and_their_ids_stay_taken() -> None:
    venue = SimVenue([BTC_USDT_PERP], balances={"USDT": Decimal(100_000)})
    venue.finished_order_memory = 3
    for i in range(6):
        _place(venue, f"c{i}")
        venue.cancel_order(SYMBOL, f"c{i}")
    assert sorted(venue.orders) == ["c3", "c4", "c5"]
    assert venue.fetch_order(SYMBOL, "c5").status.value == "canceled"
    with pytest.raises(OrderNotFound):
        venue.fetch_order(SYMBOL, "c0")
    with pytest.raises(DuplicateClientOrderId):
        _place(venue, "c0")
    _place(venue, "c6")  # resting orders are never archived
    assert "c6" in venue.orders


def test_archived_ids_are_forgotten_after_their_window_so_memory_stays_bounded() -> None:
    venue = SimVenue([BTC_USDT_PERP], balances={"USDT": Decimal(100_000)})
    venue.finished_order_memory = 2
    venue.archived_id_memory = 3
    for i in range(8):
        _place(venue, f"c{i}")
        venue.cancel_order(SYMBOL, f"c{i}")
    # c6, c7 queryable; c3, c4, c5 archived (ids taken); c0-c2 forgotten
    assert sorted(venue.orders) == ["c6", "c7"]
    assert sorted(venue._archived_ids) == ["c3", "c4", "c5"]
    for cid in ("c3", "c4", "c5", "c6", "c7"):
        with pytest.raises(DuplicateClientOrderId):
            _place(venue, cid)
    _place(venue, "c0")  # forgotten: a new order, as on a venue that refuses only known ids
    assert venue.fetch_order(SYMBOL, "c0").status.value == "new"
