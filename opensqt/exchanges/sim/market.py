"""Per-symbol market state of the simulated venue (top of book, last trade, funding, lazily rebuilt depth) and
kline/ticker views computed from the replayed `MarketData` with numpy."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from opensqt.data.market_data import FUNDING_SCALE, EventKind, MarketData, Scale
from opensqt.exchanges.sim.depth import DepthSide
from opensqt.exchanges.sim.depth_index import DepthIndex
from opensqt.exchanges.sim.trade_index import TradeIndex
from opensqt.model import ZERO, Instrument, Kline, Ticker

BIG = 1 << 62
DAY_MS = 86_400_000


class MarketState:
    """What the venue knows of one market, in integer ticks/lots. `bid == 0` means no book seen yet."""

    __slots__ = (
        "ask",
        "ask_qty",
        "bid",
        "bid_qty",
        "depth_asks",
        "depth_bids",
        "depth_index",
        "depth_upto",
        "funding_interval",
        "funding_mark",
        "funding_rate",
        "index",
        "inst",
        "last",
        "level_index",
        "next_funding",
        "scale",
        "trade_index",
    )

    def __init__(self, inst: Instrument, index: int, funding_interval_ms: int) -> None:
        self.inst = inst
        self.index = index
        self.scale = Scale(inst.tick_size, inst.lot_size)
        self.bid = self.bid_qty = self.ask = self.ask_qty = 0
        self.last = 0
        self.funding_rate = 0  # x 1e8
        self.funding_mark = 0
        self.funding_interval = funding_interval_ms
        self.next_funding = BIG
        self.depth_bids = DepthSide()
        self.depth_asks = DepthSide()
        self.depth_upto = 0
        # (data, symbol index) -> this symbol's DEPTH/SNAPSHOT rows and SNAPSHOT rows, found once per data
        self.depth_index: tuple[MarketData, int, np.ndarray, np.ndarray] | None = None
        # (data, symbol index) -> point lookups of one level's size, for queue estimates
        self.level_index: tuple[MarketData, int, DepthIndex] | None = None
        # (data, symbol index) -> this symbol's trades, for the ticker's and candles' windows
        self.trade_index: tuple[MarketData, int, TradeIndex] | None = None

    @property
    def has_book(self) -> bool:
        return self.bid > 0 and self.ask > 0

    def mark_ticks(self) -> int:
        """Mark price: the last trade, else the book's bid (ticks); 0 when nothing is known."""
        return self.last or self.bid

    def mark(self) -> Decimal | None:
        t = self.mark_ticks()
        return self.scale.price(t) if t else None

    def rate(self) -> Decimal:
        return Decimal(self.funding_rate) / FUNDING_SCALE

    def schedule_funding(self, now_ms: int) -> None:
        if self.inst.is_perpetual:
            self.next_funding = (now_ms // self.funding_interval + 1) * self.funding_interval

    # --- lazily rebuilt depth: only a taker walk or a queue estimate needs it ---------------------

    def sync_depth(self, data: MarketData, sym: int, upto: int) -> None:
        """Apply DEPTH/SNAPSHOT rows of this symbol in [depth_upto, upto), in bulk (in row order: a later
        level update overrides an earlier one; size 0 removes the level)."""
        start = self.depth_upto
        if upto <= start:
            return
        self.depth_upto = upto
        index = self.depth_index
        if index is None or index[0] is not data or index[1] != sym:
            kinds = data.kind
            book = (kinds == EventKind.DEPTH) | (kinds == EventKind.SNAPSHOT)
            book_rows = np.flatnonzero(book & (data.sym == sym))
            snap_rows = book_rows[kinds[book_rows] == EventKind.SNAPSHOT]
            index = self.depth_index = (data, sym, book_rows, snap_rows)
        _, _, book_rows, snap_rows = index
        rows = book_rows[book_rows.searchsorted(start) : book_rows.searchsorted(upto)]
        if not len(rows):
            return
        last_snap = int(snap_rows.searchsorted(upto)) - 1
        if last_snap >= 0 and snap_rows[last_snap] >= start:
            self.depth_bids.clear()
            self.depth_asks.clear()
            rows = rows[rows >= snap_rows[last_snap]]
        firsts, ends = data.px[rows], data.qty[rows]
        if np.all(firsts[1:] == ends[:-1]):
            idx: slice | np.ndarray = slice(int(firsts[0]), int(ends[-1]))
        else:
            idx = np.concatenate(
                [np.arange(f, e) for f, e in zip(firsts.tolist(), ends.tolist(), strict=True)]
            )
        px, qty, side = data.level_px[idx], data.level_qty[idx], data.level_side[idx]
        bids = side > 0
        self.depth_bids.apply(px[bids], qty[bids])
        asks = side < 0
        self.depth_asks.apply(px[asks], qty[asks])

    def ask_levels(self, limit: int | None = None) -> list[tuple[int, int]]:
        """Asks a buy limited at `limit` (None: market) can take: top of book, then recorded depth."""
        if not self.has_book:
            return [(self.last, BIG)] if self.last and (limit is None or self.last <= limit) else []
        if limit is not None and self.ask > limit:
            return []
        top = self.ask
        return [(top, self.ask_qty), *self.depth_asks.above(top, limit)]

    def bid_levels(self, limit: int | None = None) -> list[tuple[int, int]]:
        if not self.has_book:
            return [(self.last, BIG)] if self.last and (limit is None or self.last >= limit) else []
        if limit is not None and self.bid < limit:
            return []
        top = self.bid
        return [(top, self.bid_qty), *self.depth_bids.below(top, limit)]

    def trades(self, data: MarketData, sym: int) -> TradeIndex:
        """This market's trades in `data` (symbol index `sym`), indexed once per data."""
        index = self.trade_index
        if index is None or index[0] is not data or index[1] != sym:
            index = self.trade_index = (data, sym, TradeIndex(data, sym))
        return index[2]

    def crosses(self, sign: int, limit: int | None) -> bool:
        """Whether an order on side `sign` limited at `limit` (None: market) would take liquidity: exactly
        when `ask_levels` / `bid_levels` would return levels, without touching the recorded depth."""
        if not self.has_book:
            return bool(self.last) and (
                limit is None or (self.last <= limit if sign > 0 else self.last >= limit)
            )
        if limit is None:
            return True
        return self.ask <= limit if sign > 0 else self.bid >= limit

    def displayed_at(
        self, sign: int, price: int, data: MarketData | None = None, sym: int = -1, upto: int = 0
    ) -> int:
        """Displayed size ahead of a new passive order at `price` on side `sign` (+1 bid, -1 ask): the top of
        book's size at the top, else the recorded depth's as of row `upto` of `data` (symbol index `sym`),
        else (no data replayed) the depth applied so far."""
        if not self.has_book:
            return 0
        if sign > 0:
            if price == self.bid:
                return self.bid_qty
            if price > self.bid:
                return 0
        else:
            if price == self.ask:
                return self.ask_qty
            if price < self.ask:
                return 0
        if data is None or sym < 0:
            return (self.depth_bids if sign > 0 else self.depth_asks).get(price)
        index = self.level_index
        if index is None or index[0] is not data or index[1] != sym:
            index = self.level_index = (data, sym, DepthIndex(data, sym))
        return index[2].size_at(sign, price, upto)


def klines(
    data: MarketData,
    sym: int,
    upto: int,
    now_ms: int,
    symbol: str,
    timeframe: str,
    tf_ms: int,
    since: int | None,
    limit: int | None,
    trades: TradeIndex | None = None,
) -> list[Kline]:
    """Candles of `sym` from the trades in rows [0, upto); the last is open while `now_ms` is inside it.
    `trades`: the symbol's trade index if the caller keeps one (else it is built here)."""
    if trades is None:
        trades = TradeIndex(data, sym)
    hi = trades.before(upto)
    lo = 0 if since is None else trades.since(since - since % tf_ms, hi)
    if lo >= hi:
        return []
    ts, px, qty = trades.ts[lo:hi], trades.px[lo:hi], trades.qty[lo:hi]
    bucket = ts // tf_ms
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    ends = np.concatenate((starts[1:], [len(ts)])) - 1
    if limit:
        starts, ends = starts[-limit:], ends[-limit:]  # only the candles asked for become objects
    highs = np.maximum.reduceat(px, starts)
    lows = np.minimum.reduceat(px, starts)
    vols = np.add.reduceat(qty, starts)
    scale = data.scales[sym]
    out = []
    for k in range(len(starts)):
        open_time = int(bucket[starts[k]]) * tf_ms
        out.append(
            Kline(
                symbol,
                timeframe,
                open_time,
                scale.price(int(px[starts[k]])),
                scale.price(int(highs[k])),
                scale.price(int(lows[k])),
                scale.price(int(px[ends[k]])),
                scale.qty(int(vols[k])),
                closed=now_ms >= open_time + tf_ms,
            )
        )
    return out


def ticker(data: MarketData | None, state: MarketState, upto: int, now_ms: int) -> Ticker:
    """24h statistics of one market from the trades replayed so far."""
    scale = state.scale
    bid = scale.price(state.bid) if state.has_book else None
    ask = scale.price(state.ask) if state.has_book else None
    last = state.mark() or ZERO
    volume = change = ZERO
    if data is not None and upto and state.inst.symbol in data.symbols:
        trades = state.trades(data, data.symbols.index(state.inst.symbol))
        hi = trades.before(upto)
        lo = trades.since(now_ms - DAY_MS, hi)
        if lo < hi:
            volume = scale.tick_size * scale.lot_size * trades.notional(lo, hi)
            first = int(trades.px[lo])
            change = (Decimal(int(trades.px[hi - 1]) - first) * 100 / first).quantize(Decimal("0.01"))
    return Ticker(state.inst.symbol, last, bid, ask, volume, change, now_ms)
