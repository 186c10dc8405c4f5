"""Feed a ccxt exchange recorded or documented venue payloads instead of the network.

`FixtureTransport` replaces the exchange's `fetch` (the one method every REST call goes through), answers
each (method, path) from a table, and runs ccxt's own error handling on the answer, so status codes and
error bodies raise exactly what they would from the venue. `push_ws` hands a websocket message to ccxt's
`handle_message`, so push parsing is exercised without a socket.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from loguru import logger


@dataclass(frozen=True, slots=True)
class Canned:
    """One answer: HTTP status and JSON body."""

    body: Any
    status: int = 200


Route = Canned | Callable[[dict[str, str]], Canned]


@dataclass
class FixtureTransport:
    """(METHOD, path) -> answer. Unknown routes answer 404 and are recorded in `missing`."""

    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    missing: list[tuple[str, str]] = field(default_factory=list)

    def add(self, method: str, path: str, answer: Route) -> None:
        self.routes[(method.upper(), path)] = answer

    def install(self, exchange: Any) -> None:
        """Route every REST call of `exchange` through this table."""

        async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
            return self._answer(exchange, url, method, headers, body)

        exchange.fetch = fetch

    def _answer(self, exchange: Any, url: str, method: str, headers: Any, body: Any) -> Any:
        parts = urlsplit(url)
        params = dict(parse_qsl(parts.query))
        if isinstance(body, str) and body:
            try:
                decoded = json.loads(body)
                if isinstance(decoded, dict):
                    params.update(
                        {k: json.dumps(v) if not isinstance(v, str) else v for k, v in decoded.items()}
                    )
            except ValueError:
                params.update(parse_qsl(body))
        self.calls.append((method.upper(), parts.path, params))
        route = self.routes.get((method.upper(), parts.path))
        if route is None:
            logger.warning("fixture transport: no answer for {} {}", method, parts.path)
            self.missing.append((method.upper(), parts.path))
            canned = Canned(
                {"code": 404, "msg": f"fixture transport: no route for {method} {parts.path}"}, 404
            )
        else:
            canned = route(params) if callable(route) else route
        text = json.dumps(canned.body)
        reason = "OK" if canned.status < 400 else "Error"
        exchange.handle_errors(canned.status, reason, url, method, {}, text, canned.body, headers, body)
        exchange.handle_http_status_code(canned.status, reason, url, method, text)
        return canned.body


class _StubClient:
    """Enough of ccxt's websocket client for `handle_message` to resolve and reject into."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscriptions: dict[str, Any] = {}
        self.futures: dict[str, Any] = {}
        self.rejections: dict[str, Any] = {}
        self.resolved: list[tuple[Any, str]] = []

    def resolve(self, result: Any, message_hash: str) -> None:
        self.resolved.append((result, message_hash))

    def reject(self, result: Any, message_hash: str | None = None) -> None:
        self.rejections[message_hash or ""] = result

    async def send(self, message: Any) -> None:
        return None


def push_ws(
    exchange: Any, message: Mapping[str, Any], url: str = "wss://fixture/ws"
) -> list[tuple[Any, str]]:
    """Let ccxt parse one pushed websocket message; returns what it resolved, as (result, message hash)."""
    client = _StubClient(url)
    exchange.handle_message(client, dict(message))
    return client.resolved


def load_json(path: Path) -> Any:
    """A payload file; a malformed one raises ValueError naming the file."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"fixture {path}: expected a JSON file ({exc})") from None


def load_capture(path: Path, url: str) -> Any:
    """The JSON body a cryptofeed capture recorded for `url` (its REST lines read `URL -> TS: BODY`).

    cryptofeed's `GATEIO_FUTURES.0` and `*.http.*` files hold one answer per line; the first line whose URL
    is `url` (query string included when given) wins. Raises ValueError naming the file when none matches.
    """
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"capture {path}: unreadable ({exc})") from None
    for line in lines:
        head, sep, rest = line.partition(" -> ")
        if not sep or head != url:
            continue
        _, sep, body = rest.partition(": ")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ValueError(f"capture {path}: answer for {url} is not JSON ({exc})") from None
    raise ValueError(f"capture {path}: no recorded answer for {url}")
