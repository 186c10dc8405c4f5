"""Small loopback clients for the live page tests: a raw HTTP/1.1 GET and a websocket that collects frames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import anyio
from websockets.asyncio.client import ClientConnection, connect


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: str


async def get(
    port: int, path: str, *, host: str | None = None, headers: dict[str, str] | None = None
) -> Reply:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    async with await anyio.connect_tcp("127.0.0.1", port) as stream:
        await stream.send(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        try:
            while True:
                data += await stream.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parsed: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        parsed.setdefault(name.strip().lower(), value.strip())
    if parsed.get("transfer-encoding") == "chunked":
        body = _unchunk(body)
    return Reply(int(status_line.split()[1]), parsed, body.decode())


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_text, _, rest = data.partition(b"\r\n")
        size = int(size_text, 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return out


def origin(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def ws_connect(
    port: int, *, origin_header: str | None = "own", headers: dict[str, str] | None = None, **kwargs: Any
) -> Any:
    headers = dict(headers or {})
    if origin_header == "own":
        headers["Origin"] = origin(port)
    elif origin_header is not None:
        headers["Origin"] = origin_header
    return connect(f"ws://127.0.0.1:{port}/ws", additional_headers=headers, open_timeout=5, **kwargs)


async def next_frame(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    with anyio.fail_after(timeout):
        frame: dict[str, Any] = json.loads(await ws.recv())
    return frame


async def messages_until(ws: ClientConnection, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """Read frames until a message of type `kind` arrives; return it."""
    with anyio.fail_after(timeout):
        while True:
            for m in (await next_frame(ws, timeout))["msgs"]:
                if m["type"] == kind:
                    return m  # type: ignore[no-any-return]
