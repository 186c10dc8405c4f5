"""Errors of the persistence layer: each names what was wrong and what to do about it."""

from __future__ import annotations


class StoreError(Exception):
    """Base class of every error raised by `opensqt.store`."""


class ChecksumError(StoreError):
    """The migration directory does not match its `atlas.sum` (a file was edited, added or removed)."""


class MigrationError(StoreError):
    """A migration file could not be applied; the database keeps its previous version."""


class SchemaBehindError(StoreError):
    """The database misses migrations this program needs; run `market_maker db migrate`."""


class SchemaNewerError(StoreError):
    """The database was migrated by a newer program than this one; refuse rather than corrupt it."""


class CorruptRowError(StoreError):
    """A stored row holds a value that cannot be read back (names table, key, column and expectation)."""


class StoreWriteError(StoreError):
    """The writer could not commit; trading must pause. Writes after this one were never acknowledged."""
