"""Drive a `MemoryVenue` from a Binance capture (`<ts_ns> <json>` lines, gzip or plain): bookTicker sets
the book, trades cross resting orders."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from opensqt.model import Side
from opensqt.testing.binance_server.memory_venue import MemoryVenue


def read_capture(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(local receive ns, message) per line; a malformed line raises ValueError naming its number."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        for lineno, line in enumerate(fh, 1):
            ts, _, body = line.partition(" ")
            try:
                yield int(ts), json.loads(body)
            except ValueError as exc:
                raise ValueError(
                    f"{path}:{lineno}: expected '<ts_ns> <json>', got {line[:80]!r} ({exc})"
                ) from None


def apply_message(venue: MemoryVenue, symbols: dict[str, str], msg: dict[str, Any]) -> None:
    data, stream = msg.get("data"), str(msg.get("stream", ""))
    if not isinstance(data, dict):
        return
    symbol = symbols.get(str(data.get("s", "")).upper())
    if symbol is None:
        return
    if stream.endswith("@bookTicker"):
        venue.set_book(symbol, Decimal(data["b"]), Decimal(data["a"]), Decimal(data["B"]))
    elif stream.endswith("@trade"):
        taker = Side.SELL if data.get("m") else Side.BUY
        venue.publish_trade(symbol, Decimal(data["p"]), Decimal(data["q"]), taker)


async def replay(venue: MemoryVenue, path: Path, speed: float = 1.0) -> int:
    """Feed the capture into `venue`, paced by its receive timestamps divided by `speed` (0: no pacing)."""
    markets = await venue.load_markets()
    symbols = {i.venue_symbol: s for s, i in markets.items()}
    first: int | None = None
    start = anyio.current_time()
    n = 0
    for ts, msg in read_capture(path):
        first = ts if first is None else first
        if speed > 0:
            due = start + (ts - first) / 1e9 / speed
            delay = due - anyio.current_time()
            if delay > 0:
                await anyio.sleep(delay)
        apply_message(venue, symbols, msg)
        n += 1
    return n
