"""A migrated SQLite store file with the arbitrage bot `arb` registered, as the arbitrage tests start from."""

from __future__ import annotations

from pathlib import Path

from opensqt.store import BotRecord, Store, migrate, open_store


def arbitrage_store(tmp_path: Path) -> Store:
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    migrate(url)
    store = open_store(url)
    store.bots.register(BotRecord("arb", "arbitrage", "sim", "h", 0, 0))
    return store
