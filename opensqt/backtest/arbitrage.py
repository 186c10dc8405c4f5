"""`run_arbitrage_backtest`: the funding-rate `ArbitrageEngine` itself (entries, exits, switching, emergency
rules, risk gate, breaker) replayed on simulated venues built from recorded or synthetic `MarketData`, one
table per venue, with a simulated clock: no sleeps, no DBOS (`DirectWorkflows`), no store.

Each round at `now` (every `step_ms` of market time, from the first row of any venue to the last): every
venue replays its rows up to `now`; the funding it pays (`FundingPaid`) is booked by `engine.on_funding`;
then `engine.step(now)` decides and its entry/exit workflows run to completion (`drain`) before the next
round. Results are exact Decimal money (`ArbitrageBacktestResult.summary()`) and pandas tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

import anyio
import numpy as np

from opensqt.backtest.result import CENT, ZERO, RunRecord, _time_in_market, summary_rows, summary_table
from opensqt.data.market_data import DataError, EventKind, MarketData
from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig, Pair
from opensqt.exchanges.sim import SimExchange, SimVenue
from opensqt.exchanges.sim.orders import Liquidated, VenueEvent
from opensqt.model import FundingPaid, Instrument, OrderUpdated
from opensqt.risk import CircuitBreaker, EmergencyExitPolicy, RiskGate
from opensqt.trading.execution.legs import (
    DirectWorkflows,
    EntryPlan,
    EntryResult,
    ExitPlan,
    ExitResult,
    LegExecution,
    VenueCalls,
)
from opensqt.trading.logic.funding import Shape
from opensqt.trading.state.legs import ArbPosition, LegRole, Phase

if TYPE_CHECKING:
    import pandas as pd

FUNDING = int(EventKind.FUNDING)
TRADE = int(EventKind.TRADE)
PCT = Decimal("0.0001")


async def _no_sleep(_: float) -> None:
    """The workflows' retry back-off: market time does not move while an order step retries."""
    return None


# --- input checks --------------------------------------------------------------------------------------


def check_inputs(
    config: ArbitrageEngineConfig, markets: Mapping[str, MarketData], pairs: Sequence[Pair]
) -> list[str]:
    """Refuse what cannot run with one `DataError`/`ValueError` naming it; return documented warnings."""
    if not pairs:
        raise ValueError("pairs: expected at least one Pair")
    keys = [p.key for p in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"pairs: duplicate keys in {keys}")
    for venue, data in markets.items():
        if len(data) == 0:
            raise DataError(f"markets[{venue!r}]: the market data has no rows", field="markets")
        back = np.flatnonzero(np.diff(data.ts) < 0)
        if len(back):
            row = int(back[0]) + 1
            raise DataError(
                f"markets[{venue!r}]: timestamps go backwards at row {row} "
                f"({int(data.ts[row - 1])} then {int(data.ts[row])}); sort the data (merge)",
                line=row,
                field="ts",
            )
    for p in pairs:
        _check_shape(config.shape, p)
        for venue, inst in ((p.a_venue, p.a), (p.b_venue, p.b)):
            _check_leg(markets, p.key, venue, inst)
    quotes = {i.quote for p in pairs for i in (p.a, p.b)}
    if len(quotes) != 1:
        raise ValueError(f"pairs: every instrument must be quoted in one asset, got {sorted(quotes)}")
    return _warnings(markets, pairs)


def _check_shape(shape: Shape, p: Pair) -> None:
    if shape is Shape.SPOT_PERP:
        ok = p.a_venue == p.b_venue and not p.a.is_perpetual and p.b.is_perpetual
        want = "a spot (a) and a perp (b) on one venue"
    else:
        ok = p.a_venue != p.b_venue and p.a.is_perpetual and p.b.is_perpetual
        want = "perps (a, b) on two different venues"
    if not ok:
        raise ValueError(
            f"pair {p.key}: shape {shape.value} needs {want}; got {p.a_venue}:{p.a.symbol} "
            f"({p.a.kind.value}) and {p.b_venue}:{p.b.symbol} ({p.b.kind.value})"
        )


def _check_leg(markets: Mapping[str, MarketData], key: str, venue: str, inst: Instrument) -> None:
    data = markets.get(venue)
    if data is None:
        raise DataError(
            f"pair {key}: venue {venue!r} has no market data (markets has {sorted(markets)})",
            field="markets",
        )
    if inst.symbol not in data.symbols:
        raise DataError(
            f"pair {key}: symbol {inst.symbol!r} is not in the market data of venue {venue!r} "
            f"(it has {', '.join(data.symbols)})",
            field="symbol",
        )
    scale = data.scale_of(inst.symbol)
    if (scale.tick_size, scale.lot_size) != (inst.tick_size, inst.lot_size):
        raise DataError(
            f"pair {key}: {venue}:{inst.symbol} tick/lot {inst.tick_size}/{inst.lot_size} differ from "
            f"the data's {scale.tick_size}/{scale.lot_size}",
            field="symbol",
        )


def _warnings(markets: Mapping[str, MarketData], pairs: Sequence[Pair]) -> list[str]:
    out = []
    legs = {(v, i.symbol, i.is_perpetual) for p in pairs for v, i in ((p.a_venue, p.a), (p.b_venue, p.b))}
    no_funding = []
    no_trades = []
    for venue, symbol, perp in sorted(legs):
        data = markets[venue]
        rows = data.sym == data.symbols.index(symbol)
        if perp and not np.any(rows & (data.kind == FUNDING)):
            no_funding.append(f"{venue}:{symbol}")
        if not np.any(rows & (data.kind == TRADE)):
            no_trades.append(f"{venue}:{symbol}")
    if no_funding:
        out.append(
            f"{len(no_funding)} perp market(s) have no funding rows in the data ({', '.join(no_funding)}): "
            "the engine sees no funding rate there, so it enters nothing on them and no funding is paid"
        )
    if no_trades:
        out.append(
            f"{len(no_trades)} market(s) have no trades in the data ({', '.join(no_trades)}): they have "
            "no last price, so nothing is entered on them"
        )
    for venue, data in markets.items():
        if data.errors:
            out.append(
                f"markets[{venue!r}]: {len(data.errors)} input line(s) skipped; first: {data.errors[0]}"
            )
    return out


# --- recording -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class ArbitrageRecord:
    """Plain tuples appended while running; the DataFrames are built from them on demand."""

    start_ms: int
    end_ms: int
    initial_equity: Decimal
    steps: int = 0
    fills: list[tuple[Any, ...]] = field(default_factory=list)
    funding: list[tuple[Any, ...]] = field(default_factory=list)
    equity: list[tuple[int, Decimal]] = field(default_factory=list)
    held: list[tuple[int, Decimal, Decimal]] = field(default_factory=list)  # (ts, positions held, 0)
    liquidations: list[tuple[int, str, str]] = field(default_factory=list)
    #: client order id -> (position id, leg, workflow step), from the workflows' executions.
    orders: dict[str, tuple[str, str, str]] = field(default_factory=dict)


class RecordingExchange(SimExchange):
    """The simulated exchange, keeping every fill its calls produce (market orders fill inside the call)."""

    def __init__(self, venue: SimVenue, record: ArbitrageRecord) -> None:
        super().__init__(venue)
        self.record = record

    def publish(self, events: Sequence[VenueEvent]) -> None:
        for e in events:
            if isinstance(e, OrderUpdated) and e.fill is not None:
                f = e.fill
                self.record.fills.append(
                    (f.ts_event or self.venue.now_ms, self.name, f.symbol, f.client_order_id, f.trade_id,
                     f.side.value, f.price, f.quantity, f.fee, f.liquidity.value)
                )  # fmt: skip
        super().publish(events)


class RecordingRunner:
    """`DirectWorkflows` noting which position, leg and step each client order id belongs to."""

    def __init__(self, inner: DirectWorkflows, record: ArbitrageRecord) -> None:
        self.inner = inner
        self.record = record
        self.engine: ArbitrageEngine | None = None

    async def entry(self, plan: EntryPlan) -> EntryResult:
        result = await self.inner.entry(plan)
        self._note(plan.workflow_id, result.executions)  # an entry's workflow id is its position's id
        return result

    async def exit(self, plan: ExitPlan) -> ExitResult:
        assert self.engine is not None
        pos = self.engine.legs.get(plan.key)
        result = await self.inner.exit(plan)
        self._note(pos.position_id if pos is not None else plan.workflow_id, result.executions)
        return result

    def _note(self, position_id: str, executions: Sequence[LegExecution]) -> None:
        for e in executions:
            self.record.orders[e.client_order_id] = (position_id, e.role.value, e.step)


def _equity(venues: Sequence[SimVenue], quote: str) -> Decimal:
    """Every venue's account in `quote`: wallet, spot holdings at their last price, perps' unrealized PnL."""
    total = ZERO
    for v in venues:
        prices: dict[str, Decimal] = {}
        for m in v.markets.values():
            mark = m.mark()
            if mark is None:
                continue
            prices[m.inst.symbol] = mark
            if not m.inst.is_perpetual:
                prices.setdefault(m.inst.base, mark)
        for asset, amount in v.account.wallet.items():
            total += amount if asset == quote else amount * prices.get(asset, ZERO)
        for symbol, pos in v.account.positions.items():
            if pos.size and symbol in prices:
                total += pos.unrealized(prices[symbol])
    return total


# --- running -------------------------------------------------------------------------------------------


def run_arbitrage_backtest(
    config: ArbitrageEngineConfig,
    markets: Mapping[str, MarketData],
    pairs: Sequence[Pair],
    *,
    step_ms: int = 5 * 60_000,
    initial_balance: Decimal = Decimal(100_000),
    risk_gate: RiskGate | None = None,
    breaker: CircuitBreaker | None = None,
    exit_policy: EmergencyExitPolicy | None = None,
    close_at_end: bool = False,
) -> ArbitrageBacktestResult:
    """Replay `markets` (venue name -> its MarketData) through the ArbitrageEngine trading `pairs`.

    Every venue's account starts with `initial_balance` of the pairs' quote asset. `breaker` defaults to a
    fresh `CircuitBreaker`. `close_at_end`: exit every position still held at the last round (the exits are
    then in the fills and the realized PnL). See docs/BACKTEST.md, "Arbitrage"."""
    if step_ms < 1:
        raise ValueError(f"step_ms: expected >= 1, got {step_ms}")
    if not initial_balance > 0:
        raise ValueError(f"initial_balance: expected > 0, got {initial_balance}")
    warnings = check_inputs(config, markets, pairs)
    quote = pairs[0].a.quote
    instruments: dict[str, dict[str, Instrument]] = {}
    for p in pairs:
        instruments.setdefault(p.a_venue, {})[p.a.symbol] = p.a
        instruments.setdefault(p.b_venue, {})[p.b.symbol] = p.b
    venues = []
    for name, insts in instruments.items():
        v = SimVenue(list(insts.values()), name=name, balances={quote: initial_balance}, emit_balances=False)
        v.attach(markets[name])
        venues.append(v)
    start = min(int(markets[v.name].ts[0]) for v in venues)
    end = max(int(markets[v.name].ts[-1]) for v in venues)
    record = ArbitrageRecord(start, end, initial_balance * len(venues))
    exchanges = {v.name: RecordingExchange(v, record) for v in venues}
    runner = RecordingRunner(DirectWorkflows(VenueCalls(exchanges, sleep=_no_sleep)), record)
    engine = ArbitrageEngine(
        config,
        exchanges,
        pairs,
        runner,
        risk_gate=risk_gate,
        breaker=breaker if breaker is not None else CircuitBreaker(),
        exit_policy=exit_policy,
    )
    runner.engine = engine
    anyio.run(_replay, engine, venues, record, step_ms, quote, close_at_end)
    return ArbitrageBacktestResult(record, engine, warnings)


async def _replay(
    engine: ArbitrageEngine,
    venues: list[SimVenue],
    record: ArbitrageRecord,
    step_ms: int,
    quote: str,
    close_at_end: bool,
) -> None:
    now = record.start_ms
    while True:
        for v in venues:
            for e in v.advance(until_ms=now, stop_on_event=False):
                if isinstance(e, FundingPaid):
                    found = engine.legs.find_leg(v.name, e.symbol)
                    pid, role = (found[0].position_id, found[1].value) if found else (None, None)
                    record.funding.append((e.ts_event, v.name, e.symbol, pid, role, e.rate, e.amount))
                    engine.on_funding(v.name, e)
                elif isinstance(e, Liquidated):
                    record.liquidations.append((e.ts_event, v.name, e.symbol))
        await engine.step(now)
        await engine.drain()
        last = now >= record.end_ms
        if last and close_at_end and engine.legs.active():
            await engine.exit_all(now, "backtest end")
            await engine.drain()
        record.steps += 1
        record.equity.append((now, _equity(venues, quote)))
        held = Decimal(len(engine.legs.active()))
        if not record.held or record.held[-1][1] != held:
            record.held.append((now, held, ZERO))
        if last:
            return
        now = min(now + step_ms, record.end_ms)


# --- the result ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ArbitrageSummary:
    """Headline figures of one arbitrage backtest. Money exact Decimal in the quote asset: `funding` =
    `funding_received` + `funding_paid` (paid negative); `net_pnl` = final_equity - initial_equity =
    funding + realized - fees + unrealized. `entries`: positions opened; `exits`: exits that closed their
    position; `emergency_exits`: exits an emergency rule started. Fractions are Decimal 0..1."""

    start_ms: int
    end_ms: int
    steps: int
    entries: int
    exits: int
    switches: int
    emergency_exits: int
    open_positions: int
    funding_received: Decimal
    funding_paid: Decimal
    funding: Decimal
    fees: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    net_pnl: Decimal
    initial_equity: Decimal
    final_equity: Decimal
    return_pct: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    time_in_market: Decimal
    liquidations: int
    warnings: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def table_rows(self) -> list[tuple[str, str]]:
        return summary_rows(self.as_dict())

    def table(self) -> str:
        """A two-column text table for the terminal (times as ISO UTC)."""
        return summary_table(self.table_rows())


class ArbitrageBacktestResult:
    """Positions, fills, funding and equity of one run as pandas tables, and `summary()`. `engine` is the
    engine as the run left it (its `events`, `legs`, `last_decisions`), for digging further."""

    def __init__(self, record: ArbitrageRecord, engine: ArbitrageEngine, warnings: list[str]) -> None:
        self.record = record
        self.engine = engine
        self.warnings = tuple(warnings)

    def all_positions(self) -> list[ArbPosition]:
        """Closed positions in closing order, then those still held."""
        return [*self.engine.legs.closed(), *self.engine.legs.active()]

    def _openings(self) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
        """(position id, leg) -> (quantity opened, its notional), from the opening side's fills: the leg
        book forgets a closed leg's entry price."""
        out: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        for f in self.record.fills:
            owner = self.record.orders.get(f[3])
            if owner is None or f[5] != LegRole(owner[1]).opening_side.value:
                continue
            qty, notional = out.get((owner[0], owner[1]), (ZERO, ZERO))
            out[(owner[0], owner[1])] = (qty + f[7], notional + f[6] * f[7])
        return out

    @property
    def positions(self) -> pd.DataFrame:
        """One row per position: its legs, opened/closed time (NaT while held), size opened, average entry
        price per leg, funding and fees per leg, realized PnL and net (funding + realized - fees)."""
        import pandas as pd

        opened = self._openings()
        rows = []
        for p in self.all_positions():
            size, entry = {}, {}
            for role in ("long", "short"):
                qty, notional = opened.get((p.position_id, role), (ZERO, ZERO))
                size[role], entry[role] = qty, (notional / qty if qty else None)
            rows.append(
                (p.position_id, p.key, f"{p.long.venue}:{p.long.symbol}", f"{p.short.venue}:{p.short.symbol}",
                 p.phase.value, p.opened_at, p.updated_at if p.phase is Phase.CLOSED else None,
                 size["long"], size["short"], entry["long"], entry["short"], p.long.funding, p.short.funding,
                 p.funding, p.long.fees, p.short.fees, p.fees, p.realized_pnl, p.net_pnl)
            )  # fmt: skip
        cols = ["position_id", "symbol", "long", "short", "phase", "opened_ts", "closed_ts", "long_size",
                "short_size", "long_entry", "short_entry", "long_funding", "short_funding", "funding",
                "long_fees", "short_fees", "fees", "realized_pnl", "net_pnl"]  # fmt: skip
        frame = pd.DataFrame(rows, columns=cols)
        frame.insert(5, "opened", pd.to_datetime(frame["opened_ts"], unit="ms", utc=True))
        frame.insert(6, "closed", pd.to_datetime(frame["closed_ts"], unit="ms", utc=True))
        return frame

    @property
    def fills(self) -> pd.DataFrame:
        """Every fill on every venue, with the position, leg and workflow step of its order."""
        import pandas as pd

        cols = ["ts", "venue", "symbol", "client_order_id", "trade_id", "side", "price", "quantity", "fee",
                "liquidity"]  # fmt: skip
        frame = pd.DataFrame(self.record.fills, columns=cols)
        owner = [self.record.orders.get(c, (None, None, None)) for c in frame["client_order_id"]]
        for k, name in enumerate(("position_id", "leg", "step")):
            frame[name] = [o[k] for o in owner]
        frame.insert(0, "time", pd.to_datetime(frame["ts"], unit="ms", utc=True))
        return frame

    @property
    def funding(self) -> pd.DataFrame:
        """One row per funding payment per leg (+ received, - paid)."""
        import pandas as pd

        cols = ["ts", "venue", "symbol", "position_id", "leg", "rate", "amount"]
        frame = pd.DataFrame(self.record.funding, columns=cols)
        frame.insert(0, "time", pd.to_datetime(frame["ts"], unit="ms", utc=True))
        return frame

    @property
    def equity(self) -> pd.DataFrame:
        """Equity of all venues' accounts after each round (Decimal; spot and perps at their last price)."""
        import pandas as pd

        frame = pd.DataFrame(self.record.equity, columns=["ts", "equity"])
        frame.insert(0, "time", pd.to_datetime(frame["ts"], unit="ms", utc=True))
        return frame

    def summary(self) -> ArbitrageSummary:
        """The headline figures (computed once)."""
        return self._summary

    def plot(self, path: str | None = None) -> Any:
        """Equity over the run with the time each position was held shaded, and the funding collected per
        symbol (cumulative): a PNG at `path` (matplotlib, Agg). Returns the matplotlib figure."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (top, bottom) = plt.subplots(2, 1, sharex=True, figsize=(11, 6), height_ratios=(2, 1))
        equity = self.equity
        top.plot(equity["time"], equity["equity"].astype(float), color="tab:blue", lw=1)
        top.set_ylabel("equity")
        for _, row in self.positions.iterrows():
            end = row["closed"] if row["closed"] is not None and str(row["closed"]) != "NaT" else None
            top.axvspan(row["opened"], end if end is not None else equity["time"].iloc[-1], alpha=0.12,
                        color="tab:green")  # fmt: skip
        funding = self.funding
        for symbol, rows in funding.groupby("symbol"):
            bottom.step(rows["time"], rows["amount"].astype(float).cumsum(), where="post", label=str(symbol))
        bottom.set_ylabel("funding (cum.)")
        if len(funding):
            bottom.legend(loc="upper left", fontsize="small")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=110)
        return fig

    @cached_property
    def _summary(self) -> ArbitrageSummary:
        rec = self.record
        events = self.engine.events
        received = sum((f[6] for f in rec.funding if f[6] > 0), ZERO)
        paid = sum((f[6] for f in rec.funding if f[6] < 0), ZERO)
        fees = sum((f[8] for f in rec.fills), ZERO)
        realized = sum((p.realized_pnl for p in self.all_positions()), ZERO)
        final = rec.equity[-1][1] if rec.equity else rec.initial_equity
        net = final - rec.initial_equity
        peak, worst, worst_pct = rec.initial_equity, ZERO, ZERO
        for _, eq in rec.equity:
            peak = max(peak, eq)
            if peak - eq > worst:
                worst, worst_pct = peak - eq, (peak - eq) / peak
        held = RunRecord(rec.start_ms, rec.end_ms, 0, positions=rec.held)
        return ArbitrageSummary(
            start_ms=rec.start_ms,
            end_ms=rec.end_ms,
            steps=rec.steps,
            entries=sum(1 for e in events if e.kind == "entry" and e.detail.startswith("opened")),
            exits=sum(1 for e in events if e.kind == "exit_done" and e.detail.startswith("closed")),
            switches=sum(1 for e in events if e.kind == "switch"),
            emergency_exits=sum(1 for e in events if e.kind == "exit" and "(emergency" in e.detail),
            open_positions=len(self.engine.legs.active()),
            funding_received=received,
            funding_paid=paid,
            funding=received + paid,
            fees=fees,
            realized_pnl=realized,
            # what the open legs' price moves are worth now: the rest of the change in equity
            unrealized_pnl=_plain(net - (received + paid + realized - fees)),
            net_pnl=net,
            initial_equity=rec.initial_equity,
            final_equity=final,
            return_pct=(net / rec.initial_equity * 100).quantize(PCT),
            max_drawdown=worst.quantize(CENT),
            max_drawdown_pct=worst_pct.quantize(PCT),
            time_in_market=(Decimal(_time_in_market(held)) / max(1, rec.end_ms - rec.start_ms)).quantize(PCT),
            liquidations=len(rec.liquidations),
            warnings=len(self.warnings),
        )


def _plain(value: Decimal) -> Decimal:
    """A zero with an exponent (0E-9) printed as 0."""
    return value if value != 0 else ZERO
