"""Alerts: risk and safety transitions told to the operator through the log, the engine's event listeners and
an optional webhook (an HTTP POST of one JSON object per alert), without ever blocking trading.

`AlertSink.alert()` is synchronous and cheap: it logs, calls the listeners and queues the webhook delivery.
`AlertSink.run()` (a task of the caller's task group) delivers the queue in order, retrying network errors,
HTTP 5xx and 429 with exponential backoff; a full queue drops its oldest alert (counted in `dropped`).
"""

from __future__ import annotations

import json
import math
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
from anyio.abc import TaskStatus
from loguru import logger

#: engine notice kinds that are alerts (the others, e.g. "engine" and "restore", are routine)
ALERT_KINDS = frozenset({"risk_monitor", "circuit_breaker", "margin_lock", "reconcile", "preflight"})

#: an HTTP POST of a JSON body: returns the status code, raises OSError/TimeoutError on network failure
PostJson = Callable[[str, bytes, float], Awaitable[int]]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert as it is logged and posted."""

    kind: str
    message: str
    ts_ms: int
    bot: str = ""
    severity: str = "warning"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "ts_ms": self.ts_ms,
            "bot": self.bot,
            "severity": self.severity,
        }


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Where and how alerts are posted. Delays in seconds; attempt k waits backoff × 2^(k-1), capped."""

    url: str
    timeout: float = 5.0
    max_attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0
    queue_size: int = 100

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # never echo the URL: webhook URLs often carry a token
            raise ValueError("webhook url: expected an http:// or https:// URL with a host")
        for name in ("timeout", "backoff", "max_backoff"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ValueError(f"webhook {name}: expected a number of seconds >= 0, got {value!r}")
        if self.max_attempts < 1:
            raise ValueError(f"webhook max_attempts: expected >= 1, got {self.max_attempts}")
        if self.queue_size < 1:
            raise ValueError(f"webhook queue_size: expected >= 1, got {self.queue_size}")

    @property
    def host(self) -> str:
        """What the logs may show of the URL (no path, query or credentials)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


class WebhookRejected(Exception):
    """The endpoint answered with a status that retrying will not fix (4xx other than 429)."""


async def aiohttp_post(url: str, body: bytes, timeout: float) -> int:
    """The default `PostJson`: one aiohttp session per delivery (alerts are rare)."""
    import aiohttp

    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session,
        session.post(url, data=body, headers={"Content-Type": "application/json"}) as response,
    ):
        await response.read()
        return response.status


@dataclass
class AlertStats:
    raised: int = 0
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    attempts: int = 0


@dataclass
class AlertSink:
    """Log + listeners + optional webhook. Use `on_engine_event` as a `GridEngine` listener."""

    bot: str = ""
    webhook: WebhookConfig | None = None
    post: PostJson = aiohttp_post
    sleep: Sleep = anyio.sleep
    listeners: list[Callable[[Alert], None]] = field(default_factory=list)
    kinds: frozenset[str] = ALERT_KINDS
    stats: AlertStats = field(default_factory=AlertStats)
    history: deque[Alert] = field(default_factory=lambda: deque(maxlen=200))

    def __post_init__(self) -> None:
        size = self.webhook.queue_size if self.webhook is not None else 1
        self._queue: deque[Alert] = deque()
        self._size = size
        self._wake = anyio.Event()
        self._idle = anyio.Event()
        self._idle.set()

    # --- raising alerts (synchronous, never blocks) ---------------------------------------------------

    def alert(self, kind: str, message: str, ts_ms: int, severity: str = "warning") -> Alert:
        alert = Alert(kind, message, ts_ms, self.bot, severity)
        self.stats.raised += 1
        self.history.append(alert)
        logger.warning("ALERT [{}] {}", kind, message)
        for listener in self.listeners:
            try:
                listener(alert)
            except Exception:  # an observer must never stop trading
                logger.exception("alert listener failed")
        if self.webhook is not None:
            if len(self._queue) >= self._size:
                self._queue.popleft()
                self.stats.dropped += 1
            self._queue.append(alert)
            self._idle = anyio.Event() if self._idle.is_set() else self._idle
            self._wake.set()
        return alert

    def on_engine_event(self, event: object) -> None:
        """A `GridEngine` listener: every notice of an alerting kind becomes an alert."""
        kind = getattr(event, "kind", None)
        message = getattr(event, "message", None)
        ts_ms = getattr(event, "ts_ms", None)
        if (
            isinstance(kind, str)
            and kind in self.kinds
            and isinstance(message, str)
            and isinstance(ts_ms, int)
        ):
            self.alert(kind, message, ts_ms)

    @property
    def pending(self) -> Sequence[Alert]:
        """Alerts waiting for the webhook (not the one being delivered)."""
        return tuple(self._queue)

    # --- delivery ----------------------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Deliver queued alerts in order until cancelled (no-op loop without a webhook)."""
        task_status.started()
        while True:
            if not self._queue:
                self._idle.set()
                self._wake = anyio.Event()
                await self._wake.wait()
                continue
            await self._deliver(self._queue.popleft())

    async def wait_idle(self) -> None:
        """Until everything queued was delivered or given up (tests, shutdown); needs `run()` running."""
        while self._queue or not self._idle.is_set():
            await self._idle.wait()

    async def _deliver(self, alert: Alert) -> bool:
        hook = self.webhook
        assert hook is not None
        body = json.dumps(alert.to_json(), separators=(",", ":")).encode()
        for attempt in range(1, hook.max_attempts + 1):
            self.stats.attempts += 1
            try:
                status = await self.post(hook.url, body, hook.timeout)
                if 200 <= status < 300:
                    self.stats.sent += 1
                    return True
                if status != 429 and status < 500:
                    raise WebhookRejected(f"HTTP {status}")
                problem = f"HTTP {status}"
            except WebhookRejected as exc:
                self.stats.failed += 1
                logger.error("alert webhook {} refused the alert ({}); not retried", hook.host, exc)
                return False
            except (OSError, TimeoutError) as exc:
                problem = type(exc).__name__
            except Exception as exc:  # aiohttp's ClientError and the like: a network problem
                problem = type(exc).__name__
            if attempt < hook.max_attempts:
                delay = hook.delay(attempt)
                logger.warning(
                    "alert webhook {} failed ({}), attempt {}/{}; retrying in {:.1f}s",
                    hook.host,
                    problem,
                    attempt,
                    hook.max_attempts,
                    delay,
                )
                await self.sleep(delay)
        self.stats.failed += 1
        logger.error(
            "alert webhook {} failed {} times; alert {} dropped", hook.host, hook.max_attempts, alert.kind
        )
        return False
