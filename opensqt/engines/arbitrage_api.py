"""`ArbitrageApi`: a running `ArbitrageEngine` behind the API's ports: ArbitrageService (legs, workflows and
their steps from the audit log, funding from the PnL history) plus the shared Risk, Position and Grid ports
(breaker control, legs as positions; an arbitrage bot has no grid, so GridService answers NOT_FOUND)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from decimal import Decimal

from opensqt.api.arbitrage import (
    FundingCollectedView,
    FundingPaymentView,
    LegView,
    StepView,
    WorkflowView,
)
from opensqt.api.fake import page_of
from opensqt.api.hub import AlertHub, PositionHub
from opensqt.api.ports import (
    BreakerChange,
    BreakerStatus,
    EngineStatus,
    NotFound,
    Page,
    PageQuery,
    PnlPoint,
    PositionLimit,
    PositionUpdate,
    ReconciliationStatus,
    ReconciliationTicket,
    RiskAlert,
    RiskMetrics,
    RiskStatus,
    SlotSnapshot,
    SlotUpdate,
    Unavailable,
)
from opensqt.clock import Clock
from opensqt.engines.arbitrage_engine import ArbitrageEngine
from opensqt.model import Fill, Order, Position, Side
from opensqt.store import AuditRecord, PnlKind, Store
from opensqt.trading.state.legs import ArbPosition, LegRole

_STEP_STATUS = {"filled": "succeeded", "partial": "succeeded", "rejected": "failed"}
AUDIT_SCAN = 100_000  # audit rows read per workflow query (one bot's workflow history)


class ArbitrageApi:
    """Implements ArbitragePort, RiskPort, PositionPort and GridPort over one engine and its store."""

    def __init__(self, engine: ArbitrageEngine, store: Store | None, clock: Clock) -> None:
        self.engine = engine
        self.store = store
        self.clock = clock
        self.epoch = secrets.token_hex(6)
        self.positions = PositionHub(epoch=self.epoch)
        self.alerts = AlertHub()
        self._recon_runs = 0
        self._recon_state = "idle"
        self._recon_times: tuple[int | None, int | None] = (None, None)

    def close(self) -> None:
        self.positions.close()
        self.alerts.close()

    # --- ArbitrageService ---------------------------------------------------------------------------

    def _all_positions(self) -> list[ArbPosition]:
        return [*self.engine.legs.closed(), *self.engine.legs.active()]

    async def get_legs(self, symbol: str | None) -> tuple[LegView, ...]:
        out = []
        for pos in self._all_positions():
            for leg in (pos.long, pos.short):
                if symbol is not None and symbol not in (pos.key, leg.symbol):
                    continue
                out.append(
                    LegView(
                        leg_id=f"{pos.position_id}:{leg.role.value}",
                        venue=leg.venue,
                        symbol=leg.symbol,
                        side=leg.role.opening_side,
                        quantity=leg.size,
                        filled=leg.size,
                        entry_price=leg.entry_price,
                        status=pos.phase.value,
                        ts_update_ms=pos.updated_at,
                    )
                )
        return tuple(out)

    def _workflows(self) -> dict[str, WorkflowView]:
        bot = self.engine.config.bot
        rows: list[AuditRecord] = self.store.audit.list(0, AUDIT_SCAN) if self.store is not None else []
        steps: dict[str, list[StepView]] = {}
        results: dict[str, tuple[str, int]] = {}
        last: dict[str, int] = {}
        for r in rows:
            wid = r.details.get("workflow_id") if r.bot == bot else None
            if not isinstance(wid, str):
                continue
            last[wid] = max(last.get(wid, r.ts), r.ts)
            if r.action == "arbitrage.order":
                error = str(r.details.get("error") or "")
                steps.setdefault(wid, []).append(
                    StepView(
                        str(r.details.get("step", "")),
                        _STEP_STATUS.get(r.result, r.result),
                        1,
                        error,
                        r.ts,
                        r.ts,
                    )
                )
            elif r.action in ("arbitrage.entry", "arbitrage.exit"):
                results[wid] = (r.result, r.ts)
        for wid in self.engine.inflight.values():
            last.setdefault(wid, _created(wid))
        out = {}
        for wid, updated in last.items():
            status = results[wid][0] if wid in results else "running"
            out[wid] = WorkflowView(
                wid, _kind(wid), status, tuple(steps.get(wid, ())), _created(wid), updated
            )
        return out

    async def get_workflows(self, status: str | None, query: PageQuery) -> Page[WorkflowView]:
        found = [w for w in self._workflows().values() if status is None or w.status == status]
        return page_of(found, query, _symbol, lambda w: w.created_ms)

    async def get_workflow(self, workflow_id: str) -> WorkflowView:
        found = self._workflows().get(workflow_id)
        if found is None:
            raise NotFound(f"workflow_id: no workflow {workflow_id!r} of bot {self.engine.config.bot}")
        return found

    async def get_funding_collected(
        self, symbol: str | None, since_ms: int | None, until_ms: int | None
    ) -> FundingCollectedView:
        records = (
            self.store.pnl.history(self.engine.config.bot, since_ms or 0) if self.store is not None else []
        )
        payments = tuple(
            FundingPaymentView(r.symbol, r.venue, r.amount, r.asset, r.ts_event)
            for r in records
            if r.kind is PnlKind.FUNDING
            and (symbol is None or r.symbol == symbol)
            and (until_ms is None or r.ts_event < until_ms)
        )
        return FundingCollectedView(sum((p.amount for p in payments), Decimal(0)), "USDT", payments)

    # --- GridPort: no grid here ---------------------------------------------------------------------

    async def get_engine_status(self) -> EngineStatus:
        reasons = () if self.engine.entries_allowed() else ("entries blocked: risk monitor or breaker",)
        return EngineStatus(
            not reasons, reasons, ",".join(self.engine.selected), None, None, None, self.clock.now_ms()
        )

    async def get_slots(self, symbol: str | None) -> SlotSnapshot:
        raise NotFound("arbitrage_bot runs no grid: use ArbitrageService")

    async def subscribe_slots(self, symbol: str | None) -> AsyncIterator[SlotUpdate]:
        raise NotFound("arbitrage_bot runs no grid: use ArbitrageService")
        yield  # pragma: no cover - makes this an async generator

    # --- RiskPort -----------------------------------------------------------------------------------

    async def get_risk_status(self) -> RiskStatus:
        gate = self.engine.risk_gate
        triggered = gate is not None and gate.is_triggered()
        return RiskStatus(triggered, None, "arbitrage", ())

    async def get_risk_metrics(self) -> RiskMetrics:
        limits = []
        exposure = Decimal(0)
        for p in self._current_positions():
            notional = abs(p.size) * (p.mark_price or p.entry_price)
            exposure += notional
            limits.append(PositionLimit(p.symbol, p.size, notional, None))
        return RiskMetrics(exposure, None, None, None, tuple(limits), self.clock.now_ms())

    async def get_breaker(self) -> BreakerStatus:
        breaker = self.engine.breaker
        if breaker is None:
            return BreakerStatus(False, "", "no breaker configured", "", None)
        s = breaker.state()
        reason = s.reason.value if s.reason is not None else ""
        return BreakerStatus(s.is_open, reason, s.detail, s.actor or "", s.since_ms)

    async def trip_breaker(self, reason: str, actor: str) -> BreakerChange:
        if self.engine.breaker is None:
            raise Unavailable("no circuit breaker configured")
        now = self.clock.now_ms()
        changed = self.engine.breaker.trip(actor, reason, now) is not None
        if changed:
            self.alerts.publish("breaker", f"tripped by {actor}: {reason}", ts_ms=now)
        return BreakerChange(changed, await self.get_breaker())

    async def reset_breaker(self, reason: str, actor: str) -> BreakerChange:
        if self.engine.breaker is None:
            raise Unavailable("no circuit breaker configured")
        now = self.clock.now_ms()
        changed = self.engine.breaker.reset(actor, now, reason) is not None
        if changed:
            self.alerts.publish("breaker", f"reset by {actor}", ts_ms=now)
        return BreakerChange(changed, await self.get_breaker())

    async def trigger_reconciliation(self, symbol: str | None, actor: str) -> ReconciliationTicket:
        """Re-reads every idle leg's size from its venue (the arbitrage bot's reconciliation), inline."""
        self._recon_runs += 1
        started = self.clock.now_ms()
        self._recon_state = "running"
        try:
            await self.engine.sync(started, only_idle=True)
        except Exception as exc:
            self._recon_state = "failed"
            raise Unavailable(f"reconciliation failed: {type(exc).__name__}") from exc
        self._recon_state = "done"
        self._recon_times = (started, self.clock.now_ms())
        return ReconciliationTicket(True, str(self._recon_runs), "leg sizes re-read from the venues")

    async def get_reconciliation_status(self) -> ReconciliationStatus:
        started, finished = self._recon_times
        in_sync = all(p.delta_neutral for p in self.engine.legs.active())
        return ReconciliationStatus(
            self._recon_state, str(self._recon_runs), started, finished, in_sync, (), ""
        )

    def subscribe_risk_alerts(self) -> AsyncIterator[RiskAlert]:
        return self.alerts.subscribe()

    # --- PositionPort -------------------------------------------------------------------------------

    def _current_positions(self) -> list[Position]:
        out = []
        now = self.clock.now_ms()
        for pos in self.engine.legs.active():
            for leg in (pos.long, pos.short):
                size = leg.size if leg.role is LegRole.LONG else -leg.size
                out.append(
                    Position(
                        symbol=f"{leg.venue}:{leg.symbol}",
                        size=size,
                        entry_price=leg.entry_price or Decimal(0),
                        unrealized_pnl=Decimal(0),
                        leverage=1,
                        ts_event=now,
                    )
                )
        return out

    async def get_positions(self, symbol: str | None) -> tuple[Position, ...]:
        return tuple(p for p in self._current_positions() if symbol is None or p.symbol.endswith(symbol))

    async def get_open_orders(self, symbol: str | None) -> tuple[Order, ...]:
        return ()  # entries and exits use immediate-or-cancel market orders: nothing rests

    async def get_order_history(self, query: PageQuery) -> Page[Order]:
        return page_of([], query, lambda o: o.symbol, lambda o: o.ts_event)

    async def get_fills(self, query: PageQuery) -> Page[Fill]:
        return page_of([], query, lambda f: f.symbol, lambda f: f.ts_event)

    async def get_pnl_history(
        self, symbol: str | None, since_ms: int | None, until_ms: int | None, limit: int
    ) -> tuple[PnlPoint, ...]:
        records = (
            self.store.pnl.history(self.engine.config.bot, since_ms or 0) if self.store is not None else []
        )
        points = []
        realized = Decimal(0)
        for r in records:
            if (symbol is not None and r.symbol != symbol) or (
                until_ms is not None and r.ts_event >= until_ms
            ):
                continue
            realized += r.amount
            points.append(PnlPoint(r.ts_event, r.symbol, realized, Decimal(0)))
        return tuple(points[-limit:])

    def subscribe_positions(self, symbol: str | None) -> AsyncIterator[PositionUpdate]:
        self.positions.publish(self._current_positions(), ts_ms=self.clock.now_ms())
        return self.positions.subscribe(symbol)


def _kind(wid: str) -> str:
    parts = wid.split("|")
    return parts[2] if len(parts) > 2 else ""


def _created(wid: str) -> int:
    parts = wid.split("|")
    return int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else 0


def _symbol(w: WorkflowView) -> str:
    parts = w.workflow_id.split("|")
    return parts[1] if len(parts) > 1 else ""


__all__ = ["ArbitrageApi", "Side"]
