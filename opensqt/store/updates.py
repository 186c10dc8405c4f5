"""Idempotent application of order updates: order, fill, slot, position and PnL rows in one transaction.

Replayed, duplicated or reordered updates change nothing twice: an update whose key (venue order id +
cumulative filled + status) was processed is skipped; an order row only moves forward in progress
(filled, then status rank); fills and PnL entries are insert-once facts; a slot or position row is only
replaced by the snapshot of the winning report, and never by an older one (`ts_update`/`ts_event`).
Runs in bulk so one transaction can carry thousands of updates (the writer's batches).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from opensqt.model import Order
from opensqt.store import tables as t
from opensqt.store.records import OrderUpdateWrite
from opensqt.store.rows import (
    fill_to_row,
    order_from_row,
    order_progress,
    order_to_row,
    order_update_key,
    pnl_to_row,
    position_to_row,
    slot_to_row,
)

# Stay far below SQLite's bound-parameter limit (32766) in `IN (...)` lookups.
_LOOKUP_CHUNK = 500


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT supporting ON CONFLICT for the connection's dialect (SQLite and PostgreSQL agree on it)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(dialect_insert(conn, table).on_conflict_do_nothing(), list(rows))


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, newer_than: str | None = None
) -> None:
    """Insert or replace by primary key; with `newer_than`, replace only if that column does not go back."""
    if not rows:
        return
    stmt = dialect_insert(conn, table)
    keys = [c.name for c in table.primary_key.columns]
    values = {c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys}
    where = None if newer_than is None else stmt.excluded[newer_than] >= table.c[newer_than]
    conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=values, where=where), list(rows))


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), _LOOKUP_CHUNK):
        yield items[i : i + _LOOKUP_CHUNK]


def _existing_keys(conn: Connection, keys: list[tuple[str, ...]]) -> set[tuple[str, ...]]:
    p = t.processed_updates
    cols = (p.c.venue, p.c.symbol, p.c.venue_order_id, p.c.filled, p.c.status)
    found: set[tuple[str, ...]] = set()
    for chunk in _chunks(keys):
        found.update(tuple(r) for r in conn.execute(select(*cols).where(tuple_(*cols).in_(chunk))))
    return found


def _existing_orders(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Order]:
    o = t.orders
    found: dict[tuple[str, str], Order] = {}
    for chunk in _chunks(keys):
        rows = conn.execute(select(o).where(tuple_(o.c.venue, o.c.client_order_id).in_(chunk))).mappings()
        for row in rows:
            found[(row["venue"], row["client_order_id"])] = order_from_row(row)
    return found


def apply_order_updates(conn: Connection, writes: Sequence[OrderUpdateWrite]) -> int:
    """Apply updates inside the caller's transaction; return how many were new (not already processed)."""
    if not writes:
        return 0
    # 1. Drop updates already processed, in an earlier transaction or earlier in this batch.
    keyed: dict[tuple[str, ...], OrderUpdateWrite] = {}
    for w in writes:
        keyed.setdefault(order_update_key(w.venue, w.update.order), w)
    seen = _existing_keys(conn, list(keyed))
    fresh = [(k, w) for k, w in keyed.items() if k not in seen]
    if not fresh:
        return 0

    # 2. Orders move forward only: the report with the most progress wins, whatever the arrival order.
    order_keys = list(dict.fromkeys((w.venue, w.update.order.client_order_id) for _, w in fresh))
    current = _existing_orders(conn, order_keys)
    winners: dict[tuple[str, str], tuple[int, OrderUpdateWrite]] = {}
    for index, (_, w) in enumerate(fresh):
        k = (w.venue, w.update.order.client_order_id)
        best = winners[k][1].update.order if k in winners else current.get(k)
        if best is None or order_progress(w.update.order) > order_progress(best):
            winners[k] = (index, w)
    winning = [w for _, w in sorted(winners.values(), key=lambda iw: iw[0])]

    # 3. Slots and positions: the winning report's snapshot, newest per key (ties: the later in the batch).
    slot_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    position_rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for w in winning:
        if w.slot is not None:
            row = slot_to_row(w.bot, w.update.order.symbol, w.slot)
            sk = (w.bot, w.update.order.symbol, str(w.slot.price))
            if sk not in slot_rows or slot_rows[sk]["ts_update"] <= row["ts_update"]:
                slot_rows[sk] = row
        if w.position is not None:
            row = position_to_row(w.bot, w.venue, w.position)
            pk = (w.bot, w.venue, w.position.symbol)
            if pk not in position_rows or position_rows[pk]["ts_event"] <= row["ts_event"]:
                position_rows[pk] = row

    upsert(conn, t.orders, [order_to_row(w.bot, w.venue, w.update.order, w.ts_ms) for w in winning])
    insert_ignore(
        conn,
        t.fills,
        [fill_to_row(w.bot, w.venue, w.update.fill) for _, w in fresh if w.update.fill is not None],
    )
    upsert(conn, t.slots, list(slot_rows.values()), newer_than="ts_update")
    upsert(conn, t.positions, list(position_rows.values()), newer_than="ts_event")
    insert_ignore(conn, t.pnl_history, [pnl_to_row(p) for _, w in fresh for p in w.pnl])
    insert_ignore(
        conn,
        t.processed_updates,
        [
            {
                "venue": k[0],
                "symbol": k[1],
                "venue_order_id": k[2],
                "filled": k[3],
                "status": k[4],
                "bot": w.bot,
                "client_order_id": w.update.order.client_order_id,
                "applied_at": w.ts_ms,
            }
            for k, w in fresh
        ],
    )
    return len(fresh)
