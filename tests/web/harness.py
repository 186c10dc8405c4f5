"""Helpers for the live page tests: a FakeEngine behind a real ApiServer (TLS, 127.0.0.1) playing a grid, and
a LiveServer over it; both restartable on the same ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup

from opensqt.api.client import ApiClient
from opensqt.api.fake import FakeEngine
from opensqt.api.server import ApiServer, ApiSettings
from opensqt.clock import ManualClock, WallClock
from opensqt.web.app import WebSettings
from opensqt.web.demo import GridScenario
from opensqt.web.server import LiveServer

# Engine time starts half an hour ago, so times on the page ("since ...") read naturally in screenshots.
START_MS = (WallClock().now_ms() // 60_000 - 32) * 60_000


def make_engine(clock: ManualClock) -> tuple[FakeEngine, GridScenario]:
    engine = FakeEngine(("BTCUSDT",), clock=clock)
    scenario = GridScenario(engine)
    scenario.calm()
    scenario.start()
    return engine, scenario


@dataclass
class Stack:
    """market_maker stand-in (`engine` + `api`) and the live server; stop_api + start_api is a restart."""

    tg: TaskGroup
    data_dir: Path
    clock: ManualClock
    engine: FakeEngine
    scenario: GridScenario
    api: ApiServer
    client: ApiClient
    live: LiveServer
    api_port: int
    scopes: list[anyio.CancelScope] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.live.url

    async def stop_api(self) -> None:
        self.engine.close()
        await self.api.stop(grace=None)

    async def start_api(self) -> None:
        self.engine, self.scenario = make_engine(self.clock)
        self.api = api_server(self.data_dir, self.engine, f"127.0.0.1:{self.api_port}")
        await self.api.start()


def api_server(data_dir: Path, engine: FakeEngine, listen: str = "127.0.0.1:0") -> ApiServer:
    return ApiServer(
        ApiSettings(listen=listen, data_dir=data_dir, rate_limit_per_key=1000),
        grid=engine,
        risk=engine,
        positions=engine,
        env={},
    )


@asynccontextmanager
async def served(data_dir: Path, poll_interval: float = 0.2, **web: Any) -> AsyncIterator[Stack]:
    clock = ManualClock(START_MS)
    engine, scenario = make_engine(clock)
    api = api_server(data_dir, engine)
    await api.start()
    assert api.tls is not None and api.port is not None
    key = (data_dir / "api" / "read_only.key").read_text().strip()
    client = ApiClient(api.target, key, root_cert=api.tls.cert_pem, backoff=lambda attempt: 0.1, timeout=2.0)
    settings = WebSettings(**{"port": 0, **web})
    live = LiveServer(settings, client, symbol="BTCUSDT", poll_interval=poll_interval)
    holder: list[Stack] = []
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(live.serve)
            stack = Stack(tg, data_dir, clock, engine, scenario, api, client, live, api.port)
            holder.append(stack)
            try:
                yield stack
            finally:
                tg.cancel_scope.cancel()
    finally:
        await (holder[0].api if holder else api).stop(grace=None)
        await client.close()


async def wait_for(predicate: Any, timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `predicate()` until true (the page and the API run in real time); fail naming `what`."""
    with anyio.move_on_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)
        return
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
