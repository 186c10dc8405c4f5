"""SQLAlchemy Core tables of the store; must equal `schema.hcl` and `migrations/` (a test checks all three).

DDL is never emitted from here: the migrations create the tables. Natural composite keys only (no
autoincrement), so one migration file is valid on both SQLite and PostgreSQL. Money columns are
`DecimalText`; timestamps are epoch milliseconds in BIGINT.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)

from opensqt.store.types import DecimalText

metadata = MetaData()


def _bot_fk() -> Column[str]:
    return Column("bot", Text, ForeignKey("bots.name"), nullable=False)


bots = Table(
    "bots",
    metadata,
    Column("name", Text, primary_key=True),
    Column("strategy", Text, nullable=False),
    Column("venue", Text, nullable=False),
    Column("config_hash", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("venue", Text, nullable=False),
    Column("client_order_id", Text, nullable=False),
    _bot_fk(),
    Column("venue_order_id", Text, nullable=True),
    Column("symbol", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("time_in_force", Text, nullable=False),
    Column("price", DecimalText, nullable=True),
    Column("quantity", DecimalText, nullable=False),
    Column("filled", DecimalText, nullable=False),
    Column("average_price", DecimalText, nullable=True),
    Column("status", Text, nullable=False),
    Column("reduce_only", Boolean, nullable=False),
    Column("post_only", Boolean, nullable=False),
    Column("ts_event", BigInteger, nullable=False),
    Column("ts_init", BigInteger, nullable=False),
    Column("updated", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "client_order_id"),
    Index("orders_bot_symbol_status", "bot", "symbol", "status"),
    Index("orders_venue_order_id", "venue", "symbol", "venue_order_id", unique=True),
)

fills = Table(
    "fills",
    metadata,
    Column("venue", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("trade_id", Text, nullable=False),
    _bot_fk(),
    Column("client_order_id", Text, nullable=False),
    Column("venue_order_id", Text, nullable=True),
    Column("side", Text, nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("quantity", DecimalText, nullable=False),
    Column("fee", DecimalText, nullable=False),
    Column("fee_asset", Text, nullable=False),
    Column("liquidity", Text, nullable=False),
    Column("realized_pnl", DecimalText, nullable=True),
    Column("ts_event", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", "trade_id"),
    Index("fills_bot_symbol", "bot", "symbol"),
    Index("fills_order", "venue", "client_order_id"),
)

slots = Table(
    "slots",
    metadata,
    _bot_fk(),
    Column("symbol", Text, nullable=False),
    Column("price", DecimalText, nullable=False),
    Column("slot_status", Text, nullable=False),
    Column("position_status", Text, nullable=False),
    Column("position_qty", DecimalText, nullable=False),
    Column("client_order_id", Text, nullable=True),
    Column("venue_order_id", Text, nullable=True),
    Column("order_side", Text, nullable=True),
    Column("order_price", DecimalText, nullable=True),
    Column("order_qty", DecimalText, nullable=False),
    Column("order_status", Text, nullable=True),
    Column("filled_qty", DecimalText, nullable=False),
    Column("post_only_failures", Integer, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("ts_update", BigInteger, nullable=False),
    Column("position_side", Text, nullable=True),
    PrimaryKeyConstraint("bot", "symbol", "price"),
)

positions = Table(
    "positions",
    metadata,
    _bot_fk(),
    Column("venue", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("size", DecimalText, nullable=False),
    Column("entry_price", DecimalText, nullable=False),
    Column("unrealized_pnl", DecimalText, nullable=False),
    Column("liquidation_price", DecimalText, nullable=True),
    Column("leverage", Integer, nullable=False),
    Column("mark_price", DecimalText, nullable=True),
    Column("ts_event", BigInteger, nullable=False),
    PrimaryKeyConstraint("bot", "venue", "symbol"),
)

pnl_history = Table(
    "pnl_history",
    metadata,
    _bot_fk(),
    Column("venue", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("ref_id", Text, nullable=False),
    Column("amount", DecimalText, nullable=False),
    Column("asset", Text, nullable=False),
    Column("quantity", DecimalText, nullable=True),
    Column("entry_price", DecimalText, nullable=True),
    Column("exit_price", DecimalText, nullable=True),
    Column("ts_event", BigInteger, nullable=False),
    PrimaryKeyConstraint("bot", "venue", "symbol", "kind", "ref_id"),
    Index("pnl_history_bot_ts", "bot", "ts_event"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Text, primary_key=True),
    Column("ts", BigInteger, nullable=False),
    Column("who", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("target", Text, nullable=False),
    Column("result", Text, nullable=False),
    Column("details", Text, nullable=False),
    # No foreign key: an audit entry must be writable even for a bot that was never registered.
    Column("bot", Text, nullable=True),
    Index("audit_log_ts", "ts"),
)

processed_updates = Table(
    "processed_updates",
    metadata,
    Column("venue", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("venue_order_id", Text, nullable=False),
    Column("filled", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("bot", Text, nullable=False),
    Column("client_order_id", Text, nullable=False),
    Column("applied_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "symbol", "venue_order_id", "filled", "status"),
)

arbitrage_legs = Table(
    "arbitrage_legs",
    metadata,
    _bot_fk(),
    Column("position_id", Text, nullable=False),
    Column("leg", Text, nullable=False),
    Column("symbol", Text, nullable=False),
    Column("venue", Text, nullable=False),
    Column("product", Text, nullable=False),
    Column("side", Text, nullable=False),
    Column("size", DecimalText, nullable=False),
    Column("entry_price", DecimalText, nullable=True),
    Column("funding_collected", DecimalText, nullable=False),
    Column("fees", DecimalText, nullable=False),
    Column("status", Text, nullable=False),
    Column("opened_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("bot", "position_id", "leg"),
    Index("arbitrage_legs_bot_symbol", "bot", "symbol"),
)

workflows = Table(
    "workflows",
    metadata,
    Column("workflow_id", Text, nullable=False),
    Column("step", Text, nullable=False),
    _bot_fk(),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("workflow_id", "step"),
    Index("workflows_bot_status", "bot", "status"),
)
