"""ArbitrageService: the port an arbitrage engine implements (legs, workflows with their steps, funding
collected) and its gRPC servicer, registered through `ApiServer(extra_services=arbitrage_services(port))`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from grpc import aio

from opensqt.api.ports import NotFound, Page, PageQuery
from opensqt.api.services import Ctx, InvalidArgument, _opt, _time_range, page_arg, symbol_arg, unary
from opensqt.api.v1 import arbitrage_pb2, arbitrage_pb2_grpc, common_pb2
from opensqt.model import Side

#: A workflow's status: running, or the outcome it ended with (entry: opened, aborted, compensated, naked;
#: exit: closed, residual).
WORKFLOW_STATUSES = frozenset({"running", "opened", "aborted", "compensated", "naked", "closed", "residual"})
#: A step's status (the proto's words): succeeded (filled), failed (rejected or nothing filled), running.
STEP_STATUSES = frozenset({"pending", "running", "succeeded", "failed", "compensated"})
MAX_WORKFLOW_ID = 200
SERVICE_NAME = arbitrage_pb2.DESCRIPTOR.services_by_name["ArbitrageService"].full_name


@dataclass(frozen=True, slots=True)
class LegView:
    """One leg of a position. `status` is its position's phase (opening, open, closing, closed)."""

    leg_id: str
    venue: str
    symbol: str
    side: Side
    quantity: Decimal
    filled: Decimal
    entry_price: Decimal | None
    status: str
    ts_update_ms: int


@dataclass(frozen=True, slots=True)
class StepView:
    name: str
    status: str
    attempt: int
    error: str
    started_ms: int | None
    finished_ms: int | None


@dataclass(frozen=True, slots=True)
class WorkflowView:
    """kind: entry | exit; status: one of WORKFLOW_STATUSES."""

    workflow_id: str
    kind: str
    status: str
    steps: tuple[StepView, ...]
    created_ms: int
    updated_ms: int


@dataclass(frozen=True, slots=True)
class FundingPaymentView:
    symbol: str
    venue: str
    amount: Decimal
    asset: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class FundingCollectedView:
    total: Decimal
    asset: str
    payments: tuple[FundingPaymentView, ...]


class ArbitragePort(Protocol):
    async def get_legs(self, symbol: str | None) -> tuple[LegView, ...]:
        """Legs of every position held or closed in this run (and restored ones); None: every symbol."""
        ...

    async def get_workflows(self, status: str | None, query: PageQuery) -> Page[WorkflowView]:
        """Newest first. Raises ValueError naming `page.page_token` for a token it did not issue."""
        ...

    async def get_workflow(self, workflow_id: str) -> WorkflowView:
        """Raises NotFound for an unknown id."""
        ...

    async def get_funding_collected(
        self, symbol: str | None, since_ms: int | None, until_ms: int | None
    ) -> FundingCollectedView: ...


# --- conversion -------------------------------------------------------------------------------------------


def _dec(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def leg_to_pb(leg: LegView) -> arbitrage_pb2.Leg:
    return arbitrage_pb2.Leg(
        leg_id=leg.leg_id,
        venue=leg.venue,
        symbol=leg.symbol,
        side=common_pb2.SIDE_BUY if leg.side is Side.BUY else common_pb2.SIDE_SELL,
        quantity=str(leg.quantity),
        filled=str(leg.filled),
        entry_price=_dec(leg.entry_price),
        status=leg.status,
        ts_update_ms=leg.ts_update_ms,
    )


def step_to_pb(step: StepView) -> arbitrage_pb2.WorkflowStep:
    message = arbitrage_pb2.WorkflowStep(
        name=step.name, status=step.status, attempt=step.attempt, error=step.error
    )
    if step.started_ms is not None:
        message.started_ms = step.started_ms
    if step.finished_ms is not None:
        message.finished_ms = step.finished_ms
    return message


def workflow_to_pb(wf: WorkflowView) -> arbitrage_pb2.Workflow:
    return arbitrage_pb2.Workflow(
        workflow_id=wf.workflow_id,
        kind=wf.kind,
        status=wf.status,
        steps=[step_to_pb(s) for s in wf.steps],
        created_ms=wf.created_ms,
        updated_ms=wf.updated_ms,
    )


def funding_to_pb(f: FundingCollectedView) -> arbitrage_pb2.FundingCollected:
    return arbitrage_pb2.FundingCollected(
        total=str(f.total),
        asset=f.asset,
        payments=[
            arbitrage_pb2.FundingPayment(
                symbol=p.symbol, venue=p.venue, amount=str(p.amount), asset=p.asset, ts_ms=p.ts_ms
            )
            for p in f.payments
        ],
    )


# --- servicer ---------------------------------------------------------------------------------------------


def workflow_id_arg(value: str) -> str:
    if not value:
        raise InvalidArgument("workflow_id: expected a workflow id, got an empty text")
    if len(value) > MAX_WORKFLOW_ID or not value.isprintable():
        raise InvalidArgument(f"workflow_id: expected at most {MAX_WORKFLOW_ID} printable characters")
    return value


def status_arg(value: str) -> str | None:
    if value == "":
        return None
    if value not in WORKFLOW_STATUSES:
        raise InvalidArgument(
            f"status: expected one of {', '.join(sorted(WORKFLOW_STATUSES))} (empty for all)"
        )
    return value


class ArbitrageServicer(arbitrage_pb2_grpc.ArbitrageServiceServicer):
    def __init__(self, port: ArbitragePort) -> None:
        self._port = port

    @unary
    async def GetLegs(self, request: arbitrage_pb2.GetLegsRequest, context: Ctx) -> arbitrage_pb2.Legs:
        legs = await self._port.get_legs(symbol_arg(request.symbol))
        return arbitrage_pb2.Legs(legs=[leg_to_pb(x) for x in legs])

    @unary
    async def GetWorkflows(
        self, request: arbitrage_pb2.GetWorkflowsRequest, context: Ctx
    ) -> arbitrage_pb2.WorkflowPage:
        status = status_arg(request.status)
        page = await self._port.get_workflows(status, page_arg(request.page))
        return arbitrage_pb2.WorkflowPage(
            workflows=[workflow_to_pb(w) for w in page.items], next_page_token=page.next_page_token
        )

    @unary
    async def GetWorkflow(
        self, request: arbitrage_pb2.GetWorkflowRequest, context: Ctx
    ) -> arbitrage_pb2.Workflow:
        return workflow_to_pb(await self._port.get_workflow(workflow_id_arg(request.workflow_id)))

    @unary
    async def GetFundingCollected(
        self, request: arbitrage_pb2.GetFundingCollectedRequest, context: Ctx
    ) -> arbitrage_pb2.FundingCollected:
        since, until = _opt(request, "since_ms"), _opt(request, "until_ms")
        _time_range(since, until, "")
        found = await self._port.get_funding_collected(symbol_arg(request.symbol), since, until)
        return funding_to_pb(found)


def arbitrage_services(port: ArbitragePort) -> Callable[[aio.Server], tuple[str, ...]]:
    """For `ApiServer(extra_services=...)`: registers ArbitrageService and names it for health/reflection."""

    def register(server: aio.Server) -> tuple[str, ...]:
        arbitrage_pb2_grpc.add_ArbitrageServiceServicer_to_server(ArbitrageServicer(port), server)  # type: ignore[no-untyped-call]
        return (SERVICE_NAME,)

    return register


__all__ = [
    "STEP_STATUSES",
    "WORKFLOW_STATUSES",
    "ArbitragePort",
    "ArbitrageServicer",
    "FundingCollectedView",
    "FundingPaymentView",
    "LegView",
    "NotFound",
    "StepView",
    "WorkflowView",
    "arbitrage_services",
]
