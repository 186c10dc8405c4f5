"""Arbitrage entries and exits as DBOS durable workflows: each venue call of `legs.run_entry`/`run_exit` is a
DBOS step whose result is recorded, so after a crash `launch()` resumes the workflow where it stopped and a
replayed step finds its earlier order by client id. System database: SQLite under the data dir by default,
PostgreSQL by URL. DBOS is process-global: one `DurableWorkflows` per process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from dbos import DBOS, SetWorkflowID
from loguru import logger

from opensqt.model import Side
from opensqt.trading.execution.legs import (
    EntryPlan,
    EntryResult,
    ExitPlan,
    ExitResult,
    LegExecution,
    LegSpec,
    StepUncertain,
    VenueCalls,
    run_entry,
    run_exit,
)

APP_NAME = "opensqt-arbitrage"
#: Fixed so that a workflow started by one build is recovered by the next (DBOS otherwise hashes the code).
APP_VERSION = "arbitrage-workflows-1"
ENTRY = "arbitrage.entry"
EXIT = "arbitrage.exit"
_PENDING = ["PENDING", "ENQUEUED"]

#: (audit id, action, target, result, details): ids are deterministic, so a replayed step adds no row.
AuditSink = Callable[[str, str, str, str, dict[str, Any]], None]


@dataclass
class _Runtime:
    calls: VenueCalls
    audit: AuditSink | None
    on_boundary: Callable[[str, str], None] | None


_runtime: _Runtime | None = None


def _rt() -> _Runtime:
    if _runtime is None:
        raise RuntimeError("arbitrage workflows: DurableWorkflows.launch() has not run in this process")
    return _runtime


def _retry(exc: BaseException) -> bool:
    return isinstance(exc, StepUncertain)


@DBOS.step(
    name="arbitrage.order", retries_allowed=True, max_attempts=6, interval_seconds=0.5, should_retry=_retry
)
async def _order_step(workflow_id: str, step: str, spec: LegSpec, side: Side, qty: Decimal) -> LegExecution:
    rt = _rt()
    done = await rt.calls.order(workflow_id, step, spec, side, qty)
    if rt.audit is not None:
        rt.audit(
            f"{workflow_id}:{step}",
            "arbitrage.order",
            f"{spec.venue}:{spec.instrument.symbol}",
            done.status,
            {
                "workflow_id": workflow_id,
                "step": step,
                "client_order_id": done.client_order_id,
                "side": side.value,
                "requested": str(qty),
                "filled": str(done.filled),
                "average_price": None if done.average_price is None else str(done.average_price),
                "error": done.error,
            },
        )
    return done


@DBOS.step(
    name="arbitrage.held", retries_allowed=True, max_attempts=6, interval_seconds=0.5, should_retry=_retry
)
async def _held_step(workflow_id: str, step: str, spec: LegSpec) -> Decimal:
    return await _rt().calls.held(spec)


@dataclass
class _DbosOps:
    workflow_id: str

    async def order(self, step: str, spec: LegSpec, side: Side, qty: Decimal) -> LegExecution:
        return await _order_step(self.workflow_id, step, spec, side, qty)

    async def held(self, step: str, spec: LegSpec) -> Decimal:
        return await _held_step(self.workflow_id, step, spec)

    def boundary(self, name: str) -> None:
        hook = _rt().on_boundary
        if hook is not None:
            hook(self.workflow_id, name)


def _audit_result(workflow_id: str, action: str, key: str, outcome: str, details: dict[str, Any]) -> None:
    rt = _rt()
    if rt.audit is not None:
        rt.audit(f"{workflow_id}:result", action, key, outcome, {"workflow_id": workflow_id, **details})


@DBOS.workflow(name=ENTRY)
async def entry_workflow(plan: EntryPlan) -> EntryResult:
    result = await run_entry(plan, _DbosOps(plan.workflow_id))
    _audit_result(
        plan.workflow_id,
        "arbitrage.entry",
        plan.key,
        result.outcome.value,
        {"long": str(result.long_qty), "short": str(result.short_qty), "quantity": str(plan.quantity)},
    )
    return result


@DBOS.workflow(name=EXIT)
async def exit_workflow(plan: ExitPlan) -> ExitResult:
    result = await run_exit(plan, _DbosOps(plan.workflow_id))
    _audit_result(
        plan.workflow_id,
        "arbitrage.exit",
        plan.key,
        result.outcome.value,
        {"long_left": str(result.long_left), "short_left": str(result.short_left), "reason": plan.reason},
    )
    return result


def default_system_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'dbos.sqlite').as_posix()}"


class DurableWorkflows:
    """Runs entries and exits durably. `launch()` opens the system database and resumes whatever a crashed
    process left running; `entry`/`exit` start (or, for a known id, re-attach to) a workflow and wait."""

    def __init__(
        self,
        calls: VenueCalls,
        system_database_url: str,
        *,
        audit: AuditSink | None = None,
        on_boundary: Callable[[str, str], None] | None = None,
    ) -> None:
        self.calls = calls
        self.url = system_database_url
        self.audit = audit
        self.on_boundary = on_boundary
        self._launched = False

    def launch(self) -> None:
        """Call inside the event loop that will run the workflows (DBOS resumes pending ones on it)."""
        global _runtime
        _runtime = _Runtime(self.calls, self.audit, self.on_boundary)
        DBOS(
            config={
                "name": APP_NAME,
                "system_database_url": self.url,
                "application_version": APP_VERSION,
                "log_level": "WARNING",
                "run_admin_server": False,
            }  # type: ignore[typeddict-unknown-key]
        )
        DBOS.launch()
        self._launched = True

    async def pending(self) -> list[tuple[str, str]]:
        """(workflow id, name) of every entry or exit not finished, oldest first."""
        found = await DBOS.list_workflows_async(status=_PENDING, name=[ENTRY, EXIT], load_input=False)
        return [(w.workflow_id, w.name) for w in found]

    async def resume(self, workflow_id: str) -> EntryResult | ExitResult:
        """Wait for a workflow DBOS recovered at launch (or any known one) and return its result."""
        handle: Any = await DBOS.retrieve_workflow_async(workflow_id)
        result: EntryResult | ExitResult = await handle.get_result()
        return result

    async def entry(self, plan: EntryPlan) -> EntryResult:
        with SetWorkflowID(plan.workflow_id):
            handle = await DBOS.start_workflow_async(entry_workflow, plan)
        result: EntryResult = await handle.get_result()
        return result

    async def exit(self, plan: ExitPlan) -> ExitResult:
        with SetWorkflowID(plan.workflow_id):
            handle = await DBOS.start_workflow_async(exit_workflow, plan)
        result: ExitResult = await handle.get_result()
        return result

    def shutdown(self) -> None:
        global _runtime
        if self._launched:
            DBOS.destroy(destroy_registry=False)
            self._launched = False
            logger.debug("DBOS stopped")
        _runtime = None
