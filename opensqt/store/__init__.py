"""Persistence: SQLAlchemy tables, repositories returning model objects, and the migrations runner."""

from opensqt.store.errors import (
    ChecksumError,
    CorruptRowError,
    MigrationError,
    SchemaBehindError,
    SchemaNewerError,
    StoreError,
    StoreWriteError,
)
from opensqt.store.migrate import (
    DEFAULT_MIGRATIONS_DIR,
    MigrationStatus,
    Revision,
    check_schema,
    migrate,
    status,
)
from opensqt.store.records import (
    ArbitrageLeg,
    AuditRecord,
    BotRecord,
    OrderUpdateWrite,
    PnlKind,
    PnlRecord,
    WorkflowStep,
)
from opensqt.store.store import Store, open_store
from opensqt.store.writer import StoreWriter, WriterStats

__all__ = [
    "DEFAULT_MIGRATIONS_DIR",
    "ArbitrageLeg",
    "AuditRecord",
    "BotRecord",
    "ChecksumError",
    "CorruptRowError",
    "MigrationError",
    "MigrationStatus",
    "OrderUpdateWrite",
    "PnlKind",
    "PnlRecord",
    "Revision",
    "SchemaBehindError",
    "SchemaNewerError",
    "Store",
    "StoreError",
    "StoreWriteError",
    "StoreWriter",
    "WorkflowStep",
    "WriterStats",
    "check_schema",
    "migrate",
    "open_store",
    "status",
]
