"""Multi-leg execution with compensation (REQUIREMENTS §15): entry = leg A, then leg B sized from A's executed
quantity, unwinding A's excess when B falls short; exit = close both legs (in parallel across venues, perp
first on one venue), then verify flat. Each venue call is a named step with a deterministic client order id
from (workflow, step), so a step replayed after a crash finds its earlier order instead of placing another.

The step runner (`LegOps`) is a port: `DirectOps` runs steps in-process; `workflows.py` makes them DBOS steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

import anyio
from loguru import logger

from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import NetworkError, OrderNotFound, RateLimited, VenueError
from opensqt.model import ZERO, Instrument, Order, OrderType, PlaceOrder, Side, TimeInForce
from opensqt.trading.execution.executor import ExecutionParams, Executor
from opensqt.trading.execution.outcomes import OrderAcknowledged, OrderOutcomeUnknown, Outcome
from opensqt.trading.logic.client_ids import to_base36
from opensqt.trading.state.legs import LegRole

#: Rounds of close-and-verify in an exit, and unwind attempts in an entry, before reporting a residual.
MAX_ROUNDS = 3


class StepUncertain(Exception):
    """A venue call's outcome could not be established; the step must run again (it will look first)."""


@dataclass(frozen=True, slots=True)
class LegSpec:
    """One leg of a plan: its role, venue name and instrument (tick, lot, fees travel with it)."""

    role: LegRole
    venue: str
    instrument: Instrument

    @property
    def opening_side(self) -> Side:
        return self.role.opening_side

    @property
    def is_spot(self) -> bool:
        return not self.instrument.is_perpetual


@dataclass(frozen=True, slots=True)
class LegExecution:
    """What one order step did. `status`: filled, partial, rejected (`error` says why)."""

    step: str
    client_order_id: str
    venue: str
    symbol: str
    role: LegRole
    side: Side
    requested: Decimal
    filled: Decimal
    average_price: Decimal | None
    fee: Decimal
    status: str
    error: str = ""


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """Open `quantity` (already on the coarser venue's lot) of `first` then `second`."""

    workflow_id: str
    key: str
    first: LegSpec
    second: LegSpec
    quantity: Decimal

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise ValueError(f"entry {self.workflow_id}: quantity must be > 0, got {self.quantity}")
        if {self.first.role, self.second.role} != {LegRole.LONG, LegRole.SHORT}:
            raise ValueError(f"entry {self.workflow_id}: needs one long and one short leg")


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """Close `long_qty` of the long leg and `short_qty` of the short leg, then verify that the venue holds no
    more than `long_keep` / `short_keep` (0: flat; a partial exit, such as halving, keeps the rest)."""

    workflow_id: str
    key: str
    long: LegSpec
    short: LegSpec
    long_qty: Decimal
    short_qty: Decimal
    reason: str = ""
    long_keep: Decimal = ZERO
    short_keep: Decimal = ZERO


class EntryOutcome(StrEnum):
    OPENED = "opened"  # both legs hold the same quantity (within one lot of the coarser venue)
    ABORTED = "aborted"  # leg A placed nothing: nothing to undo
    COMPENSATED = "compensated"  # leg B failed; A was unwound
    NAKED = "naked"  # the unwind failed too: a human (or the breaker) must look


class ExitOutcome(StrEnum):
    CLOSED = "closed"
    RESIDUAL = "residual"  # something is still held after every round


@dataclass(frozen=True, slots=True)
class EntryResult:
    outcome: EntryOutcome
    long_qty: Decimal
    short_qty: Decimal
    executions: tuple[LegExecution, ...] = ()


@dataclass(frozen=True, slots=True)
class ExitResult:
    outcome: ExitOutcome
    long_left: Decimal
    short_left: Decimal
    executions: tuple[LegExecution, ...] = ()


def leg_client_order_id(workflow_id: str, step: str) -> str:
    """`x<13 base36 digits of the workflow id's hash><step>`: letters and digits only, at most 22 characters,
    the same on every replay of the step."""
    if not step.isalnum() or len(step) > 8:
        raise ValueError(f"step name: expected 1-8 letters or digits, got {step!r}")
    digest = int.from_bytes(hashlib.sha256(workflow_id.encode()).digest()[:8], "big")
    return f"x{to_base36(digest).rjust(13, '0')}{step}"


class LegOps(Protocol):
    """The durable boundary: each call is one step whose result is recorded before the next starts."""

    async def order(self, step: str, spec: LegSpec, side: Side, qty: Decimal) -> LegExecution: ...

    async def held(self, step: str, spec: LegSpec) -> Decimal:
        """The venue's signed size of the leg's instrument (base balance for spot)."""
        ...

    def boundary(self, name: str) -> None:
        """Called between steps (crash tests hook here)."""
        ...


# --- the venue calls of one step --------------------------------------------------------------------------


@dataclass
class VenueCalls:
    """The venue side of the steps: idempotent order placement and position reads, by venue name."""

    venues: Mapping[str, Exchange]
    max_lookups: int = 8
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    backoff: Callable[[int], float] = field(default=lambda attempt: min(2.0, 0.05 * 2**attempt))

    def _venue(self, name: str) -> Exchange:
        try:
            return self.venues[name]
        except KeyError:
            raise ValueError(f"venue: {name!r} is not configured (have {sorted(self.venues)})") from None

    async def order(
        self, workflow_id: str, step: str, spec: LegSpec, side: Side, qty: Decimal
    ) -> LegExecution:
        """Place the step's market order unless the venue already has it (looked up by client id first)."""
        cid = leg_client_order_id(workflow_id, step)
        inst = spec.instrument
        exchange = self._venue(spec.venue)
        reduce_only = inst.is_perpetual and side is not spec.opening_side
        command = PlaceOrder(
            cid, inst.symbol, side, qty, None, OrderType.MARKET, TimeInForce.IOC, reduce_only
        )
        found = await self._lookup(exchange, command)
        if found is None:
            outcomes: list[Outcome] = []
            executor = Executor(
                exchange,
                outcomes.append,
                params=ExecutionParams(max_retries=self.max_lookups, use_batches=False),
                backoff=self.backoff,
                sleep=self.sleep,
            )
            await executor.place([command])
            outcome = outcomes[0]
            if isinstance(outcome, OrderOutcomeUnknown):
                raise StepUncertain(f"{cid}: outcome unknown after retries ({outcome.error})")
            if not isinstance(outcome, OrderAcknowledged):
                error = getattr(outcome, "error", None)
                logger.warning("leg order {} {} rejected: {}", cid, inst.symbol, error)
                return self._execution(step, spec, command, None, f"{type(error).__name__}: {error}")
            found = outcome.order
        return self._execution(step, spec, command, found, "")

    async def _lookup(self, exchange: Exchange, command: PlaceOrder) -> Order | None:
        for attempt in range(self.max_lookups):
            try:
                return await exchange.fetch_order(command.symbol, command.client_order_id)
            except OrderNotFound:
                return None
            except RateLimited as exc:
                await self.sleep(exc.retry_after or self.backoff(attempt))
            except (NetworkError, VenueError):
                await self.sleep(self.backoff(attempt))
        raise StepUncertain(f"{command.client_order_id}: the venue could not say whether the order exists")

    @staticmethod
    def _execution(
        step: str, spec: LegSpec, command: PlaceOrder, order: Order | None, error: str
    ) -> LegExecution:
        inst = spec.instrument
        filled = order.filled if order is not None else ZERO
        price = order.average_price if order is not None and filled > 0 else None
        # Market orders take: the fee is the venue's taker rate on what executed (the sim's exact rule).
        fee = inst.notional(price, filled) * inst.taker_fee if price is not None else ZERO
        if order is None:
            status = "rejected"
        else:
            status = "filled" if filled == command.quantity else ("partial" if filled > 0 else "rejected")
        return LegExecution(
            step,
            command.client_order_id,
            spec.venue,
            inst.symbol,
            spec.role,
            command.side,
            command.quantity,
            filled,
            price,
            fee,
            status,
            error or ("" if order is None or filled > 0 else f"order {order.status.value}"),
        )

    async def held(self, spec: LegSpec) -> Decimal:
        exchange = self._venue(spec.venue)
        inst = spec.instrument
        for attempt in range(self.max_lookups):
            try:
                if inst.is_perpetual:
                    positions = await exchange.fetch_positions([inst.symbol])
                    return sum((p.size for p in positions if p.symbol == inst.symbol), ZERO)
                balances = await exchange.fetch_balance()
                balance = balances.get(inst.base)
                return balance.total if balance is not None else ZERO
            except (NetworkError, RateLimited):
                await self.sleep(self.backoff(attempt))
        raise StepUncertain(f"{spec.venue} {inst.symbol}: could not read the position")


@dataclass
class DirectOps:
    """Steps run in-process, not durable: for tests, benchmarks and venues without a workflow database."""

    calls: VenueCalls
    workflow_id: str
    on_boundary: Callable[[str], None] | None = None

    async def order(self, step: str, spec: LegSpec, side: Side, qty: Decimal) -> LegExecution:
        return await self.calls.order(self.workflow_id, step, spec, side, qty)

    async def held(self, step: str, spec: LegSpec) -> Decimal:
        return await self.calls.held(spec)

    def boundary(self, name: str) -> None:
        if self.on_boundary is not None:
            self.on_boundary(name)


# --- the two workflows' bodies (deterministic given the steps' results) -------------------------------------


async def run_entry(plan: EntryPlan, ops: LegOps) -> EntryResult:
    """Leg A; nothing executed -> abort. Leg B sized from A's executed quantity; B short of A by a lot or more
    -> unwind A's excess (up to MAX_ROUNDS attempts). Never leaves more than one lot unhedged unless NAKED."""
    first, second = plan.first, plan.second
    done: list[LegExecution] = []
    ops.boundary("entry:start")
    a = await ops.order("A", first, first.opening_side, plan.quantity)
    done.append(a)
    ops.boundary("entry:A")
    if a.filled <= 0:
        return _entry_result(EntryOutcome.ABORTED, done)
    qty_b = second.instrument.floor_qty(a.filled)
    b_filled = ZERO
    if qty_b > 0:
        b = await ops.order("B", second, second.opening_side, qty_b)
        done.append(b)
        b_filled = b.filled
        ops.boundary("entry:B")
    excess = first.instrument.floor_qty(a.filled - b_filled)
    if excess > 0:
        left = await _unwind(ops, first, excess, "U", done)
        ops.boundary("entry:unwound")
        if left > 0:
            return _entry_result(EntryOutcome.NAKED, done)
    return _entry_result(EntryOutcome.OPENED if b_filled > 0 else EntryOutcome.COMPENSATED, done)


async def _unwind(ops: LegOps, spec: LegSpec, qty: Decimal, prefix: str, done: list[LegExecution]) -> Decimal:
    """Close `qty` of `spec` in up to MAX_ROUNDS orders; returns what could not be closed."""
    left = qty
    for attempt in range(MAX_ROUNDS):
        if left <= 0:
            break
        u = await ops.order(f"{prefix}{attempt}", spec, spec.opening_side.opposite, left)
        done.append(u)
        left = spec.instrument.floor_qty(left - u.filled)
    return left


def _entry_result(outcome: EntryOutcome, done: list[LegExecution]) -> EntryResult:
    return EntryResult(outcome, _net(done, LegRole.LONG), _net(done, LegRole.SHORT), tuple(done))


def _net(done: list[LegExecution], role: LegRole) -> Decimal:
    opening = role.opening_side
    return sum((e.filled if e.side is opening else -e.filled for e in done if e.role is role), ZERO)


async def run_exit(plan: ExitPlan, ops: LegOps) -> ExitResult:
    """Close both legs, then read the venue and close any residual over what the plan keeps, up to
    MAX_ROUNDS rounds (a partial exit verifies against its kept sizes, not against flat).

    Across venues both closes run at once; on one venue the perp closes first (its margin backs the spot
    short, and a perp left alone is the leg that can be liquidated)."""
    done: list[LegExecution] = []
    want = {LegRole.LONG: plan.long_qty, LegRole.SHORT: plan.short_qty}
    specs = {LegRole.LONG: plan.long, LegRole.SHORT: plan.short}
    keep = {LegRole.LONG: plan.long_keep, LegRole.SHORT: plan.short_keep}
    ops.boundary("exit:start")
    left = dict(want)
    for rnd in range(MAX_ROUNDS):
        todo = [r for r in (LegRole.LONG, LegRole.SHORT) if left[r] > 0]
        if todo:
            await _close_round(ops, specs, left, todo, rnd, done, plan.long.venue == plan.short.venue)
            ops.boundary(f"exit:closed{rnd}")
        held = {}
        for role in (LegRole.LONG, LegRole.SHORT):
            size = await ops.held(f"V{role.value[0].upper()}{rnd}", specs[role])
            held[role] = size if role is LegRole.LONG else -size
        ops.boundary(f"exit:verified{rnd}")
        left = {r: specs[r].instrument.floor_qty(max(ZERO, held[r] - keep[r])) for r in held}
        if all(v == 0 for v in left.values()):
            return ExitResult(ExitOutcome.CLOSED, ZERO, ZERO, tuple(done))
    return ExitResult(ExitOutcome.RESIDUAL, left[LegRole.LONG], left[LegRole.SHORT], tuple(done))


async def _close_round(
    ops: LegOps,
    specs: dict[LegRole, LegSpec],
    left: dict[LegRole, Decimal],
    todo: list[LegRole],
    rnd: int,
    done: list[LegExecution],
    same_venue: bool,
) -> None:
    def step(role: LegRole) -> str:
        return f"X{role.value[0].upper()}{rnd}"

    if same_venue or len(todo) == 1:
        for role in sorted(todo, key=lambda r: specs[r].is_spot):  # perp (is_spot False) first
            done.append(
                await ops.order(step(role), specs[role], specs[role].opening_side.opposite, left[role])
            )
        return
    results: dict[LegRole, LegExecution] = {}

    async def close(role: LegRole) -> None:
        results[role] = await ops.order(
            step(role), specs[role], specs[role].opening_side.opposite, left[role]
        )

    async with anyio.create_task_group() as tg:
        for role in todo:  # started in a fixed order so a durable replay numbers the steps the same way
            tg.start_soon(close, role)
    done.extend(results[r] for r in todo)


class WorkflowRunner(Protocol):
    """What the engine needs from an execution back end: durable (DBOS) or direct."""

    async def entry(self, plan: EntryPlan) -> EntryResult: ...

    async def exit(self, plan: ExitPlan) -> ExitResult: ...


@dataclass
class DirectWorkflows:
    """Entries and exits run in-process without a workflow database: not crash-safe (tests, backtests)."""

    calls: VenueCalls
    on_boundary: Callable[[str], None] | None = None

    async def entry(self, plan: EntryPlan) -> EntryResult:
        return await run_entry(plan, DirectOps(self.calls, plan.workflow_id, self.on_boundary))

    async def exit(self, plan: ExitPlan) -> ExitResult:
        return await run_exit(plan, DirectOps(self.calls, plan.workflow_id, self.on_boundary))
