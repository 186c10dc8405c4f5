"""`GridEngine`: the lean orchestrator of the trailing grid (REQUIREMENTS §1-4, §9, §16).

It glues the pure parts together: prices from the `PriceMonitor` and order updates from the venue go into
the `SlotManager`; `decide_grid_orders` turns a snapshot into commands; the `Executor` carries them out and
reports outcomes back. Every slot change happens in synchronous code on one event loop, so a decision
round is atomic (see docs/ARCHITECTURE.md, "Concurrency"). Start-up order: order stream verified -> price
stream and first price -> pre-flight -> restore from the venue -> reconcile -> trade.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskGroup, TaskStatus
from loguru import logger

from opensqt.clock import Clock
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.engines.journal import EngineJournal, NullJournal
from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import (
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    OrderWouldCross,
    RateLimited,
    VenueError,
)
from opensqt.market.price_monitor import PriceMonitor
from opensqt.model import (
    CancelOrder,
    Command,
    Fill,
    GridMode,
    Instrument,
    Kline,
    LiquiditySide,
    Order,
    OrderUpdated,
    PlaceOrder,
    Side,
    Slot,
    SlotStatus,
    timeframe_ms,
)
from opensqt.risk import (
    AdoptOrder,
    BreakerEvent,
    CircuitBreaker,
    ForceSyncPosition,
    LocalView,
    QueryOrder,
    ReconcileConfig,
    ReconcileReport,
    RiskEvent,
    RiskMonitor,
    TripBreaker,
    VenueView,
    decide_cleanup,
    grid_slot_decoder,
    reconcile,
)
from opensqt.runtime.limits import TokenBucket
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
    GridSnapshot,
    atr,
    decide_grid_orders,
    dynamic_interval,
    grid_centre,
    inventory_skew,
    parse_client_order_id,
)
from opensqt.trading.state import (
    RejectReason,
    SlotChange,
    SlotManager,
    SlotStateError,
    restore_slots_from_position,
)

T = TypeVar("T")


class StartupError(Exception):
    """The engine refused to start trading (a pre-flight failure, a venue in the wrong mode...)."""


@dataclass(frozen=True, slots=True)
class EngineStatus:
    """What the status line, the API and the web page show about the engine."""

    phase: str
    paused_reasons: tuple[str, ...]
    last_price: Decimal | None
    centre: Decimal | None
    interval: Decimal
    free: int
    pending: int
    locked: int
    inventory: Decimal
    realized_pnl: Decimal
    fees: Decimal
    round_trips: int
    orders_placed: int
    fills: int
    risk_triggered: bool
    breaker_open: bool


@dataclass(frozen=True, slots=True)
class SlotsChanged:
    version: int
    changes: tuple[SlotChange, ...]


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order update as the venue reported it (after the slot book applied it)."""

    update: OrderUpdated


@dataclass(frozen=True, slots=True)
class EngineNotice:
    """A transition worth an alert and an audit row (risk, breaker, margin lock, reconciliation)."""

    kind: str
    message: str
    ts_ms: int


EngineEvent = SlotsChanged | OrderEvent | EngineNotice


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
    ) -> None:
        self.exchange = exchange
        self.config = config
        self.params = config.params
        self.clock = clock
        self.journal = journal or NullJournal()
        self.symbol = config.symbol
        self.slots = SlotManager()
        self.breaker = CircuitBreaker(config.breaker)
        self.risk = RiskMonitor(config.risk_monitor) if config.risk_monitor is not None else None
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
        self.interval = self.params.interval
        self.centre: Decimal | None = None
        self.phase = "created"
        self.order_stream_live = False
        self.margin_locked_until_ms = 0
        self.manual_pause: str | None = None
        self.last_reconcile: ReconcileReport | None = None
        self.stats: Counter[str] = Counter()
        self._preflight = preflight
        self._cooldown_until: dict[Decimal, int] = {}
        self._risk_was_triggered = False
        self._baseline_atr: Decimal | None = config.dynamic.baseline_atr if config.dynamic else None
        self._klines: deque[Kline] = deque(maxlen=500)
        self._tg: TaskGroup | None = None
        self._stopping = False
        self._restored = False
        self._early_updates: list[OrderUpdated] = []

    # --- reads -----------------------------------------------------------------------------------

    @property
    def risk_triggered(self) -> bool:
        return self.risk is not None and self.risk.is_triggered()

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
                self.phase = "loading markets"
                markets = await self._retry(self.exchange.load_markets)
                if self.symbol not in markets:
                    raise StartupError(f"symbol {self.symbol} is not listed on {self.exchange.name}")
                self.instrument = markets[self.symbol]
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
                await self._restore()
                await self.reconcile_now()
                self.phase = "trading"
                self._notice("engine", f"trading {self.symbol} on {self.exchange.name}")
                tg.start_soon(self._price_loop)
                tg.start_soon(self._housekeeping)
                task_status.started()
                self._decide()
        finally:
            self._tg = None
            with anyio.CancelScope(shield=True):
                await self._shutdown()

    async def _shutdown(self) -> None:
        self.phase = "stopping"
        if self.config.cancel_on_exit and self.instrument is not None:
            with anyio.move_on_after(self.config.shutdown_timeout):
                try:
                    cancelled = await self.exchange.cancel_all_orders(self.symbol)
                    logger.info("shutdown: cancelled {} open orders on {}", len(cancelled), self.symbol)
                except VenueError as exc:
                    logger.error("shutdown: could not cancel open orders: {}", exc)
        with anyio.move_on_after(self.config.shutdown_timeout):
            await self.journal.flush()
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
        if not self._restored:
            # the stream runs before the slots are restored: hold its news until they are, or an update for
            # an order the book does not know yet would be lost to it
            self._early_updates.extend(updates)
            return
        changes: list[SlotChange] = []
        filled = False
        for update in updates:
            if update.order.symbol != self.symbol:
                continue
            applied = self.slots.apply(update)
            if update.fill is not None and applied:
                filled = True
            changes += applied
            self._journal_update(update, applied)
            self._emit(OrderEvent(update))
        if changes:
            self._after_changes(changes)
        if filled and self.phase == "trading":
            # tick-to-order: a fill frees or fills a slot; decide at once rather than on the next price
            self._decide()

    def _after_changes(self, changes: list[SlotChange]) -> None:
        now = self.clock.now_ms()
        for change in changes:
            if change.fee:
                self.stats["fills"] += 1
            if change.realized_pnl:
                self._breaker_event(self.breaker.record_round_trip(change.realized_pnl - change.fee, now))
        self.journal.slots_changed(self.symbol, [c.after for c in changes])
        self._emit(SlotsChanged(self.slots.version, tuple(changes)))

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
        subscription = self.prices.subscribe()
        async for _update in subscription:
            self.on_price()

    def on_price(self) -> None:
        risk = self.risk_triggered
        if risk != self._risk_was_triggered:
            self._risk_was_triggered = risk
        self._decide()

    def _effective_interval(self, price: Decimal, shift: Decimal) -> Decimal:
        """The ATR interval changes only at re-centring, so resting orders keep the lattice they joined.
        Also records the (skewed) centre the decision uses, for the status line and the API."""
        assert self.instrument is not None
        centre = grid_centre(price, self.interval, self.instrument, shift)
        if centre != self.centre and self.config.dynamic is not None:
            new = self._atr_interval()
            if new is not None and new != self.interval:
                logger.info("grid interval {} -> {} (ATR)", self.interval, new)
                self.interval = new
                centre = grid_centre(price, self.interval, self.instrument, shift)
        self.centre = centre
        return self.interval

    def _atr_interval(self) -> Decimal | None:
        dyn = self.config.dynamic
        assert dyn is not None and self.instrument is not None
        closed = [k for k in self._klines if k.closed]
        if len(closed) < dyn.atr_period + 1:
            return None
        value = atr(closed, dyn.atr_period)
        if self._baseline_atr is None:
            self._baseline_atr = value if value > 0 else None
            if self._baseline_atr is None:
                return None
        base = self.params.interval
        return dynamic_interval(
            base,
            dyn.scale,
            value,
            self._baseline_atr,
            dyn.min_interval or base / 2,
            dyn.max_interval or base * 5,
            self.instrument.tick_size,
        )

    def _centre_shift(self, price: Decimal) -> Decimal:
        skew = self.config.skew
        if skew is None:
            return Decimal(0)
        inventory = self.slots.inventory  # signed: short slots count negative
        # max_inventory is a quote value: compare the inventory's value at the current price
        return inventory_skew(
            inventory * price, skew.max_inventory, self.interval, skew.skew_factor, skew.max_shift_intervals
        )

    def snapshot(self, now_ms: int) -> GridSnapshot | None:
        latest = self.prices.latest
        if latest is None or self.instrument is None:
            return None
        price = latest.price
        shift = self._centre_shift(price)
        interval = self._effective_interval(price, shift)
        paused = bool(self.manual_pause) or self.breaker.is_open or self.phase != "trading"
        return GridSnapshot(
            price=price,
            slots=self.slots.slots,
            open_orders=self.slots.open_order_count,
            interval=interval,
            centre_shift=shift,
            inventory=self.slots.inventory,
            paused=paused,
            margin_locked=now_ms < self.margin_locked_until_ms,
            risk_triggered=self.risk_triggered,
            price_stale=self.prices.is_stale(now_ms),
            cancels_in_flight=self.slots.cancels_in_flight(),
            retired_attempts=self.slots.retired_attempts,
        )

    def _decide(self) -> None:
        if self._tg is None or self.instrument is None or self._stopping:
            return
        started = time.perf_counter()
        now = self.clock.now_ms()
        snap = self.snapshot(now)
        if snap is None:
            return
        commands = decide_grid_orders(snap, self.params, self.instrument)
        if commands and self.dispatch(commands, now) and self.on_latency is not None:
            self.on_latency(time.perf_counter() - started)

    def dispatch(self, commands: Sequence[Command], now_ms: int) -> int:
        """Reserve slots synchronously, then hand the venue calls to the executor's tasks.

        Returns how many orders were handed over to be placed."""
        assert self.instrument is not None
        places: list[PlaceOrder] = []
        cancels: list[CancelOrder] = []
        halted = self.breaker.is_open
        for command in commands:
            if isinstance(command, PlaceOrder):
                if halted:
                    continue
                slot_price = parse_client_order_id(
                    command.client_order_id, self.instrument.tick_size
                ).slot_price
                if self._cooldown_until.get(slot_price, 0) > now_ms:
                    continue  # a post-only rejection: wait before quoting this level again
                try:
                    self.slots.reserve(slot_price, command, now_ms)
                except SlotStateError as exc:
                    logger.debug("skip {}: {}", command.client_order_id, exc)
                    continue
                places.append(command)
            elif isinstance(command, CancelOrder):
                try:
                    self.slots.request_cancel(command.client_order_id)
                except SlotStateError as exc:
                    logger.debug("skip cancel {}: {}", command.client_order_id, exc)
                    continue
                cancels.append(command)
        if places:
            self.stats["placed"] += len(places)
            for command in places:
                self.journal.order_sent(command, now_ms)
            self.spawn(self.executor.place, places)
        if cancels:
            self.stats["cancel_requests"] += len(cancels)
            self.spawn(self.executor.cancel, cancels)
        return len(places)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` as a task of the engine's task group (no-op once stopped)."""
        if self._tg is not None:
            self._tg.start_soon(fn, *args)

    # --- outcomes ------------------------------------------------------------------------------

    def _on_outcome(self, outcome: Outcome) -> None:
        now = self.clock.now_ms()
        changes: list[SlotChange] = []
        if isinstance(outcome, OrderAcknowledged):
            changes = self.slots.on_ack(outcome.command.client_order_id, outcome.order)
            self._journal_update(OrderUpdated(outcome.order), changes)
            self._emit(OrderEvent(OrderUpdated(outcome.order)))
        elif isinstance(outcome, OrderRejected):
            error = outcome.error
            reason = _reject_reason(error)
            self.stats[f"rejected:{reason.value}"] += 1
            changes = self.slots.on_rejected(outcome.command.client_order_id, reason)
            if isinstance(error, OrderWouldCross):
                for change in changes:
                    self._cooldown_until[change.price] = now + int(self.config.post_only_retry_delay * 1000)
            elif isinstance(error, InsufficientFunds):
                self._margin_lock(now, str(error))
            else:
                logger.warning("order {} rejected: {}", outcome.command.client_order_id, error)
                self._breaker_event(self.breaker.record_venue_error(now, type(error).__name__))
        elif isinstance(outcome, OrderOutcomeUnknown):
            self.slots.on_ambiguous(outcome.command.client_order_id)
            self.stats["ambiguous"] += 1
            self._breaker_event(self.breaker.record_venue_error(now, "ambiguous submit"))
            logger.warning(
                "order {} outcome unknown; reconciliation will settle it", outcome.command.client_order_id
            )
        elif isinstance(outcome, CancelAcknowledged):
            self.stats["cancelled"] += 1
            changes = self.slots.apply(OrderUpdated(outcome.order))
            self._journal_update(OrderUpdated(outcome.order), changes)
            self._emit(OrderEvent(OrderUpdated(outcome.order)))
        elif isinstance(outcome, CancelFailed):
            if outcome.order is not None:
                changes = self.slots.apply(OrderUpdated(outcome.order))
                self._journal_update(OrderUpdated(outcome.order), changes)
            self.slots.on_cancel_failed(outcome.command.client_order_id)
        if changes:
            self._after_changes(changes)

    def _margin_lock(self, now_ms: int, detail: str) -> None:
        already = now_ms < self.margin_locked_until_ms
        self.margin_locked_until_ms = now_ms + int(self.config.margin_lock_seconds * 1000)
        if not already:
            self._notice("margin_lock", f"insufficient margin ({detail}): buys paused and cancelled")
        self._decide()  # cancels the opening orders at once

    def _breaker_event(self, event: BreakerEvent | None) -> None:
        if event is not None:
            self._notice("circuit_breaker", str(event))

    def _risk_event(self, event: RiskEvent | None) -> None:
        if event is not None:
            self._notice("risk_monitor", str(event))
            self._risk_was_triggered = self.risk_triggered
            self._decide()  # a trigger cancels every buy at once; a recovery resumes placement

    def _notice(self, kind: str, message: str) -> None:
        now = self.clock.now_ms()
        logger.info("[{}] {}", kind, message)
        self.journal.audit(kind, message, now)
        self._emit(EngineNotice(kind, message, now))

    def apply_live_config(self, config: GridEngineConfig) -> None:
        """Adopt reloaded settings that are safe live (windows, interval, amounts, thresholds, timing).

        The symbol never changes here (a reload that changes it is refused before this is called). The
        interval change takes effect at the next re-centring, like an ATR change.
        """
        if config.symbol != self.symbol:
            raise ValueError(f"reload: symbol {config.symbol} differs from the running {self.symbol}")
        old = self.params
        self.config = config
        self.params = config.params
        if config.params.interval != old.interval and config.dynamic is None:
            self.interval = config.params.interval
        self.prices.stale_after_ms = int(config.price_stale_seconds * 1000)
        self.breaker.reconfigure(config.breaker)
        if config.risk_monitor != (self.risk.config if self.risk is not None else None):
            # new thresholds: a fresh monitor, warmed up once from the venue's history (an operator action,
            # not polling); its kline streams keep feeding whichever monitor is current
            self.risk = RiskMonitor(config.risk_monitor) if config.risk_monitor is not None else None
            if self.risk is not None:
                self.spawn(self._preload_risk)
        self.executor.params = config.execution
        self._notice("config", "reloaded settings applied live")
        self._decide()

    # --- control (API) --------------------------------------------------------------------------

    def trip_breaker(self, actor: str, reason: str) -> bool:
        event = self.breaker.trip(actor, reason, self.clock.now_ms())
        self._breaker_event(event)
        return event is not None

    def reset_breaker(self, actor: str) -> bool:
        event = self.breaker.reset(actor, self.clock.now_ms())
        self._breaker_event(event)
        if event is not None:
            self._decide()
        return event is not None

    # --- restore, reconcile, cleanup ------------------------------------------------------------

    async def _restore(self) -> None:
        """Rebuild slots: from the store when it has them (then settle every order it knew was open against
        the venue), else from the venue's position."""
        assert self.instrument is not None
        stored = await self.journal.load_slots(self.symbol)
        if stored:
            await self._restore_from_store(stored)
            return
        self._release_early_updates()
        position = await self._venue_position()
        if position != 0:
            latest = self.prices.latest
            assert latest is not None
            anchor = grid_centre(latest.price, self.interval, self.instrument)
            restored = restore_slots_from_position(
                position,
                anchor,
                self.interval,
                self.params.order_amount,
                self.instrument,
                self.params.grid_mode,
            )
            self.slots.load(restored)
            self._notice(
                "restore", f"rebuilt {len(restored)} filled slots from a venue position of {position}"
            )

    async def _restore_from_store(self, stored: list[Slot]) -> None:
        """Slots come back FREE with what they held; the orders open at the stop are re-attached to their
        slots as last recorded, then asked of the venue: filled while down (applied once), cancelled (slot
        freed) or still resting (kept). Orders the store never saw are reconciliation's (adopt, cancel)."""
        now = self.clock.now_ms()
        self.slots.load([_freed(slot) for slot in stored])
        orders = await self.journal.load_open_orders(self.symbol)
        for order in orders:
            price = self._slot_price(order.client_order_id)
            if price is None:
                continue
            command = PlaceOrder(
                order.client_order_id,
                order.symbol,
                order.side,
                order.quantity,
                order.price,
                order.type,
                order.time_in_force,
                order.reduce_only,
            )
            try:
                self.slots.reserve(price, command, now)
            except SlotStateError as exc:
                logger.warning("restore: order {} not re-attached: {}", order.client_order_id, exc)
                continue
            self.slots.on_ack(order.client_order_id, order)
        self._release_early_updates()
        for order in orders:
            await self._settle(order.client_order_id)
        self._notice("restore", f"restored {len(stored)} slots and {len(orders)} open orders from the store")

    def _release_early_updates(self) -> None:
        self._restored = True
        early, self._early_updates = self._early_updates, []
        if early:
            self.on_order_updates(early)

    def _slot_price(self, client_order_id: str) -> Decimal | None:
        assert self.instrument is not None
        try:
            ref = parse_client_order_id(client_order_id, self.instrument.tick_size)
        except ValueError:
            return None
        return ref.slot_price if ref.tag == self.params.bot_tag else None

    async def _venue_position(self) -> Decimal:
        positions = await self._retry(self.exchange.fetch_positions, [self.symbol])
        return sum((p.size for p in positions if p.symbol == self.symbol), Decimal(0))

    async def reconcile_now(self) -> ReconcileReport:
        """Compare slots with the venue's orders and position, and act on what differs (§2.3)."""
        assert self.instrument is not None
        open_orders = await self._retry(self.exchange.fetch_open_orders, self.symbol)
        position = await self._venue_position()
        now = self.clock.now_ms()
        local_position = self.slots.inventory  # signed: short slots count negative
        report = reconcile(
            LocalView(self.symbol, tuple(self.slots.slots.values()), local_position),
            VenueView(self.symbol, tuple(open_orders), position),
            now,
            ReconcileConfig(
                client_id_prefix=self.params.bot_tag,
                position_floor=self.instrument.lot_size,
                divergence_limit=self.config.divergence_limit,
                slot_price_of=grid_slot_decoder(self.instrument.tick_size),
            ),
        )
        self.last_reconcile = report
        self.stats["reconciliations"] += 1
        cancels: list[CancelOrder] = []
        for action in report.actions:
            if isinstance(action, CancelOrder):
                cancels.append(action)
            elif isinstance(action, QueryOrder):
                await self._settle(action.client_order_id)
            elif isinstance(action, AdoptOrder):
                self._adopt(action, now)
            elif isinstance(action, ForceSyncPosition):
                self._notice("reconcile", f"position {action.local} -> venue {action.venue}: force-synced")
                self._force_sync(action.venue)
            elif isinstance(action, TripBreaker):
                self._breaker_event(self.breaker.record_divergence(action.divergence, now, action.detail))
        if cancels:
            await self.executor.cancel(cancels)
        for finding in report.findings:
            logger.info("reconcile: {}", finding)
        return report

    async def _settle(self, client_order_id: str) -> None:
        """Ask the venue about one of our orders and apply what it says (filled, cancelled, missing).

        Fills found this way (they happened while the stream was away) come without the venue's trade
        record: one fill is booked for the difference, with a deterministic id and the instrument's fee rate,
        so that the position, the PnL and the store see it exactly once."""
        try:
            order = await self._retry(self.exchange.fetch_order, self.symbol, client_order_id)
        except OrderNotFound:
            changes = self.slots.on_order_missing(client_order_id)
            if changes:
                self._after_changes(changes)
            return
        except VenueError as exc:
            logger.warning("could not query order {}: {}", client_order_id, exc)
            return
        price = self.slots.slot_price_of(client_order_id)
        slot = self.slots.slot(price) if price is not None else None
        known = slot.filled_qty if slot is not None and slot.client_order_id == client_order_id else None
        fill = None
        if known is not None and order.filled > known:
            fill = self._missed_fill(order, order.filled - known)
        if slot is not None and slot.slot_status is SlotStatus.PENDING:
            self.slots.on_ack(client_order_id, order)
        self.on_order_updates([OrderUpdated(order, fill)])

    def _missed_fill(self, order: Order, quantity: Decimal) -> Fill:
        assert self.instrument is not None
        price = order.average_price or order.price or Decimal(0)
        rate = self.instrument.maker_fee if order.post_only else self.instrument.taker_fee
        self.stats["gaps_recovered"] += 1
        return Fill(
            trade_id=f"{order.venue_order_id or order.client_order_id}@{order.filled}",
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            price=price,
            quantity=quantity,
            fee=(price * quantity * rate).quantize(Decimal("0.00000001")),
            fee_asset=self.instrument.settle,
            liquidity=LiquiditySide.MAKER if order.post_only else LiquiditySide.TAKER,
            venue_order_id=order.venue_order_id,
            ts_event=order.ts_event,
        )

    def _adopt(self, action: AdoptOrder, now_ms: int) -> None:
        order = action.order
        command = PlaceOrder(
            order.client_order_id,
            order.symbol,
            order.side,
            order.quantity,
            order.price,
            order.type,
            order.time_in_force,
            order.reduce_only,
        )
        try:
            self.slots.reserve(action.slot_price, command, now_ms)
        except SlotStateError as exc:
            logger.warning("cannot adopt {}: {}; cancelling it", order.client_order_id, exc)
            self.spawn(self.executor.cancel, [CancelOrder(order.client_order_id, order.symbol)])
            return
        self._after_changes(self.slots.on_ack(order.client_order_id, order))

    def _force_sync(self, venue_position: Decimal) -> None:
        """Small divergence (< the breaker's limit): make the slots hold what the venue says we hold.
        A shortfall lands on the first passive level of the grid (its closing order one interval on)."""
        assert self.instrument is not None
        centre = self.centre
        if centre is None:
            latest = self.prices.latest
            assert latest is not None
            centre = grid_centre(latest.price, self.interval, self.instrument)
        below, above = centre - self.interval, centre + self.interval
        long_target = max(venue_position, Decimal(0))
        short_target = max(-venue_position, Decimal(0))
        changes: list[SlotChange] = []
        if self.params.grid_mode is not GridMode.SHORT:
            changes += self.slots.force_position(long_target, Side.BUY, below)
        if self.params.grid_mode is not GridMode.LONG:
            changes += self.slots.force_position(short_target, Side.SELL, above)
        if changes:
            self._after_changes(changes)

    async def _housekeeping(self) -> None:
        """Periodic work: reconcile, settle ambiguous submits, clean up orders, breaker cooldown."""
        next_reconcile = self.clock.monotonic() + self.config.reconcile_interval
        next_cleanup = self.clock.monotonic() + self.config.cleanup_interval
        while True:
            await self.clock.sleep(min(1.0, self.config.reconcile_interval, self.config.cleanup_interval))
            now_loop = self.clock.monotonic()
            self._breaker_event(self.breaker.tick(self.clock.now_ms()))
            for cid in self.slots.ambiguous_orders():
                await self._settle(cid)
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
        open_orders = [_slot_order(s, self.symbol) for s in self.slots.slots.values()]
        orders = [o for o in open_orders if o is not None]
        cancels = decide_cleanup(orders, latest.price, self.clock.now_ms(), self.config.cleanup)
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
            monitor = self.risk  # the current one: a reload may have replaced it
            if monitor is None:
                return
            for kline in klines:
                self._risk_event(monitor.on_kline(kline, self.clock.now_ms()))

    async def _run_interval_klines(
        self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        dyn = self.config.dynamic
        assert dyn is not None
        timeframe_ms(dyn.timeframe)  # validates
        history = await self.exchange.fetch_ohlcv(self.symbol, dyn.timeframe, limit=dyn.atr_period * 3)
        self._klines.extend(history)
        task_status.started()
        while True:
            try:
                klines = await self.exchange.watch_ohlcv(self.symbol, dyn.timeframe)
            except (NetworkError, ExchangeError) as exc:
                logger.warning("klines {} failed ({}); resubscribing", self.symbol, exc)
                await self.clock.sleep(1.0)
                continue
            for kline in klines:
                if self._klines and self._klines[-1].open_time == kline.open_time:
                    self._klines[-1] = kline
                elif not self._klines or kline.open_time > self._klines[-1].open_time:
                    self._klines.append(kline)


def _freed(slot: Slot) -> Slot:
    """A stored slot as it restarts: what it holds, its counters; no order (re-attached separately)."""
    return replace(
        slot,
        slot_status=SlotStatus.FREE,
        client_order_id=None,
        venue_order_id=None,
        order_side=None,
        order_price=None,
        order_qty=Decimal(0),
        order_status=None,
        filled_qty=Decimal(0),
    )


def _reject_reason(error: VenueError) -> RejectReason:
    if isinstance(error, OrderWouldCross):
        return RejectReason.POST_ONLY
    if isinstance(error, InsufficientFunds):
        return RejectReason.INSUFFICIENT_FUNDS
    if isinstance(error, InvalidOrder):
        return RejectReason.INVALID
    return RejectReason.OTHER


def _slot_order(slot: Any, symbol: str) -> Order | None:
    """The resting order a LOCKED slot works, as an `Order` for the cleanup decision."""
    from opensqt.model import OrderStatus, OrderType

    if slot.slot_status is not SlotStatus.LOCKED or slot.client_order_id is None or slot.order_price is None:
        return None
    if slot.order_side is None or slot.order_qty <= 0:
        return None
    return Order(
        client_order_id=slot.client_order_id,
        symbol=symbol,
        side=slot.order_side if isinstance(slot.order_side, Side) else Side(slot.order_side),
        type=OrderType.LIMIT,
        quantity=slot.order_qty,
        price=slot.order_price,
        venue_order_id=slot.venue_order_id,
        filled=slot.filled_qty,
        status=slot.order_status or OrderStatus.NEW,
        ts_init=slot.ts_update,
    )
