"""Point a ccxt exchange at another host (loopback server, private gateway) while keeping every path."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def _rewrite(url: str, http_base: str, ws_base: str, hostname: str | None) -> str:
    if hostname is not None:
        url = url.replace("{hostname}", hostname)
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    base = urlsplit(ws_base if parts.scheme in ("ws", "wss") else http_base)
    return urlunsplit(
        (base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, parts.fragment)
    )


def rewrite_urls(node: Any, http_base: str, ws_base: str, hostname: str | None = None) -> Any:
    """A copy of `node` (ccxt's `urls['api']`: nested dicts/lists of URLs) with scheme and host replaced:
    http(s) URLs go to `http_base`, ws(s) URLs to `ws_base`; paths, queries and `{hostname}` templates
    (filled with `hostname` when given) are kept."""
    if isinstance(node, str):
        return _rewrite(node, http_base, ws_base, hostname)
    if isinstance(node, dict):
        return {key: rewrite_urls(value, http_base, ws_base, hostname) for key, value in node.items()}
    if isinstance(node, list):
        return [rewrite_urls(value, http_base, ws_base, hostname) for value in node]
    return node


def point_at(exchange: Any, base_url: str) -> None:
    """Send every REST and websocket call of a ccxt exchange to `base_url` (`http://127.0.0.1:18080`)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url: expected http(s)://host[:port], got {base_url!r}")
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    ws_base = urlunsplit((ws_scheme, parts.netloc, parts.path, "", ""))
    hostname = getattr(exchange, "hostname", None)
    exchange.urls["api"] = rewrite_urls(exchange.urls["api"], base_url, ws_base, hostname)
