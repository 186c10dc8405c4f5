"""The alert sink against a real local HTTP server on 127.0.0.1: JSON body, retries with backoff on 5xx
and refused connections, no retry on 4xx, a bounded queue that never blocks the caller, no secret logged."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import anyio
import pytest
from aiohttp import web
from loguru import logger

from opensqt.alerts import Alert, AlertSink, WebhookConfig
from opensqt.engines.grid_events import EngineNotice


@dataclass
class Endpoint:
    """A webhook receiver answering with the scripted statuses (then 200)."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, object]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    port: int = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.content_types.append(request.content_type)
        self.received.append(json.loads(await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def url(self, token: str = "s3cr3t") -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{token}?key={token}"


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    ep = Endpoint()
    app = web.Application()
    app.router.add_post("/hooks/{token}", ep.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    ep.port = runner.addresses[0][1]
    yield ep
    await runner.cleanup()


class NoSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


async def _deliver(sink: AlertSink, *alerts: tuple[str, str, int]) -> None:
    async with anyio.create_task_group() as tg:
        await tg.start(sink.run)
        for kind, message, ts in alerts:
            sink.alert(kind, message, ts)
        with anyio.fail_after(10):
            await sink.wait_idle()
        tg.cancel_scope.cancel()


async def test_alert_is_posted_as_json(endpoint: Endpoint) -> None:
    seen: list[Alert] = []
    sink = AlertSink("bot1", WebhookConfig(endpoint.url()), listeners=[seen.append])
    await _deliver(sink, ("risk_monitor", "risk triggered: 5 symbols in panic", 1_700_000_000_000))
    assert endpoint.received == [
        {
            "kind": "risk_monitor",
            "message": "risk triggered: 5 symbols in panic",
            "ts_ms": 1_700_000_000_000,
            "bot": "bot1",
            "severity": "warning",
        }
    ]
    assert endpoint.content_types == ["application/json"]
    assert seen == [Alert("risk_monitor", "risk triggered: 5 symbols in panic", 1_700_000_000_000, "bot1")]
    assert (sink.stats.sent, sink.stats.failed, sink.stats.attempts) == (1, 0, 1)


async def test_server_errors_are_retried_with_backoff_then_delivered(endpoint: Endpoint) -> None:
    endpoint.statuses = [500, 503, 429]
    sleep = NoSleep()
    hook = WebhookConfig(endpoint.url(), backoff=0.5, max_backoff=1.5, max_attempts=5)
    sink = AlertSink("b", hook, sleep=sleep)
    await _deliver(sink, ("circuit_breaker", "tripped", 1))
    assert len(endpoint.received) == 4 and sleep.delays == [0.5, 1.0, 1.5]
    assert (sink.stats.sent, sink.stats.failed, sink.stats.attempts) == (1, 0, 4)


async def test_client_errors_are_not_retried(endpoint: Endpoint) -> None:
    endpoint.statuses = [404]
    sleep = NoSleep()
    sink = AlertSink("b", WebhookConfig(endpoint.url()), sleep=sleep)
    await _deliver(sink, ("reconcile", "x", 1), ("reconcile", "y", 2))
    # the first is given up at once, the second still goes out
    assert [r["message"] for r in endpoint.received] == ["x", "y"] and sleep.delays == []
    assert (sink.stats.sent, sink.stats.failed) == (1, 1)


async def test_unreachable_endpoint_gives_up_after_max_attempts_and_logs_no_secret() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    lines: list[str] = []
    handler = logger.add(lines.append, level="DEBUG", format="{message}")
    try:
        sleep = NoSleep()
        hook = WebhookConfig(f"http://127.0.0.1:{port}/hook/TOKEN123?sig=TOKEN123", max_attempts=3, timeout=2)
        sink = AlertSink("b", hook, sleep=sleep)
        await _deliver(sink, ("circuit_breaker", "open", 5))
    finally:
        logger.remove(handler)
    assert sleep.delays == [0.5, 1.0]
    assert (sink.stats.sent, sink.stats.failed, sink.stats.attempts) == (0, 1, 3)
    assert any("failed 3 times" in line for line in lines)
    assert not any("TOKEN123" in line for line in lines)


async def test_full_queue_drops_the_oldest_and_alert_never_blocks() -> None:
    gate = anyio.Event()
    bodies: list[bytes] = []

    async def post(url: str, body: bytes, timeout: float) -> int:
        await gate.wait()  # a stuck endpoint
        bodies.append(body)
        return 204

    sink = AlertSink("b", WebhookConfig("https://hooks.example/x", queue_size=3), post=post)
    async with anyio.create_task_group() as tg:
        await tg.start(sink.run)
        sink.alert("risk_monitor", "m0", 0)
        await anyio.sleep(0.01)  # m0 is being delivered (stuck)
        for i in range(1, 6):
            sink.alert("risk_monitor", f"m{i}", i)  # returns at once although the endpoint hangs
        # m0 is in flight; m1 and m2 were dropped to make room
        assert [a.message for a in sink.pending] == ["m3", "m4", "m5"] and sink.stats.dropped == 2
        gate.set()
        with anyio.fail_after(5):
            await sink.wait_idle()
        tg.cancel_scope.cancel()
    assert [json.loads(b)["message"] for b in bodies] == ["m0", "m3", "m4", "m5"]


def test_engine_notices_of_alert_kinds_become_alerts() -> None:
    sink = AlertSink("b")
    sink.on_engine_event(EngineNotice("risk_monitor", "triggered", 10))
    sink.on_engine_event(EngineNotice("engine", "trading BTC/USDT:USDT on sim", 11))
    sink.on_engine_event(EngineNotice("circuit_breaker", "tripped", 12))
    assert [(a.kind, a.message, a.ts_ms) for a in sink.history] == [
        ("risk_monitor", "triggered", 10),
        ("circuit_breaker", "tripped", 12),
    ]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"url": "ftp://x/TOKEN"}, "webhook url: expected an http:// or https:// URL with a host"),
        ({"url": "http:///TOKEN"}, "webhook url: expected an http:// or https:// URL with a host"),
        ({"url": "http://h", "max_attempts": 0}, "webhook max_attempts: expected >= 1, got 0"),
        ({"url": "http://h", "queue_size": 0}, "webhook queue_size: expected >= 1, got 0"),
        ({"url": "http://h", "backoff": -1}, "webhook backoff: expected a number of seconds >= 0, got -1"),
    ],
)
def test_bad_webhook_config_is_one_clear_error(kwargs: dict[str, object], expected: str) -> None:
    with pytest.raises(ValueError) as info:
        WebhookConfig(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == expected and "TOKEN" not in str(info.value)
