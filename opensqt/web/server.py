"""`LiveServer`: the live page's composition root. It runs the uvicorn HTTP/websocket server, the gRPC
bridge to market_maker and, when configured, the venue kline feed, all in one anyio task group."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio
import uvicorn
from anyio.abc import TaskStatus
from loguru import logger

from opensqt.clock import Clock, WallClock
from opensqt.model import Kline
from opensqt.web.app import WebSettings, create_app
from opensqt.web.bridge import ApiBridge, ApiReader
from opensqt.web.broadcast import Broadcaster
from opensqt.web.view import LiveView

# A venue kline feed: `feed(emit)` runs until cancelled, calling `emit` for each bar.
KlineFeed = Callable[[Callable[[Kline], Awaitable[None]]], Coroutine[Any, Any, None]]


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"live_server: cannot bind {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class LiveServer:
    """`await tg.start(server.serve)` returns once the page is served; cancel the group to stop."""

    def __init__(
        self,
        settings: WebSettings,
        client: ApiReader,
        *,
        symbol: str | None = None,
        poll_interval: float = 1.0,
        kline_feed: KlineFeed | None = None,
        clock: Clock | None = None,
        queue_limit: int | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or WallClock()
        self.view = LiveView(symbol or "")
        self.broadcaster = (
            Broadcaster(self.view, settings.max_connections, queue_limit)
            if queue_limit
            else Broadcaster(self.view, settings.max_connections)
        )
        self.bridge = ApiBridge(
            client,
            self.view,
            self.broadcaster.publish,
            symbol=symbol,
            poll_interval=poll_interval,
            clock=self.clock,
        )
        self.kline_feed = kline_feed
        if kline_feed is not None:
            self.view.use_venue_klines()
        self.app = create_app(self.broadcaster, settings, clock=self.clock, health=self._health)
        self.port: int | None = None
        self._uvicorn: uvicorn.Server | None = None

    @property
    def url(self) -> str:
        host = self.settings.host
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def _health(self) -> dict[str, Any]:
        c = self.view.connection
        return {"market_maker": "connected" if c.connected else "disconnected"}

    async def _emit_kline(self, bar: Kline) -> None:
        self.broadcaster.publish(self.view.apply_kline(bar))

    async def serve(self, *, task_status: TaskStatus[LiveServer] = anyio.TASK_STATUS_IGNORED) -> None:
        sock = bind(self.settings.host, self.settings.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            lifespan="off",
            ws_max_size=self.settings.max_message_bytes,
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        server = self._uvicorn = uvicorn.Server(config)
        async with anyio.create_task_group() as tg:
            await tg.start(self.bridge.run)
            if self.kline_feed is not None:
                tg.start_soon(self.kline_feed, self._emit_kline)
            tg.start_soon(self._run_uvicorn, server, sock)
            while not server.started:
                await anyio.sleep(0.01)
            logger.info(
                "live page on {} (market_maker API {})", self.url, getattr(self.bridge.client, "target", "?")
            )
            task_status.started(self)

    @staticmethod
    async def _run_uvicorn(server: uvicorn.Server, sock: socket.socket) -> None:
        # `_serve` is `serve` without uvicorn's signal capture: the program's task group owns shutdown
        # (run_cmd turns SIGINT/SIGTERM into a cancellation), so uvicorn must not take the handlers.
        try:
            await server._serve(sockets=[sock])
        except anyio.get_cancelled_exc_class():
            # Cancelled: close the browsers' websockets (1012, "service restart") before the socket goes.
            with anyio.CancelScope(shield=True), anyio.move_on_after(3):
                server.should_exit = server.force_exit = True
                if server.started:
                    await server.shutdown(sockets=[sock])
            raise
        finally:
            sock.close()
