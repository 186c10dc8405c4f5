"""Loader for the Binance USDT-M raw websocket capture (`<recv_ns> <json>` lines, gzip), into `MarketData`.

Hot path: orjson per line and integer fixed-point parsing of price strings (no Decimal per value).
"""

from __future__ import annotations

import gc
import gzip
import zlib
from pathlib import Path
from typing import Any, cast

import orjson

from opensqt.data.market_data import ColumnBuilder, DataError, EventKind, LineError, MarketData, Parser, Scale
from opensqt.model import Instrument

TRADE, BOOK, DEPTH, SNAPSHOT = EventKind.TRADE, EventKind.BOOK, EventKind.DEPTH, EventKind.SNAPSHOT


class _Bad(Exception):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def load_binance_capture(path: str | Path, instrument: Instrument, *, strict: bool = True) -> MarketData:
    """Read a capture of `instrument` (its `venue_symbol`, e.g. BTCUSDT).

    Rows: `@trade` -> TRADE (time `T`, aggressor from `m`), `@bookTicker` -> BOOK (time `T`), `@depth` ->
    DEPTH diff, the REST snapshot -> SNAPSHOT. Time is the venue's `T`, made non-decreasing in file order.
    A bad line raises `DataError` naming line and field (`strict`), or is skipped and listed in `errors`.
    """
    path = Path(path)
    # The loader allocates ~1M small objects that are all live until the end: cyclic GC passes over them are
    # pure overhead (they roughly double the load time), so collection is paused while reading.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(path, instrument, strict)
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(path: Path, instrument: Instrument, strict: bool) -> MarketData:
    scale = Scale(instrument.tick_size, instrument.lot_size)
    parser = Parser(scale)
    ticks, lots = parser.ticks, parser.lots
    cols = ColumnBuilder()
    errors: list[LineError] = []
    want = instrument.venue_symbol.upper()
    lineno = 0
    loads = orjson.loads
    add = cols.add
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb") as fh:
            for lineno, raw in enumerate(fh, 1):
                try:
                    space = raw.find(b" ")
                    if space < 0:
                        raise _Bad("line", "expected '<receive_ns> <json>'")
                    try:
                        msg = loads(raw[space + 1 :])
                    except orjson.JSONDecodeError as exc:
                        raise _Bad("json", f"malformed or truncated JSON ({exc})") from None
                    if not isinstance(msg, dict):
                        raise _Bad("json", "expected a JSON object")
                    stream = msg.get("stream")
                    if stream is None:
                        if "lastUpdateId" in msg:
                            _add_levels(cols, SNAPSHOT, _int(msg, "T", "T"), msg, "bids", "asks", ticks, lots)
                            continue
                        raise _Bad("stream", "expected a combined-stream envelope or a depth snapshot")
                    data = msg.get("data")
                    if not isinstance(data, dict):
                        raise _Bad("data", "expected an object")
                    if data.get("s") != want:
                        raise _Bad("data.s", f"expected symbol {want}, got {data.get('s')!r}")
                    if stream.endswith("@bookTicker"):
                        add(
                            _int(data, "T", "data.T"),
                            BOOK,
                            _p(ticks, data, "b"),
                            _p(lots, data, "B"),
                            _p(ticks, data, "a"),
                            _p(lots, data, "A"),
                        )
                    elif stream.endswith("@trade") or stream.endswith("@aggTrade"):
                        maker = data.get("m")
                        if not isinstance(maker, bool):
                            raise _Bad("data.m", f"expected true/false, got {maker!r}")
                        # `m` true: the buyer was the maker, so the aggressor sold.
                        add(
                            _int(data, "T", "data.T"),
                            TRADE,
                            _p(ticks, data, "p"),
                            _p(lots, data, "q"),
                            0,
                            0,
                            -1 if maker else 1,
                        )
                    elif "@depth" in stream:
                        _add_levels(cols, DEPTH, _int(data, "T", "data.T"), data, "b", "a", ticks, lots)
                    else:
                        raise _Bad("stream", f"unsupported stream {stream!r}")
                except _Bad as bad:
                    err = LineError(path.name, lineno, bad.field, bad.message)
                    if strict:
                        raise err.to_error() from None
                    errors.append(err)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        err = LineError(path.name, lineno + 1, "file", f"truncated or corrupt gzip stream ({exc})")
        if strict:
            raise err.to_error() from None
        errors.append(err)
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}", field="path") from None
    return cols.build((instrument.symbol,), (scale,), tuple(errors), path.name)


def _int(obj: dict[str, Any], key: str, name: str) -> int:
    value = obj.get(key)
    if type(value) is not int:
        raise _Bad(name, f"expected an integer epoch ms, got {value!r}")
    return value


def _p(conv: Any, data: dict[str, Any], key: str) -> int:
    value = data.get(key)
    if type(value) is not str:
        raise _Bad(f"data.{key}", f"expected a decimal string, got {value!r}")
    try:
        out: int = conv(value)
    except ValueError as exc:
        raise _Bad(f"data.{key}", str(exc)) from None
    if out < 0:
        raise _Bad(f"data.{key}", f"expected >= 0, got {value}")
    return out


def _add_levels(
    cols: ColumnBuilder,
    kind: int,
    ts: int,
    obj: dict[str, Any],
    bids_key: str,
    asks_key: str,
    ticks: Any,
    lots: Any,
) -> None:
    start = len(cols.level_px)
    px, qty, side = cols.level_px, cols.level_qty, cols.level_side
    for key, sign in ((bids_key, 1), (asks_key, -1)):
        levels = obj.get(key)
        if not isinstance(levels, list):
            del px[start:], qty[start:], side[start:]
            raise _Bad(key, "expected a list of [price, quantity] pairs")
        if not levels:
            continue
        try:
            prices, sizes = zip(*levels, strict=True)
            px.extend(map(ticks, prices))
            qty.extend(map(lots, sizes))
        except (ValueError, TypeError):
            del px[start:], qty[start:], side[start:]
            bad = next((i for i, lv in enumerate(levels) if not _level_ok(lv, ticks, lots)), 0)
            raise _Bad(
                f"{key}[{bad}]", f"expected [price, quantity] decimal strings, got {levels[bad]!r}"
            ) from None
        side.extend([sign] * len(prices))
    cols.add(ts, kind, start, len(px))


def _level_ok(level: object, ticks: Any, lots: Any) -> bool:
    try:
        price, size = cast("tuple[str, str]", level)
        ticks(price)
        lots(size)
    except (ValueError, TypeError):
        return False
    return True
