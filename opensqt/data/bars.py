"""Loaders for bar data (OHLCV CSV, Binance's 12-column kline CSV), replayed as trades along an intrabar path.

Intrabar path: an up bar (close >= open) trades O -> L -> H -> C, a down bar O -> H -> L -> C, at the bar's
open time + 0, 1/3, 2/3 of the bar and its last millisecond. The bar's volume is split evenly over the four
prints (remainder lots on the close). Aggressor side follows the move into each point.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from opensqt.data.market_data import ColumnBuilder, DataError, EventKind, LineError, MarketData, Parser, Scale
from opensqt.model import Instrument

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EXPECTED_OHLCV = ["timestamp", "open", "high", "low", "close", "volume"]


def bar_path(open_: int, high: int, low: int, close: int) -> tuple[int, int, int, int]:
    """The four prints of one bar, in ticks, along the documented path."""
    if close >= open_:
        return open_, low, high, close
    return open_, high, low, close


def _add_bar(cols: ColumnBuilder, t0: int, bar_ms: int, o: int, h: int, lo: int, c: int, vol: int) -> None:
    path = bar_path(o, h, lo, c)
    offsets = (0, bar_ms // 3, (2 * bar_ms) // 3, bar_ms - 1)
    share, rest = divmod(vol, 4)
    prev = path[0]
    for k in range(4):
        price = path[k]
        if k == 0:
            side = 1 if c >= o else -1
        else:
            side = 1 if price > prev else -1 if price < prev else (1 if c >= o else -1)
        cols.add(t0 + offsets[k], EventKind.TRADE, price, share + (rest if k == 3 else 0), 0, 0, side)
        prev = price


def _parse_time(text: str) -> int:
    text = text.strip()
    if text.lstrip("-").isdigit():
        value = int(text)
        if value > 10**14:  # microseconds (Binance spot files since 2025)
            return value // 1000
        if value < 10**11:  # seconds
            return value * 1000
        return value
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // timedelta(milliseconds=1)


class _BarReader:
    def __init__(self, path: Path, instrument: Instrument, strict: bool, volume_in_quote: bool) -> None:
        self.path = path
        self.instrument = instrument
        self.scale = Scale(instrument.tick_size, instrument.lot_size)
        self.parser = Parser(self.scale)
        self.strict = strict
        self.volume_in_quote = volume_in_quote
        self.errors: list[LineError] = []
        self.rows: list[tuple[int, int, int, int, int, int]] = []

    def fail(self, line: int, field: str, message: str) -> None:
        err = LineError(self.path.name, line, field, message)
        if self.strict:
            raise err.to_error() from None
        self.errors.append(err)

    def row(self, line: int, values: list[str], names: tuple[str, ...]) -> None:
        field = names[0]
        try:
            ts = _parse_time(values[0])
            prices = []
            for i, name in enumerate(names[1:5], 1):
                field = name
                prices.append(self.parser.ticks(values[i].strip()))
            field = names[5]
            vol = Decimal(values[5].strip())
            if not vol.is_finite() or vol < 0:
                raise ValueError(f"expected a volume >= 0, got {values[5]!r}")
        except (ValueError, InvalidOperation, IndexError) as exc:
            self.fail(line, field, str(exc) or "malformed value")
            return
        o, h, lo, c = prices
        if not (lo <= min(o, c) and max(o, c) <= h) or lo <= 0:
            self.fail(line, "high/low", "expected 0 < low <= open, close <= high")
            return
        if self.volume_in_quote:
            vol = vol / self.scale.price(c) if c else Decimal(0)
        lots = int(vol / self.scale.lot_size)
        self.rows.append((ts, o, h, lo, c, lots))

    def build(self, bar_ms: int | None) -> MarketData:
        rows = self.rows
        for k in range(1, len(rows)):
            if rows[k][0] <= rows[k - 1][0]:
                raise DataError(
                    f"{self.path.name}: bars are not in increasing time order near row {k + 1}",
                    field="timestamp",
                )
        if bar_ms is None:
            bar_ms = rows[1][0] - rows[0][0] if len(rows) > 1 else 60_000
        cols = ColumnBuilder()
        for ts, o, h, lo, c, lots in rows:
            _add_bar(cols, ts, bar_ms, o, h, lo, c, lots)
        return cols.build((self.instrument.symbol,), (self.scale,), tuple(self.errors), self.path.name)


def _open(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}", field="path") from None
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a text CSV file ({exc.reason})", field="file") from None


def load_ohlcv_csv(
    path: str | Path,
    instrument: Instrument,
    *,
    volume_in_quote: bool = False,
    bar_ms: int | None = None,
    strict: bool = True,
) -> MarketData:
    """A `timestamp,open,high,low,close,volume` CSV (time ISO or epoch s/ms/us). `volume_in_quote` converts a
    quote-currency volume (the FTX bars' USD) to base at the close. `bar_ms` defaults to the first gap."""
    path = Path(path)
    lines = _open(path)
    reader = _BarReader(path, instrument, strict, volume_in_quote)
    if not lines or [h.strip().lower() for h in lines[0].split(",")] != _EXPECTED_OHLCV:
        raise DataError(
            f"{path.name}: line 1: field header: expected {','.join(_EXPECTED_OHLCV)}", line=1, field="header"
        )
    for n, values in enumerate(csv.reader(lines[1:]), 2):
        if not values:
            continue
        if len(values) != 6:
            reader.fail(n, "columns", f"expected 6 columns, got {len(values)}")
            continue
        reader.row(n, values, tuple(_EXPECTED_OHLCV))
    return reader.build(bar_ms)


_KLINE_NAMES = ("open_time", "open", "high", "low", "close", "volume")


def load_binance_klines_csv(path: str | Path, instrument: Instrument, *, strict: bool = True) -> MarketData:
    """Binance's public kline CSV (data.binance.vision): 12 columns, optional header, volume in base."""
    path = Path(path)
    lines = _open(path)
    reader = _BarReader(path, instrument, strict, False)
    bar_ms: int | None = None
    for n, values in enumerate(csv.reader(lines), 1):
        if not values or (n == 1 and values[0].strip().lower() == "open_time"):
            continue
        if len(values) != 12:
            reader.fail(n, "columns", f"expected 12 columns, got {len(values)}")
            continue
        reader.row(n, values, _KLINE_NAMES)
        if bar_ms is None and reader.rows:
            try:
                bar_ms = _parse_time(values[6]) - reader.rows[-1][0] + 1
            except ValueError:
                reader.fail(n, "close_time", f"expected epoch ms, got {values[6]!r}")
    return reader.build(bar_ms)
