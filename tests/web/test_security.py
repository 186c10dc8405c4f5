"""Security of the live page server over real loopback connections: Host allow-list, access token, Origin
check, connection and message-rate limits, headers, and nothing secret in anything sent to a browser."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.web.client import get, messages_until, next_frame, ws_connect
from tests.web.harness import served, wait_for

TOKEN = "tok_" + "x7" * 20


async def test_page_and_headers(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        page = await get(s.live.port or 0, "/")
        assert page.status == 200
        assert '<div id="chart"' in page.body
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["referrer-policy"] == "no-referrer"
        assert "server" not in page.headers  # no version banner


async def test_foreign_host_refused(tmp_path: Path) -> None:
    # DNS rebinding: evil.example resolving to 127.0.0.1 would carry its own Host (and matching Origin).
    async with served(tmp_path) as s:
        reply = await get(s.live.port or 0, "/", host="evil.example:8081")
        assert reply.status == 421
        with pytest.raises(InvalidStatus) as err:
            async with ws_connect(s.live.port or 0, origin_header="http://evil.example:8081"):
                pass
        assert err.value.response.status_code == 403


async def test_websocket_origin_check(tmp_path: Path) -> None:
    async with served(tmp_path) as s:
        port = s.live.port or 0
        for bad in ("http://evil.example", f"http://localhost:{port + 1}", f"https://127.0.0.1:{port}", None):
            with pytest.raises(InvalidStatus) as err:
                async with ws_connect(port, origin_header=bad):
                    pass
            assert err.value.response.status_code == 403, bad
        async with ws_connect(port) as ws:
            frame = await next_frame(ws)
            assert frame["msgs"][0]["type"] == "snapshot"


async def test_access_token(tmp_path: Path) -> None:
    async with served(tmp_path, access_token=TOKEN) as s:
        port = s.live.port or 0
        assert (await get(port, "/")).status == 401
        assert (await get(port, "/static/app.js")).status == 401
        assert (await get(port, "/?token=wrong")).status == 401
        assert (await get(port, "/healthz")).status == 200  # liveness probe needs no token
        with pytest.raises(InvalidStatus):
            async with ws_connect(port):
                pass
        # The token in the URL is traded for an HttpOnly, SameSite=Strict cookie and dropped from the URL.
        redirect = await get(port, f"/?token={TOKEN}")
        assert redirect.status == 303
        assert redirect.headers["location"] == "/"
        cookie = redirect.headers["set-cookie"]
        assert cookie.startswith(f"osq_live_token={TOKEN};")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        page = await get(port, "/", headers={"Cookie": f"osq_live_token={TOKEN}"})
        assert page.status == 200
        assert TOKEN not in page.body
        async with ws_connect(port, headers={"Cookie": f"osq_live_token={TOKEN}"}) as ws:
            assert (await next_frame(ws))["msgs"][0]["type"] == "snapshot"


async def test_connection_limit(tmp_path: Path) -> None:
    async with served(tmp_path, max_connections=3) as s:
        port = s.live.port or 0
        opened = [await ws_connect(port).__aenter__() for _ in range(3)]
        try:
            for ws in opened:
                await next_frame(ws)
            with pytest.raises(InvalidStatus) as err:
                async with ws_connect(port):
                    pass
            assert err.value.response.status_code == 503
            assert s.live.broadcaster.refused == 1
        finally:
            for ws in opened:
                await ws.close()
        await wait_for(lambda: not s.live.broadcaster.clients, what="clients to leave")
        async with ws_connect(port) as ws:  # room again
            assert (await next_frame(ws))["msgs"][0]["type"] == "snapshot"


async def test_message_rate_limit(tmp_path: Path) -> None:
    async with served(tmp_path, messages_per_second=1.0, message_burst=5) as s:
        async with ws_connect(s.live.port or 0) as ws:
            await next_frame(ws)
            with pytest.raises(ConnectionClosed) as err:
                for _ in range(50):
                    await ws.send('{"type":"ping"}')
                for _ in range(50):
                    await next_frame(ws)
            assert err.value.rcvd is not None and err.value.rcvd.code == 1008
        await wait_for(lambda: not s.live.broadcaster.clients, what="the flooding client to be dropped")


async def test_oversized_message_closes(tmp_path: Path) -> None:
    async with served(tmp_path) as s, ws_connect(s.live.port or 0) as ws:
        await next_frame(ws)
        await ws.send("x" * 10_000)
        with pytest.raises(ConnectionClosed) as err:
            for _ in range(50):
                await next_frame(ws)
        assert err.value.rcvd is not None and err.value.rcvd.code == 1009  # message too big


async def test_resync_request_sends_a_snapshot(tmp_path: Path) -> None:
    async with served(tmp_path) as s, ws_connect(s.live.port or 0) as ws:
        await next_frame(ws)
        await ws.send('{"type":"resync"}')
        snap = await messages_until(ws, "snapshot")
        assert len(snap["slots"]) == 20


async def test_nothing_secret_reaches_the_browser(tmp_path: Path) -> None:
    async with served(tmp_path, access_token=TOKEN) as s:
        port = s.live.port or 0
        secrets = [
            TOKEN,
            (tmp_path / "api" / "read_only.key").read_text().strip(),
            (tmp_path / "api" / "control.key").read_text().strip(),
            "osk_",
            "PRIVATE KEY",
            str(tmp_path),
        ]
        cookie = {"Cookie": f"osq_live_token={TOKEN}"}
        bodies = [
            (await get(port, path, headers=cookie)).body
            for path in ("/", "/static/app.js", "/static/style.css", "/healthz")
        ]
        frames: list[str] = []

        async def read_until(ws: Any, kind: str) -> None:
            with anyio.fail_after(5):
                while f'"type":"{kind}"' not in frames[-1] if frames else True:
                    frames.append(str(await ws.recv()))

        async with ws_connect(port, headers=cookie) as ws:
            await read_until(ws, "snapshot")
            s.scenario.move_to(Decimal("26985"))
            s.scenario.crash()
            await read_until(ws, "alert")
            await s.stop_api()  # the error path too: the page gets a status name, never server text
            await read_until(ws, "conn")
            assert '"up":false' in frames[-1]
            await ws.send('{"type":"resync"}')
            await read_until(ws, "snapshot")
        for text in bodies + [str(f) for f in frames]:
            for secret in secrets:
                assert secret not in text
