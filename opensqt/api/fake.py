"""`FakeEngine`: an in-memory implementation of every API port, for tests, benchmarks and a UI without an
engine. Feed it with the `set_*`/`add_*`/`publish_*` methods; it records the control calls it received."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from opensqt.api.hub import AlertHub, PositionHub, SlotHub
from opensqt.api.ports import (
    BreakerChange,
    BreakerStatus,
    EngineStatus,
    NotFound,
    Page,
    PageQuery,
    PnlPoint,
    PositionUpdate,
    ReconciliationStatus,
    ReconciliationTicket,
    RiskAlert,
    RiskMetrics,
    RiskStatus,
    SlotSnapshot,
    SlotUpdate,
)
from opensqt.clock import Clock, ManualClock
from opensqt.model import Fill, Order, Position, Slot

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ControlCall:
    method: str
    actor: str
    argument: str


@dataclass
class _History:
    orders: list[Order] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    pnl: list[PnlPoint] = field(default_factory=list)


class FakeEngine:
    """Implements GridPort, RiskPort and PositionPort over in-memory state."""

    def __init__(self, symbols: Sequence[str] = ("BTCUSDT",), clock: Clock | None = None) -> None:
        if not symbols:
            raise ValueError("symbols: expected at least one grid symbol")
        self.clock = clock or ManualClock(1_700_000_000_000)
        self.grids = {s: SlotHub(s) for s in symbols}
        self.positions = PositionHub()
        self.alerts = AlertHub()
        self.engine_status = EngineStatus(
            running=True,
            paused_reasons=(),
            symbol=symbols[0],
            last_price=None,
            centre_price=None,
            interval=None,
            ts_ms=self.clock.now_ms(),
        )
        self.risk_status = RiskStatus(triggered=False, since_ms=None, strategy="none", symbols=())
        self.risk_metrics = RiskMetrics(
            total_exposure=Decimal(0), equity=None, peak_equity=None, drawdown=None, limits=(), ts_ms=0
        )
        self.breaker = BreakerStatus(is_open=False, reason="", detail="", actor="", since_ms=None)
        self.reconciliation = ReconciliationStatus(
            state="idle",
            run_id="",
            started_ms=None,
            finished_ms=None,
            in_sync=True,
            divergences=(),
            message="",
        )
        self.open_orders: list[Order] = []
        self.history = _History()
        self.control_calls: list[ControlCall] = []
        self._runs = 0

    # --- feeding ----------------------------------------------------------------------------------------

    def grid(self, symbol: str | None = None) -> SlotHub:
        if symbol is None:
            return next(iter(self.grids.values()))
        hub = self.grids.get(symbol)
        if hub is None:
            raise NotFound(f"symbol {symbol!r}: no grid for it")
        return hub

    def publish_slots(
        self,
        changed: Iterable[Slot],
        removed: Iterable[Decimal] = (),
        *,
        symbol: str | None = None,
        centre_price: Decimal | None = None,
        last_price: Decimal | None = None,
    ) -> int:
        return self.grid(symbol).publish(
            changed, removed, ts_ms=self.clock.now_ms(), centre_price=centre_price, last_price=last_price
        )

    def publish_positions(self, changed: Iterable[Position]) -> int:
        return self.positions.publish(changed, ts_ms=self.clock.now_ms())

    def publish_alert(self, kind: str, message: str, symbol: str = "") -> RiskAlert:
        return self.alerts.publish(kind, message, ts_ms=self.clock.now_ms(), symbol=symbol)

    def add_orders(self, orders: Iterable[Order]) -> None:
        self.history.orders.extend(orders)

    def add_fills(self, fills: Iterable[Fill]) -> None:
        self.history.fills.extend(fills)

    def add_pnl(self, points: Iterable[PnlPoint]) -> None:
        self.history.pnl.extend(points)

    def close(self) -> None:
        """End every subscription, as an engine does when it stops."""
        for hub in self.grids.values():
            hub.close()
        self.positions.close()
        self.alerts.close()

    # --- GridPort ---------------------------------------------------------------------------------------

    async def get_engine_status(self) -> EngineStatus:
        return self.engine_status

    async def get_slots(self, symbol: str | None) -> SlotSnapshot:
        return self.grid(symbol).snapshot()

    def subscribe_slots(self, symbol: str | None) -> AsyncIterator[SlotUpdate]:
        return self.grid(symbol).subscribe()

    # --- RiskPort ---------------------------------------------------------------------------------------

    async def get_risk_status(self) -> RiskStatus:
        return self.risk_status

    async def get_risk_metrics(self) -> RiskMetrics:
        return self.risk_metrics

    async def get_breaker(self) -> BreakerStatus:
        return self.breaker

    async def trip_breaker(self, reason: str, actor: str) -> BreakerChange:
        self.control_calls.append(ControlCall("trip_breaker", actor, reason))
        if self.breaker.is_open:
            return BreakerChange(changed=False, status=self.breaker)
        self.breaker = BreakerStatus(
            is_open=True, reason="manual", detail=reason, actor=actor, since_ms=self.clock.now_ms()
        )
        self.publish_alert("breaker_tripped", f"circuit breaker tripped by {actor}: {reason}")
        return BreakerChange(changed=True, status=self.breaker)

    async def reset_breaker(self, reason: str, actor: str) -> BreakerChange:
        self.control_calls.append(ControlCall("reset_breaker", actor, reason))
        if not self.breaker.is_open:
            return BreakerChange(changed=False, status=self.breaker)
        self.breaker = BreakerStatus(
            is_open=False, reason="", detail=reason, actor=actor, since_ms=self.clock.now_ms()
        )
        self.publish_alert("breaker_reset", f"circuit breaker reset by {actor}")
        return BreakerChange(changed=True, status=self.breaker)

    async def trigger_reconciliation(self, symbol: str | None, actor: str) -> ReconciliationTicket:
        self.control_calls.append(ControlCall("trigger_reconciliation", actor, symbol or ""))
        if symbol is not None and symbol not in self.grids:
            raise NotFound(f"symbol {symbol!r}: no grid for it")
        self._runs += 1
        run_id = f"run-{self._runs}"
        now = self.clock.now_ms()
        self.reconciliation = ReconciliationStatus(
            state="done",
            run_id=run_id,
            started_ms=now,
            finished_ms=now,
            in_sync=True,
            divergences=(),
            message="in sync",
        )
        return ReconciliationTicket(accepted=True, run_id=run_id, message="reconciliation started")

    async def get_reconciliation_status(self) -> ReconciliationStatus:
        return self.reconciliation

    def subscribe_risk_alerts(self) -> AsyncIterator[RiskAlert]:
        return self.alerts.subscribe()

    # --- PositionPort -----------------------------------------------------------------------------------

    async def get_positions(self, symbol: str | None) -> tuple[Position, ...]:
        return self.positions.positions(symbol)

    async def get_open_orders(self, symbol: str | None) -> tuple[Order, ...]:
        return tuple(o for o in self.open_orders if symbol is None or o.symbol == symbol)

    async def get_order_history(self, query: PageQuery) -> Page[Order]:
        return page_of(self.history.orders, query, lambda o: o.symbol, lambda o: o.ts_init)

    async def get_fills(self, query: PageQuery) -> Page[Fill]:
        return page_of(self.history.fills, query, lambda f: f.symbol, lambda f: f.ts_event)

    async def get_pnl_history(
        self, symbol: str | None, since_ms: int | None, until_ms: int | None, limit: int
    ) -> tuple[PnlPoint, ...]:
        points = [
            p
            for p in self.history.pnl
            if (symbol is None or p.symbol == symbol)
            and (since_ms is None or p.ts_ms >= since_ms)
            and (until_ms is None or p.ts_ms < until_ms)
        ]
        points.sort(key=lambda p: p.ts_ms)
        return tuple(points[-limit:])

    def subscribe_positions(self, symbol: str | None) -> AsyncIterator[PositionUpdate]:
        return self.positions.subscribe(symbol)


def encode_offset(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode()


def decode_offset(token: str) -> int:
    """An offset page token back to its number; ValueError naming page_token for anything else."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
        kind, _, number = text.partition(":")
        offset = int(number)
    except (ValueError, UnicodeDecodeError):
        raise ValueError("page_token: expected a token from a previous page") from None
    if kind != "o" or offset < 0:
        raise ValueError("page_token: expected a token from a previous page")
    return offset


def page_of(
    items: Sequence[T], query: PageQuery, symbol_of: Callable[[T], str], ts_of: Callable[[T], int]
) -> Page[T]:
    chosen = [
        item
        for item in items
        if (query.symbol is None or symbol_of(item) == query.symbol)
        and (query.since_ms is None or ts_of(item) >= query.since_ms)
        and (query.until_ms is None or ts_of(item) < query.until_ms)
    ]
    chosen.sort(key=ts_of, reverse=True)  # newest first
    start = decode_offset(query.page_token)
    end = start + query.page_size
    token = encode_offset(end) if end < len(chosen) else ""
    return Page(items=tuple(chosen[start:end]), next_page_token=token)
