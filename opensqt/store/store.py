"""`Store`: the database handle and its repositories, returning model objects (rows never leave this package).

`open_store(url)` opens SQLite (WAL) or PostgreSQL and refuses a schema that is behind or newer.
Calls here are synchronous and short; the hot path writes through `StoreWriter` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select
from sqlalchemy.engine import URL

from opensqt.model import Fill, Order, OrderUpdated, Position, Slot
from opensqt.store import tables as t
from opensqt.store.engine import DEFAULT_BUSY_TIMEOUT_MS, create_store_engine, is_sqlite, redact
from opensqt.store.migrate import check_schema
from opensqt.store.records import (
    ArbitrageLeg,
    AuditRecord,
    BotRecord,
    OrderUpdateWrite,
    PnlRecord,
    WorkflowStep,
)
from opensqt.store.rows import (
    audit_from_row,
    audit_to_row,
    bot_from_row,
    fill_from_row,
    leg_from_row,
    leg_to_row,
    order_from_row,
    order_to_row,
    pnl_from_row,
    pnl_to_row,
    position_from_row,
    slot_from_row,
    slot_to_row,
    step_from_row,
    step_to_row,
)
from opensqt.store.updates import OPEN_STATUSES as _OPEN
from opensqt.store.updates import apply_order_updates, insert_ignore, upsert


class _Repository:
    def __init__(self, store: Store) -> None:
        self._store = store

    def _read(self) -> Connection:
        return self._store.engine.connect()


class BotRepository(_Repository):
    def register(self, bot: BotRecord) -> None:
        """Create or update a bot (strategy, venue, config hash); keeps its original `created_at`."""
        row = {
            "name": bot.name,
            "strategy": bot.strategy,
            "venue": bot.venue,
            "config_hash": bot.config_hash,
            "created_at": bot.created_at,
            "updated_at": bot.updated_at,
        }
        with self._store.write() as conn:
            existing = conn.execute(select(t.bots.c.created_at).where(t.bots.c.name == bot.name)).scalar()
            if existing is not None:
                row["created_at"] = existing
            upsert(conn, t.bots, [row])

    def get(self, name: str) -> BotRecord | None:
        with self._read() as conn:
            row = conn.execute(select(t.bots).where(t.bots.c.name == name)).mappings().first()
        return None if row is None else bot_from_row(row)


class OrderRepository(_Repository):
    def get(self, venue: str, client_order_id: str) -> Order | None:
        o = t.orders
        with self._read() as conn:
            row = (
                conn.execute(select(o).where(o.c.venue == venue, o.c.client_order_id == client_order_id))
                .mappings()
                .first()
            )
        return None if row is None else order_from_row(row)

    def load_open(self, bot: str, symbol: str) -> list[Order]:
        """Orders of `bot` on `symbol` not in a final state, oldest first (by our ts_init)."""
        o = t.orders
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(o)
                    .where(o.c.bot == bot, o.c.symbol == symbol, o.c.status.in_(_OPEN))
                    .order_by(o.c.ts_init, o.c.client_order_id)
                )
                .mappings()
                .all()
            )
        return [order_from_row(r) for r in rows]

    def record_sent(self, bot: str, venue: str, order: Order, ts_ms: int) -> None:
        """Record an order as we sent it; a venue report already stored is never overwritten."""
        with self._store.write() as conn:
            insert_ignore(conn, t.orders, [order_to_row(bot, venue, order, ts_ms)])


class FillRepository(_Repository):
    def seen(self, venue: str, symbol: str, trade_id: str) -> bool:
        f = t.fills
        with self._read() as conn:
            row = conn.execute(
                select(f.c.trade_id).where(f.c.venue == venue, f.c.symbol == symbol, f.c.trade_id == trade_id)
            ).first()
        return row is not None

    def list(self, bot: str, symbol: str) -> list[Fill]:
        f = t.fills
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(f).where(f.c.bot == bot, f.c.symbol == symbol).order_by(f.c.ts_event, f.c.trade_id)
                )
                .mappings()
                .all()
            )
        return [fill_from_row(r) for r in rows]


class SlotRepository(_Repository):
    def load(self, bot: str, symbol: str) -> list[Slot]:
        """Every stored slot of `bot` on `symbol`, by price ascending (compared as Decimal, not as text)."""
        s = t.slots
        with self._read() as conn:
            rows = conn.execute(select(s).where(s.c.bot == bot, s.c.symbol == symbol)).mappings().all()
        return sorted((slot_from_row(r) for r in rows), key=lambda slot: slot.price)

    def save(self, bot: str, symbol: str, slots: Sequence[Slot]) -> None:
        """Write slot snapshots directly (start-up, reconciliation); an older one never replaces a newer."""
        with self._store.write() as conn:
            upsert(conn, t.slots, [slot_to_row(bot, symbol, s) for s in slots], newer_than="ts_update")


class PositionRepository(_Repository):
    def load(self, bot: str) -> dict[tuple[str, str], Position]:
        p = t.positions
        with self._read() as conn:
            rows = conn.execute(select(p).where(p.c.bot == bot)).mappings().all()
        return {(r["venue"], r["symbol"]): position_from_row(r) for r in rows}


class PnlRepository(_Repository):
    def history(self, bot: str, since_ms: int = 0) -> list[PnlRecord]:
        p = t.pnl_history
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(p)
                    .where(p.c.bot == bot, p.c.ts_event >= since_ms)
                    .order_by(p.c.ts_event, p.c.ref_id)
                )
                .mappings()
                .all()
            )
        return [pnl_from_row(r) for r in rows]

    def record(self, entries: Sequence[PnlRecord]) -> None:
        """Record PnL entries outside an order update (funding payments); a replay adds nothing."""
        with self._store.write() as conn:
            insert_ignore(conn, t.pnl_history, [pnl_to_row(e) for e in entries])

    def total(self, bot: str) -> Decimal:
        return sum((e.amount for e in self.history(bot)), Decimal(0))


class AuditRepository(_Repository):
    def record(self, record: AuditRecord) -> None:
        with self._store.write() as conn:
            insert_ignore(conn, t.audit_log, [audit_to_row(record)])

    def list(self, since_ms: int = 0, limit: int = 1000) -> list[AuditRecord]:
        a = t.audit_log
        with self._read() as conn:
            rows = (
                conn.execute(select(a).where(a.c.ts >= since_ms).order_by(a.c.ts, a.c.id).limit(limit))
                .mappings()
                .all()
            )
        return [audit_from_row(r) for r in rows]


class ArbitrageRepository(_Repository):
    def save_leg(self, leg: ArbitrageLeg) -> None:
        self.save_legs([leg])

    def save_legs(self, legs: Sequence[ArbitrageLeg], pnl: Sequence[PnlRecord] = ()) -> None:
        """Legs and the PnL entries that changed them (a funding payment) in one transaction: a crash keeps
        both or neither, so a payment is never in a leg's total without its (unique) PnL row."""
        with self._store.write() as conn:
            upsert(conn, t.arbitrage_legs, [leg_to_row(leg) for leg in legs], newer_than="updated_at")
            if pnl:
                insert_ignore(conn, t.pnl_history, [pnl_to_row(e) for e in pnl])

    def load_legs(self, bot: str, status: str | None = None) -> list[ArbitrageLeg]:
        a = t.arbitrage_legs
        q = select(a).where(a.c.bot == bot)
        if status is not None:
            q = q.where(a.c.status == status)
        with self._read() as conn:
            rows = conn.execute(q.order_by(a.c.opened_at, a.c.position_id, a.c.leg)).mappings().all()
        return [leg_from_row(r) for r in rows]

    def save_step(self, step: WorkflowStep) -> None:
        with self._store.write() as conn:
            upsert(conn, t.workflows, [step_to_row(step)], newer_than="updated_at")

    def load_workflow(self, workflow_id: str) -> list[WorkflowStep]:
        w = t.workflows
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(w).where(w.c.workflow_id == workflow_id).order_by(w.c.started_at, w.c.step)
                )
                .mappings()
                .all()
            )
        return [step_from_row(r) for r in rows]


class Store:
    """An open store: the engine plus one repository per table group."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.bots = BotRepository(self)
        self.orders = OrderRepository(self)
        self.fills = FillRepository(self)
        self.slots = SlotRepository(self)
        self.positions = PositionRepository(self)
        self.pnl = PnlRepository(self)
        self.audit = AuditRepository(self)
        self.arbitrage = ArbitrageRepository(self)

    @property
    def url(self) -> str:
        """The URL with the password masked (safe to log)."""
        return redact(self.engine.url)

    def write(self) -> Any:
        """A write transaction (`with store.write() as conn:`); on SQLite it takes the write lock up front."""
        if is_sqlite(self.engine):
            return self.engine.execution_options(sqlite_begin="IMMEDIATE").begin()
        return self.engine.begin()

    # --- the calls restart recovery and the engine use --------------------------------------------------

    def load_slots(self, bot: str, symbol: str) -> list[Slot]:
        return self.slots.load(bot, symbol)

    def load_open_orders(self, bot: str, symbol: str) -> list[Order]:
        return self.orders.load_open(bot, symbol)

    def fill_seen(self, venue: str, symbol: str, trade_id: str) -> bool:
        return self.fills.seen(venue, symbol, trade_id)

    def record_audit(
        self,
        *,
        who: str,
        action: str,
        target: str,
        result: str,
        ts_ms: int,
        details: Mapping[str, Any] | None = None,
        bot: str | None = None,
    ) -> AuditRecord:
        """Append one audit entry. `who` is an API key id, "system" or "operator" (never a secret)."""
        record = AuditRecord(
            id=uuid.uuid4().hex,
            ts=ts_ms,
            who=who,
            action=action,
            target=target,
            result=result,
            details=dict(details or {}),
            bot=bot,
        )
        self.audit.record(record)
        return record

    def apply_order_update(
        self,
        bot: str,
        venue: str,
        update: OrderUpdated,
        slot: Slot | None,
        *pnl: PnlRecord,
        ts_ms: int,
        position: Position | None = None,
    ) -> bool:
        """Apply one update in one transaction; False if it was already applied (nothing changed)."""
        write = OrderUpdateWrite(
            bot=bot, venue=venue, update=update, ts_ms=ts_ms, slot=slot, pnl=pnl, position=position
        )
        return self.apply_many([write]) == 1

    def apply_many(self, writes: Sequence[OrderUpdateWrite]) -> int:
        """Apply a batch of updates in ONE transaction (all or nothing); return how many were new."""
        with self.write() as conn:
            return apply_order_updates(conn, writes)

    def close(self) -> None:
        self.engine.dispose()


def open_store(
    url: str | URL,
    *,
    migrations_dir: Path | None = None,
    check: bool = True,
    busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
    pragmas: Mapping[str, str | int] | None = None,
) -> Store:
    """Open the store at `url` (`sqlite:///path.db` or `postgresql://...`).

    With `check` (the default) refuse a database whose schema is behind (SchemaBehindError, naming
    `market_maker db migrate --url ...`) or newer (SchemaNewerError) than `migrations/`.
    """
    engine = create_store_engine(url, busy_timeout_ms=busy_timeout_ms, pragmas=pragmas)
    try:
        if check:
            check_schema(engine, migrations_dir)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine)
