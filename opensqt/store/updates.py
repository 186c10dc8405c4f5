"""Idempotent application of order updates: order, fill, slot, position and PnL rows in one transaction.

Replayed, duplicated or reordered updates change nothing twice: an update whose key (venue order id +
cumulative filled + status) was processed is skipped; an order row only moves forward in progress
(filled, then status rank); fills and PnL entries are insert-once facts; a slot or position row is only
replaced by the snapshot of the winning report, and never by an older one (`ts_update`/`ts_event`).
Runs in bulk so one transaction can carry thousands of updates (the writer's batches).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache, lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, update

from opensqt.model import OrderStatus
from opensqt.store import tables as t
from opensqt.store.records import OrderUpdateWrite
from opensqt.store.rows import (
    RowReader,
    fill_to_row,
    order_progress,
    order_to_row,
    order_update_key,
    pnl_to_row,
    position_to_row,
    slot_to_row,
)
from opensqt.store.types import DecimalText, decimal_to_text

# Stay far below SQLite's bound-parameter limit (32766) in `IN (...)` lookups.
_LOOKUP_CHUNK = 500
#: order statuses that are not final: the store's "open" orders
OPEN_STATUSES = tuple(s.value for s in OrderStatus if not s.is_final)

# The hot path runs plain driver SQL (built once per table and dialect, same text on SQLite and PostgreSQL
# but for the placeholder): SQLAlchemy's per-row statement compilation cost more than the database work.


def _placeholder(conn: Connection) -> str:
    return "%s" if conn.dialect.name == "postgresql" else "?"


@lru_cache(maxsize=512)
def _insert_sql(table: Table, ph: str, mode: str, newer_than: str | None, rows: int = 1) -> str:
    cols = [c.name for c in table.columns]
    keys = [c.name for c in table.primary_key.columns]
    quoted_cols = ", ".join(f'"{c}"' for c in cols)
    quoted_keys = ", ".join(f'"{k}"' for k in keys)
    values = ", ".join([f"({', '.join([ph] * len(cols))})"] * rows)
    sql = f'INSERT INTO "{table.name}" ({quoted_cols}) VALUES {values} ON CONFLICT ({quoted_keys}) '
    if mode == "nothing":
        return sql + "DO NOTHING"
    sets = ", ".join(f'"{c}" = excluded."{c}"' for c in cols if c not in keys)
    sql += f"DO UPDATE SET {sets}"
    if newer_than is not None:
        sql += f' WHERE excluded."{newer_than}" >= "{table.name}"."{newer_than}"'
    return sql


def _write(
    conn: Connection, table: Table, mode: str, newer_than: str | None, rows: Sequence[dict[str, Any]]
) -> None:
    params = _params(table, rows)
    if conn.dialect.name != "postgresql":
        # sqlite3's executemany is a tight C loop: one prepared statement, many bindings.
        conn.exec_driver_sql(_insert_sql(table, "?", mode, newer_than), params)
        return
    # PostgreSQL: one multi-row INSERT per chunk (one round trip) instead of a statement per row. Rows
    # sharing a key in one chunk are fine for DO NOTHING; callers dedupe keys for DO UPDATE.
    per = max(1, 20_000 // len(table.columns))
    for i in range(0, len(params), per):
        chunk = params[i : i + per]
        flat = tuple(v for row in chunk for v in row)
        conn.exec_driver_sql(_insert_sql(table, "%s", mode, newer_than, len(chunk)), flat)


@cache
def _layout(table: Table) -> tuple[Any, tuple[int, ...]]:
    getter = itemgetter(*(c.name for c in table.columns))
    decimals = tuple(i for i, c in enumerate(table.columns) if isinstance(c.type, DecimalText))
    return getter, decimals


def _params(table: Table, rows: Iterable[dict[str, Any]]) -> list[tuple[Any, ...]]:
    getter, decimals = _layout(table)
    out = []
    for row in rows:
        values = list(getter(row))
        for i in decimals:
            if values[i] is not None:
                values[i] = decimal_to_text(values[i])
        out.append(tuple(values))
    return out


def insert_ignore(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert rows; a row whose primary key exists is left as it is (facts are written once)."""
    if rows:
        _write(conn, table, "nothing", None, rows)


def upsert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, newer_than: str | None = None
) -> None:
    """Insert or replace by primary key; with `newer_than`, replace only if that column does not go back."""
    if rows:
        keys = [c.name for c in table.primary_key.columns]
        # One row per key (the last wins): PostgreSQL refuses to update a row twice in one statement.
        unique = {tuple(row[k] for k in keys): row for row in rows}
        _write(conn, table, "update", newer_than, list(unique.values()))


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    for i in range(0, len(items), _LOOKUP_CHUNK):
        yield items[i : i + _LOOKUP_CHUNK]


def _existing_keys(conn: Connection, keys: list[tuple[str, ...]]) -> set[tuple[str, ...]]:
    """Which idempotency keys are already recorded: looked up by (venue, symbol) and venue order id."""
    ph = _placeholder(conn)
    groups: dict[tuple[str, str], list[str]] = {}
    for k in keys:
        groups.setdefault((k[0], k[1]), []).append(k[2])
    found: set[tuple[str, ...]] = set()
    for (venue, symbol), refs in groups.items():
        for chunk in _chunks(list(dict.fromkeys(refs))):
            sql = (
                'SELECT "venue_order_id", "filled", "status" FROM "processed_updates" WHERE "venue" = '
                f'{ph} AND "symbol" = {ph} AND "venue_order_id" IN ({", ".join([ph] * len(chunk))})'
            )
            for ref, filled, status in conn.exec_driver_sql(sql, (venue, symbol, *chunk)):
                found.add((venue, symbol, ref, filled, status))
    return found


def _existing_progress(conn: Connection, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Any]:
    """Progress (filled, status rank, status) of the stored orders among `keys` (venue, client order id)."""
    ph = _placeholder(conn)
    groups: dict[str, list[str]] = {}
    for venue, cid in keys:
        groups.setdefault(venue, []).append(cid)
    found: dict[tuple[str, str], Any] = {}
    for venue, cids in groups.items():
        for chunk in _chunks(cids):
            sql = (
                f'SELECT "client_order_id", "filled", "status" FROM "orders" WHERE "venue" = {ph} '
                f'AND "client_order_id" IN ({", ".join([ph] * len(chunk))})'
            )
            for cid, filled, status in conn.exec_driver_sql(sql, (venue, *chunk)):
                r = RowReader(
                    "orders",
                    {"venue": venue, "client_order_id": cid, "filled": filled, "status": status},
                    ("venue", "client_order_id"),
                )
                st = r.enum("status", OrderStatus)
                found[(venue, cid)] = (r.dec("filled"), st.rank, st.value)
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
    current = _existing_progress(conn, order_keys)
    winners: dict[tuple[str, str], tuple[int, OrderUpdateWrite]] = {}
    for index, (_, w) in enumerate(fresh):
        k = (w.venue, w.update.order.client_order_id)
        best = order_progress(winners[k][1].update.order) if k in winners else current.get(k)
        if best is None or order_progress(w.update.order) > best:
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


def expire_open_order(
    conn: Connection, bot: str, venue: str, symbol: str, client_order_id: str, ts_ms: int
) -> None:
    """An order the venue says it does not have: expired, as the slot book books it, with what it filled
    unchanged. Only an order still recorded open changes: a final report that got here first stands."""
    o = t.orders
    conn.execute(
        update(o)
        .where(
            o.c.venue == venue,
            o.c.client_order_id == client_order_id,
            o.c.bot == bot,
            o.c.symbol == symbol,
            o.c.status.in_(OPEN_STATUSES),
        )
        .values(status=OrderStatus.EXPIRED.value, updated=ts_ms)
    )
