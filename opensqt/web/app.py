"""The live page's ASGI app (Starlette): the page and its static files, the chart library from npm, and
the `/ws` websocket, behind the security checks (Host allow-list, optional access token, Origin check,
connection count and message-rate limits, strict response headers)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import anyio
import orjson
from loguru import logger
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from opensqt.clock import Clock, WallClock
from opensqt.runtime.limits import TokenBucket
from opensqt.web.broadcast import Broadcaster, pump

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
CHART_JS = (
    HERE / "node_modules" / "lightweight-charts" / "dist" / "lightweight-charts.standalone.production.js"
)
COOKIE = "osq_live_token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# WebSocket close code for a policy violation (foreign Origin, message rate or size).
POLICY = 1008

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        b"style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]


@dataclass(frozen=True, slots=True)
class WebSettings:
    """What the page server needs. `allowed_hosts` empty: loopback names plus `host` (DNS-rebinding guard);
    `allowed_origins` empty: only the page's own origin may open the websocket."""

    host: str = "127.0.0.1"
    port: int = 8081
    access_token: str | None = field(default=None, repr=False)
    max_connections: int = 100
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    messages_per_second: float = 5.0  # what one browser may send us (it only sends pings and resyncs)
    message_burst: int = 20
    connects_per_second: float = 20.0  # new websocket connections, all browsers together
    connect_burst: int = 100
    max_message_bytes: int = 4096

    @classmethod
    def from_config(cls, live: Any) -> WebSettings:
        """From `settings.live_server` (LiveServerConfig)."""
        token = live.access_token
        secret = token.get_secret_value() if hasattr(token, "get_secret_value") else token
        return cls(
            host=live.host,
            port=int(live.port),
            access_token=secret or None,
            max_connections=live.max_connections,
        )


def host_name(host_header: str) -> str:
    """`127.0.0.1:8081` -> `127.0.0.1`, `[::1]:8081` -> `::1`."""
    if host_header.startswith("["):
        return host_header[1:].partition("]")[0]
    return host_header.rpartition(":")[0] if host_header.count(":") == 1 else host_header


class Guard:
    """Security checks shared by the HTTP routes and the websocket."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        names = set(settings.allowed_hosts) or {*LOOPBACK_NAMES, settings.host}
        # Bound to every interface (only allowed with a token): any Host name, the token protects the page.
        self.any_host = not settings.allowed_hosts and settings.host in ("0.0.0.0", "::")
        self.hosts = frozenset(n.lower() for n in names)

    def host_ok(self, headers: dict[str, str]) -> bool:
        return self.any_host or host_name(headers.get("host", "")).lower() in self.hosts

    def token_ok(self, query: str, cookie_header: str) -> tuple[bool, bool]:
        """(allowed, came in the query string) for the configured token; always allowed without one."""
        token = self.settings.access_token
        if token is None:
            return True, False
        given = parse_qs(query).get("token", [""])[0]
        if given and hmac.compare_digest(given.encode(), token.encode()):
            return True, True
        for part in cookie_header.split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE and hmac.compare_digest(value.encode(), token.encode()):
                return True, False
        return False, False

    def origin_ok(self, headers: dict[str, str], scheme: str) -> bool:
        origin = headers.get("origin", "")
        if not origin:
            return False  # browsers always send it on a websocket; a missing one is not a page of ours
        if origin in self.settings.allowed_origins:
            return True
        parts = urlsplit(origin)
        own = "https" if scheme in ("https", "wss") else "http"
        return parts.scheme == own and parts.netloc.lower() == headers.get("host", "").lower()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


class SecurityMiddleware:
    """Host allow-list and access token for every request; strict headers on every HTTP response."""

    def __init__(self, app: Asgi, guard: Guard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        query = scope.get("query_string", b"").decode("latin-1")
        if not self.guard.host_ok(headers):
            await self._refuse(
                scope, receive, send, 421, "unknown Host: open the page by its configured address"
            )
            return
        if scope["path"] != "/healthz":
            allowed, in_query = self.guard.token_ok(query, headers.get("cookie", ""))
            if not allowed:
                await self._refuse(scope, receive, send, 401, "access token required: open /?token=...")
                return
            if in_query and scope["type"] == "http":
                # Trade the token in the URL for an HttpOnly cookie, and drop it from the address bar.
                rest = urlencode([(k, v) for k, vs in parse_qs(query).items() if k != "token" for v in vs])
                response = RedirectResponse(scope["path"] + (f"?{rest}" if rest else ""), status_code=303)
                response.set_cookie(
                    COOKIE,
                    self.guard.settings.access_token or "",
                    httponly=True,
                    samesite="strict",
                    secure=scope.get("scheme") == "https",
                )
                await response(scope, receive, self._with_headers(send))
                return
        await self.app(scope, receive, self._with_headers(send))

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def wrapped(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        return wrapped

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": POLICY, "reason": text[:100]})
            return
        await PlainTextResponse(text, status_code=status)(scope, receive, self._with_headers(send))


def create_app(
    broadcaster: Broadcaster,
    settings: WebSettings,
    *,
    clock: Clock | None = None,
    chart_js: Path = CHART_JS,
    static_dir: Path = STATIC,
    health: Callable[[], dict[str, Any]] | None = None,
) -> SecurityMiddleware:
    """The page server. `health()` adds fields to `/healthz` (nothing secret)."""
    clock = clock or WallClock()
    guard = Guard(settings)
    view = broadcaster.view
    connects = TokenBucket(settings.connects_per_second, settings.connect_burst)

    async def index(request: Request) -> Response:
        return FileResponse(static_dir / "index.html", media_type="text/html")

    async def chart_library(request: Request) -> Response:
        if not chart_js.exists():
            return PlainTextResponse("chart library not installed: run scripts/setup_web.py", status_code=404)
        return FileResponse(chart_js, media_type="text/javascript")

    async def favicon(request: Request) -> Response:
        return Response(status_code=204)

    async def healthz(request: Request) -> Response:
        body: dict[str, Any] = {"ok": True, "browsers": len(broadcaster.clients)}
        if health is not None:
            body.update(health())
        return JSONResponse(body)

    async def websocket(ws: WebSocket) -> None:
        headers = _headers(ws.scope)
        if not guard.origin_ok(headers, ws.url.scheme):
            logger.warning(
                "live page websocket refused: foreign Origin {!r}", headers.get("origin", "")[:100]
            )
            await ws.close(code=POLICY, reason="origin not allowed")
            return
        if not connects.try_acquire():
            await ws.send_denial_response(PlainTextResponse("too many new connections", status_code=503))
            return
        client = broadcaster.add()
        if client is None:
            await ws.send_denial_response(PlainTextResponse("too many browser connections", status_code=503))
            return
        bucket = TokenBucket(settings.messages_per_second, settings.message_burst)
        try:
            await ws.accept()
            async with anyio.create_task_group() as tg:
                tg.start_soon(pump, client, view, ws.send_text, clock.now_ms)
                try:
                    while True:
                        text = await ws.receive_text()
                        if not bucket.try_acquire() or len(text) > settings.max_message_bytes:
                            await ws.close(code=POLICY, reason="message rate or size limit exceeded")
                            break
                        _handle(text, client)
                except WebSocketDisconnect:
                    pass
                finally:
                    client.close()
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass  # the browser left while we were sending
        finally:
            broadcaster.remove(client)

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/healthz", healthz),
            Route("/favicon.ico", favicon),
            Route("/vendor/lightweight-charts.js", chart_library),
            Mount("/static", app=StaticFiles(directory=static_dir), name="static"),
            WebSocketRoute("/ws", websocket),
        ]
    )
    return SecurityMiddleware(app, guard)


def _handle(text: str, client: Any) -> None:
    """What a browser may say: `{"type":"resync"}` (send me a snapshot). Anything else is ignored."""
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return
    if isinstance(message, dict) and message.get("type") == "resync":
        client.request_resync()
