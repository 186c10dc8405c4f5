"""`MarketData`: a columnar, numpy-backed market event table in integer ticks and lots, plus exact parsing.

Every loader and the synthetic generator produce one; the simulated venue replays it. Prices are stored as
integer multiples of the instrument's tick and quantities of its lot, so conversion to Decimal is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import IntEnum

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
I16 = npt.NDArray[np.int16]

#: Funding rates are stored as integers in units of 1e-8 (Binance publishes 8 decimals).
FUNDING_SCALE = 100_000_000


class EventKind(IntEnum):
    """What one row of `MarketData` is. Column meaning per kind is in `MarketData`'s docstring."""

    TRADE = 1
    BOOK = 2
    FUNDING = 3
    DEPTH = 4
    SNAPSHOT = 5


class DataError(ValueError):
    """A data file (or generator input) is malformed: the message names the file, line and field."""

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.field = field


@dataclass(frozen=True, slots=True)
class LineError:
    """One skipped input line (non-strict loading): 1-based line number, field and what was wrong."""

    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: line {self.line}: field {self.field}: {self.message}"

    def to_error(self) -> DataError:
        return DataError(str(self), line=self.line, field=self.field)


@dataclass(frozen=True, slots=True)
class Scale:
    """Integer fixed-point scale of one instrument: a price of `ticks` is `ticks * tick_size`."""

    tick_size: Decimal
    lot_size: Decimal

    @property
    def price_decimals(self) -> int:
        return _decimals(self.tick_size)

    @property
    def qty_decimals(self) -> int:
        return _decimals(self.lot_size)

    @property
    def tick_units(self) -> int:
        """The tick in units of 10**-price_decimals (e.g. 0.5 with 1 decimal -> 5)."""
        return int(self.tick_size.scaleb(self.price_decimals))

    @property
    def lot_units(self) -> int:
        return int(self.lot_size.scaleb(self.qty_decimals))

    def price(self, ticks: int) -> Decimal:
        return self.tick_size * ticks

    def qty(self, lots: int) -> Decimal:
        return self.lot_size * lots

    def to_ticks(self, price: Decimal) -> int:
        """Exact ticks of an on-tick price; ValueError for an off-tick one."""
        q, r = divmod(price, self.tick_size)
        if r != 0:
            raise ValueError(f"price {price} is not a multiple of the tick {self.tick_size}")
        return int(q)

    def to_lots(self, qty: Decimal) -> int:
        q, r = divmod(qty, self.lot_size)
        if r != 0:
            raise ValueError(f"quantity {qty} is not a multiple of the lot {self.lot_size}")
        return int(q)


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def parse_scaled(text: str, decimals: int) -> int:
    """`text` (a plain decimal string) times 10**decimals, exactly; ValueError if digits would be lost."""
    whole, _, frac = text.partition(".")
    if len(frac) > decimals:
        if frac[decimals:].strip("0"):
            raise ValueError(f"{text!r} has more than {decimals} decimals")
        frac = frac[:decimals]
    digits = whole + frac.ljust(decimals, "0")
    if not digits or "_" in digits or digits.strip("+-") == "":
        raise ValueError(f"expected a decimal number, got {text!r}")
    return int(digits)


class _Memo(dict[str, int]):
    """A str -> int cache whose misses compute through `fn` (hits are a C-level dict lookup)."""

    def __init__(self, fn: Callable[[str], int]) -> None:
        super().__init__()
        self._fn = fn

    def __missing__(self, key: str) -> int:
        if type(key) is not str:
            raise ValueError(f"expected a decimal string, got {key!r}")
        value = self[key] = self._fn(key)
        return value


class Parser:
    """Exact string -> ticks/lots conversion for one `Scale` (the loaders' hot path: no Decimal per value).

    Market data repeats the same price and size strings constantly, so results are memoised; `ticks` and
    `lots` are bound dict lookups.
    """

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self._pd = scale.price_decimals
        self._qd = scale.qty_decimals
        self._tu = scale.tick_units
        self._lu = scale.lot_units
        self.ticks: Callable[[str], int] = _Memo(self._ticks).__getitem__
        self.lots: Callable[[str], int] = _Memo(self._lots).__getitem__

    def _ticks(self, text: str) -> int:
        scaled = parse_scaled(text, self._pd)
        q, r = divmod(scaled, self._tu)
        if r:
            raise ValueError(f"price {text} is not a multiple of the tick {self.scale.tick_size}")
        return q

    def _lots(self, text: str) -> int:
        scaled = parse_scaled(text, self._qd)
        q, r = divmod(scaled, self._lu)
        if r:
            raise ValueError(f"quantity {text} is not a multiple of the lot {self.scale.lot_size}")
        return q

    def lots_floor(self, text: str) -> int:
        """Quantity floored to the lot (for volumes in sources finer than the lot)."""
        whole, _, frac = text.partition(".")
        scaled = parse_scaled(whole + "." + frac[: self._qd] if frac else whole, self._qd)
        return scaled // self._lu


@dataclass(frozen=True, slots=True, eq=False)
class MarketData:
    """A time-ordered table of market events over one or more symbols.

    Columns (numpy, one row per event): `ts` int64 epoch ms (non-decreasing), `kind` int8 (`EventKind`),
    `sym` int16 (index into `symbols`), and four int64 value columns whose meaning depends on the kind:

    | kind     | px                 | qty                      | px2              | qty2            |
    |----------|--------------------|--------------------------|------------------|-----------------|
    | TRADE    | price ticks        | quantity lots            | 0                | 0               |
    | BOOK     | best bid ticks     | bid lots                 | best ask ticks   | ask lots        |
    | FUNDING  | rate x 1e8         | next funding ms (0: none)| mark ticks (0)   | interval ms (0) |
    | DEPTH    | first level index  | end level index          | 0                | 0               |
    | SNAPSHOT | first level index  | end level index          | 0                | 0               |

    `side` int8 is the trade aggressor (+1 buy, -1 sell; 0 for other kinds). DEPTH (a diff) and SNAPSHOT (a
    full book) rows point into the ragged level arrays `level_px`, `level_qty`, `level_side` (+1 bid, -1 ask).
    """

    symbols: tuple[str, ...]
    scales: tuple[Scale, ...]
    ts: I64
    kind: I8
    sym: I16
    px: I64
    qty: I64
    px2: I64
    qty2: I64
    side: I8
    level_px: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    level_qty: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    level_side: I8 = field(default_factory=lambda: np.zeros(0, np.int8))
    errors: tuple[LineError, ...] = ()
    source: str = ""

    def __post_init__(self) -> None:
        n = len(self.ts)
        for name in ("kind", "sym", "px", "qty", "px2", "qty2", "side"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"market data: column {name} has {len(getattr(self, name))} rows, expected {n}"
                )
        if len(self.symbols) != len(self.scales):
            raise ValueError("market data: symbols and scales must have the same length")
        if n and np.any(np.diff(self.ts) < 0):
            raise ValueError("market data: column ts must be non-decreasing")

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def n_trades(self) -> int:
        return int(np.count_nonzero(self.kind == EventKind.TRADE))

    def scale_of(self, symbol: str) -> Scale:
        try:
            return self.scales[self.symbols.index(symbol)]
        except ValueError:
            raise KeyError(
                f"symbol: {symbol!r} is not in this market data ({', '.join(self.symbols)})"
            ) from None

    def counts(self) -> dict[str, int]:
        """Rows per kind name, for reports."""
        values, counts = np.unique(self.kind, return_counts=True)
        return {EventKind(int(v)).name.lower(): int(c) for v, c in zip(values, counts, strict=True)}

    def slice(self, start: int, stop: int) -> MarketData:
        """Rows [start, stop) (level arrays are shared, so DEPTH rows keep pointing at the right levels)."""
        return MarketData(
            self.symbols,
            self.scales,
            self.ts[start:stop],
            self.kind[start:stop],
            self.sym[start:stop],
            self.px[start:stop],
            self.qty[start:stop],
            self.px2[start:stop],
            self.qty2[start:stop],
            self.side[start:stop],
            self.level_px,
            self.level_qty,
            self.level_side,
            (),
            self.source,
        )

    def shifted(self, ms: int) -> MarketData:
        """The same events `ms` later (funding times in FUNDING rows move too)."""
        qty = self.qty.copy()
        funding = (self.kind == EventKind.FUNDING) & (qty > 0)
        qty[funding] += ms
        return MarketData(
            self.symbols,
            self.scales,
            self.ts + ms,
            self.kind,
            self.sym,
            self.px,
            qty,
            self.px2,
            self.qty2,
            self.side,
            self.level_px,
            self.level_qty,
            self.level_side,
            self.errors,
            self.source,
        )

    def repeat(self, times: int, gap_ms: int = 1) -> MarketData:
        """The events `times` over, back to back (benchmarks need >= 1M events from a short capture)."""
        if times < 1:
            raise ValueError(f"times: expected >= 1, got {times}")
        if not len(self):
            return self
        span = int(self.ts[-1] - self.ts[0]) + gap_ms
        parts = [self.shifted(span * k) for k in range(times)]
        return concat(parts)


def concat(parts: list[MarketData]) -> MarketData:
    """Back-to-back concatenation of tables over the same symbols (each part must start after the last)."""
    first = parts[0]
    for p in parts[1:]:
        if p.symbols != first.symbols or p.scales != first.scales:
            raise ValueError("concat: every part must have the same symbols and scales")
    if all(p.level_px is first.level_px for p in parts):
        level_px, level_qty, level_side = first.level_px, first.level_qty, first.level_side
        px = np.concatenate([p.px for p in parts])
        qty = np.concatenate([p.qty for p in parts])
    else:
        return merge(parts)
    return MarketData(
        first.symbols,
        first.scales,
        np.concatenate([p.ts for p in parts]),
        np.concatenate([p.kind for p in parts]),
        np.concatenate([p.sym for p in parts]),
        px,
        qty,
        np.concatenate([p.px2 for p in parts]),
        np.concatenate([p.qty2 for p in parts]),
        np.concatenate([p.side for p in parts]),
        level_px,
        level_qty,
        level_side,
        tuple(e for p in parts for e in p.errors),
        first.source,
    )


def merge(parts: list[MarketData]) -> MarketData:
    """Interleave tables (e.g. several instruments) by timestamp; ties keep the parts' order (stable)."""
    symbols: list[str] = []
    scales: list[Scale] = []
    for p in parts:
        for s, sc in zip(p.symbols, p.scales, strict=True):
            if s in symbols:
                if scales[symbols.index(s)] != sc:
                    raise ValueError(f"merge: symbol {s} appears with two different scales")
            else:
                symbols.append(s)
                scales.append(sc)
    sym_parts, px_parts, qty_parts = [], [], []
    level_offset = 0
    for p in parts:
        remap = np.array([symbols.index(s) for s in p.symbols], dtype=np.int16)
        sym_parts.append(remap[p.sym] if len(p) else p.sym)
        has_levels = (p.kind == EventKind.DEPTH) | (p.kind == EventKind.SNAPSHOT)
        px_parts.append(np.where(has_levels, p.px + level_offset, p.px))
        qty_parts.append(np.where(has_levels, p.qty + level_offset, p.qty))
        level_offset += len(p.level_px)
    ts = np.concatenate([p.ts for p in parts])
    order = np.argsort(ts, kind="stable")
    return MarketData(
        tuple(symbols),
        tuple(scales),
        ts[order],
        np.concatenate([p.kind for p in parts])[order],
        np.concatenate(sym_parts)[order],
        np.concatenate(px_parts)[order],
        np.concatenate(qty_parts)[order],
        np.concatenate([p.px2 for p in parts])[order],
        np.concatenate([p.qty2 for p in parts])[order],
        np.concatenate([p.side for p in parts])[order],
        np.concatenate([p.level_px for p in parts]),
        np.concatenate([p.level_qty for p in parts]),
        np.concatenate([p.level_side for p in parts]),
        tuple(e for p in parts for e in p.errors),
        "+".join(p.source for p in parts if p.source),
    )


class ColumnBuilder:
    """Row-by-row accumulation for loaders (Python lists, converted to numpy once at the end)."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.kind: list[int] = []
        self.sym: list[int] = []
        self.px: list[int] = []
        self.qty: list[int] = []
        self.px2: list[int] = []
        self.qty2: list[int] = []
        self.side: list[int] = []
        self.level_px: list[int] = []
        self.level_qty: list[int] = []
        self.level_side: list[int] = []

    def add(
        self, ts: int, kind: int, px: int, qty: int, px2: int = 0, qty2: int = 0, side: int = 0, sym: int = 0
    ) -> None:
        self.ts.append(ts)
        self.kind.append(kind)
        self.sym.append(sym)
        self.px.append(px)
        self.qty.append(qty)
        self.px2.append(px2)
        self.qty2.append(qty2)
        self.side.append(side)

    def build(
        self,
        symbols: tuple[str, ...],
        scales: tuple[Scale, ...],
        errors: tuple[LineError, ...],
        source: str,
        monotonic: bool = True,
    ) -> MarketData:
        ts = np.array(self.ts, dtype=np.int64)
        if monotonic and len(ts):
            # Streams interleave with small venue-time inversions; replay time never goes backwards.
            ts = np.maximum.accumulate(ts)
        return MarketData(
            symbols,
            scales,
            ts,
            np.array(self.kind, np.int8),
            np.array(self.sym, np.int16),
            np.array(self.px, np.int64),
            np.array(self.qty, np.int64),
            np.array(self.px2, np.int64),
            np.array(self.qty2, np.int64),
            np.array(self.side, np.int8),
            np.array(self.level_px, np.int64),
            np.array(self.level_qty, np.int64),
            np.array(self.level_side, np.int8),
            errors,
            source,
        )
