"""`GridEngine`: the lean orchestrator of the trailing grid (REQUIREMENTS §1-4, §9, §16).

It glues the pure parts together: prices from the `PriceMonitor` and order updates from the venue go into
the `SlotManager`; `decide_grid_orders` turns a snapshot into commands; the `Executor` carries them out and
reports outcomes back. Every slot change happens in synchronous code on one event loop, so a decision
round is atomic (see docs/ARCHITECTURE.md, "Concurrency"). Start-up order: order stream verified -> price
stream and first price -> pre-flight -> restore from the venue -> reconcile -> trade.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup, TaskStatus
from loguru import logger

from opensqt.clock import Clock
from opensqt.engines.grid_config import GridEngineConfig, tick_problem
from opensqt.engines.grid_core import GridCore, slot_orders
from opensqt.engines.grid_events import (
    EngineEvent,
    EngineNotice,
    EngineStatus,
    OrderEvent,
    SlotsChanged,
    StartupError,
)
from opensqt.engines.grid_recovery import GridRecovery
from opensqt.engines.journal import EngineJournal, NullJournal
from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import (
    ExchangeError,
    InsufficientFunds,
    NetworkError,
    OrderWouldCross,
    RateLimited,
    VenueError,
)
from opensqt.market.price_monitor import PriceMonitor
from opensqt.model import (
    CancelOrder,
    Command,
    Instrument,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Position,
    PriceUpdated,
    Side,
    SlotStatus,
    timeframe_ms,
)
from opensqt.risk import (
    SYSTEM_ACTOR,
    CircuitBreaker,
    EmergencyExitPolicy,
    ExitContext,
    ReconcileReport,
    RiskEvent,
    RiskMonitor,
    decide_cleanup,
)
from opensqt.runtime.channels import LatestValue
from opensqt.runtime.limits import TokenBucket
from opensqt.runtime.workers import Workers
from opensqt.trading.execution.executor import Executor
from opensqt.trading.execution.outcomes import (
    CancelAcknowledged,
    CancelFailed,
    OrderAcknowledged,
    OrderOutcomeUnknown,
    OrderRejected,
    Outcome,
)
from opensqt.trading.logic import (
    GridParams,
    GridSnapshot,
    decide_grid_orders,
    decide_slot_orders,
)
from opensqt.trading.state import (
    SlotChange,
    SlotManager,
)

T = TypeVar("T")


class GridEngine:
    def __init__(
        self,
        exchange: Exchange,
        config: GridEngineConfig,
        clock: Clock,
        *,
        journal: EngineJournal | None = None,
        rate_limit: float = 10.0,
        preflight: Callable[[GridEngine], Any] | None = None,
        exit_policy: EmergencyExitPolicy | None = None,
    ) -> None:
        self.exchange = exchange
        self.config = config
        self.clock = clock
        self.journal = journal or NullJournal()
        self.symbol = config.symbol
        # the grid's state and decisions: the same code a backtest drives (opensqt.engines.grid_core)
        self.core = GridCore(
            config,
            None,
            RiskMonitor(config.risk_monitor) if config.risk_monitor is not None else None,
            on_notice=self._core_notice,
        )
        self.prices = PriceMonitor(
            exchange, self.symbol, clock, stale_after_seconds=config.price_stale_seconds
        )
        # every timer runs on the engine's clock, so replays and tests need no wall time
        self.executor = Executor(
            exchange,
            self._on_outcome,
            params=config.execution,
            bucket=TokenBucket(rate_limit, clock=clock.monotonic, sleep=clock.sleep),
            sleep=clock.sleep,
        )
        # tick-to-order: seconds from a price or fill event to its orders being handed to the executor
        self.on_latency: Callable[[float], None] | None = None
        # synchronous listeners (API hubs, metrics): called in order, must not block or raise
        self.listeners: list[Callable[[EngineEvent], None]] = []
        self.instrument: Instrument | None = None
        self.phase = "created"
        self.order_stream_live = False
        self.last_reconcile: ReconcileReport | None = None
        self._preflight = preflight
        # §16: asked on every position change; True runs the emergency exit (cancel all, close, halt)
        self.exit_policy = exit_policy
        self.exiting: str | None = None
        self._tg: TaskGroup | None = None
        self._workers: Workers | None = None
        # what the last decision read; the same inputs give the same (already dispatched) commands
        self._decided_on: tuple[Any, ...] | None = None
        self._price_sub: LatestValue[PriceUpdated] | None = None
        self._dispatched_all = True
        self._stopping = False
        self._restored = False
        self._early_updates: list[OrderUpdated] = []
        self.recovery = GridRecovery(self)

    # --- the core's state, read (and set by tests and reloads) through the engine -------------------

    @property
    def params(self) -> GridParams:
        return self.core.params

    @property
    def slots(self) -> SlotManager:
        return self.core.slots

    @property
    def breaker(self) -> CircuitBreaker:
        return self.core.breaker

    @property
    def risk(self) -> RiskMonitor | None:
        return self.core.risk

    @risk.setter
    def risk(self, monitor: RiskMonitor | None) -> None:
        self.core.risk = monitor

    @property
    def interval(self) -> Decimal:
        return self.core.interval

    @property
    def centre(self) -> Decimal | None:
        return self.core.centre

    @property
    def margin_locked_until_ms(self) -> int:
        return self.core.margin_locked_until_ms

    @property
    def manual_pause(self) -> str | None:
        return self.core.paused

    @manual_pause.setter
    def manual_pause(self, reason: str | None) -> None:
        self.core.paused = reason

    @property
    def stats(self) -> Counter[str]:
        return self.core.stats

    @property
    def risk_triggered(self) -> bool:
        return self.core.risk_triggered

    def paused_reasons(self, now_ms: int | None = None) -> tuple[str, ...]:
        now = self.clock.now_ms() if now_ms is None else now_ms
        reasons = []
        if self.phase != "trading":
            reasons.append(f"phase {self.phase}")
        if self.manual_pause:
            reasons.append(f"paused: {self.manual_pause}")
        if self.prices.is_stale(now):
            reasons.append("price stale")
        if now < self.margin_locked_until_ms:
            reasons.append("margin locked")
        if self.risk_triggered:
            reasons.append("risk monitor triggered")
        if self.breaker.is_open:
            reasons.append("circuit breaker open")
        return tuple(reasons)

    def status(self) -> EngineStatus:
        book = self.slots
        counts = book.counts()
        latest = self.prices.latest
        return EngineStatus(
            phase=self.phase,
            paused_reasons=self.paused_reasons(),
            last_price=latest.price if latest else None,
            centre=self.centre,
            interval=self.interval,
            free=counts.get(SlotStatus.FREE, 0),
            pending=counts.get(SlotStatus.PENDING, 0),
            locked=counts.get(SlotStatus.LOCKED, 0),
            inventory=book.inventory,
            realized_pnl=book.realized_pnl,
            fees=book.fees,
            round_trips=book.round_trips,
            orders_placed=self.stats["placed"],
            fills=self.stats["fills"],
            risk_triggered=self.risk_triggered,
            breaker_open=self.breaker.is_open,
        )

    # --- life cycle ------------------------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Start in the required order, report ready once trading, run until cancelled."""
        try:
            async with anyio.create_task_group() as tg:
                self._tg = tg
                # venue calls run on long-lived workers: no task start on the tick-to-order path
                self._workers = Workers(tg, 2 * self.executor.params.max_concurrency, "executor")
                self.phase = "loading markets"
                markets = await self._retry(self.exchange.load_markets)
                if self.symbol not in markets:
                    raise StartupError(f"symbol {self.symbol} is not listed on {self.exchange.name}")
                self.instrument = self.core.instrument = markets[self.symbol]
                problem = tick_problem(self.config, self.instrument)
                if problem is not None:
                    raise StartupError(problem)
                self.phase = "starting order stream"
                await tg.start(self._run_order_stream)
                self.phase = "waiting for first price"
                await tg.start(self.prices.run)
                await self.prices.wait_first_price()
                self.phase = "pre-flight"
                await self._setup_venue()
                if self._preflight is not None:
                    await self._preflight(self)
                if self.risk is not None:
                    await self._start_risk_monitor(tg)
                if self.config.dynamic is not None:
                    await tg.start(self._run_interval_klines)
                self.phase = "restoring"
                await self.recovery.restore()
                await self.reconcile_now()
                self.phase = "trading"
                self._notice("engine", f"trading {self.symbol} on {self.exchange.name}")
                tg.start_soon(self._price_loop)
                tg.start_soon(self._housekeeping)
                task_status.started()
                self._decide()
        finally:
            self._tg = self._workers = None
            with anyio.CancelScope(shield=True):
                await self._shutdown()

    async def _shutdown(self) -> None:
        """Stop new orders, cancel the open ones (`cancel_on_exit`), flush the journal: all within one
        `shutdown_timeout` (wall time), so a signal always ends the process promptly."""
        self.phase = "stopping"
        with anyio.move_on_after(self.config.shutdown_timeout) as scope:
            if self.config.cancel_on_exit and self.instrument is not None:
                try:
                    cancelled = await self.exchange.cancel_all_orders(self.symbol)
                    logger.info("shutdown: cancelled {} open orders on {}", len(cancelled), self.symbol)
                except VenueError as exc:
                    logger.error("shutdown: could not cancel open orders: {}", exc)
            await self.journal.flush()
        if scope.cancelled_caught:
            logger.error("shutdown: not finished within {} s; stopping anyway", self.config.shutdown_timeout)
        self.prices.close()
        self.phase = "stopped"

    async def _retry(self, call: Callable[..., Awaitable[T]], *args: Any, attempts: int = 6) -> T:
        """An idempotent venue call (reads, set leverage), retried on network errors with backoff."""
        for attempt in range(attempts):
            try:
                return await call(*args)
            except (NetworkError, RateLimited) as exc:
                if attempt == attempts - 1:
                    raise
                delay = (
                    exc.retry_after if isinstance(exc, RateLimited) and exc.retry_after else 0.2 * 2**attempt
                )
                logger.warning(
                    "{} failed ({}); retrying in {:.1f}s", getattr(call, "__name__", "call"), exc, delay
                )
                await self.clock.sleep(delay)
        raise AssertionError("unreachable")

    async def _setup_venue(self) -> None:
        if await self._retry(self.exchange.fetch_position_mode):
            raise StartupError(
                f"{self.exchange.name}: the account is in hedge (dual-side) position mode; "
                "switch it to one-way mode before starting the grid"
            )
        if self.instrument is not None and self.instrument.is_perpetual:
            applied = await self._retry(self.exchange.set_leverage, self.symbol, self.config.leverage)
            if applied != self.config.leverage:
                raise StartupError(
                    f"{self.exchange.name}: leverage {applied} set, {self.config.leverage} asked"
                )

    # --- order stream ------------------------------------------------------------------------

    async def _run_order_stream(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Follow our order updates forever. Ready only once the venue's stream is subscribed."""
        ready = getattr(self.exchange, "wait_order_stream_ready", None)
        started = False
        failures = 0
        async with anyio.create_task_group() as tg:
            if ready is not None:
                # The stream subscribes on the first watch call; the venue tells us when it is live.
                async def announce() -> None:
                    nonlocal started
                    await ready(self.symbol)
                    self.order_stream_live = True
                    started = True
                    task_status.started()

                tg.start_soon(announce)
            while True:
                if ready is None and not started:
                    self.order_stream_live = True
                    started = True
                    task_status.started()
                try:
                    updates = await self.exchange.watch_orders(self.symbol)
                    failures = 0
                except (NetworkError, ExchangeError) as exc:
                    failures += 1
                    self.stats["order_stream_errors"] += 1
                    logger.warning("order stream failed ({}); resubscribing", exc)
                    await self.clock.sleep(min(5.0, 0.1 * 2**failures))
                    if self.phase == "trading":
                        self.spawn(self.reconcile_now)  # recover whatever the gap hid
                    continue
                self.on_order_updates(updates)

    def on_order_updates(self, updates: Sequence[OrderUpdated]) -> None:
        """The order stream's news. Before the slots are restored it is held (an update for an order the
        book does not know yet would be lost to it) and applied once they are."""
        if not self._restored:
            self._early_updates.extend(updates)
            return
        self._apply_updates(updates)

    def _apply_updates(self, updates: Sequence[OrderUpdated]) -> None:
        changes: list[SlotChange] = []
        filled: list[Decimal] = []  # the slots a fill changed
        for update in updates:
            if update.order.symbol != self.symbol:
                continue
            applied = self.core.on_update(update, self.clock.now_ms())
            if update.fill is not None and applied:
                filled += (change.price for change in applied)
            changes += applied
            self._journal_update(update, applied)
            if self.listeners:  # the fill path builds no event nobody reads
                self._emit(OrderEvent(update))
        if changes:
            self._after_changes(changes)
        if filled and self.phase == "trading":
            # tick-to-order: a fill frees or fills a slot; decide at once rather than on the next price
            self._decide_after_fill(list(dict.fromkeys(filled)))  # a slot filled twice in one batch: once

    def _after_changes(self, changes: list[SlotChange]) -> None:
        """Record and publish slot changes the core has already accounted for."""
        self.journal.slots_changed(self.symbol, [c.after for c in changes])
        if self.listeners:
            self._emit(SlotsChanged(self.slots.version, tuple(changes)))
        if any(c.before.position_qty != c.after.position_qty for c in changes):
            self._check_exit()

    # --- position and the emergency exit (§16) ------------------------------------------------------

    def position(self) -> Position:
        """The position the slots hold: signed size, average entry, unrealized PnL at the last price."""
        # asked on every position change (the emergency-exit check): no sorted snapshot of the book here
        size = self.slots.inventory  # signed: short slots count negative
        cost = self.slots.cost_basis
        entry = abs(cost / size) if size else Decimal(0)
        latest = self.prices.latest
        mark = latest.price if latest else None
        unrealized = (mark - entry) * size if (mark is not None and size) else Decimal(0)
        return Position(
            symbol=self.symbol,
            size=size,
            entry_price=entry,
            unrealized_pnl=unrealized,
            leverage=self.config.leverage,
            mark_price=mark,
            ts_event=self.clock.now_ms(),
        )

    def _check_exit(self) -> None:
        if self.exit_policy is None or self.exiting is not None or self.phase != "trading":
            return
        position = self.position()
        context = ExitContext(
            now_ms=self.clock.now_ms(),
            mark_price=position.mark_price,
            risk_triggered=self.risk_triggered,
            breaker_open=self.breaker.is_open,
        )
        if self.exit_policy.should_emergency_exit(position, context):
            reason = (
                f"position {position.size} at {position.mark_price}, unrealized {position.unrealized_pnl}"
            )
            self.exiting = reason
            self.spawn(self.emergency_exit, reason)

    async def emergency_exit(self, reason: str) -> None:
        """Cancel every order, close the position with a reduce-only market order, and stay halted until an
        operator resets (`ctl reset` clears the breaker this trips)."""
        now = self.clock.now_ms()
        self.exiting = reason
        self.core.paused = f"emergency exit: {reason}"
        self.core.breaker_event(self.breaker.trip(SYSTEM_ACTOR, f"emergency exit: {reason}", now), now)
        self._notice("emergency_exit", reason)
        await self._retry(self.exchange.cancel_all_orders, self.symbol)
        size = await self.recovery.venue_position()
        if size != 0:
            close = PlaceOrder(
                client_order_id=f"{self.params.bot_tag}X{now:x}",  # no slot parses from it: never a slot's
                symbol=self.symbol,
                side=Side.SELL if size > 0 else Side.BUY,
                quantity=abs(size),
                type=OrderType.MARKET,
                reduce_only=True,
            )
            await self.executor.place([close])
        self.recovery.force_sync(await self.recovery.venue_position())
        self._decide()  # orders that were in flight during the cancel are cancelled as they land
        self._notice("emergency_exit", f"done: venue position {await self.recovery.venue_position()}")

    def _emit(self, event: EngineEvent) -> None:
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a broken observer must never stop trading
                logger.exception("engine listener failed")

    def _journal_update(self, update: OrderUpdated, changes: list[SlotChange]) -> None:
        slot_price = self.slots.slot_price_of(update.order.client_order_id)
        slot = self.slots.slot(slot_price) if slot_price is not None else None
        self.journal.order_update(update, slot, changes)

    # --- prices and decisions ------------------------------------------------------------------

    async def _price_loop(self) -> None:
        subscription = self._price_sub = self.prices.subscribe()
        async for _update in subscription:
            self.on_price()

    def on_price(self) -> None:
        self._decide()

    def snapshot(self, now_ms: int) -> GridSnapshot | None:
        """The decision's input: the core's state at the PriceMonitor's latest price."""
        latest = self.prices.latest
        if latest is None or self.instrument is None:
            return None
        if self.phase != "trading":
            return None  # no order of any kind before start-up has restored and reconciled
        self.core.price, self.core.price_ts = latest.price, latest.ts_init
        return self.core.snapshot(now_ms)

    def _decide(self) -> None:
        if self._tg is None or self.instrument is None or self._stopping:
            return
        started = time.perf_counter()
        if self._price_sub is not None:
            # this decision reads the newest price: a price notification still pending would only decide
            # the same again, so it need not wake the price loop
            self._price_sub.seen()
        now = self.clock.now_ms()
        core = self.core
        # `decide` is pure: with every input as at the last decision (the same price update, slot book
        # version and flags, time-based ones included), it returns what was dispatched then. The order
        # stream and the price loop both react to a trade that fills, and the housekeeping timer fires
        # between prices: those repeat decisions are skipped here.
        inputs = (
            self.prices.latest,
            self.slots.version,
            core.interval,
            core.paused,
            self.breaker.is_open,
            self.risk_triggered,
            now < core.margin_locked_until_ms,
            core.is_stale(now),
            self.exiting,
            self.config,
        )
        if inputs == self._decided_on:
            self.core.stats["decisions_unchanged"] += 1
            return
        snap = self.snapshot(now)
        if snap is None:
            return
        self.core.stats["decisions"] += 1
        if self.exiting is not None:
            # halted by an emergency exit: every order that still rests (one in flight when the venue's
            # orders were cancelled) is cancelled, nothing is placed
            in_flight = self.slots.cancels_in_flight()
            commands: list[Command] = [
                CancelOrder(slot.client_order_id, self.symbol, slot.venue_order_id, "emergency exit")
                for slot in self.slots.slots.values()
                if slot.slot_status is SlotStatus.LOCKED
                and slot.client_order_id is not None
                and slot.client_order_id not in in_flight
            ]
            if commands:
                self.dispatch(commands, now)
            return
        commands = decide_grid_orders(snap, self.params, self.instrument)
        handed = self.dispatch(commands, now) if commands else 0
        # Remembered only when every command went out: one held back by a filter that time lifts (a
        # post-only cooldown) must be offered again. Read after dispatch: its reservations are part of
        # what the next decision sees.
        if not commands or self._dispatched_all:
            self._decided_on = (inputs[0], self.slots.version, *inputs[2:])
        else:
            self._decided_on = None
        if handed and self.on_latency is not None:
            self.on_latency(time.perf_counter() - started)

    def _decide_after_fill(self, slot_prices: list[Decimal]) -> None:
        """The filled slots' next orders first (a close, or a new opening order where a close filled); then
        the whole decision. A slot's order costs a fraction of a decision (re-quoting and re-centring are the
        rest), so it reaches the executor sooner: the price loop, woken for the same price, decides the rest
        after the executor's worker has taken the first. Together they send what one decision would
        (`decide_slot_orders` holds back when the quota could bind). Without a price loop (not trading yet,
        tests driving the engine by hand) the whole decision runs at once."""
        price_sub = self._price_sub
        if price_sub is None or self._tg is None or self.instrument is None or self._stopping:
            self._decide()
            return
        started = time.perf_counter()
        now = self.clock.now_ms()
        snap = self.snapshot(now) if self.exiting is None else None
        first = decide_slot_orders(snap, self.params, self.instrument, slot_prices) if snap else []
        if not first:
            self._decide()
            return
        self.core.stats["slot_orders_first"] += 1
        handed = self.dispatch(first, now)
        price_sub.redeliver()
        if handed and self.on_latency is not None:
            self.on_latency(time.perf_counter() - started)

    def dispatch(self, commands: Sequence[Command], now_ms: int) -> int:
        """Reserve slots synchronously (the core's filters: breaker, post-only cooldown, slot status), then
        hand the venue calls to the executor's tasks. Returns how many orders were handed over."""
        places, cancels = self.core.dispatch(commands, now_ms)
        self._dispatched_all = len(places) + len(cancels) == len(commands)
        if places:
            for command in places:
                self.journal.order_sent(command, now_ms)
            self._submit(self.executor.place, places)
        if cancels:
            self._submit(self.executor.cancel, cancels)
        return len(places)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        if self._workers is not None:
            self._workers.submit(fn, *args)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` as a task of the engine's task group (no-op once stopped)."""
        if self._tg is not None:
            self._tg.start_soon(fn, *args)

    # --- outcomes ------------------------------------------------------------------------------

    def _on_outcome(self, outcome: Outcome) -> None:
        now = self.clock.now_ms()
        changes: list[SlotChange] = []
        if isinstance(outcome, OrderAcknowledged):
            changes = self.core.on_ack(outcome.command, outcome.order, now)
            self._recorded(OrderUpdated(outcome.order), changes)
        elif isinstance(outcome, OrderRejected):
            if not isinstance(outcome.error, (OrderWouldCross, InsufficientFunds)):
                logger.warning("order {} rejected: {}", outcome.command.client_order_id, outcome.error)
            before = self.slots.version
            if self.core.on_rejected(outcome.command, outcome.error, now):
                self._decide()  # a margin lock cancels the opening orders at once
            if self.slots.version != before:
                slot_price = self.slots.slot_price_of(outcome.command.client_order_id)
                slot = self.slots.slot(slot_price) if slot_price is not None else None
                if slot is not None:
                    self.journal.slots_changed(self.symbol, [slot])
        elif isinstance(outcome, OrderOutcomeUnknown):
            self.slots.on_ambiguous(outcome.command.client_order_id)
            self.stats["ambiguous"] += 1
            self.core.breaker_event(self.breaker.record_venue_error(now, "ambiguous submit"), now)
            logger.warning(
                "order {} outcome unknown; reconciliation will settle it", outcome.command.client_order_id
            )
        elif isinstance(outcome, CancelAcknowledged):
            changes = self.core.on_cancel_done(outcome.order, now)
            self._recorded(OrderUpdated(outcome.order), changes)
        elif isinstance(outcome, CancelFailed):
            changes = self.core.on_cancel_failed(outcome.command, outcome.order, now)
            if outcome.order is not None:
                self._recorded(OrderUpdated(outcome.order), changes)
        if changes:
            self._after_changes(changes)

    def _recorded(self, update: OrderUpdated, changes: list[SlotChange]) -> None:
        self._journal_update(update, changes)
        self._emit(OrderEvent(update))

    def _core_notice(self, now_ms: int, kind: str, message: str) -> None:
        """The core's transitions (margin lock, breaker, risk): a log line, an audit row, an engine event."""
        logger.info("[{}] {}", kind, message)
        self.journal.audit(kind, message, now_ms)
        self._emit(EngineNotice(kind, message, now_ms))

    def _notice(self, kind: str, message: str) -> None:
        self._core_notice(self.clock.now_ms(), kind, message)

    def _risk_event(self, event: RiskEvent | None) -> None:
        if self.core.risk_event(event, self.clock.now_ms()) is not None:
            self._decide()  # a trigger cancels every buy at once; a recovery resumes placement

    def apply_live_config(self, config: GridEngineConfig) -> None:
        """Adopt reloaded settings that are safe live (windows, interval, amounts, thresholds, timing).

        The symbol never changes here (a reload that changes it is refused before this is called). The
        interval change takes effect at the next re-centring, like an ATR change.
        """
        if config.symbol != self.symbol:
            raise ValueError(f"reload: symbol {config.symbol} differs from the running {self.symbol}")
        problem = None if self.instrument is None else tick_problem(config, self.instrument)
        if problem is not None:
            raise ValueError(f"reload: {problem}")
        self.config = config
        self.core.reconfigure(config)
        self.prices.stale_after_ms = int(config.price_stale_seconds * 1000)
        current = self.core.risk
        if config.risk_monitor != (current.config if isinstance(current, RiskMonitor) else None):
            # new thresholds: a fresh monitor, warmed up once from the venue's history (an operator action,
            # not polling); its kline streams keep feeding whichever monitor is current
            self.core.risk = RiskMonitor(config.risk_monitor) if config.risk_monitor is not None else None
            if self.core.risk is not None:
                self.spawn(self._preload_risk)
        self.executor.params = config.execution
        self._notice("config", "reloaded settings applied live")
        self._decide()

    # --- control (API) --------------------------------------------------------------------------

    def trip_breaker(self, actor: str, reason: str) -> bool:
        now = self.clock.now_ms()
        event = self.breaker.trip(actor, reason, now)
        self.core.breaker_event(event, now)
        return event is not None

    def reset_breaker(self, actor: str) -> bool:
        now = self.clock.now_ms()
        event = self.breaker.reset(actor, now)
        self.core.breaker_event(event, now)
        if event is not None and self.exiting is not None:
            self.exiting = None  # the operator has looked: trading may resume
            self.core.paused = None
        if event is not None:
            self._decide()
        return event is not None

    # --- restore and reconcile (opensqt.engines.grid_recovery) ------------------------------------

    def _release_early_updates(self) -> None:
        self._restored = True
        early, self._early_updates = self._early_updates, []
        if early:
            self._apply_updates(early)

    async def reconcile_now(self) -> ReconcileReport:
        """Compare slots with the venue's orders and position, and act on what differs (§2.3)."""
        return await self.recovery.reconcile()

    async def _housekeeping(self) -> None:
        """Periodic work: reconcile, settle ambiguous submits, clean up orders, breaker cooldown."""
        next_reconcile = self.clock.monotonic() + self.config.reconcile_interval
        next_cleanup = self.clock.monotonic() + self.config.cleanup_interval
        while True:
            await self.clock.sleep(min(1.0, self.config.reconcile_interval, self.config.cleanup_interval))
            now_loop = self.clock.monotonic()
            self.core.tick(self.clock.now_ms())
            self.core.prune()  # forget far, empty, FREE levels: the book stays bounded over months
            self._check_exit()  # the mark moves the unrealized PnL even without a fill
            for cid in self.slots.ambiguous_orders():
                await self.recovery.settle(cid)
            if now_loop >= next_reconcile:
                next_reconcile = now_loop + self.config.reconcile_interval
                try:
                    await self.reconcile_now()
                except VenueError as exc:
                    logger.warning("reconciliation failed: {}", exc)
            if now_loop >= next_cleanup and self.config.cleanup is not None:
                next_cleanup = now_loop + self.config.cleanup_interval
                self._cleanup()
            self._decide()

    def _cleanup(self) -> None:
        latest = self.prices.latest
        if latest is None or self.config.cleanup is None:
            return
        now = self.clock.now_ms()
        cancels = decide_cleanup(slot_orders(self.core), latest.price, now, self.config.cleanup)
        if cancels:
            self.dispatch(cancels, self.clock.now_ms())

    # --- risk monitor and klines --------------------------------------------------------------

    async def _start_risk_monitor(self, tg: TaskGroup) -> None:
        assert self.risk is not None
        for symbol in await self._preload_risk():
            tg.start_soon(self._watch_risk_klines, symbol, self.risk.config.timeframe)

    async def _preload_risk(self) -> list[str]:
        """Warm the monitor up with each listed symbol's recent klines; returns the symbols watched."""
        monitor = self.risk
        assert monitor is not None
        cfg = monitor.config
        markets = await self._retry(self.exchange.load_markets)
        watched = []
        for symbol in cfg.monitor_symbols:
            if symbol not in markets:
                logger.warning(
                    "risk monitor: {} is not listed on {}; not watched", symbol, self.exchange.name
                )
                continue
            history = await self._retry(
                self.exchange.fetch_ohlcv, symbol, cfg.timeframe, None, cfg.average_window + 2
            )
            self._risk_event(monitor.preload(symbol, history, self.clock.now_ms()))
            watched.append(symbol)
        return watched

    async def _watch_risk_klines(self, symbol: str, timeframe: str) -> None:
        assert self.risk is not None
        while True:
            try:
                klines = await self.exchange.watch_ohlcv(symbol, timeframe)
            except (NetworkError, ExchangeError) as exc:
                logger.warning("risk klines {} failed ({}); resubscribing", symbol, exc)
                await self.clock.sleep(1.0)
                continue
            if self.core.risk is None:  # a reload switched the monitor off
                return
            for kline in klines:
                if self.core.on_risk_kline(kline, self.clock.now_ms()) is not None:
                    self._decide()  # a trigger cancels every buy at once; a recovery resumes placement

    async def _run_interval_klines(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        dyn = self.config.dynamic
        assert dyn is not None
        timeframe_ms(dyn.timeframe)  # validates
        history = await self.exchange.fetch_ohlcv(self.symbol, dyn.timeframe, limit=dyn.atr_period * 3)
        for kline in history:
            self.core.on_interval_kline(kline)
        task_status.started()
        while True:
            try:
                klines = await self.exchange.watch_ohlcv(self.symbol, dyn.timeframe)
            except (NetworkError, ExchangeError) as exc:
                logger.warning("klines {} failed ({}); resubscribing", self.symbol, exc)
                await self.clock.sleep(1.0)
                continue
            for kline in klines:
                self.core.on_interval_kline(kline)
