"""`BacktestResult`: what a backtest recorded (orders, fills, positions, funding, risk events) as pandas
DataFrames, an equity curve, and `summary()` with exact Decimal money figures and the usual statistics.

Money figures (PnL, fees, funding, turnover) are summed as Decimal from the venue's fills and account; the
equity curve is sampled in float (for drawdown, Sharpe and plots only) and its figures rounded to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from opensqt.data.market_data import EventKind, MarketData
from opensqt.model import Fill, Instrument, LiquiditySide, PlaceOrder, Position, Side

if TYPE_CHECKING:
    import pandas as pd

    from opensqt.backtest.driver import BacktestConfig
    from opensqt.engines.grid_core import GridCore
    from opensqt.exchanges.sim import SimVenue

ZERO = Decimal(0)
CENT = Decimal("0.01")
Q8 = Decimal("0.00000001")
YEAR_MS = 365 * 86_400_000


@dataclass(slots=True)
class RunRecord:
    """Plain tuples appended while running (cheap); the DataFrames are built from them on demand."""

    start_ms: int
    end_ms: int
    rows: int
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    fills: list[tuple[Any, ...]] = field(default_factory=list)
    positions: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)
    funding: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)
    liquidations: list[tuple[int, str]] = field(default_factory=list)
    risk_events: list[tuple[int, str, str]] = field(default_factory=list)
    notices: list[tuple[int, str, str]] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    final_wallet: Decimal = ZERO
    final_size: Decimal = ZERO
    final_entry: Decimal = ZERO
    final_price: Decimal = ZERO
    slot_realized: Decimal = ZERO
    slot_fees: Decimal = ZERO
    round_trips: int = 0
    risk_triggered_at_end: bool = False

    def order(self, ts: int, cmd: PlaceOrder, result: str) -> None:
        self.orders.append(
            (
                ts,
                "place",
                cmd.client_order_id,
                cmd.side.value,
                cmd.price,
                cmd.quantity,
                cmd.time_in_force.value,
                cmd.reduce_only,
                result,
            )
        )

    def cancel(self, ts: int, cmd: Any, result: str) -> None:
        self.orders.append((ts, "cancel", cmd.client_order_id, None, None, None, None, None, result))

    def fill(self, f: Fill, slot: Decimal | None) -> None:
        self.fills.append(
            (
                f.ts_event,
                f.trade_id,
                f.client_order_id,
                f.side.value,
                f.price,
                f.quantity,
                f.fee,
                f.liquidity.value,
                f.realized_pnl if f.realized_pnl is not None else ZERO,
                slot,
            )
        )

    def position(self, p: Position) -> None:
        self.positions.append((p.ts_event, p.size, p.entry_price))

    def finish(self, venue: SimVenue, core: GridCore) -> None:
        symbol = core.instrument.symbol
        settle = core.instrument.settle
        self.final_wallet = venue.account.wallet.get(settle, ZERO)
        pos = venue.account.position(symbol)
        self.final_size, self.final_entry = pos.size, pos.entry
        self.final_price = core.price or ZERO
        self.slot_realized = core.slots.realized_pnl
        self.slot_fees = core.slots.fees
        self.round_trips = core.slots.round_trips
        self.stats = dict(core.stats)
        self.notices = list(core.notices)
        self.risk_triggered_at_end = core.risk_triggered


@dataclass(frozen=True, slots=True)
class Summary:
    """The headline figures of one backtest. Money in the settle asset, exact Decimal (drawdown rounded to
    the cent); `sharpe` annualised from the equity curve's period returns; fractions as Decimal 0..1."""

    start_ms: int
    end_ms: int
    rows: int
    fills: int
    maker_fills: int
    orders_placed: int
    orders_rejected: int
    cancels: int
    round_trips: int
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    funding: Decimal
    net_pnl: Decimal
    initial_equity: Decimal
    final_equity: Decimal
    return_pct: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    sharpe: float | None
    turnover: Decimal
    turnover_ratio: Decimal
    time_in_market: Decimal
    final_position: Decimal
    risk_triggers: int
    risk_recoveries: int
    breaker_events: int
    liquidations: int
    warnings: int

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def table(self) -> str:
        """A two-column text table for the terminal."""
        return summary_table(self.table_rows())

    def table_rows(self) -> list[tuple[str, str]]:
        return summary_rows(self.as_dict())


def summary_rows(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(name, text) per figure of a summary: times (`*_ms`) as ISO UTC, floats to 3 places, None as n/a."""
    rows = []
    for name, value in values.items():
        if name.endswith("_ms"):
            text = _iso(value)
        elif isinstance(value, float):
            text = f"{value:.3f}"
        elif value is None:
            text = "n/a"
        else:
            text = str(value)
        rows.append((name, text))
    return rows


def summary_table(rows: list[tuple[str, str]]) -> str:
    width = max(len(n) for n, _ in rows)
    return "\n".join(f"{n.ljust(width)}  {t}" for n, t in rows)


def _iso(ms: int) -> str:
    import datetime as _dt  # only for display

    return _dt.datetime.fromtimestamp(ms / 1000, _dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


class BacktestResult:
    """Orders, fills, positions and equity of one run; `summary()`, `plot()`. See docs/BACKTEST.md."""

    def __init__(
        self,
        record: RunRecord,
        config: BacktestConfig,
        instrument: Instrument,
        trade_ts: np.ndarray,
        trade_px: np.ndarray,
        warnings: list[str],
        fast: bool,
    ) -> None:
        self.record = record
        self.config = config
        self.instrument = instrument
        self.warnings = tuple(warnings)
        self.fast = fast
        self._trade_ts = trade_ts
        self._trade_px = trade_px
        self._summary: Summary | None = None

    @classmethod
    def build(
        cls,
        record: RunRecord,
        config: BacktestConfig,
        instrument: Instrument,
        data: MarketData,
        warnings: list[str],
        fast: bool,
    ) -> BacktestResult:
        s = data.symbols.index(instrument.symbol)
        mask = (data.kind == EventKind.TRADE) & (data.sym == s)
        return cls(record, config, instrument, data.ts[mask], data.px[mask], warnings, fast)

    # --- tables ----------------------------------------------------------------------------------------

    @property
    def fills(self) -> pd.DataFrame:
        import pandas as pd

        cols = [
            "ts",
            "trade_id",
            "client_order_id",
            "side",
            "price",
            "quantity",
            "fee",
            "liquidity",
            "realized_pnl",
            "slot_price",
        ]
        frame = pd.DataFrame(self.record.fills, columns=cols)
        frame.insert(0, "time", pd.to_datetime(frame["ts"], unit="ms", utc=True))
        return frame

    @property
    def orders(self) -> pd.DataFrame:
        import pandas as pd

        cols = [
            "ts",
            "action",
            "client_order_id",
            "side",
            "price",
            "quantity",
            "time_in_force",
            "reduce_only",
            "result",
        ]
        frame = pd.DataFrame(self.record.orders, columns=cols)
        frame.insert(0, "time", pd.to_datetime(frame["ts"], unit="ms", utc=True))
        return frame

    @property
    def positions(self) -> pd.DataFrame:
        import pandas as pd

        frame = pd.DataFrame(self.record.positions, columns=["ts", "size", "entry_price"])
        frame.insert(0, "time", pd.to_datetime(frame["ts"], unit="ms", utc=True))
        return frame

    @property
    def equity(self) -> pd.DataFrame:
        """Equity sampled every `equity_every_ms` (float, for statistics and plots): wallet + unrealized."""
        import pandas as pd

        ts, price, size, eq = self.equity_arrays()
        return pd.DataFrame(
            {
                "time": pd.to_datetime(ts, unit="ms", utc=True),
                "ts": ts,
                "price": price,
                "position": size,
                "equity": eq,
            }
        )

    def equity_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        rec = self.record
        every = self.equity_every_ms
        start = rec.start_ms - rec.start_ms % every
        ts = np.arange(start, rec.end_ms + every, every, dtype=np.int64)
        ts[-1] = min(ts[-1], rec.end_ms) if len(ts) > 1 else rec.end_ms
        tick = float(self.instrument.tick_size)
        j = np.searchsorted(self._trade_ts, ts, side="right") - 1
        price = np.where(j >= 0, self._trade_px[np.maximum(j, 0)] * tick, np.nan)
        initial = float(self.config.initial_balance)
        cs = float(self.instrument.contract_size)
        if rec.fills:
            f_ts = np.array([f[0] for f in rec.fills], np.int64)
            flow = np.cumsum([float(f[8] - f[6]) for f in rec.fills])
            k = np.searchsorted(f_ts, ts, side="right") - 1
            wallet = initial + np.where(k >= 0, flow[np.maximum(k, 0)], 0.0)
        else:
            wallet = np.full(len(ts), initial)
        if rec.funding:
            fu_ts = np.array([f[0] for f in rec.funding], np.int64)
            fu = np.cumsum([float(f[1]) for f in rec.funding])
            k = np.searchsorted(fu_ts, ts, side="right") - 1
            wallet = wallet + np.where(k >= 0, fu[np.maximum(k, 0)], 0.0)
        if rec.positions:
            p_ts = np.array([p[0] for p in rec.positions], np.int64)
            sizes = np.array([float(p[1]) for p in rec.positions])
            entries = np.array([float(p[2]) for p in rec.positions])
            k = np.searchsorted(p_ts, ts, side="right") - 1
            size = np.where(k >= 0, sizes[np.maximum(k, 0)], 0.0)
            entry = np.where(k >= 0, entries[np.maximum(k, 0)], 0.0)
        else:
            size = np.zeros(len(ts))
            entry = np.zeros(len(ts))
        upnl = np.where(size != 0, size * cs * (np.nan_to_num(price) - entry), 0.0)
        return ts, price, size, wallet + upnl

    @property
    def equity_every_ms(self) -> int:
        every = self.config.equity_every_ms
        if every:
            return every
        span = self.record.end_ms - self.record.start_ms
        return max(1_000, (span // 2_000) // 1_000 * 1_000)

    # --- summary ---------------------------------------------------------------------------------------

    def summary(self) -> Summary:
        if self._summary is None:
            self._summary = self._compute_summary()
        return self._summary

    def _compute_summary(self) -> Summary:
        rec = self.record
        inst = self.instrument
        initial = self.config.initial_balance
        fees = sum((f[6] for f in rec.fills), ZERO)
        realized = sum((f[8] for f in rec.fills), ZERO)
        funding = sum((f[1] for f in rec.funding), ZERO)
        unrealized = (
            (rec.final_size * inst.contract_size * (rec.final_price - rec.final_entry)).quantize(Q8)
            if rec.final_size
            else ZERO
        )
        final_equity = rec.final_wallet + unrealized
        net = realized - fees + funding + unrealized
        turnover = sum((f[4] * f[5] * inst.contract_size for f in rec.fills), ZERO)
        _, _, _, eq = self.equity_arrays()
        eq = np.append(eq, float(final_equity))
        peak = np.maximum.accumulate(eq)
        dd = peak - eq
        worst = int(dd.argmax()) if len(dd) else 0
        max_dd = Decimal(repr(float(dd[worst]))).quantize(CENT) if len(dd) else ZERO
        max_dd_pct = (
            Decimal(repr(float(dd[worst] / peak[worst]))).quantize(Decimal("0.0001"))
            if len(dd) and peak[worst] > 0
            else ZERO
        )
        sharpe = _sharpe(eq, self.equity_every_ms)
        placed = sum(1 for o in rec.orders if o[1] == "place")
        rejected = sum(1 for o in rec.orders if o[1] == "place" and o[8] != "accepted")
        cancels = sum(1 for o in rec.orders if o[1] == "cancel" and o[8] == "cancelled")
        duration = max(1, rec.end_ms - rec.start_ms)
        return Summary(
            start_ms=rec.start_ms,
            end_ms=rec.end_ms,
            rows=rec.rows,
            fills=len(rec.fills),
            maker_fills=sum(1 for f in rec.fills if f[7] == LiquiditySide.MAKER.value),
            orders_placed=placed,
            orders_rejected=rejected,
            cancels=cancels,
            round_trips=rec.round_trips,
            realized_pnl=realized,
            unrealized_pnl=unrealized,
            fees=fees,
            funding=funding,
            net_pnl=net,
            initial_equity=initial,
            final_equity=final_equity,
            return_pct=(net / initial * 100).quantize(Decimal("0.0001")),
            max_drawdown=max_dd,
            max_drawdown_pct=max_dd_pct,
            sharpe=sharpe,
            turnover=turnover,
            turnover_ratio=(turnover / initial).quantize(Decimal("0.0001")),
            time_in_market=(Decimal(_time_in_market(rec)) / duration).quantize(Decimal("0.0001")),
            final_position=rec.final_size,
            risk_triggers=sum(1 for e in rec.risk_events if e[1] == "RiskTriggered"),
            risk_recoveries=sum(1 for e in rec.risk_events if e[1] == "RiskRecovered"),
            breaker_events=rec.stats.get("breaker_events", 0),
            liquidations=len(rec.liquidations),
            warnings=len(self.warnings),
        )

    def plot(self, path: str | None = None, *, html: str | None = None) -> Any:
        """Price with grid fills, equity and position: a PNG (matplotlib, Agg) at `path` and/or a
        self-contained interactive HTML page at `html`. Returns the matplotlib figure."""
        from opensqt.backtest.plot import plot_html, plot_png

        fig = plot_png(self, path)
        if html is not None:
            plot_html(self, html)
        return fig

    def fill_side_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Fill times, prices (float) and sides (+1 buy, -1 sell), for plots."""
        fills = self.record.fills
        ts = np.array([f[0] for f in fills], np.int64)
        px = np.array([float(f[4]) for f in fills])
        side = np.array([1 if f[3] == Side.BUY.value else -1 for f in fills], np.int8)
        return ts, px, side


def _time_in_market(rec: RunRecord) -> int:
    held = 0
    if not rec.positions:
        return 0
    for (t, size, _), nxt in zip(rec.positions, [*rec.positions[1:], None], strict=True):
        end = rec.end_ms if nxt is None else nxt[0]
        if size:
            held += max(0, end - t)
    return held


def _sharpe(equity: np.ndarray, every_ms: int) -> float | None:
    if len(equity) < 3:
        return None
    base = equity[:-1]
    if np.any(base <= 0):
        return None
    returns = np.diff(equity) / base
    sd = float(returns.std(ddof=1))
    if sd == 0 or not math.isfinite(sd):
        return None
    return float(returns.mean()) / sd * math.sqrt(YEAR_MS / every_ms)
