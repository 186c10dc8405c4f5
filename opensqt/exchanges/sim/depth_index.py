"""`DepthIndex`: the recorded size of one price level of one side as of a row, without rebuilding the book.

A resting order's queue estimate needs the displayed size at its own price only, yet rebuilding the book up
to the order's row (`MarketState.sync_depth`) cost a third of a backtest's time: the rows between two orders
carry about a thousand level updates. This index is built once per data and symbol: each level's updates by
(price, side), in the order of the level arrays. The size at a row is the level's last update in a row
before it, since the last snapshot (a snapshot replaces the book; size 0 removes a level) — exactly what the
rebuilt book holds there.

Rows map to level positions through their `[px, qty)` ranges. Where those ranges run forward, a level
position orders its row; `MarketData.repeat` shares one level array among its copies, so ranges restart at
each copy: the rows are cut into runs that each run forward, and a lookup walks back run by run.
"""

from __future__ import annotations

import numpy as np

from opensqt.data.market_data import EventKind, MarketData


class DepthIndex:
    __slots__ = ("_end", "_first", "_keys", "_order", "_qty", "_rows", "_run_starts", "_snaps")

    def __init__(self, data: MarketData, sym: int) -> None:
        kinds = data.kind
        book = (kinds == EventKind.DEPTH) | (kinds == EventKind.SNAPSHOT)
        rows = np.flatnonzero(book & (data.sym == sym))
        self._rows = rows
        first = data.px[rows]
        end = data.qty[rows]
        self._first = first
        self._end = end
        self._snaps = rows[kinds[rows] == EventKind.SNAPSHOT]
        # a run: consecutive rows whose level ranges go forward without overlap
        self._run_starts = np.concatenate([np.zeros(1, np.int64), np.flatnonzero(first[1:] < end[:-1]) + 1])
        n = len(data.level_px)
        cover = np.zeros(n + 1, np.int64)
        np.add.at(cover, first, 1)
        np.add.at(cover, end, -1)
        covered = np.cumsum(cover[:-1]) > 0
        # key: price x 2 + (1 for bids); positions of other symbols' rows get -1 and are never asked for
        keys = np.where(covered, data.level_px * 2 + (data.level_side > 0), -1)
        order = np.argsort(keys, kind="stable")  # stable: each key's positions stay ascending
        self._order = order
        self._keys = keys[order]
        self._qty = data.level_qty

    def size_at(self, sign: int, price: int, upto: int) -> int:
        """Displayed size at `price` (ticks) on side `sign` (+1 bid, -1 ask) after the rows before `upto`."""
        key = price * 2 + (1 if sign > 0 else 0)
        keys = self._keys
        a = int(keys.searchsorted(key, "left"))
        b = int(keys.searchsorted(key, "right"))
        if a == b:
            return 0
        positions = self._order[a:b]
        rows, first, end = self._rows, self._first, self._end
        i = int(rows.searchsorted(upto)) - 1  # the last book row before `upto`
        if i < 0:
            return 0
        s = int(self._snaps.searchsorted(upto)) - 1
        snap_row = int(self._snaps[s]) if s >= 0 else -1
        starts = self._run_starts
        r = int(starts.searchsorted(i, "right")) - 1
        while True:
            run_lo = int(starts[r])
            last = snap_row >= int(rows[run_lo])
            lo_row = int(rows.searchsorted(snap_row)) if last else run_lo
            lo_pos = int(first[lo_row])
            j = int(positions.searchsorted(int(end[i]))) - 1
            while j >= 0:
                p = int(positions[j])
                if p < lo_pos:
                    break
                # the row of the run whose range starts at or before p: p counts only inside that range
                k = lo_row + int(first[lo_row : i + 1].searchsorted(p, "right")) - 1
                if p < int(end[k]):
                    return int(self._qty[p])
                j -= 1
            if last or r == 0:
                return 0
            i = run_lo - 1
            r -= 1
