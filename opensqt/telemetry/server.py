"""The `/metrics` HTTP endpoint (aiohttp), run as a task of the program's anyio task group.

Off by default (`telemetry.metrics_enabled`), bound to 127.0.0.1 by default; metrics show positions and PnL,
so a wider bind is logged as a warning and should sit behind a firewall or an authenticating proxy.
"""

from __future__ import annotations

import os

import anyio
from aiohttp import web
from anyio.abc import TaskStatus
from loguru import logger
from prometheus_client import CONTENT_TYPE_LATEST

from opensqt.config import TelemetryConfig
from opensqt.config.types import loopback
from opensqt.telemetry.metrics import Metrics

METRICS_PATH = "/metrics"


class MetricsBindError(OSError):
    """The endpoint could not listen (port taken, address not on this machine): names the config keys."""


class MetricsServer:
    """Serves `metrics.exposition()` at `/metrics` on host:port (port 0: any free port, for tests)."""

    def __init__(self, metrics: Metrics, host: str = "127.0.0.1", port: int = 9464) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port

    @classmethod
    def from_config(cls, metrics: Metrics, config: TelemetryConfig) -> MetricsServer:
        return cls(metrics, config.metrics_host, config.metrics_port)

    async def _handle(self, _request: web.Request) -> web.Response:
        # Collected synchronously on the event loop that owns the engine state: every source reads a
        # consistent moment without locks (a scrape takes well under a millisecond).
        body = self.metrics.exposition()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def serve(self, *, task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, report the bound port through `task_status.started(port)`, serve until cancelled."""
        app = web.Application()
        app.router.add_get(METRICS_PATH, self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                raise MetricsBindError(
                    exc.errno,
                    f"telemetry.metrics_host/metrics_port: cannot listen on {self.host}:{self.port} "
                    f"({reason}); expected a free port on an address of this machine",
                ) from None
            port = _bound_port(runner, self.port)
            if not loopback(self.host):
                logger.warning(
                    "metrics endpoint bound to {}:{}, beyond loopback: it shows positions and PnL; "
                    "restrict it with a firewall or a proxy",
                    self.host,
                    port,
                )
            logger.info("metrics at http://{}:{}{}", self.host, port, METRICS_PATH)
            task_status.started(port)
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await runner.cleanup()


def _bound_port(runner: web.AppRunner, asked: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return asked
