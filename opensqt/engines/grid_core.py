"""`GridCore`: the grid's decision flow as plain synchronous code (snapshot -> decide -> reserve ->
outcomes -> slot updates), with no task group, clock or venue.

One piece serves both settings: the live `GridEngine` wraps it with streams, the executor and the store; the
backtest drives it row by row. Effective ATR interval at re-centring, inventory skew, post-only cooldowns, the
margin lock, the risk monitor and the circuit breaker all live here, once.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from decimal import Decimal

from opensqt.engines.grid_config import GridEngineConfig
from opensqt.exchanges.errors import InsufficientFunds, InvalidOrder, OrderWouldCross, VenueError
from opensqt.model import (
    CancelOrder,
    Command,
    Instrument,
    Kline,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    SlotStatus,
)
from opensqt.risk import BreakerEvent, CircuitBreaker, RiskEvent, RiskMonitor
from opensqt.trading.logic import (
    GridSnapshot,
    atr,
    decide_grid_orders,
    dynamic_interval,
    grid_centre,
    inventory_skew,
    parse_client_order_id,
)
from opensqt.trading.state import RejectReason, SlotChange, SlotManager, SlotStateError

ZERO = Decimal(0)


class GridCore:
    """One grid on one instrument: slots, breaker, risk monitor, interval and the dispatch filters.

    Every method takes the time (epoch ms) it happens at; nothing here reads a clock or calls a venue.
    `instrument` may arrive later (the live engine learns it from the venue). `on_notice(ts_ms, kind, text)`
    receives the transitions worth an alert (margin lock, breaker, risk); else they collect in `notices`.
    `paused` (a reason, or None) stops new placements, as an operator pause or a failed store does.
    """

    def __init__(
        self,
        config: GridEngineConfig,
        instrument: Instrument | None,
        risk: RiskMonitor | None,
        on_notice: Callable[[int, str, str], None] | None = None,
    ) -> None:
        self.config = config
        self.params = config.params
        self.instrument: Instrument = instrument  # type: ignore[assignment]  # set before the first decision
        self.slots = SlotManager()
        self.breaker = CircuitBreaker(config.breaker)
        self.risk = risk
        self.interval = self.params.interval
        self.centre: Decimal | None = None
        self.margin_locked_until_ms = 0
        self.cooldown_until: dict[Decimal, int] = {}
        self.baseline_atr: Decimal | None = config.dynamic.baseline_atr if config.dynamic else None
        self.klines: deque[Kline] = deque(maxlen=500)
        self.price: Decimal | None = None
        self.price_ts = 0
        self.stats: Counter[str] = Counter()
        self.notices: list[tuple[int, str, str]] = []
        self.paused: str | None = None
        self._on_notice = on_notice
        self._set_timing(config)

    def _set_timing(self, config: GridEngineConfig) -> None:
        self._stale_ms = int(config.price_stale_seconds * 1000)
        self._cooldown_ms = int(config.post_only_retry_delay * 1000)
        self._margin_ms = int(config.margin_lock_seconds * 1000)

    def reconfigure(self, config: GridEngineConfig) -> None:
        """Adopt reloaded settings (the symbol stays). A new base interval applies at once unless the ATR
        drives it (then at the next re-centring); new risk thresholds start a fresh monitor, which the caller
        warms up (`risk` is replaced only when its settings changed)."""
        old = self.params
        self.config = config
        self.params = config.params
        self._set_timing(config)
        self.breaker.reconfigure(config.breaker)
        if config.params.interval != old.interval and config.dynamic is None:
            self.interval = config.params.interval

    def notice(self, now_ms: int, kind: str, message: str) -> None:
        if self._on_notice is not None:
            self._on_notice(now_ms, kind, message)
        else:
            self.notices.append((now_ms, kind, message))

    # --- reads -------------------------------------------------------------------------------------

    @property
    def risk_triggered(self) -> bool:
        return self.risk is not None and self.risk.is_triggered()

    def is_stale(self, now_ms: int) -> bool:
        return self.price is None or now_ms - self.price_ts > self._stale_ms

    def effective_interval(self, price: Decimal, shift: Decimal = ZERO) -> Decimal:
        """The ATR interval changes only at re-centring, so resting orders keep the lattice they joined.
        Also records the (skewed) centre the decision uses, for the status line and the API."""
        centre = grid_centre(price, self.interval, self.instrument, shift)
        if centre != self.centre and self.config.dynamic is not None:
            new = self._atr_interval()
            if new is not None and new != self.interval:
                self.interval = new
                self.stats["interval_changes"] += 1
                centre = grid_centre(price, self.interval, self.instrument, shift)
        self.centre = centre
        return self.interval

    def _atr_interval(self) -> Decimal | None:
        dyn = self.config.dynamic
        assert dyn is not None
        closed = [k for k in self.klines if k.closed]
        if len(closed) < dyn.atr_period + 1:
            return None
        value = atr(closed, dyn.atr_period)
        if self.baseline_atr is None:
            self.baseline_atr = value if value > 0 else None
            if self.baseline_atr is None:
                return None
        base = self.params.interval
        return dynamic_interval(
            base,
            dyn.scale,
            value,
            self.baseline_atr,
            dyn.min_interval or base / 2,
            dyn.max_interval or base * 5,
            self.instrument.tick_size,
        )

    def centre_shift(self, price: Decimal) -> Decimal:
        skew = self.config.skew
        if skew is None:
            return ZERO
        inventory = self.slots.inventory  # signed: short slots count negative, so the grid shifts up
        if not inventory:
            return ZERO
        return inventory_skew(
            inventory * price, skew.max_inventory, self.interval, skew.skew_factor, skew.max_shift_intervals
        )

    def snapshot(self, now_ms: int) -> GridSnapshot | None:
        price = self.price
        if price is None:
            return None
        slots = self.slots
        shift = self.centre_shift(price)
        return GridSnapshot(
            price=price,
            slots=slots.slots,
            open_orders=slots.open_order_count,
            interval=self.effective_interval(price, shift),
            centre_shift=shift,
            inventory=slots.inventory,
            paused=self.breaker.is_open or self.paused is not None,
            margin_locked=now_ms < self.margin_locked_until_ms,
            risk_triggered=self.risk_triggered,
            price_stale=self.is_stale(now_ms),
            cancels_in_flight=slots.cancels_in_flight(),
            retired_attempts=slots.retired_attempts,
            working=slots.working,
            holds=slots.holds_by_side,
        )

    def decide(self, now_ms: int) -> list[Command]:
        self.stats["decisions"] += 1
        snap = self.snapshot(now_ms)
        if snap is None:
            return []
        return decide_grid_orders(snap, self.params, self.instrument)

    # --- dispatch ----------------------------------------------------------------------------------

    def _slot_of(self, command: PlaceOrder) -> Decimal:
        return parse_client_order_id(command.client_order_id, self.instrument.tick_size).slot_price

    def dispatch(
        self, commands: Sequence[Command], now_ms: int
    ) -> tuple[list[PlaceOrder], list[CancelOrder]]:
        """Reserve slots (FREE -> PENDING) and mark cancels, exactly as `GridEngine.dispatch` filters."""
        places: list[PlaceOrder] = []
        cancels: list[CancelOrder] = []
        halted = self.breaker.is_open
        for command in commands:
            if isinstance(command, PlaceOrder):
                if halted:
                    continue
                slot_price = self._slot_of(command)
                if self.cooldown_until.get(slot_price, 0) > now_ms:
                    continue
                try:
                    self.slots.reserve(slot_price, command, now_ms)
                except SlotStateError:
                    continue
                places.append(command)
            elif isinstance(command, CancelOrder):
                try:
                    self.slots.request_cancel(command.client_order_id)
                except SlotStateError:
                    continue
                cancels.append(command)
        self.stats["placed"] += len(places)
        self.stats["cancel_requests"] += len(cancels)
        return places, cancels

    def blocked_until(self, commands: Sequence[Command], now_ms: int) -> int | None:
        """None when `dispatch` would act on some command now; else the earliest time (ms) a time-based
        filter (post-only cooldown, breaker cooldown, margin lock) may let one through, -1 for never.
        Read-only: the backtest's fast path uses it to prove that a decision would change nothing."""
        until = -1
        halted = self.breaker.is_open
        for command in commands:
            if isinstance(command, CancelOrder):
                slot_price = self.slots.slot_price_of(command.client_order_id)
                slot = None if slot_price is None else self.slots.slot(slot_price)
                if slot is not None and slot.client_order_id == command.client_order_id:
                    return None
                continue
            if not isinstance(command, PlaceOrder):
                return None
            if halted:
                continue
            cool = self.cooldown_until.get(self._slot_of(command), 0)
            if cool <= now_ms:
                return None
            until = cool if until < 0 else min(until, cool)
        return until

    # --- outcomes ----------------------------------------------------------------------------------

    def on_ack(self, command: PlaceOrder, order: Order, now_ms: int) -> list[SlotChange]:
        return self.account(self.slots.on_ack(command.client_order_id, order), now_ms)

    def on_rejected(self, command: PlaceOrder, error: VenueError, now_ms: int) -> bool:
        """A refused submit. Returns True when the engine would decide again at once (margin lock)."""
        reason = _reject_reason(error)
        self.stats[f"rejected:{reason.value}"] += 1
        changes = self.slots.on_rejected(command.client_order_id, reason)
        again = False
        if isinstance(error, OrderWouldCross):
            for change in changes:
                self.cooldown_until[change.price] = now_ms + self._cooldown_ms
        elif isinstance(error, InsufficientFunds):
            already = now_ms < self.margin_locked_until_ms
            self.margin_locked_until_ms = now_ms + self._margin_ms
            if not already:
                self.notice(
                    now_ms, "margin_lock", f"insufficient margin ({error}): buys paused and cancelled"
                )
            again = True
        else:
            self.breaker_event(self.breaker.record_venue_error(now_ms, type(error).__name__), now_ms)
        self.account(changes, now_ms)
        return again

    def on_cancel_done(self, order: Order, now_ms: int) -> list[SlotChange]:
        self.stats["cancelled"] += 1
        return self.account(self.slots.apply(OrderUpdated(order)), now_ms)

    def on_cancel_failed(self, command: CancelOrder, order: Order | None, now_ms: int) -> list[SlotChange]:
        changes = self.account(self.slots.apply(OrderUpdated(order)), now_ms) if order is not None else []
        self.slots.on_cancel_failed(command.client_order_id)
        return changes

    def on_update(self, update: OrderUpdated, now_ms: int) -> list[SlotChange]:
        return self.account(self.slots.apply(update), now_ms)

    def account(self, changes: list[SlotChange], now_ms: int) -> list[SlotChange]:
        """Book what slot changes mean beyond the slots: fills counted, round trips fed to the breaker."""
        for change in changes:
            if change.fee:
                self.stats["fills"] += 1
            if change.realized_pnl:
                self.breaker_event(
                    self.breaker.record_round_trip(change.realized_pnl - change.fee, now_ms), now_ms
                )
        return changes

    def breaker_event(self, event: BreakerEvent | None, now_ms: int) -> None:
        if event is not None:
            self.stats["breaker_events"] += 1
            self.notice(now_ms, "circuit_breaker", str(event))

    def prune(self) -> None:
        """Forget FREE, empty slots far outside the window once there are many (decision-neutral: the
        slot manager keeps their attempt counters, so client ids never repeat). The engine's book only grows;
        a month of replay would make every decision walk thousands of dead levels."""
        keep = 4 * (self.params.buy_window + self.params.sell_window) + 16
        if self.slots.idle_count <= keep or self.centre is None:
            return
        reach = (max(self.params.buy_window, self.params.sell_window) + 2) * self.interval
        self.slots.prune(self.centre - reach, self.centre + reach)

    # --- klines and timers -------------------------------------------------------------------------

    def on_interval_kline(self, kline: Kline) -> None:
        """A candle of the dynamic interval's timeframe, as `GridEngine._run_interval_klines` keeps them."""
        if self.klines and self.klines[-1].open_time == kline.open_time:
            self.klines[-1] = kline
        elif not self.klines or kline.open_time > self.klines[-1].open_time:
            self.klines.append(kline)

    def on_risk_kline(self, kline: Kline, now_ms: int) -> RiskEvent | None:
        if self.risk is None:
            return None
        return self.risk_event(self.risk.on_kline(kline, now_ms), now_ms)

    def risk_event(self, event: RiskEvent | None, now_ms: int) -> RiskEvent | None:
        if event is not None:
            self.stats["risk_events"] += 1
            self.notice(now_ms, "risk_monitor", str(event))
        return event

    def tick(self, now_ms: int) -> None:
        """The housekeeping timer's pure part: the breaker's cooldown."""
        self.breaker_event(self.breaker.tick(now_ms), now_ms)

    def next_timed_change(self, now_ms: int) -> int | None:
        """The earliest time after `now_ms` at which a flag the decision reads changes by time alone."""
        times = []
        if self.margin_locked_until_ms > now_ms:
            times.append(self.margin_locked_until_ms)
        state = self.breaker.state()
        cooldown = self.breaker.config.cooldown_ms
        if state.is_open and cooldown is not None and state.since_ms is not None:
            times.append(max(now_ms + 1, state.since_ms + cooldown))
        return min(times) if times else None


def _reject_reason(error: VenueError) -> RejectReason:
    if isinstance(error, OrderWouldCross):
        return RejectReason.POST_ONLY
    if isinstance(error, InsufficientFunds):
        return RejectReason.INSUFFICIENT_FUNDS
    if isinstance(error, InvalidOrder):
        return RejectReason.INVALID
    return RejectReason.OTHER


def slot_orders(core: GridCore) -> list[Order]:
    """The resting orders of LOCKED slots as `Order`s for the cleanup decision (as the engine builds them)."""
    out = []
    symbol = core.instrument.symbol
    for slot in core.slots.working.values():
        if (
            slot.slot_status is not SlotStatus.LOCKED
            or slot.client_order_id is None
            or slot.order_price is None
        ):
            continue
        if slot.order_side is None or slot.order_qty <= 0:
            continue
        out.append(
            Order(
                client_order_id=slot.client_order_id,
                symbol=symbol,
                side=slot.order_side,
                type=OrderType.LIMIT,
                quantity=slot.order_qty,
                price=slot.order_price,
                venue_order_id=slot.venue_order_id,
                filled=slot.filled_qty,
                status=slot.order_status or OrderStatus.NEW,
                ts_init=slot.ts_update,
            )
        )
    return out
