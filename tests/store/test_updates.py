"""Order updates: one transaction each, exact rows, and idempotent under duplication and reordering."""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from opensqt.model import OrderStatus, OrderUpdated, Side, SlotStatus
from opensqt.store import OrderUpdateWrite, PnlKind, PnlRecord, Store, migrate
from opensqt.store import tables as t
from opensqt.store.migrate import DEFAULT_MIGRATIONS_DIR
from tests.store.conftest import BOT, SYMBOL, VENUE, fresh_store, order_update, slot_for, write_for

TABLES = [t.orders, t.fills, t.slots, t.positions, t.pnl_history, t.processed_updates]


def dump(store: Store) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an update touches, sorted: two stores are equal iff their dumps are."""
    with store.engine.connect() as conn:
        return {tbl.name: sorted(tuple(r) for r in conn.execute(select(tbl))) for tbl in TABLES}


def test_one_update_writes_order_fill_slot_and_pnl_exactly(store: Store) -> None:
    update = order_update(1, filled="0.010", status=OrderStatus.FILLED, trade="t1", ts=2_000)
    assert store.apply_order_update(
        BOT,
        VENUE,
        update,
        slot_for(update, 2_000),
        PnlRecord(BOT, VENUE, SYMBOL, PnlKind.FEE, "t1", Decimal("-0.00040040"), "USDT", 2_000),
        ts_ms=2_005,
    )
    assert store.orders.get(VENUE, "c1") == update.order
    assert store.fills.list(BOT, SYMBOL) == [update.fill]
    assert store.load_slots(BOT, SYMBOL) == [slot_for(update, 2_000)]
    assert [(p.kind, p.ref_id, p.amount) for p in store.pnl.history(BOT)] == [
        (PnlKind.FEE, "t1", Decimal("-0.00040040"))
    ]
    assert store.fill_seen(VENUE, SYMBOL, "t1") and not store.fill_seen(VENUE, SYMBOL, "t2")
    assert store.load_open_orders(BOT, SYMBOL) == []


def test_applying_the_same_update_twice_leaves_one_row_each(store: Store) -> None:
    update = order_update(1, filled="0.010", status=OrderStatus.FILLED, trade="t1")
    assert store.apply_many([write_for(update, 1_000)]) == 1
    before = dump(store)
    assert store.apply_many([write_for(update, 1_000), write_for(update, 1_000)]) == 0
    assert dump(store) == before
    assert [
        len(before[name]) for name in ("orders", "fills", "slots", "pnl_history", "processed_updates")
    ] == [
        1,
        1,
        1,
        1,
        1,
    ]


def test_filled_text_with_other_trailing_zeros_is_the_same_update(store: Store) -> None:
    a = order_update(1, filled="0.005", status=OrderStatus.PARTIALLY_FILLED)
    b = order_update(1, filled="0.00500", status=OrderStatus.PARTIALLY_FILLED)
    assert store.apply_many([write_for(a, 1_000)]) == 1
    assert store.apply_many([write_for(b, 1_000)]) == 0


def test_a_stale_report_never_moves_an_order_or_its_slot_back(store: Store) -> None:
    new = order_update(1, ts=1_000)
    filled = order_update(1, filled="0.010", status=OrderStatus.FILLED, trade="t1", ts=3_000)
    assert store.apply_many([write_for(filled, 3_000)]) == 1
    assert store.apply_many([write_for(new, 1_000)]) == 1  # a new fact (processed), but stale
    assert store.orders.get(VENUE, "c1") == filled.order
    (slot,) = store.load_slots(BOT, SYMBOL)
    assert (slot.slot_status, slot.filled_qty, slot.ts_update) == (SlotStatus.FREE, Decimal("0.010"), 3_000)


def test_open_orders_are_loaded_oldest_first(store: Store) -> None:
    store.apply_many(
        [
            write_for(order_update(2, price="99.90", ts=2_000), 2_000),
            write_for(order_update(1, price="99.80", ts=1_000), 1_000),
            write_for(
                order_update(3, filled="0.010", status=OrderStatus.FILLED, trade="t3", ts=3_000), 3_000
            ),
            write_for(
                order_update(4, filled="0.004", status=OrderStatus.PARTIALLY_FILLED, trade="t4", ts=4_000),
                4_000,
            ),
        ]
    )
    assert [o.client_order_id for o in store.load_open_orders(BOT, SYMBOL)] == ["c1", "c2", "c4"]
    assert [s.price for s in store.load_slots(BOT, SYMBOL)] == [
        Decimal("99.80"),
        Decimal("99.90"),
        Decimal("100.10"),
    ]


def test_round_trip_pnl_is_exact_to_the_cent(store: Store) -> None:
    buy = order_update(1, filled="0.010", status=OrderStatus.FILLED, trade="t1", price="100.10", ts=1_000)
    sell_order = order_update(
        2, filled="0.010", status=OrderStatus.FILLED, trade="t2", price="101.35", ts=2_000
    )
    assert sell_order.fill is not None
    sell = OrderUpdated(replace(sell_order.order, side=Side.SELL), replace(sell_order.fill, side=Side.SELL))
    realized = (Decimal("101.35") - Decimal("100.10")) * Decimal("0.010")
    round_trip = PnlRecord(
        BOT,
        VENUE,
        SYMBOL,
        PnlKind.REALIZED,
        "t2",
        realized,
        "USDT",
        2_000,
        Decimal("0.010"),
        Decimal("100.10"),
        Decimal("101.35"),
    )
    store.apply_many([write_for(buy, 1_000)])
    w = write_for(sell, 2_000)
    store.apply_many([OrderUpdateWrite(w.bot, w.venue, w.update, w.ts_ms, w.slot, (*w.pnl, round_trip))])
    store.apply_many([OrderUpdateWrite(w.bot, w.venue, w.update, w.ts_ms, w.slot, (*w.pnl, round_trip))])
    history = store.pnl.history(BOT)
    assert [(p.kind.value, p.ref_id, p.amount) for p in history] == [
        ("fee", "t1", Decimal("-0.00040040")),
        ("fee", "t2", Decimal("-0.00040040")),
        ("realized", "t2", Decimal("0.01250")),
    ]
    assert store.pnl.total(BOT) == Decimal("0.01169920")
    assert store.pnl.total(BOT).quantize(Decimal("0.01")) == Decimal("0.01")


# --- idempotency under any duplication and reordering (Hypothesis) ------------------------------------


def scenario() -> list[OrderUpdateWrite]:
    """Three orders' report histories, in venue order. Orders 1 and 2 work the same slot (100.10)."""
    o1 = [
        order_update(1, ts=1_000),
        order_update(
            1, filled="0.004", status=OrderStatus.PARTIALLY_FILLED, trade="a1", trade_qty="0.004", ts=1_100
        ),
        order_update(1, filled="0.010", status=OrderStatus.FILLED, trade="a2", trade_qty="0.006", ts=1_200),
    ]
    o2 = [
        order_update(2, ts=2_000),
        order_update(
            2, filled="0.003", status=OrderStatus.PARTIALLY_FILLED, trade="b1", trade_qty="0.003", ts=2_100
        ),
        order_update(2, filled="0.003", status=OrderStatus.CANCELED, ts=2_200),
    ]
    o3 = [
        order_update(3, price="99.50", ts=3_000),
        order_update(
            3,
            filled="0.010",
            status=OrderStatus.FILLED,
            price="99.50",
            trade="c1",
            trade_qty="0.010",
            ts=3_100,
        ),
    ]
    return [write_for(u, u.order.ts_event) for u in o1 + o2 + o3]


_CANON: dict[str, list[tuple[Any, ...]]] = {}


def canonical_rows() -> dict[str, list[tuple[Any, ...]]]:
    if not _CANON:
        with tempfile.TemporaryDirectory() as d:
            s = fresh_store(f"sqlite:///{Path(d) / 'canon.sqlite'}")
            for w in scenario():
                s.apply_many([w])
            _CANON.update(dump(s))
            s.close()
    return _CANON


@st.composite
def shuffled_with_duplicates(draw: st.DrawFn) -> tuple[list[OrderUpdateWrite], list[int]]:
    writes = scenario()
    order = draw(st.permutations(range(len(writes))))
    extra = draw(st.lists(st.integers(0, len(writes) - 1), max_size=8))
    sequence = list(order)
    for e in extra:
        sequence.insert(draw(st.integers(0, len(sequence))), e)
    cuts = sorted(set(draw(st.lists(st.integers(1, len(sequence)), max_size=4))))
    return [writes[i] for i in sequence], cuts


def _apply_in_batches(store: Store, writes: list[OrderUpdateWrite], cuts: list[int]) -> None:
    start = 0
    for cut in [*cuts, len(writes)]:
        if cut > start:
            store.apply_many(writes[start:cut])
            start = cut


@settings(max_examples=60)
@given(case=shuffled_with_duplicates())
def test_any_duplicated_reordered_batched_replay_gives_the_same_rows(
    case: tuple[list[OrderUpdateWrite], list[int]],
) -> None:
    writes, cuts = case
    with tempfile.TemporaryDirectory() as d:
        s = fresh_store(f"sqlite:///{Path(d) / 'replay.sqlite'}")
        try:
            _apply_in_batches(s, writes, cuts)
            assert dump(s) == canonical_rows()
        finally:
            s.close()


def test_canonical_scenario_rows_are_what_the_venue_reported() -> None:
    rows = canonical_rows()
    assert [(r[1], r[10], r[12]) for r in rows["orders"]] == [
        ("c1", "0.010", "filled"),
        ("c2", "0.003", "canceled"),
        ("c3", "0.010", "filled"),
    ]
    assert [r[2] for r in rows["fills"]] == ["a1", "a2", "b1", "c1"]
    # Slot 100.10 was last touched by order 2's cancel (ts 2200); slot 99.50 by order 3's fill.
    assert sorted((r[2], r[15]) for r in rows["slots"]) == [("100.10", 2_200), ("99.50", 3_100)]
    assert len(rows["processed_updates"]) == 8


@pytest.mark.real_part
@settings(max_examples=5)
@given(case=shuffled_with_duplicates())
def test_postgres_replay_gives_the_same_rows(
    postgres_server: Any, case: tuple[list[OrderUpdateWrite], list[int]]
) -> None:
    url = postgres_server.create_database(f"r_{uuid.uuid4().hex[:12]}")
    s = fresh_store(url)
    try:
        writes, cuts = case
        _apply_in_batches(s, writes, cuts)
        rows = dump(s)
        # PostgreSQL returns booleans as bool, SQLite as int: compare through the same Python equality.
        assert rows == canonical_rows()
    finally:
        s.close()
    assert migrate(url, DEFAULT_MIGRATIONS_DIR) == []
