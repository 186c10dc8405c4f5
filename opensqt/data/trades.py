"""Loader for generic trade tapes: CSV or Parquet with columns timestamp, price, quantity, side."""

from __future__ import annotations

import csv
from pathlib import Path

from opensqt.data.bars import _open, _parse_time
from opensqt.data.market_data import ColumnBuilder, DataError, EventKind, LineError, MarketData, Parser, Scale
from opensqt.model import Instrument

COLUMNS = ("timestamp", "price", "quantity", "side")
_SIDES = {"buy": 1, "b": 1, "sell": -1, "s": -1}


def _rows_csv(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    lines = _open(path)
    parsed = list(csv.reader(lines))
    if not parsed:
        raise DataError(f"{path.name}: line 1: field header: empty file", line=1, field="header")
    return [h.strip().lower() for h in parsed[0]], [(n, row) for n, row in enumerate(parsed[1:], 2) if row]


def _rows_parquet(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    import pyarrow.parquet as pq  # imported here: pyarrow costs ~0.3 s and only Parquet needs it

    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path.name}: not a readable Parquet file ({exc})", field="file") from None
    header = [n.lower() for n in table.column_names]
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    # Floats become their shortest repr (the digits that were written), never a binary expansion.
    rows = [
        (n, ["" if v is None else str(v) for v in values])
        for n, values in enumerate(zip(*columns, strict=True), 1)
    ]
    return header, rows


def load_trades(path: str | Path, instrument: Instrument, *, strict: bool = True) -> MarketData:
    """A trade tape (`.csv` or `.parquet`): timestamp (epoch ms/s/us or ISO), price, quantity, side (buy/sell,
    the aggressor). Rows must be in time order; the line (CSV) or row (Parquet) is named in any error."""
    path = Path(path)
    header, rows = _rows_parquet(path) if path.suffix == ".parquet" else _rows_csv(path)
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"{path.name}: line 1: field header: missing column(s) {', '.join(missing)}",
            line=1,
            field="header",
        )
    idx = [header.index(c) for c in COLUMNS]
    scale = Scale(instrument.tick_size, instrument.lot_size)
    parser = Parser(scale)
    cols = ColumnBuilder()
    errors: list[LineError] = []
    last_ts = -1
    for n, row in rows:
        field = "columns"
        try:
            if len(row) != len(header):
                raise ValueError(f"expected {len(header)} columns, got {len(row)}")
            field = "timestamp"
            ts = _parse_time(row[idx[0]])
            if ts < last_ts:
                raise ValueError(f"time goes backwards ({ts} < {last_ts})")
            field = "price"
            price = parser.ticks(row[idx[1]].strip())
            if price <= 0:
                raise ValueError("expected a price > 0")
            field = "quantity"
            qty = parser.lots(row[idx[2]].strip())
            if qty < 0:
                raise ValueError("expected a quantity >= 0")
            field = "side"
            side = _SIDES.get(row[idx[3]].strip().lower())
            if side is None:
                raise ValueError(f"expected buy or sell, got {row[idx[3]]!r}")
        except ValueError as exc:
            err = LineError(path.name, n, field, str(exc))
            if strict:
                raise err.to_error() from None
            errors.append(err)
            continue
        last_ts = ts
        cols.add(ts, EventKind.TRADE, price, qty, 0, 0, side)
    return cols.build((instrument.symbol,), (scale,), tuple(errors), path.name)
