"""The simulated venue's 24 h ticker and candles, read through `TradeIndex`, equal a scan of every row
replayed so far (the definition), on random data of two symbols; and sums stay exact past int64."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.data.market_data import EventKind, MarketData, Scale
from opensqt.exchanges.sim.market import DAY_MS, klines
from opensqt.exchanges.sim.trade_index import TradeIndex

SCALE = Scale(Decimal("0.1"), Decimal("0.001"))
rows = st.lists(
    st.tuples(
        # gap to the previous row; exact day gaps put a trade on the 24 h window's edge
        st.sampled_from([0, 1, DAY_MS - 1, DAY_MS, DAY_MS // 2]) | st.integers(0, DAY_MS // 3),
        st.sampled_from([EventKind.TRADE, EventKind.TRADE, EventKind.BOOK]),
        st.integers(0, 1),
        st.integers(1, 50),
        st.integers(1, 9),
    ),
    min_size=1,
    max_size=40,
)


def _data(spec: list[tuple[int, EventKind, int, int, int]]) -> MarketData:
    ts = np.cumsum([g for g, *_ in spec]).astype(np.int64)
    n = len(spec)
    zeros = np.zeros(n, np.int64)
    return MarketData(
        ("A", "B"),
        (SCALE, SCALE),
        ts,
        np.array([int(k) for _, k, *_ in spec], np.int8),
        np.array([s for _, _, s, _, _ in spec], np.int16),
        np.array([p for *_, p, _ in spec], np.int64),
        np.array([q for *_, q in spec], np.int64),
        zeros,
        zeros.copy(),
        np.zeros(n, np.int8),
    )


def _trades(data: MarketData, sym: int, upto: int) -> list[int]:
    return [i for i in range(upto) if data.kind[i] == EventKind.TRADE and data.sym[i] == sym]


@settings(max_examples=150, deadline=None)
@given(rows, st.integers(0, 1), st.sampled_from([60_000, 3_600_000]), st.none() | st.integers(1, 3))
def test_window_sums_and_candles_equal_a_scan(
    spec: list[tuple[int, EventKind, int, int, int]], sym: int, tf_ms: int, limit: int | None
) -> None:
    data = _data(spec)
    index = TradeIndex(data, sym)
    for upto in range(len(data) + 1):
        now = int(data.ts[upto - 1]) if upto else 0
        sel = [i for i in _trades(data, sym, upto) if data.ts[i] >= now - DAY_MS]
        hi = index.before(upto)
        lo = index.since(now - DAY_MS, hi)
        assert [int(r) for r in index.rows[lo:hi]] == sel
        assert index.notional(lo, hi) == sum(int(data.px[i]) * int(data.qty[i]) for i in sel)
        got = klines(data, sym, upto, now, "A", "x", tf_ms, None, limit, index)
        every = _trades(data, sym, upto)
        buckets: dict[int, list[int]] = {}
        for i in every:
            buckets.setdefault(int(data.ts[i]) // tf_ms, []).append(i)
        want = [
            (
                b * tf_ms,
                SCALE.price(int(data.px[r[0]])),
                SCALE.price(max(int(data.px[i]) for i in r)),
                SCALE.price(min(int(data.px[i]) for i in r)),
                SCALE.price(int(data.px[r[-1]])),
                SCALE.qty(sum(int(data.qty[i]) for i in r)),
            )
            for b, r in sorted(buckets.items())
        ]
        if limit:
            want = want[-limit:]
        assert [(k.open_time, k.open, k.high, k.low, k.close, k.volume) for k in got] == want


def test_a_total_past_int64_is_summed_exactly() -> None:
    big = 1 << 40
    data = _data([(1, EventKind.TRADE, 0, big, big), (1, EventKind.TRADE, 0, big, big)])
    index = TradeIndex(data, 0)
    assert index.notional(0, 2) == 2 * big * big  # 2^81: an int64 running sum would have wrapped
