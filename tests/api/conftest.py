"""Fixtures for the agent API tests (see harness.py): a served FakeEngine, captured log lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from loguru import logger

from opensqt.api.fake import FakeEngine
from opensqt.api.ports import AuditRecord
from tests.api.harness import Api, FrozenClock, make_server


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="DEBUG")
    yield lines
    logger.remove(sink)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    engine = FakeEngine(("BTCUSDT", "ETHUSDT"))
    audits: list[AuditRecord] = []
    clock = FrozenClock()
    server = make_server(tmp_path, engine, audits, clock)
    await server.start()
    state = Api(server, engine, tmp_path, audits, clock)
    try:
        yield state
    finally:
        for client in state.clients:
            await client.close()
        await server.stop(grace=None)
