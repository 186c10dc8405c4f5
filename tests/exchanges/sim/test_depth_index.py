"""DepthIndex: the size of a level as of any row equals the book rebuilt row by row (a dictionary), on random
data with snapshots, two symbols sharing the level arrays, and `repeat` (its copies share one level array)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.data.market_data import EventKind, MarketData, Scale
from opensqt.exchanges.sim.depth_index import DepthIndex

SCALE = Scale(Decimal("0.1"), Decimal("0.001"))
level = st.tuples(st.integers(1, 12), st.sampled_from([1, -1]), st.sampled_from([0, 0, 1, 5, 9]))
row = st.tuples(
    st.sampled_from([EventKind.TRADE, EventKind.DEPTH, EventKind.DEPTH, EventKind.SNAPSHOT]),
    st.integers(0, 1),
    st.lists(level, max_size=6, unique_by=lambda lv: (lv[0], lv[1])),  # a message names a level once
)


def _data(rows: list[tuple[EventKind, int, list[tuple[int, int, int]]]]) -> MarketData:
    n = len(rows)
    px, qty = np.zeros(n, np.int64), np.zeros(n, np.int64)
    lpx: list[int] = []
    lside: list[int] = []
    lqty: list[int] = []
    for i, (kind, _, levels) in enumerate(rows):
        if kind is EventKind.TRADE:
            px[i], qty[i] = 100, 1
            continue
        px[i] = len(lpx)
        for p, side, q in levels:
            lpx.append(p)
            lside.append(side)
            lqty.append(q)
        qty[i] = len(lpx)
    zeros = np.zeros(n, np.int64)
    return MarketData(
        ("A", "B"),
        (SCALE, SCALE),
        np.arange(n, dtype=np.int64),
        np.array([int(k) for k, _, _ in rows], np.int8),
        np.array([s for _, s, _ in rows], np.int16),
        px,
        qty,
        zeros,
        zeros.copy(),
        np.zeros(n, np.int8),
        np.array(lpx, np.int64),
        np.array(lqty, np.int64),
        np.array(lside, np.int8),
    )


def _books(data: MarketData, sym: int) -> list[dict[tuple[int, int], int]]:
    """The book of `sym` before each row (index upto), rebuilt row by row."""
    book: dict[tuple[int, int], int] = {}
    out = [dict(book)]
    for i in range(len(data)):
        kind = int(data.kind[i])
        if int(data.sym[i]) == sym and kind in (EventKind.DEPTH, EventKind.SNAPSHOT):
            if kind == EventKind.SNAPSHOT:
                book.clear()
            for j in range(int(data.px[i]), int(data.qty[i])):
                key = (int(data.level_px[j]), int(data.level_side[j]))
                if data.level_qty[j]:
                    book[key] = int(data.level_qty[j])
                else:
                    book.pop(key, None)
        out.append(dict(book))
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(row, max_size=25), st.integers(1, 3))
def test_size_at_equals_the_book_rebuilt_row_by_row(
    rows: list[tuple[EventKind, int, list[tuple[int, int, int]]]], times: int
) -> None:
    data = _data(rows).repeat(times)
    for sym in (0, 1):
        index = DepthIndex(data, sym)
        for upto, book in enumerate(_books(data, sym)):
            for p in range(0, 14):
                for side in (1, -1):
                    assert index.size_at(side, p, upto) == book.get((p, side), 0), (sym, upto, p, side)


def test_a_snapshot_replaces_the_book_and_a_zero_removes_a_level() -> None:
    rows = [
        (EventKind.DEPTH, 0, [(5, 1, 3), (6, -1, 4)]),
        (EventKind.SNAPSHOT, 0, [(7, 1, 2)]),
        (EventKind.DEPTH, 0, [(7, 1, 0), (8, 1, 1)]),
    ]
    index = DepthIndex(_data(rows), 0)  # type: ignore[arg-type]
    assert [index.size_at(1, 5, u) for u in range(4)] == [0, 3, 0, 0]
    assert [index.size_at(1, 7, u) for u in range(4)] == [0, 0, 2, 0]
    assert [index.size_at(1, 8, u) for u in range(4)] == [0, 0, 0, 1]
    assert [index.size_at(-1, 6, u) for u in range(4)] == [0, 4, 0, 0]


def test_a_level_between_a_runs_rows_counts_only_for_the_row_that_names_it() -> None:
    # levels: 0 -> A's, 1 -> B's (5 bid 7), 2 -> A's; A's last row re-uses position 1 (a range going back:
    # a new run)
    kinds = np.array([EventKind.DEPTH, EventKind.DEPTH, EventKind.DEPTH, EventKind.DEPTH], np.int8)
    zeros = np.zeros(4, np.int64)
    data = MarketData(
        ("A", "B"),
        (SCALE, SCALE),
        np.arange(4, dtype=np.int64),
        kinds,
        np.array([0, 1, 0, 0], np.int16),
        np.array([0, 1, 2, 1], np.int64),
        np.array([1, 2, 3, 2], np.int64),
        zeros,
        zeros.copy(),
        np.zeros(4, np.int8),
        np.array([4, 5, 6], np.int64),
        np.array([1, 7, 2], np.int64),
        np.array([1, 1, 1], np.int8),
    )
    a = DepthIndex(data, 0)
    assert [a.size_at(1, 5, u) for u in range(5)] == [0, 0, 0, 0, 7]  # B's level is A's only from row 3
    assert [a.size_at(1, 6, u) for u in range(5)] == [0, 0, 0, 2, 2]
    assert [DepthIndex(data, 1).size_at(1, 5, u) for u in range(5)] == [0, 0, 7, 7, 7]
