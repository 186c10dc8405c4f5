"""What the API needs from an engine: small Protocols returning opensqt.model objects and the frozen values
defined here. The grid engine implements them; `opensqt.api.fake` is an in-memory implementation for tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Protocol, TypeVar

from opensqt.model import Fill, Order, Position, Slot

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_PNL_LIMIT = 500
MAX_PNL_LIMIT = 10_000


# --- errors a port may raise (the servicers map them to gRPC status codes) -------------------------------


class PortError(Exception):
    """Base of the errors a port raises on purpose; callers see their text, so keep it secret-free."""


class NotFound(PortError):
    """The named thing (symbol, workflow) does not exist: NOT_FOUND."""


class Unavailable(PortError):
    """The engine cannot answer now (starting, stopping): UNAVAILABLE, the client may retry."""


class Rejected(PortError):
    """The request is valid but not allowed in the current state: FAILED_PRECONDITION."""


# --- grid -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """running=False means paused; `paused_reasons` says why (risk monitor, breaker, operator)."""

    running: bool
    paused_reasons: tuple[str, ...]
    symbol: str
    last_price: Decimal | None
    centre_price: Decimal | None
    interval: Decimal | None
    ts_ms: int


@dataclass(frozen=True, slots=True)
class SlotSnapshot:
    """Every slot of one grid at `version`; `epoch` names the engine run (versions restart with it)."""

    symbol: str
    version: int
    epoch: str
    centre_price: Decimal | None
    last_price: Decimal | None
    slots: tuple[Slot, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class SlotUpdate:
    """One message of a slot subscription. snapshot=True: `slots` is the whole grid (replace your view);
    otherwise `slots` are changed levels (replace by price) and `removed_prices` levels that are gone."""

    symbol: str
    version: int
    epoch: str
    snapshot: bool
    slots: tuple[Slot, ...]
    removed_prices: tuple[Decimal, ...]
    centre_price: Decimal | None
    last_price: Decimal | None
    ts_ms: int


class GridPort(Protocol):
    async def get_engine_status(self) -> EngineStatus: ...

    async def get_slots(self, symbol: str | None) -> SlotSnapshot:
        """None: the engine's only (or first) grid. Raises NotFound for an unknown symbol."""
        ...

    def subscribe_slots(self, symbol: str | None) -> AsyncIterator[SlotUpdate]:
        """A snapshot, then every change in version order; a snapshot again if the reader fell behind."""
        ...


# --- risk -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SymbolRiskStatus:
    symbol: str
    state: str
    reason: str
    volatility: Decimal | None


@dataclass(frozen=True, slots=True)
class RiskStatus:
    triggered: bool
    since_ms: int | None
    strategy: str
    symbols: tuple[SymbolRiskStatus, ...]


@dataclass(frozen=True, slots=True)
class PositionLimit:
    symbol: str
    position_size: Decimal
    position_notional: Decimal
    max_notional: Decimal | None


@dataclass(frozen=True, slots=True)
class RiskMetrics:
    total_exposure: Decimal
    equity: Decimal | None
    peak_equity: Decimal | None
    drawdown: Decimal | None
    limits: tuple[PositionLimit, ...]
    ts_ms: int


@dataclass(frozen=True, slots=True)
class BreakerStatus:
    is_open: bool
    reason: str
    detail: str
    actor: str
    since_ms: int | None


@dataclass(frozen=True, slots=True)
class BreakerChange:
    """changed=False: the breaker already was in the asked state (a repeated trip or reset is harmless)."""

    changed: bool
    status: BreakerStatus


@dataclass(frozen=True, slots=True)
class RiskAlert:
    sequence: int
    kind: str
    symbol: str
    message: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class ReconciliationTicket:
    accepted: bool
    run_id: str
    message: str


@dataclass(frozen=True, slots=True)
class Divergence:
    symbol: str
    local_size: Decimal
    venue_size: Decimal
    divergence: Decimal


@dataclass(frozen=True, slots=True)
class ReconciliationStatus:
    """state: idle | running | done | failed."""

    state: str
    run_id: str
    started_ms: int | None
    finished_ms: int | None
    in_sync: bool
    divergences: tuple[Divergence, ...]
    message: str


class RiskPort(Protocol):
    async def get_risk_status(self) -> RiskStatus: ...

    async def get_risk_metrics(self) -> RiskMetrics: ...

    async def get_breaker(self) -> BreakerStatus: ...

    async def trip_breaker(self, reason: str, actor: str) -> BreakerChange:
        """Open the breaker by hand. `actor` is the API key id that asked (already audited by the API)."""
        ...

    async def reset_breaker(self, reason: str, actor: str) -> BreakerChange: ...

    async def trigger_reconciliation(self, symbol: str | None, actor: str) -> ReconciliationTicket: ...

    async def get_reconciliation_status(self) -> ReconciliationStatus: ...

    def subscribe_risk_alerts(self) -> AsyncIterator[RiskAlert]:
        """Alerts from now on (no history)."""
        ...


# --- positions and history --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageQuery:
    """A page of history, newest first. `page_token` is the previous page's `next_page_token` (opaque)."""

    symbol: str | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    page_token: str = ""
    since_ms: int | None = None
    until_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Items of one page; an empty `next_page_token` means this was the last page."""

    items: tuple[T, ...]
    next_page_token: str = ""


@dataclass(frozen=True, slots=True)
class PnlPoint:
    ts_ms: int
    symbol: str
    realized: Decimal
    unrealized: Decimal


@dataclass(frozen=True, slots=True)
class PositionUpdate:
    """snapshot=True: every position (replace your view); otherwise the positions that changed."""

    version: int
    epoch: str
    snapshot: bool
    positions: tuple[Position, ...]
    ts_ms: int


class PositionPort(Protocol):
    async def get_positions(self, symbol: str | None) -> tuple[Position, ...]: ...

    async def get_open_orders(self, symbol: str | None) -> tuple[Order, ...]: ...

    async def get_order_history(self, query: PageQuery) -> Page[Order]:
        """Raises ValueError naming `page_token` for a token it did not issue."""
        ...

    async def get_fills(self, query: PageQuery) -> Page[Fill]: ...

    async def get_pnl_history(
        self, symbol: str | None, since_ms: int | None, until_ms: int | None, limit: int
    ) -> tuple[PnlPoint, ...]: ...

    def subscribe_positions(self, symbol: str | None) -> AsyncIterator[PositionUpdate]:
        """A snapshot first, then changes; a snapshot again if the reader fell behind."""
        ...


# --- audit ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One control call: which key (its id, never the key), what, and how it ended (ok, denied, error)."""

    key_id: str
    role: str
    method: str
    detail: str
    outcome: str
    ts_ms: int
