"""End to end: a real `market_maker run` on the simulated venue serving its API, a real `live_server run`,
and the page in chromium: it loads, prices and slots move, a breaker trip shows, a market_maker restart is
survived without a reload, and `live_server` stops with exit 0 on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import pytest

from opensqt.api.client import ApiClient
from tests.conftest import ROOT
from tests.web.browser import browser, live_stats, new_page
from tests.web.client import get

pytestmark = pytest.mark.real_part
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process(args: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "OPENSQT_LOGGING__JSON_FILE": "false"}
    with log.open("ab") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def market_maker(data: Path, api_port: int) -> list[str]:
    # Both runs share the data directory: the store, the API keys and the simulated venue's paper account.
    return [
        str(BIN / "market_maker"),
        "run",
        "--duration",
        "120",
        "--set",
        f"app.data_dir={data}",
        "--set",
        f"api.listen=127.0.0.1:{api_port}",
    ]


async def wait_healthy(port: int, want: str, timeout: float = 20.0) -> None:
    with anyio.fail_after(timeout):
        while True:
            try:
                if f'"market_maker":"{want}"' in (await get(port, "/healthz")).body:
                    return
            except OSError:
                pass
            await anyio.sleep(0.1)


async def test_live_server_over_a_real_market_maker(tmp_path: Path) -> None:
    data, api_port, web_port = tmp_path / "data", free_port(), free_port()
    mm_log, ls_log = tmp_path / "market_maker.log", tmp_path / "live_server.log"
    live_cmd = [
        str(BIN / "live_server"),
        "run",
        "--port",
        str(web_port),
        "--grpc-target",
        f"127.0.0.1:{api_port}",
        "--data-dir",
        str(data),
        "--poll-interval",
        "0.25",
    ]
    async with browser() as b:
        with process(market_maker(data, api_port), mm_log) as mm:
            with anyio.fail_after(30):
                while not (data / "api" / "control.key").exists():
                    await anyio.sleep(0.1)
            with process(live_cmd, ls_log) as live:
                await wait_healthy(web_port, "connected")
                page = await new_page(b, viewport={"width": 1280, "height": 800})
                await page.goto(f"http://127.0.0.1:{web_port}/")
                await page.wait_for_selector("#slots-body tr .st-LOCKED", timeout=20_000)
                assert await page.text_content("#symbol") == "BTC/USDT:USDT"
                first = await page.text_content("#last")
                await page.wait_for_function(
                    f"document.querySelector('#last').textContent !== '{first}'", timeout=20_000
                )
                load_id = (await live_stats(page))["loadId"]

                # A control call (like an operator's `market_maker ctl trip`) shows on the risk panel.
                async with ApiClient.from_data_dir(data, target=f"127.0.0.1:{api_port}", env={}) as client:
                    await client.trip_breaker("e2e test")
                await page.wait_for_function(
                    "document.querySelector('#risk-body').textContent.includes('OPEN since')", timeout=10_000
                )

                # market_maker restarts (SIGTERM, then a new run on the same API port and data dir).
                mm.send_signal(signal.SIGTERM)
                assert mm.wait(30) == 0
                await page.wait_for_function(
                    "document.querySelector('#conn').textContent.includes('market_maker disconnected since')",
                    timeout=15_000,
                )
                with process(market_maker(data, api_port), mm_log):
                    await page.wait_for_function(
                        "document.querySelector('#conn').textContent"
                        ".includes('market_maker connected since')",
                        timeout=30_000,
                    )
                    await page.wait_for_selector("#slots-body tr .st-LOCKED", timeout=20_000)
                    stats = await live_stats(page)
                    # Recovered without a reload, and the browser's websocket never dropped.
                    assert stats["loadId"] == load_id and stats["wsOpens"] == 1
                    live.send_signal(signal.SIGTERM)
                    assert live.wait(15) == 0
