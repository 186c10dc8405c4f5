"""Repositories: audit trail, bots, arbitrage legs and workflows, and strict reading of corrupted rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from opensqt.model import OrderStatus
from opensqt.store import (
    ArbitrageLeg,
    BotRecord,
    CorruptRowError,
    Store,
    StoreError,
    WorkflowStep,
    open_store,
)
from tests.store.conftest import BOT, SYMBOL, VENUE, order_update, write_for


def test_audit_entries_are_recorded_with_who_what_when_target_result_details(store: Store) -> None:
    a = store.record_audit(
        who="key-7f3a",
        action="cancel_all",
        target=SYMBOL,
        result="ok",
        ts_ms=5_000,
        details={"side": "buy", "count": 3},
        bot=BOT,
    )
    b = store.record_audit(who="system", action="breaker_trip", target=BOT, result="open", ts_ms=6_000)
    assert store.audit.list() == [a, b]
    assert [
        (e.who, e.action, e.target, e.result, e.ts, e.details) for e in store.audit.list(since_ms=5_500)
    ] == [("system", "breaker_trip", BOT, "open", 6_000, {})]


def test_bot_registration_keeps_its_creation_time(store: Store) -> None:
    store.bots.register(BotRecord(BOT, "grid", VENUE, "cfg-hash-2", 9, 9))
    assert store.bots.get(BOT) == BotRecord(BOT, "grid", VENUE, "cfg-hash-2", 1, 9)
    assert store.bots.get("nobody") is None


def test_an_update_for_an_unregistered_bot_is_refused_by_the_foreign_key(store: Store) -> None:
    w = write_for(order_update(1), 1_000)
    with pytest.raises(Exception, match="FOREIGN KEY constraint failed"):
        store.apply_many([w.__class__("ghost", w.venue, w.update, w.ts_ms, w.slot, ())])
    assert store.orders.get(VENUE, "c1") is None


def test_order_sent_is_recorded_and_never_overwrites_a_venue_report(store: Store) -> None:
    sent = order_update(1).order
    store.orders.record_sent(BOT, VENUE, sent, 900)
    assert store.load_open_orders(BOT, SYMBOL) == [sent]
    filled = order_update(1, filled="0.010", status=OrderStatus.FILLED, trade="t1")
    store.apply_many([write_for(filled, 1_000)])
    store.orders.record_sent(BOT, VENUE, sent, 1_100)
    assert store.orders.get(VENUE, "c1") == filled.order


def test_arbitrage_legs_and_workflow_steps_round_trip(store: Store) -> None:
    spot = ArbitrageLeg(
        BOT,
        "p1",
        "spot",
        "BTC/USDT",
        "binance",
        "spot",
        "buy",
        Decimal("0.5"),
        Decimal("60000.1"),
        Decimal("0"),
        Decimal("-3.00012"),
        "open",
        1_000,
        1_000,
    )
    perp = ArbitrageLeg(
        BOT,
        "p1",
        "perp",
        SYMBOL,
        "binance",
        "perp",
        "sell",
        Decimal("0.5"),
        None,
        Decimal("1.25"),
        Decimal("-2.5"),
        "open",
        1_000,
        2_000,
    )
    store.arbitrage.save_leg(spot)
    store.arbitrage.save_leg(perp)
    store.arbitrage.save_leg(_older(perp))  # an older snapshot never replaces a newer one
    assert store.arbitrage.load_legs(BOT) == [perp, spot]
    assert store.arbitrage.load_legs(BOT, status="closed") == []
    step = WorkflowStep("wf-1", "leg_a", BOT, "arb_entry", "done", 1_000, 1_500, {"order": "c9"})
    store.arbitrage.save_step(step)
    assert store.arbitrage.load_workflow("wf-1") == [step]


def _older(leg: ArbitrageLeg) -> ArbitrageLeg:
    fields = {name: getattr(leg, name) for name in leg.__dataclass_fields__}
    return ArbitrageLeg(**{**fields, "status": "closed", "updated_at": leg.updated_at - 1})


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        (
            "orders",
            "price",
            "12,5",
            r"table orders row \(venue='binance', client_order_id='c1'\): column price: "
            r"expected exact decimal text, got '12,5'",
        ),
        (
            "orders",
            "status",
            "bogus",
            r"column status: expected one of new, partially_filled, filled, canceled, "
            r"rejected, expired, got 'bogus'",
        ),
        (
            "orders",
            "filled",
            "0.5",
            r"not a valid order: order c1: filled must be within \[0, 0.010\], got 0.5",
        ),
        (
            "slots",
            "filled_qty",
            "NaN",
            r"table slots row \(bot='grid-1', symbol='BTC/USDT:USDT', price='100.10'\): "
            r"column filled_qty: expected exact decimal text, got 'NaN'",
        ),
        (
            "fills",
            "fee",
            "",
            r"table fills row .*trade_id='t1'\): column fee: expected exact decimal text, got ''",
        ),
    ],
)
def test_a_corrupted_row_raises_one_clear_error(
    store: Store, table: str, column: str, value: str, message: str
) -> None:
    store.apply_many(
        [write_for(order_update(1, filled="0.004", status=OrderStatus.PARTIALLY_FILLED, trade="t1"), 1_000)]
    )
    with store.engine.begin() as conn:
        conn.execute(text(f'UPDATE "{table}" SET "{column}" = :v'), {"v": value})
    with pytest.raises(CorruptRowError, match=message):
        store.orders.get(VENUE, "c1")
        store.load_slots(BOT, SYMBOL)
        store.fills.list(BOT, SYMBOL)


def test_bad_urls_get_one_clear_error(tmp_path: object) -> None:
    with pytest.raises(StoreError, match="expected a sqlite or postgresql url, got backend 'mysql'"):
        open_store("mysql://u:pw@h/db")
    with pytest.raises(StoreError, match="an in-memory SQLite store cannot be shared"):
        open_store("sqlite://")
    with pytest.raises(
        StoreError,
        match=r"expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB, got '<unparseable url>'",
    ):
        open_store("nonsense")


def test_sqlite_store_runs_in_wal_with_normal_sync_foreign_keys_and_busy_timeout(store: Store) -> None:
    with store.engine.connect() as conn:
        values = [
            conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        ]
    assert values == ["wal", 1, 1, 5_000]
