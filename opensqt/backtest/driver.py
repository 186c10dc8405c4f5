"""`run_backtest`: the grid's own logic, slots and risk code (`GridCore`) on the simulated venue, driven
synchronously by the market data's clock.

Semantics (the same in both paths): rows are processed in order; a row that prints a trade of the symbol
sets the price and the grid decides; a row that fills one of our orders makes it decide too (once per row).
Housekeeping ticks every `housekeeping_ms` (after the rows at or before that time) run the breaker cooldown,
feed closed candles to the risk monitor, run order cleanup and decide. `fast=False` steps every row and every
tick; `fast=True` lets the venue skip rows that cannot fill, skips trades inside the quiet band (`band.py`)
and ticks that provably change nothing, and must give the same orders and fills (tests prove it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from loguru import logger

from opensqt.backtest.band import quiet_band
from opensqt.backtest.klines import KlineSeries, aggregate
from opensqt.backtest.result import BacktestResult, RunRecord
from opensqt.data.files import load_market_file
from opensqt.data.market_data import DataError, EventKind, MarketData
from opensqt.engines.grid_config import GridEngineConfig, engine_config_from_settings, tick_problem
from opensqt.engines.grid_core import GridCore, slot_orders
from opensqt.exchanges.errors import VenueError
from opensqt.exchanges.sim import DEFAULT_INSTRUMENTS, SimVenue
from opensqt.exchanges.sim.orders import Liquidated
from opensqt.model import (
    CancelOrder,
    Command,
    FundingPaid,
    Instrument,
    OrderUpdated,
    PlaceOrder,
    PositionUpdated,
)
from opensqt.risk import RiskMonitor, decide_cleanup

if TYPE_CHECKING:
    from opensqt.config import Settings

BIG = 1 << 62
TRADE = int(EventKind.TRADE)
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class BacktestConfig:
    """A grid engine config plus what only a backtest needs. `instrument` None: the simulated venue's
    market for the symbol, with the data's tick and lot."""

    engine: GridEngineConfig
    instrument: Instrument | None = None
    initial_balance: Decimal = Decimal(10_000)
    housekeeping_ms: int = 1_000
    equity_every_ms: int = 0  # 0: about 2,000 samples over the data, on whole seconds

    def __post_init__(self) -> None:
        if self.housekeeping_ms < 1 or self.equity_every_ms < 0:
            raise ValueError("backtest: housekeeping_ms must be >= 1 and equity_every_ms >= 0")
        if not self.initial_balance > 0:
            raise ValueError(f"backtest: initial_balance must be > 0, got {self.initial_balance}")


def as_backtest_config(config: BacktestConfig | GridEngineConfig | Settings) -> BacktestConfig:
    if isinstance(config, BacktestConfig):
        return config
    if isinstance(config, GridEngineConfig):
        return BacktestConfig(config)
    engine = engine_config_from_settings(config)
    balance = Decimal(10_000)
    sim = config.exchanges.get("sim")
    if sim is not None:
        balance = sim.sim.initial_balance
    return BacktestConfig(engine, initial_balance=balance)


def _instrument_for(config: BacktestConfig) -> Instrument:
    symbol = config.engine.symbol
    inst = config.instrument or DEFAULT_INSTRUMENTS.get(symbol)
    if inst is None:
        raise DataError(
            f"symbol: {symbol!r} is not a market of the simulated venue; pass BacktestConfig.instrument",
            field="symbol",
        )
    return inst


def resolve_instrument(config: BacktestConfig, data: MarketData) -> tuple[Instrument, list[str]]:
    """The instrument traded, checked against the data; returns it and warnings."""
    symbol = config.engine.symbol
    if symbol not in data.symbols:
        raise DataError(
            f"symbol: {symbol!r} (trading.symbol) is not in the data {data.source or ''} "
            f"(it has {', '.join(data.symbols) or 'no symbols'})",
            field="symbol",
        )
    inst = _instrument_for(config)
    scale = data.scale_of(symbol)
    warnings = []
    if (inst.tick_size, inst.lot_size) != (scale.tick_size, scale.lot_size):
        warnings.append(
            f"instrument {symbol}: using the data's tick {scale.tick_size} and lot {scale.lot_size} "
            f"instead of {inst.tick_size} and {inst.lot_size}"
        )
        inst = dataclasses.replace(
            inst,
            tick_size=scale.tick_size,
            lot_size=scale.lot_size,
            min_qty=min(inst.min_qty, scale.lot_size),
        )
    return inst, warnings


def data_warnings(data: MarketData, symbol: str, stale_ms: int) -> list[str]:
    """Documented warnings about the data: skipped lines and gaps in the symbol's trades."""
    out = []
    if data.errors:
        out.append(f"{len(data.errors)} input line(s) skipped as malformed; first: {data.errors[0]}")
    s = data.symbols.index(symbol)
    ts = data.ts[(data.kind == TRADE) & (data.sym == s)]
    if len(ts) > 1:
        gaps = np.diff(ts)
        long = gaps > stale_ms
        count = int(np.count_nonzero(long))
        if count:
            out.append(
                f"{count} gap(s) longer than {stale_ms / 1000:g} s without a trade of {symbol} "
                f"(longest {int(gaps.max()) / 1000:g} s): the grid sees a stale price there and places "
                "nothing"
            )
    return out


def run_backtest(
    config: BacktestConfig | GridEngineConfig | Settings,
    data: MarketData | str | Path,
    *,
    fast: bool = True,
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay `data` through the grid on the simulated venue; see the module docstring for the semantics.
    `data` may be a file: it is loaded with the loader its name and contents call for, for the configured
    instrument (`BacktestConfig.instrument`, else the simulated venue's market of the symbol)."""
    cfg = as_backtest_config(config)
    if isinstance(data, (str, Path)):
        data = load_market_file(data, _instrument_for(cfg))
    if not len(data):
        raise DataError("market data: no rows to replay", field="rows")
    inst, warnings = resolve_instrument(cfg, data)
    engine = cfg.engine
    problem = tick_problem(engine, inst)
    if problem is not None:
        raise ValueError(f"backtest: {problem}")
    warnings += data_warnings(data, engine.symbol, int(engine.price_stale_seconds * 1000))
    s = data.symbols.index(engine.symbol)
    if not np.any((data.kind == TRADE) & (data.sym == s)):
        raise DataError(f"market data: no trades of {engine.symbol}: the grid has no price", field="kind")
    risk = None
    risk_series: list[KlineSeries] = []
    if engine.risk_monitor is not None:
        rc = engine.risk_monitor
        watched = tuple(sym for sym in rc.monitor_symbols if sym in data.symbols)
        missing = [sym for sym in rc.monitor_symbols if sym not in data.symbols]
        if not watched:
            watched = (engine.symbol,)
        if missing:
            warnings.append(
                f"risk monitor: {len(missing)} monitored symbol(s) not in the data ({', '.join(missing)}); "
                f"watching {', '.join(watched)}"
            )
        rc = dataclasses.replace(
            rc, monitor_symbols=watched, recovery_threshold=min(rc.recovery_threshold, len(watched))
        )
        risk = RiskMonitor(rc)
        risk_series = [aggregate(data, sym, rc.timeframe, cfg.housekeeping_ms) for sym in watched]
    for w in warnings:
        logger.warning("backtest: {}", w)
    run = _Run(cfg, data, inst, GridCore(engine, inst, risk), risk_series, fast, progress)
    run.run()
    return BacktestResult.build(run.record, cfg, inst, data, warnings, fast)


class _Run:
    def __init__(
        self,
        cfg: BacktestConfig,
        data: MarketData,
        inst: Instrument,
        core: GridCore,
        risk_series: list[KlineSeries],
        fast: bool,
        progress: Progress | None,
    ) -> None:
        self.cfg = cfg
        self.data = data
        self.inst = inst
        self.symbol = inst.symbol
        self.core = core
        self.fast = fast
        self.progress = progress
        engine = cfg.engine
        self.venue = SimVenue(
            [inst],
            balances={inst.settle: cfg.initial_balance},
            default_leverage=engine.leverage,
            emit_balances=False,  # the run reads positions and fills, never balance events
        )
        self.venue.attach(data)
        s = data.symbols.index(self.symbol)
        self.sym = s
        trades = np.flatnonzero((data.kind == TRADE) & (data.sym == s))
        self.tr_rows = trades
        self.tr_px = data.px[trades]
        self.tr_ts = data.ts[trades]
        self.is_trade = np.zeros(len(data), np.bool_)
        self.is_trade[trades] = True
        self.tick_size = inst.tick_size
        self.risk_series = risk_series
        self.risk_next = [0] * len(risk_series)
        self.dyn_series: KlineSeries | None = None
        self.dyn_next = 0
        if engine.dynamic is not None:
            self.dyn_series = aggregate(data, self.symbol, engine.dynamic.timeframe, cfg.housekeeping_ms)
        self.cleanup_ms = int(engine.cleanup_interval * 1000) if engine.cleanup is not None else 0
        self.record = RunRecord(int(data.ts[0]), int(data.ts[-1]), len(data))
        self._prices: dict[int, Decimal] = {}
        self.price_ticks = 0
        # fast-path state: trades priced within [band_lo, band_hi] before `hot_ms` cannot change the decision
        self.hot = True
        self.band_lo = 0
        self.band_hi = -1
        self.hot_ms = BIG
        self.settled_inputs: tuple[object, ...] = ()

    # --- the loop ------------------------------------------------------------------------------------

    def run(self) -> None:
        data, venue = self.data, self.venue
        ts = data.ts
        n = len(data)
        last_ts = int(ts[-1])
        hk = self.cfg.housekeeping_ms
        self.next_tick = (int(ts[0]) // hk + 1) * hk
        step = max(1, n // 200)
        reported = 0
        while venue.cursor < n:
            cur = venue.cursor
            t = self._next_tick_due()
            if t > last_ts:
                t = BIG  # the replay ends with its last row: no housekeeping after the data
            k_tick = n if t >= BIG else int(ts.searchsorted(t, side="right"))
            k = self._next_decision_row(cur, k_tick) if self.fast else cur
            stop = min(k, k_tick)
            if stop > cur:
                events = venue.advance(max_rows=stop - cur, fast=self.fast)
                if self.fast:
                    # ticks before the rows just replayed were not due: nothing to catch up on
                    self.next_tick = max(self.next_tick, -(-venue.now_ms // hk) * hk)
                if events:
                    self._row(venue.cursor - 1, events)
                    continue
            if k < k_tick:
                self._row(k, venue.step())
                if self.fast:
                    self.next_tick = max(self.next_tick, -(-venue.now_ms // hk) * hk)
            elif t >= BIG:
                continue  # the data is played out: no housekeeping tick after it
            else:
                venue.advance(until_ms=t, max_rows=0)
                self._tick(t)
            if self.progress is not None and venue.cursor - reported >= step:
                reported = venue.cursor
                self.progress(reported, n)
        if self.progress is not None:
            self.progress(n, n)
        self._set_price(n - 1)  # the fast path skipped trades: the final mark is the last trade
        self.record.finish(self.venue, self.core)

    def _next_tick_due(self) -> int:
        if not self.fast or self.hot:
            return self.next_tick
        due = BIG
        hk = self.cfg.housekeeping_ms
        nt = self.next_tick
        for series, i in zip(self.risk_series, self.risk_next, strict=True):
            if i < len(series):
                due = min(due, max(nt, int(series.feed_ms[i])))
        if self.cleanup_ms and self._cleanup_may_act():
            due = min(due, -(-nt // self.cleanup_ms) * self.cleanup_ms)
        if self.hot_ms < BIG:
            due = min(due, max(nt, -(-self.hot_ms // hk) * hk))
        return due

    def _cleanup_may_act(self) -> bool:
        c = self.cfg.engine.cleanup
        assert c is not None
        return c.max_age_ms is not None or self.core.slots.open_order_count > c.threshold

    def _next_decision_row(self, cur: int, end: int) -> int:
        """The first trade row in [cur, end) the grid must decide on, else `end`."""
        rows = self.tr_rows
        a = int(rows.searchsorted(cur))
        b = int(rows.searchsorted(end))
        if a >= b:
            return end
        if self.hot:
            return int(rows[a])
        if self.hot_ms < BIG:
            b = min(b, int(self.tr_ts.searchsorted(self.hot_ms)))
            if a >= b:
                return int(rows[a])
        px, lo, hi = self.tr_px, self.band_lo, self.band_hi
        width = 512
        while a < b:
            c = min(b, a + width)
            seg = px[a:c]
            mask = (seg < lo) | (seg > hi)
            j = int(mask.argmax())
            if mask[j]:
                return int(rows[a + j])
            a = c
            width = min(width * 4, 1 << 16)
        return int(rows[b]) if b < len(rows) and rows[b] < end else end

    # --- rows, ticks, decisions ------------------------------------------------------------------------

    def _set_price(self, row: int) -> None:
        j = int(self.tr_rows.searchsorted(row, side="right")) - 1
        if j < 0:
            return
        ticks = int(self.tr_px[j])
        price = self._prices.get(ticks)
        if price is None:
            price = self._prices[ticks] = self.tick_size * ticks
        self.price_ticks = ticks
        self.core.price = price
        self.core.price_ts = int(self.tr_ts[j])

    def _row(self, i: int, events: list[Any]) -> None:
        now = int(self.data.ts[i])
        filled = self._apply(events, now) if events else False
        if self.is_trade[i] or filled:
            self._set_price(i)
            self._feed_dynamic(now, inclusive=False)
            self._decide(now)

    def _tick(self, t: int) -> None:
        core = self.core
        self.next_tick = t + self.cfg.housekeeping_ms
        if self.venue.cursor:
            self._set_price(self.venue.cursor - 1)  # skipped trades moved the price: decide on the latest
        core.tick(t)
        for k, series in enumerate(self.risk_series):
            i = self.risk_next[k]
            while i < len(series) and series.feed_ms[i] <= t:
                event = core.on_risk_kline(series.kline(i), t)
                if event is not None:
                    self.record.risk_events.append((t, type(event).__name__, str(event)))
                i += 1
            self.risk_next[k] = i
        self._feed_dynamic(t, inclusive=True)
        if self.cleanup_ms and t % self.cleanup_ms == 0 and core.price is not None:
            cleanup = self.cfg.engine.cleanup
            assert cleanup is not None
            orders = slot_orders(core)
            cancels = decide_cleanup(orders, core.price, t, cleanup)
            if cancels:
                places, chosen = core.dispatch(cancels, t)
                self._execute(places, chosen, t)
        if self._still_quiet(t):
            return  # the decision was shown quiet for these inputs, and none of them changed
        self._decide(t)

    def _inputs(self) -> tuple[object, ...]:
        """What the decision reads besides the price and the time: the slot book (its version), the interval
        and the flags."""
        core = self.core
        return core.slots.version, core.interval, core.risk_triggered, core.breaker.is_open, core.paused

    def _still_quiet(self, t: int) -> bool:
        """Fast path: a tick's decision changes nothing when the last settle found the grid quiet (not hot),
        no timed change is due (`hot_ms`), the price is still inside the quiet band, and no input changed
        (a risk kline that moved no state, a breaker tick that fired nothing, cleanup that cancelled
        nothing). Staleness alone can only withhold commands, which a quiet decision has none to act on."""
        return (
            self.fast
            and not self.hot
            and t < self.hot_ms
            and self.band_lo <= self.price_ticks <= self.band_hi
            and self._inputs() == self.settled_inputs
        )

    def _feed_dynamic(self, now: int, inclusive: bool) -> None:
        series = self.dyn_series
        if series is None:
            return
        i = self.dyn_next
        feed = series.feed_ms
        while i < len(series) and (feed[i] <= now if inclusive else feed[i] < now):
            self.core.on_interval_kline(series.kline(i))
            i += 1
        self.dyn_next = i

    def _decide(self, now: int) -> None:
        core = self.core
        probe: list[Command] | None = None
        for _ in range(16):
            commands = core.decide(now)
            if not commands:
                probe = commands
                break
            places, cancels = core.dispatch(commands, now)
            if not places and not cancels:
                probe = commands
                break
            if not self._execute(places, cancels, now):
                break
        core.prune()
        if self.fast:
            self._settle(now, probe)

    def _settle(self, now: int, probe: list[Command] | None) -> None:
        """Work out how far the decision stays what it is now (the fast path's skip rule). `probe`: the
        decision for the current state if already known (decide is pure: asking again gives the same)."""
        core = self.core
        if probe is None:
            probe = core.decide(now)
        blocked = core.blocked_until(probe, now) if probe else -1
        if blocked is None or core.is_stale(now) or core.price is None:
            self.hot = True
            return
        self.hot = False
        self.settled_inputs = self._inputs()
        timed = core.next_timed_change(now)
        times = [x for x in (blocked, timed) if x is not None and x >= 0]
        self.hot_ms = min(times) if times else BIG
        self.band_lo, self.band_hi = quiet_band(core, self.price_ticks)

    def _execute(self, places: list[PlaceOrder], cancels: list[CancelOrder], now: int) -> bool:
        """Venue calls in the engine's order (placements, then cancels). True: decide again (fills)."""
        venue, core, rec = self.venue, self.core, self.record
        again = False
        for cmd in places:
            try:
                order = venue.place_order(cmd)
            except VenueError as error:
                rec.order(now, cmd, f"rejected: {type(error).__name__}")
                again = core.on_rejected(cmd, error, now) or again
                continue
            rec.order(now, cmd, "accepted")
            core.on_ack(cmd, order, now)
            again = self._apply(venue.drain(), now) or again
        for cancel in cancels:
            try:
                order = venue.cancel_order(self.symbol, cancel.client_order_id)
            except VenueError as error:
                rec.cancel(now, cancel, f"failed: {type(error).__name__}")
                try:
                    current = venue.fetch_order(self.symbol, cancel.client_order_id)
                except VenueError:
                    current = None
                core.on_cancel_failed(cancel, current, now)
                continue
            rec.cancel(now, cancel, "cancelled")
            core.on_cancel_done(order, now)
            again = self._apply(venue.drain(), now) or again
        return again

    def _apply(self, events: list[Any], now: int) -> bool:
        core, rec = self.core, self.record
        filled = False
        for event in events:
            if isinstance(event, OrderUpdated):
                core.on_update(event, now)
                if event.fill is not None:
                    filled = True
                    slot = core.slots.slot_price_of(event.fill.client_order_id)
                    rec.fill(event.fill, slot)
            elif isinstance(event, PositionUpdated):
                rec.position(event.position)
            elif isinstance(event, FundingPaid):
                rec.funding.append((event.ts_event, event.amount, event.rate))
            elif isinstance(event, Liquidated):
                rec.liquidations.append((event.ts_event, str(event)))
        return filled
