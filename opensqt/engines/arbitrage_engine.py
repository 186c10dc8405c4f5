"""`ArbitrageEngine`: the lean orchestrator of funding-rate arbitrage (ARBITRAGE.md, REQUIREMENTS §13-16).

Each `step(now_ms)`: bulk funding and tickers (and, where a venue reports it, the account's margin health)
from every venue -> (periodically) universe scan -> exit decisions for held positions (emergencies first) ->
the switch rule when every slot is taken -> entry decisions while the risk gate and the breaker allow (a
switch's candidate first) -> entries and exits run as workflows (`WorkflowRunner`: DBOS-durable or direct),
at most one in flight per symbol. Results go into the `LegManager`, which re-syncs from the venues' sizes
after every workflow; legs, fees, funding and realized PnL are persisted when a store is given.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from anyio.abc import TaskGroup
from loguru import logger

from opensqt.exchanges.base import Exchange, MarginSource
from opensqt.exchanges.errors import VenueError
from opensqt.model import ZERO, FundingPaid, Instrument, Position, Ticker
from opensqt.risk import CircuitBreaker, EmergencyExitPolicy, ExitContext, RiskGate
from opensqt.store import ArbitrageLeg, PnlKind, PnlRecord, Store
from opensqt.trading.execution.legs import (
    EntryOutcome,
    EntryPlan,
    EntryResult,
    ExitOutcome,
    ExitPlan,
    ExitResult,
    LegExecution,
    LegSpec,
    WorkflowRunner,
)
from opensqt.trading.logic.funding import (
    CandidateYield,
    EntryDecision,
    ExitAction,
    ExitDecision,
    ExitReason,
    FundingParams,
    FundingQuote,
    HeldYield,
    LegRef,
    PerpHealth,
    PositionHealth,
    Shape,
    SwitchDecision,
    basis_drift_bps,
    decide_cross_entry,
    decide_exit,
    decide_spot_perp_entry,
    decide_switch,
    held_apr,
    margin_health,
)
from opensqt.trading.logic.universe import MarketStats, UniverseParams, scan_cross, scan_spot_perp
from opensqt.trading.state.legs import ArbPosition, Leg, LegManager, LegRole, Phase

HISTORY = 30  # funding intervals kept per market for universe scoring
#: Engine events that also become audit rows.
AUDITED = frozenset({"entry", "exit", "exit_done", "resync", "switch", "switch_abandoned"})


@dataclass(frozen=True, slots=True)
class Pair:
    """A tradable pair named by `key` (the perp symbol). spot_perp: `a` spot, `b` perp on one venue;
    cross: `a` and `b` the same perp on two venues."""

    key: str
    a_venue: str
    a: Instrument
    b_venue: str
    b: Instrument


@dataclass(frozen=True, slots=True)
class ArbitrageEngineConfig:
    shape: Shape
    order_amount: Decimal
    max_positions: int = 3
    rescan_interval_ms: int = 3_600_000
    params: FundingParams = field(default_factory=FundingParams)
    universe: UniverseParams = field(default_factory=UniverseParams)
    bot: str = "arbitrage"


@dataclass(frozen=True, slots=True)
class ArbitrageEvent:
    """What the engine did or refused, for the status line, audit and tests."""

    kind: str
    key: str
    detail: str
    ts_ms: int


class ArbitrageEngine:
    def __init__(
        self,
        config: ArbitrageEngineConfig,
        venues: Mapping[str, Exchange],
        pairs: Sequence[Pair],
        runner: WorkflowRunner,
        *,
        risk_gate: RiskGate | None = None,
        breaker: CircuitBreaker | None = None,
        exit_policy: EmergencyExitPolicy | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config
        self.venues = dict(venues)
        self.pairs = {p.key: p for p in pairs}
        self.runner = runner
        self.risk_gate = risk_gate
        self.breaker = breaker
        self.exit_policy = exit_policy
        self.store = store
        self.legs = LegManager()
        self.quotes: dict[tuple[str, str], FundingQuote] = {}
        self.tickers: dict[tuple[str, str], Ticker] = {}
        self.history: dict[tuple[str, str], deque[Decimal]] = {}
        self.basis: dict[str, deque[Decimal]] = {}
        self.selected: list[str] = list(self.pairs)
        self.events: list[ArbitrageEvent] = []
        self.last_decisions: dict[str, EntryDecision] = {}
        #: Venue -> the account's margin health (`margin_health`), for venues that report it.
        self.margin: dict[str, Decimal] = {}
        #: The switch under way: its exit runs (or ran) and its candidate enters at the next round.
        self.switch: SwitchDecision | None = None
        self._inflight: dict[str, str] = {}
        self._last_scan = -(10**18)
        self._seq = 0
        self._tg: TaskGroup | None = None
        self._pending: list[tuple[str, Any]] = []

    # --- public ----------------------------------------------------------------------------------

    @property
    def inflight(self) -> dict[str, str]:
        """Symbol -> workflow id of the entry or exit running for it."""
        return dict(self._inflight)

    def entries_allowed(self) -> bool:
        gate = self.risk_gate is not None and self.risk_gate.is_triggered()
        return not gate and not (self.breaker is not None and self.breaker.is_open)

    def bind(self, task_group: TaskGroup | None) -> None:
        """The task group that owns the workflows `step` starts; None runs them at `drain()` instead."""
        self._tg = task_group

    async def step(self, now_ms: int) -> None:
        """One decision round. Workflows start in the bound task group (or run inline without one)."""
        await self.refresh(now_ms)
        if now_ms - self._last_scan >= self.config.rescan_interval_ms:
            self.rescan(now_ms)
        await self._decide_exits(now_ms)
        await self._decide_switch(now_ms)
        self._decide_entries(now_ms)

    async def refresh(self, now_ms: int) -> None:
        """Bulk funding and tickers from every venue (one call each), and history at funding boundaries."""
        for name, exchange in self.venues.items():
            try:
                rates = await exchange.fetch_funding_rates()
                tickers = await exchange.fetch_tickers()
            except VenueError as exc:
                logger.warning("venue {}: funding/tickers unavailable ({})", name, exc)
                continue
            for sym, fr in rates.items():
                old = self.quotes.get((name, sym))
                if old is not None and fr.next_funding_time != old.next_funding_time:
                    self.history.setdefault((name, sym), deque(maxlen=HISTORY)).append(old.rate)
                    self._sample_basis(name, sym)
                self.quotes[(name, sym)] = FundingQuote(
                    name, sym, fr.rate, fr.interval_hours, now_ms, fr.next_funding_time
                )
            for sym, t in tickers.items():
                self.tickers[(name, sym)] = t
            await self._refresh_margin(name, exchange)

    async def _refresh_margin(self, name: str, exchange: Exchange) -> None:
        """The account's margin health, from venues with the `fetch_account_margin` capability. A failed read
        drops the old value: a stale healthy number must not hide a falling account."""
        if not exchange.has.get("fetch_account_margin") or not isinstance(exchange, MarginSource):
            return
        try:
            m = await exchange.fetch_account_margin()
        except VenueError as exc:
            logger.warning("venue {}: account margin unavailable ({})", name, exc)
            self.margin.pop(name, None)
            return
        self.margin[name] = margin_health(m.margin_balance, m.maintenance_margin)

    def rescan(self, now_ms: int) -> None:
        """Universe selection: volume filter on both legs, scored by yield x stability x persistence."""
        self._last_scan = now_ms
        a: dict[str, MarketStats] = {}
        b: dict[str, MarketStats] = {}
        for key, pair in self.pairs.items():
            a[self._stats_key(pair)] = self._stats(pair.a_venue, pair.a)
            b[key] = self._stats(pair.b_venue, pair.b)
        if self.config.shape is Shape.SPOT_PERP:
            venue = next(iter(self.pairs.values())).a_venue if self.pairs else ""
            found = scan_spot_perp(venue, a, b, self.config.universe)
        else:
            found = scan_cross(a, b, self.config.universe)
        self.selected = [c.key for c in found]
        self._event("rescan", "*", ",".join(self.selected[:10]) or "none", now_ms)

    def on_funding(
        self, venue: str, paid: FundingPaid, ref: str | None = None, position_id: str | None = None
    ) -> None:
        """Book a funding payment (the venue's income history, the simulator's events); `ref`: the venue's
        id of the booking when it has one (the PnL row's unique key), else the funding time; `position_id`:
        the position it belongs to, also once closed (a booking that arrives after the exit)."""
        pos = self.legs.apply_funding(venue, paid.symbol, paid.amount, paid.ts_event, position_id)
        if pos is None:
            return
        self._persist(
            pos,
            [
                PnlRecord(
                    self.config.bot,
                    venue,
                    paid.symbol,
                    PnlKind.FUNDING,
                    ref or f"funding:{paid.ts_event}",
                    paid.amount,
                    "USDT",
                    paid.ts_event,
                )
            ],
        )

    def restore(self, records: Sequence[ArbitrageLeg]) -> int:
        """Rebuild positions not closed from stored legs (start-up, before `recover` and `sync`)."""
        by_id: dict[str, dict[str, ArbitrageLeg]] = {}
        for r in records:
            if r.bot == self.config.bot and r.status != Phase.CLOSED.value:
                by_id.setdefault(r.position_id, {})[r.leg] = r
        for pid, legs in by_id.items():
            if set(legs) != {"long", "short"}:
                continue
            long, short = (self._leg_from_record(legs[k]) for k in ("long", "short"))
            first = legs["long"]
            key = pid.split("|")[1] if "|" in pid else first.symbol
            self.legs.restore(
                ArbPosition(pid, key, long, short, Phase(first.status), first.opened_at, first.updated_at)
            )
        return len(by_id)

    async def recover(self, runner: Any, now_ms: int) -> list[str]:
        """Re-attach to the workflows a crashed process left unfinished (`DurableWorkflows.pending()`), which
        DBOS resumes at launch; their results are applied as if this process had started them."""
        found = []
        for wid, _name in await runner.pending():
            parts = wid.split("|")
            if len(parts) < 3 or parts[0] != self.config.bot:
                continue
            key, kind = parts[1], parts[2]
            found.append(wid)
            self._launch(key, wid, self._resumed(runner, wid, key, kind, now_ms))
        # An entry that ended (or never started) just before the crash left its position OPENING: its id is
        # the entry workflow's, whose recorded result DBOS still returns; apply it (executions are keyed).
        for pos in self.legs.active():
            if pos.key not in self._inflight and pos.phase is Phase.OPENING:
                found.append(pos.position_id)
                self._launch(
                    pos.key, pos.position_id, self._settle_entry(runner, pos.key, pos.position_id, now_ms)
                )
        return found

    async def _settle_entry(self, runner: Any, key: str, wid: str, now_ms: int) -> None:
        try:
            result = await runner.resume(wid)
        except Exception as exc:  # the workflow was never recorded: it placed nothing
            logger.warning("entry {} has no recorded workflow ({}); re-reading the venues", wid, exc)
            await self.sync(now_ms)
            pos = self.legs.get(key)
            if pos is not None:
                flat = pos.long.size == 0 and pos.short.size == 0
                self._persist(self.legs.set_phase(key, Phase.CLOSED if flat else Phase.OPEN, now_ms), [])
            return
        await self._finish_entry(key, result, now_ms)

    async def settle(self, now_ms: int) -> None:
        """After `restore` and `recover`: re-read the sizes of positions no workflow is working on, and put a
        position whose exit ended unseen back to CLOSED (flat) or OPEN (the exit rules decide again)."""
        await self.sync(now_ms, only_idle=True)
        for pos in self.legs.active():
            if pos.key in self._inflight or pos.phase is not Phase.CLOSING:
                continue
            flat = pos.long.size == 0 and pos.short.size == 0
            self._persist(self.legs.set_phase(pos.key, Phase.CLOSED if flat else Phase.OPEN, now_ms), [])

    async def _resumed(self, runner: Any, wid: str, key: str, kind: str, now_ms: int) -> None:
        result = await runner.resume(wid)
        if kind == "entry":
            await self._finish_entry(key, result, now_ms)
        else:
            await self._finish_exit(key, result, True, now_ms)

    async def sync(self, now_ms: int, *, only_idle: bool = False) -> None:
        """Re-read every held leg's size from its venue (start-up and after every workflow); `only_idle`:
        skip positions a workflow is working on (its result will be applied on top)."""
        for pos in self.legs.active():
            if only_idle and pos.key in self._inflight:
                continue
            for role in LegRole:
                leg = pos.leg(role)
                size = await self._venue_size(leg.venue, leg.symbol)
                if size is None:
                    continue
                change = self.legs.sync(leg.venue, leg.symbol, size, now_ms)
                if change is not None:
                    self._event("resync", pos.key, f"{role.value} {change.old} -> {change.new}", now_ms)

    async def exit_all(self, now_ms: int, reason: str = "shutdown") -> None:
        for pos in self.legs.active():
            if pos.key not in self._inflight:
                await self._start_exit(pos, reason, now_ms)

    # --- decisions -------------------------------------------------------------------------------

    async def _decide_exits(self, now_ms: int) -> None:
        for pos in self.legs.active():
            if pos.key in self._inflight or pos.phase is not Phase.OPEN:
                continue
            held = held_apr(self._ref(pos.long), self._ref(pos.short), self.quotes)
            health, policy = await self._health(pos, now_ms)
            decision = decide_exit(self.config.params, held, health, policy)
            if decision is not None:
                await self._start_exit(pos, self._reason(decision), now_ms, decision)

    async def _decide_switch(self, now_ms: int) -> None:
        """Every slot taken and a candidate beats the weakest held position by the switch rule: exit it now;
        the candidate enters once the exit has finished (`_decide_entries`). One switch at a time, none while
        any workflow runs, and none while entries are blocked (the second half could not happen)."""
        if self.switch is not None or self._inflight or not self.entries_allowed():
            return
        active = self.legs.active()
        if len(active) < self.config.max_positions:
            return  # a free slot: the entry rule takes it, nothing needs to leave
        held = [
            HeldYield(
                pos.key,
                held_apr(self._ref(pos.long), self._ref(pos.short), self.quotes),
                pos.opened_at,
                (self._spec(pos.long).instrument.taker_fee, self._spec(pos.short).instrument.taker_fee),
            )
            for pos in active
            if pos.phase is Phase.OPEN
        ]
        candidates = []
        for key in self.selected:
            pair = self.pairs.get(key)
            if pair is None or self.legs.get(key) is not None:
                continue
            decision = self._entry_decision(pair, now_ms, False)
            self.last_decisions[key] = decision
            if decision.enter and decision.spread is not None:
                fees = self._fees(pair, decision)
                candidates.append(CandidateYield(key, decision.spread.apr, fees))
        found = decide_switch(self.config.params, held, candidates, now_ms)
        if found is None:
            return
        pos = self.legs.get(found.exit_key)
        assert pos is not None
        self.switch = found
        detail = (
            f"{found.exit_key} ({found.held_apr:.4f}) -> {found.enter_key} ({found.candidate_apr:.4f}): "
            f"week gain {found.gain:.6f} > {self.config.params.switch_cost_multiple} x cost {found.cost:.6f}"
        )
        self._event("switch", found.exit_key, detail, now_ms)
        await self._start_exit(pos, ExitReason.SWITCH.value, now_ms)

    def _decide_entries(self, now_ms: int) -> None:
        # A position counts against max_positions from its entry plan until its exit has CLOSED it, so an
        # entry can never start while an exit (a switch's included) is unfinished.
        held = len(self.legs.active()) + sum(1 for k in self._inflight if self.legs.get(k) is None)
        risk = not self.entries_allowed()
        order = list(self.selected)
        target = self._switch_target()
        if target is not None:
            order = [target, *(k for k in order if k != target)]
        for key in order:
            pair = self.pairs.get(key)
            if pair is None or key in self._inflight or self.legs.get(key) is not None:
                continue
            decision = self._entry_decision(pair, now_ms, risk)
            self.last_decisions[key] = decision
            if key == target:
                # The freed slot is the candidate's: entered now, or the switch is over (it no longer
                # qualifies) and the slot goes to whatever the entry rule picks.
                self.switch = None
                if not decision.enter:
                    self._event("switch_abandoned", key, f"candidate {decision.blocked}", now_ms)
            if not decision.enter or held >= self.config.max_positions:
                continue
            plan = self._entry_plan(pair, decision, now_ms)
            if plan is None:
                continue
            held += 1
            self._launch(key, plan.workflow_id, self._entry(plan, now_ms))

    def _switch_target(self) -> str | None:
        """The candidate to enter first, once the switch's exit has closed the held position; None while the
        exit runs. An exit that left a residual (the position is OPEN again) ends the switch."""
        s = self.switch
        if s is None:
            return None
        held = self.legs.get(s.exit_key)
        if held is None:
            return s.enter_key
        if held.phase is Phase.OPEN and s.exit_key not in self._inflight:
            self.switch = None
            self._event(
                "switch_abandoned", s.exit_key, "the exit did not close the position", held.updated_at
            )
        return None

    def _fees(self, pair: Pair, decision: EntryDecision) -> tuple[Decimal, Decimal]:
        """(long, short) taker fees of the legs an entry decision would open."""
        spread = decision.spread
        assert spread is not None
        fee = {
            (pair.a_venue, pair.a.symbol): pair.a.taker_fee,
            (pair.b_venue, pair.b.symbol): pair.b.taker_fee,
        }
        return fee[(spread.long.venue, spread.long.symbol)], fee[(spread.short.venue, spread.short.symbol)]

    def _entry_decision(self, pair: Pair, now_ms: int, risk: bool) -> EntryDecision:
        p = self.config.params
        fees = (pair.a.taker_fee, pair.b.taker_fee)
        if self.config.shape is Shape.SPOT_PERP:
            spot = LegRef(pair.a_venue, pair.a.symbol, spot=True)
            perp = self.quotes.get((pair.b_venue, pair.b.symbol))
            return decide_spot_perp_entry(p, spot, perp, fees, now_ms, risk)
        qa = self.quotes.get((pair.a_venue, pair.a.symbol))
        qb = self.quotes.get((pair.b_venue, pair.b.symbol))
        return decide_cross_entry(p, qa, qb, fees, now_ms, risk)

    def _entry_plan(self, pair: Pair, decision: EntryDecision, now_ms: int) -> EntryPlan | None:
        spread = decision.spread
        assert spread is not None
        by_venue_symbol = {(pair.a_venue, pair.a.symbol): pair.a, (pair.b_venue, pair.b.symbol): pair.b}
        long_inst = by_venue_symbol[(spread.long.venue, spread.long.symbol)]
        short_inst = by_venue_symbol[(spread.short.venue, spread.short.symbol)]
        long = LegSpec(LegRole.LONG, spread.long.venue, long_inst)
        short = LegSpec(LegRole.SHORT, spread.short.venue, short_inst)
        price = self._price(spread.long.venue, long_inst.symbol)
        if price is None:
            return None
        coarse = long_inst if long_inst.lot_size >= short_inst.lot_size else short_inst
        qty = coarse.floor_qty(self.config.order_amount / price)
        if not (long_inst.meets_minimums(price, qty) and short_inst.meets_minimums(price, qty)):
            self._event("entry_too_small", pair.key, f"qty {qty} at {price}", now_ms)
            return None
        # Leg A is the spot leg, or across venues the less liquid one: the leg most likely to fail goes first.
        if self.config.shape is Shape.SPOT_PERP:
            first, second = (long, short) if long.is_spot else (short, long)
        else:
            vol_long = self._volume(long.venue, long_inst.symbol)
            vol_short = self._volume(short.venue, short_inst.symbol)
            first, second = (long, short) if vol_long <= vol_short else (short, long)
        self._seq += 1
        wid = f"{self.config.bot}|{pair.key}|entry|{now_ms}|{self._seq}"
        position = self.legs.open(wid, pair.key, self._leg(long), self._leg(short), now_ms)
        self._persist(position, [])
        return EntryPlan(wid, pair.key, first, second, qty)

    async def _start_exit(
        self, pos: ArbPosition, reason: str, now_ms: int, decision: ExitDecision | None = None
    ) -> None:
        factor = Decimal("0.5") if decision is not None and decision.action is ExitAction.REDUCE_HALF else 1
        long_spec, short_spec = self._spec(pos.long), self._spec(pos.short)
        qty_long = long_spec.instrument.floor_qty(pos.long.size * factor)
        qty_short = short_spec.instrument.floor_qty(pos.short.size * factor)
        self._seq += 1
        wid = f"{self.config.bot}|{pos.key}|exit|{now_ms}|{self._seq}"
        plan = ExitPlan(
            wid,
            pos.key,
            long_spec,
            short_spec,
            qty_long,
            qty_short,
            reason,
            pos.long.size - qty_long,
            pos.short.size - qty_short,
        )
        if factor == 1:
            self.legs.set_phase(pos.key, Phase.CLOSING, now_ms)
        self._event("exit", pos.key, reason, now_ms)
        self._launch(pos.key, wid, self._exit(plan, now_ms, factor == 1))

    # --- workflows -------------------------------------------------------------------------------

    def _launch(self, key: str, wid: str, work: Any) -> None:
        self._inflight[key] = wid
        if self._tg is not None:
            self._tg.start_soon(self._guarded, key, work)
        else:
            self._pending.append((key, work))

    async def drain(self) -> None:
        """Run workflows started without a task group (deterministic replays, tests)."""
        while self._pending:
            key, work = self._pending.pop(0)
            await self._guarded(key, work)

    async def _guarded(self, key: str, work: Any) -> None:
        try:
            await work
        finally:
            self._inflight.pop(key, None)

    async def _entry(self, plan: EntryPlan, now_ms: int) -> None:
        await self._finish_entry(plan.key, await self.runner.entry(plan), now_ms)

    async def _finish_entry(self, key: str, result: EntryResult, now_ms: int) -> None:
        self._apply(key, result.executions, now_ms)
        await self.sync(now_ms)
        pos = self.legs.get(key)
        if pos is None:
            return
        if result.outcome is EntryOutcome.OPENED:
            pos = self.legs.set_phase(key, Phase.OPEN, now_ms)
        elif result.outcome is EntryOutcome.NAKED:
            pos = self.legs.set_phase(key, Phase.OPEN, now_ms)
            if self.breaker is not None:
                self.breaker.trip("system", f"naked leg on {key}", now_ms)
        else:
            pos = self.legs.set_phase(key, Phase.CLOSED, now_ms)
        self._persist(pos, [])
        self._event("entry", key, f"{result.outcome.value} {result.long_qty}/{result.short_qty}", now_ms)

    async def _exit(self, plan: ExitPlan, now_ms: int, full: bool) -> None:
        await self._finish_exit(plan.key, await self.runner.exit(plan), full, now_ms)

    async def _finish_exit(self, key: str, result: ExitResult, full: bool, now_ms: int) -> None:
        self._apply(key, result.executions, now_ms)
        await self.sync(now_ms)
        pos = self.legs.get(key)
        if pos is None:
            return
        done = result.outcome is ExitOutcome.CLOSED and full
        pos = self.legs.set_phase(key, Phase.CLOSED if done else Phase.OPEN, now_ms)
        realized = (
            [
                PnlRecord(
                    self.config.bot,
                    leg.venue,
                    leg.symbol,
                    PnlKind.REALIZED,
                    f"{pos.position_id}:{leg.role}",
                    leg.realized_pnl,
                    "USDT",
                    now_ms,
                )
                for leg in (pos.long, pos.short)
            ]
            if done
            else []
        )
        self._persist(pos, realized)
        self._event("exit_done", key, result.outcome.value, now_ms)

    def _apply(self, key: str, executions: Sequence[LegExecution], now_ms: int) -> None:
        pos = self.legs.get(key)
        if pos is None:
            return
        fees = []
        for e in executions:
            if e.filled > 0 and e.average_price is not None:
                pos = self.legs.apply_execution(
                    key, e.role, e.side, e.filled, e.average_price, e.fee, e.client_order_id, now_ms
                )
                fees.append(
                    PnlRecord(
                        self.config.bot,
                        e.venue,
                        e.symbol,
                        PnlKind.FEE,
                        e.client_order_id,
                        -e.fee,
                        "USDT",
                        now_ms,
                    )
                )
        self._persist(pos, fees)

    # --- helpers ---------------------------------------------------------------------------------

    async def _health(self, pos: ArbPosition, now_ms: int) -> tuple[PositionHealth, bool]:
        perps: list[PerpHealth] = []
        policy = False
        for leg in (pos.long, pos.short):
            if leg.product != "perp":
                continue
            try:
                found = await self.venues[leg.venue].fetch_positions([leg.symbol])
            except VenueError:
                continue
            for p in found:
                if p.symbol == leg.symbol and not p.is_flat:
                    perps.append(PerpHealth(p.liquidation_price, p.mark_price))
                    policy = policy or self._policy(p, now_ms)
        basis = tuple(self.basis.get(pos.key, ()))
        # The account's health is shared by every position on it: the weaker of the legs' venues counts.
        ratios = [self.margin[leg.venue] for leg in (pos.long, pos.short) if leg.venue in self.margin]
        return PositionHealth(tuple(perps), basis, min(ratios) if ratios else None), policy

    def _policy(self, position: Position, now_ms: int) -> bool:
        if self.exit_policy is None:
            return False
        context = ExitContext(
            now_ms,
            position.mark_price,
            risk_triggered=self.risk_gate is not None and self.risk_gate.is_triggered(),
            breaker_open=self.breaker is not None and self.breaker.is_open,
        )
        return self.exit_policy.should_emergency_exit(position, context)

    def _sample_basis(self, venue: str, symbol: str) -> None:
        found = self.legs.find_leg(venue, symbol)
        if found is None:
            return
        pos = found[0]
        if pos.long.entry_price is None or pos.short.entry_price is None:
            return
        long_now = self._price(pos.long.venue, pos.long.symbol)
        short_now = self._price(pos.short.venue, pos.short.symbol)
        if long_now is None or short_now is None:
            return
        drift = basis_drift_bps(pos.long.entry_price, pos.short.entry_price, long_now, short_now)
        self.basis.setdefault(pos.key, deque(maxlen=HISTORY)).append(drift)

    async def _venue_size(self, venue: str, symbol: str) -> Decimal | None:
        exchange = self.venues[venue]
        try:
            markets = await exchange.load_markets()
            inst = markets[symbol]
            if inst.is_perpetual:
                positions = await exchange.fetch_positions([symbol])
                return sum((p.size for p in positions if p.symbol == symbol), ZERO)
            balances = await exchange.fetch_balance()
            bal = balances.get(inst.base)
            return bal.total if bal is not None else ZERO
        except VenueError as exc:
            logger.warning("venue {}: cannot read {} ({})", venue, symbol, exc)
            return None

    def _stats_key(self, pair: Pair) -> str:
        return pair.a.symbol if self.config.shape is Shape.SPOT_PERP else pair.key

    def _stats(self, venue: str, inst: Instrument) -> MarketStats:
        t = self.tickers.get((venue, inst.symbol))
        return MarketStats(
            inst.symbol,
            t.quote_volume_24h if t is not None else ZERO,
            self.quotes.get((venue, inst.symbol)) if inst.is_perpetual else None,
            tuple(self.history.get((venue, inst.symbol), ())),
        )

    def _price(self, venue: str, symbol: str) -> Decimal | None:
        t = self.tickers.get((venue, symbol))
        return t.last if t is not None and t.last > 0 else None

    def _volume(self, venue: str, symbol: str) -> Decimal:
        t = self.tickers.get((venue, symbol))
        return t.quote_volume_24h if t is not None else ZERO

    def _ref(self, leg: Leg) -> LegRef:
        return LegRef(leg.venue, leg.symbol, spot=leg.product == "spot")

    def _leg(self, spec: LegSpec) -> Leg:
        inst = spec.instrument
        return Leg(spec.role, spec.venue, inst.symbol, "spot" if spec.is_spot else "perp", inst.lot_size)

    def _leg_from_record(self, r: ArbitrageLeg) -> Leg:
        pair = self._pair_of(r.venue, r.symbol)
        inst = pair.a if (r.venue, r.symbol) == (pair.a_venue, pair.a.symbol) else pair.b
        return Leg(
            LegRole(r.leg),
            r.venue,
            r.symbol,
            r.product,
            inst.lot_size,
            r.size,
            r.entry_price,
            r.funding_collected,
            r.fees,
        )

    def _pair_of(self, venue: str, symbol: str) -> Pair:
        for p in self.pairs.values():
            if (venue, symbol) in ((p.a_venue, p.a.symbol), (p.b_venue, p.b.symbol)):
                return p
        raise KeyError(f"no configured pair trades {symbol} on {venue}")

    def _spec(self, leg: Leg) -> LegSpec:
        pair = self._pair_of(leg.venue, leg.symbol)
        inst = pair.a if (leg.venue, leg.symbol) == (pair.a_venue, pair.a.symbol) else pair.b
        return LegSpec(leg.role, leg.venue, inst)

    @staticmethod
    def _reason(decision: ExitDecision) -> str:
        half = ", reduce half" if decision.action is ExitAction.REDUCE_HALF else ""
        return f"{decision.reason.value}{' (emergency' + half + ')' if decision.emergency else ''}"

    def _event(self, kind: str, key: str, detail: str, ts_ms: int) -> None:
        self.events.append(ArbitrageEvent(kind, key, detail, ts_ms))
        logger.info("arbitrage {} {}: {}", kind, key, detail)
        if self.store is not None and kind in (
            "entry",
            "exit",
            "exit_done",
            "resync",
            "switch",
            "switch_abandoned",
        ):
            self.store.record_audit(
                who="system",
                action=f"arbitrage.{kind}",
                target=key,
                result=detail,
                ts_ms=ts_ms,
                bot=self.config.bot,
            )

    def _persist(self, pos: ArbPosition, pnl: list[PnlRecord]) -> None:
        if self.store is None:
            return
        self.store.arbitrage.save_legs(
            [
                ArbitrageLeg(
                    bot=self.config.bot,
                    position_id=pos.position_id,
                    leg=leg.role.value,
                    symbol=leg.symbol,
                    venue=leg.venue,
                    product=leg.product,
                    side=leg.role.opening_side.value,
                    size=leg.size,
                    entry_price=leg.entry_price,
                    funding_collected=leg.funding,
                    fees=leg.fees,
                    status=pos.phase.value,
                    opened_at=pos.opened_at,
                    updated_at=pos.updated_at,
                )
                for leg in (pos.long, pos.short)
            ],
            pnl,
        )
