"""`GridApi`: the grid engine behind the API's ports (GridPort, RiskPort, PositionPort).

It listens to the engine's events and keeps the hubs (slots, positions, alerts) and a bounded history
of orders, fills and PnL points; control calls (trip, reset, reconcile) go to the engine.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from decimal import Decimal

import anyio.lowlevel
from loguru import logger

from opensqt.api.fake import page_of
from opensqt.api.hub import AlertHub, PositionHub, SlotHub
from opensqt.api.ports import (
    BreakerChange,
    BreakerStatus,
    Divergence,
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
    SymbolRiskStatus,
    Unavailable,
)
from opensqt.engines.grid_engine import GridEngine
from opensqt.engines.grid_events import EngineEvent, EngineNotice, OrderEvent, SlotsChanged
from opensqt.exchanges.errors import VenueError
from opensqt.model import Fill, Order, Position


class GridApi:
    """Implements the API ports over one running `GridEngine`."""

    def __init__(self, engine: GridEngine, *, history: int = 10_000) -> None:
        self.engine = engine
        self.epoch = secrets.token_hex(6)
        self.slots = SlotHub(engine.symbol, epoch=self.epoch)
        self.positions = PositionHub(epoch=self.epoch)
        self.alerts = AlertHub()
        self._orders: OrderedDict[str, Order] = OrderedDict()
        self._history = history
        self._fills: deque[Fill] = deque(maxlen=history)
        self._pnl: deque[PnlPoint] = deque(maxlen=history)
        self._recon_runs = 0
        self._recon_state = "idle"
        self._recon_started: int | None = None
        self._recon_finished: int | None = None
        self._recon_error = ""
        self._peak_equity: Decimal | None = None
        engine.listeners.append(self.on_event)

    # --- feeding from the engine ----------------------------------------------------------------

    def on_event(self, event: EngineEvent) -> None:
        now = self.engine.clock.now_ms()
        if isinstance(event, SlotsChanged):
            changed = {c.price: c.after for c in event.changes}
            latest = self.engine.prices.latest
            self.slots.publish(
                changed.values(),
                ts_ms=now,
                centre_price=self.engine.centre,
                last_price=latest.price if latest else None,
            )
            if any(c.realized_pnl or c.fee for c in event.changes):
                self.positions.publish([self.position()], ts_ms=now)
                self._pnl.append(self._pnl_point(now))
        elif isinstance(event, OrderEvent):
            order = event.update.order
            self._orders[order.client_order_id] = order
            self._orders.move_to_end(order.client_order_id)
            while len(self._orders) > self._history:
                self._orders.popitem(last=False)
            if event.update.fill is not None:
                self._fills.append(event.update.fill)
        elif isinstance(event, EngineNotice):
            self.alerts.publish(event.kind, event.message, ts_ms=event.ts_ms, symbol=self.engine.symbol)

    def close(self) -> None:
        self.slots.close()
        self.positions.close()
        self.alerts.close()

    # --- derived views ----------------------------------------------------------------------------

    def position(self) -> Position:
        return self.engine.position()

    def _pnl_point(self, now: int) -> PnlPoint:
        book = self.engine.slots
        return PnlPoint(
            now, self.engine.symbol, book.realized_pnl - book.fees, self.position().unrealized_pnl
        )

    def _check_symbol(self, symbol: str | None) -> None:
        if symbol is not None and symbol not in (self.engine.symbol, ""):
            raise NotFound(f"symbol {symbol!r}: this engine trades {self.engine.symbol}")

    # --- GridPort ---------------------------------------------------------------------------------

    async def get_engine_status(self) -> EngineStatus:
        status = self.engine.status()
        return EngineStatus(
            running=status.phase == "trading" and not status.paused_reasons,
            paused_reasons=status.paused_reasons,
            symbol=self.engine.symbol,
            last_price=status.last_price,
            centre_price=status.centre,
            interval=status.interval,
            ts_ms=self.engine.clock.now_ms(),
        )

    async def get_slots(self, symbol: str | None) -> SlotSnapshot:
        self._check_symbol(symbol)
        return self.slots.snapshot()

    def subscribe_slots(self, symbol: str | None) -> AsyncIterator[SlotUpdate]:
        self._check_symbol(symbol)
        return self.slots.subscribe()

    # --- RiskPort ---------------------------------------------------------------------------------

    async def get_risk_status(self) -> RiskStatus:
        monitor = self.engine.risk
        if monitor is None:
            return RiskStatus(triggered=False, since_ms=None, strategy="disabled", symbols=())
        status = monitor.status()
        return RiskStatus(
            triggered=status.triggered,
            since_ms=status.since_ms,
            strategy=status.strategy.value,
            symbols=tuple(
                SymbolRiskStatus(s.symbol, s.state.value, s.reason, s.volatility) for s in status.symbols
            ),
        )

    async def get_risk_metrics(self) -> RiskMetrics:
        position = self.position()
        book = self.engine.slots
        equity = book.realized_pnl - book.fees + position.unrealized_pnl
        if self._peak_equity is None or equity > self._peak_equity:
            self._peak_equity = equity
        return RiskMetrics(
            total_exposure=position.notional,
            equity=equity,
            peak_equity=self._peak_equity,
            drawdown=self._peak_equity - equity,
            limits=(PositionLimit(position.symbol, position.size, position.notional, None),),
            ts_ms=self.engine.clock.now_ms(),
        )

    async def get_breaker(self) -> BreakerStatus:
        state = self.engine.breaker.state()
        return BreakerStatus(
            is_open=state.is_open,
            reason=state.reason.value if state.reason is not None else "",
            detail=state.detail,
            actor=state.actor or "",
            since_ms=state.since_ms,
        )

    async def trip_breaker(self, reason: str, actor: str) -> BreakerChange:
        changed = self.engine.trip_breaker(actor, reason)
        return BreakerChange(changed, await self.get_breaker())

    async def reset_breaker(self, reason: str, actor: str) -> BreakerChange:
        changed = self.engine.reset_breaker(actor)
        return BreakerChange(changed, await self.get_breaker())

    async def trigger_reconciliation(self, symbol: str | None, actor: str) -> ReconciliationTicket:
        self._check_symbol(symbol)
        if self.engine.phase != "trading":
            raise Unavailable(f"engine is {self.engine.phase}; reconciliation runs once it trades")
        if self._recon_state == "running":
            return ReconciliationTicket(False, str(self._recon_runs), "a reconciliation is already running")
        self._recon_runs += 1
        self._recon_state = "running"
        self._recon_started = self.engine.clock.now_ms()
        self.engine.spawn(self._reconcile)
        logger.info("reconciliation {} requested by {}", self._recon_runs, actor)
        return ReconciliationTicket(True, str(self._recon_runs), "reconciliation started")

    async def _reconcile(self) -> None:
        try:
            await self.engine.reconcile_now()
            self._recon_state, self._recon_error = "done", ""
        except VenueError as exc:
            self._recon_state, self._recon_error = "failed", str(exc)
        finally:
            self._recon_finished = self.engine.clock.now_ms()
            await anyio.lowlevel.checkpoint()

    async def get_reconciliation_status(self) -> ReconciliationStatus:
        report = self.engine.last_reconcile
        divergences: tuple[Divergence, ...] = ()
        message = self._recon_error
        in_sync = True
        if report is not None:
            in_sync = not report.actions
            message = message or "; ".join(report.findings)
            if report.divergence:
                divergences = (Divergence(report.symbol, Decimal(0), Decimal(0), report.divergence),)
        return ReconciliationStatus(
            state=self._recon_state if self._recon_runs else ("done" if report else "idle"),
            run_id=str(self._recon_runs),
            started_ms=self._recon_started if self._recon_runs else (report.at_ms if report else None),
            finished_ms=self._recon_finished if self._recon_runs else (report.at_ms if report else None),
            in_sync=in_sync,
            divergences=divergences,
            message=message,
        )

    def subscribe_risk_alerts(self) -> AsyncIterator[RiskAlert]:
        return self.alerts.subscribe()

    # --- PositionPort -----------------------------------------------------------------------------

    async def get_positions(self, symbol: str | None) -> tuple[Position, ...]:
        self._check_symbol(symbol)
        return (self.position(),)

    async def get_open_orders(self, symbol: str | None) -> tuple[Order, ...]:
        self._check_symbol(symbol)
        return tuple(o for o in self._orders.values() if o.is_open)

    async def get_order_history(self, query: PageQuery) -> Page[Order]:
        return page_of(
            list(self._orders.values()), query, lambda o: o.symbol, lambda o: o.ts_event or o.ts_init
        )

    async def get_fills(self, query: PageQuery) -> Page[Fill]:
        return page_of(list(self._fills), query, lambda f: f.symbol, lambda f: f.ts_event)

    async def get_pnl_history(
        self, symbol: str | None, since_ms: int | None, until_ms: int | None, limit: int
    ) -> tuple[PnlPoint, ...]:
        self._check_symbol(symbol)
        points = [
            p
            for p in self._pnl
            if (since_ms is None or p.ts_ms >= since_ms) and (until_ms is None or p.ts_ms < until_ms)
        ]
        return tuple(points[-limit:])

    def subscribe_positions(self, symbol: str | None) -> AsyncIterator[PositionUpdate]:
        self._check_symbol(symbol)
        return self.positions.subscribe(symbol)
