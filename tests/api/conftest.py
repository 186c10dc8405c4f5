"""Fixtures for the agent API tests (see harness.py): a served FakeEngine, captured log lines."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from loguru import logger

from opensqt.api.fake import FakeEngine
from opensqt.api.ports import AuditRecord
from tests.api.harness import Api, FrozenClock, make_server


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", autouse=True)
async def one_event_loop(anyio_backend: str) -> AsyncIterator[None]:
    """Holds anyio's test runner, so the tests of one module run on one event loop.

    grpc.aio has one process-wide completion queue. A completion that arrives after its call's loop has
    closed (a cancelled stream's last status, a stopped server's shutdown) is handed to whichever loop
    polls next, which failed with "Event loop is closed" in the next test's setup (after the server-restart
    test of test_streams.py). With one loop per module such a late completion lands on a loop still open.
    Not wider: this directory has no __init__.py, so "package" scope is the session, and one loop for every
    later test leaks loop state (DBOS makes its thread pool the loop's default executor and shuts it down).
    """
    yield


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
