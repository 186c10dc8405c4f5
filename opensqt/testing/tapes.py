"""Hand-written market tapes in human units: scripted price paths for tests, examples and notebooks."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from opensqt.data.market_data import FUNDING_SCALE, ColumnBuilder, EventKind, MarketData, Scale
from opensqt.exchanges.sim import BTC_USDT_PERP
from opensqt.model import Instrument

Row = tuple[object, ...]


def make_tape(rows: Sequence[Row], inst: Instrument = BTC_USDT_PERP) -> MarketData:
    """Rows: ("trade", ts, price, qty, "buy"|"sell"), ("book", ts, bid, bid_qty, ask, ask_qty),
    ("funding", ts, rate, next_ms), ("snapshot"|"depth", ts, [(side, price, qty), ...])."""
    scale = Scale(inst.tick_size, inst.lot_size)
    cols = ColumnBuilder()

    def t(p: object) -> int:
        return scale.to_ticks(Decimal(str(p)))

    def lot(q: object) -> int:
        return scale.to_lots(Decimal(str(q)))

    for row in rows:
        kind, ts = row[0], int(row[1])  # type: ignore[call-overload]
        if kind == "trade":
            cols.add(ts, EventKind.TRADE, t(row[2]), lot(row[3]), 0, 0, 1 if row[4] == "buy" else -1)
        elif kind == "book":
            cols.add(ts, EventKind.BOOK, t(row[2]), lot(row[3]), t(row[4]), lot(row[5]))
        elif kind == "funding":
            cols.add(ts, EventKind.FUNDING, int(Decimal(str(row[2])) * FUNDING_SCALE), int(row[3]))  # type: ignore[call-overload]
        else:
            start = len(cols.level_px)
            for side, p, q in row[2]:  # type: ignore[attr-defined]
                cols.level_px.append(t(p))
                cols.level_qty.append(lot(q))
                cols.level_side.append(1 if side == "bid" else -1)
            cols.add(
                ts, EventKind.SNAPSHOT if kind == "snapshot" else EventKind.DEPTH, start, len(cols.level_px)
            )
    return cols.build((inst.symbol,), (scale,), (), "tape")

