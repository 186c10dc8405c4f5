"""The circuit breaker: a pure closed/open state machine that halts new orders on reconciliation
divergence, drawdown, a losing streak, repeated venue errors or by hand. Time is passed in; every transition
is an event."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

SYSTEM_ACTOR = "system"
COOLDOWN_ACTOR = "cooldown"


class TripReason(StrEnum):
    RECONCILIATION_DIVERGENCE = "reconciliation_divergence"
    MAX_DRAWDOWN = "max_drawdown"
    MAX_DRAWDOWN_PCT = "max_drawdown_pct"
    CONSECUTIVE_LOSSES = "consecutive_losses"
    VENUE_ERRORS = "venue_errors"
    MANUAL = "manual"


@dataclass(frozen=True, slots=True)
class CircuitBreakerConfig:
    """Every automatic trip can be switched off with None. Fractions are plain Decimals: 0.05 = 5%.

    `cooldown_ms` resets an automatic trip after that long (see `tick`); a manual trip always needs a manual
    reset.
    """

    divergence_limit: Decimal | None = Decimal("0.05")
    max_drawdown: Decimal | None = None
    max_drawdown_pct: Decimal | None = None
    max_consecutive_losses: int | None = None
    venue_error_limit: int | None = None
    venue_error_window_ms: int = 60_000
    cooldown_ms: int | None = None

    def __post_init__(self) -> None:
        for name in ("divergence_limit", "max_drawdown", "max_drawdown_pct"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, Decimal) or not value > 0):
                raise ValueError(f"circuit breaker {name}: expected a Decimal > 0 or None, got {value!r}")
        if self.max_drawdown_pct is not None and self.max_drawdown_pct > 1:
            raise ValueError(
                f"circuit breaker max_drawdown_pct: expected a fraction <= 1, got {self.max_drawdown_pct}"
            )
        for name in ("max_consecutive_losses", "venue_error_limit", "cooldown_ms"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"circuit breaker {name}: expected >= 1 or None, got {value}")
        if self.venue_error_window_ms < 1:
            raise ValueError(
                f"circuit breaker venue_error_window_ms: expected >= 1, got {self.venue_error_window_ms}"
            )


@dataclass(frozen=True, slots=True)
class BreakerTripped:
    """The breaker opened: no new orders until it is reset."""

    reason: TripReason
    detail: str
    actor: str
    at_ms: int


@dataclass(frozen=True, slots=True)
class BreakerReset:
    """The breaker closed again: new orders are allowed. `tripped_reason` says why it had opened."""

    actor: str
    at_ms: int
    tripped_reason: TripReason
    tripped_at_ms: int
    detail: str = ""


BreakerEvent = BreakerTripped | BreakerReset


@dataclass(frozen=True, slots=True)
class BreakerState:
    is_open: bool
    reason: TripReason | None
    detail: str
    actor: str | None
    since_ms: int | None
    consecutive_losses: int
    venue_errors_in_window: int
    peak_equity: Decimal | None


class CircuitBreaker:
    """Closed (orders allowed) or open (no new orders), with the reason, time and actor of the last trip.

    Feed it facts with the `record_*` methods; each returns `BreakerTripped` when that fact opened the
    breaker, else None. While open, facts still update the counters but cannot trip it a second time.
    """

    def __init__(self, config: CircuitBreakerConfig | None = None) -> None:
        self._config = config or CircuitBreakerConfig()
        self._open = False
        self._reason: TripReason | None = None
        self._detail = ""
        self._actor: str | None = None
        self._since_ms: int | None = None
        self._losses = 0
        self._errors: list[int] = []
        self._peak: Decimal | None = None

    @property
    def config(self) -> CircuitBreakerConfig:
        return self._config

    def reconfigure(self, config: CircuitBreakerConfig) -> None:
        """Adopt new limits (a live config reload); the current state, open or closed, is kept."""
        self._config = config

    @property
    def is_open(self) -> bool:
        return self._open

    def allows_new_orders(self) -> bool:
        return not self._open

    def is_triggered(self) -> bool:
        """The `RiskGate` view: an open breaker is a triggered gate."""
        return self._open

    def state(self) -> BreakerState:
        return BreakerState(
            is_open=self._open,
            reason=self._reason,
            detail=self._detail,
            actor=self._actor,
            since_ms=self._since_ms,
            consecutive_losses=self._losses,
            venue_errors_in_window=len(self._errors),
            peak_equity=self._peak,
        )

    # --- facts --------------------------------------------------------------------------------

    def record_divergence(self, divergence: Decimal, now_ms: int, detail: str = "") -> BreakerTripped | None:
        """A reconciliation measured |local − venue| / max(|venue|, floor); trips at or above the limit."""
        if divergence < 0:
            raise ValueError(f"divergence: expected >= 0, got {divergence}")
        limit = self._config.divergence_limit
        if limit is None or divergence < limit:
            return None
        text = f"position divergence {divergence} >= limit {limit}"
        return self._trip(
            TripReason.RECONCILIATION_DIVERGENCE, f"{text}: {detail}" if detail else text, now_ms
        )

    def record_equity(self, equity: Decimal, now_ms: int) -> BreakerTripped | None:
        """Account equity now; drawdown is measured from the highest equity seen since start or last reset."""
        if self._peak is None or equity > self._peak:
            self._peak = equity
        drawdown = self._peak - equity
        if drawdown <= 0:
            return None
        limit = self._config.max_drawdown
        if limit is not None and drawdown >= limit:
            return self._trip(
                TripReason.MAX_DRAWDOWN,
                f"drawdown {drawdown} (peak {self._peak}, equity {equity}) >= limit {limit}",
                now_ms,
            )
        pct = self._config.max_drawdown_pct
        # drawdown >= pct × peak, kept as a product so the boundary is exact; a peak <= 0 has no percentage.
        if pct is not None and self._peak > 0 and drawdown >= pct * self._peak:
            return self._trip(
                TripReason.MAX_DRAWDOWN_PCT,
                f"drawdown {drawdown} is {drawdown / self._peak} of peak equity {self._peak} >= limit {pct}",
                now_ms,
            )
        return None

    def record_round_trip(self, pnl: Decimal, now_ms: int) -> BreakerTripped | None:
        """A closed round trip's net PnL: a loss (< 0) extends the streak, anything else ends it."""
        if pnl >= 0:
            self._losses = 0
            return None
        self._losses += 1
        limit = self._config.max_consecutive_losses
        if limit is None or self._losses < limit:
            return None
        return self._trip(
            TripReason.CONSECUTIVE_LOSSES,
            f"{self._losses} consecutive losing round trips >= limit {limit} (last pnl {pnl})",
            now_ms,
        )

    def record_venue_error(self, now_ms: int, kind: str = "") -> BreakerTripped | None:
        """One venue error (rejection, timeout): trips when `venue_error_limit` fall within the window."""
        # Kept sorted, so a late-arriving report still expires in the right order.
        bisect.insort(self._errors, now_ms)
        self._expire_errors(max(now_ms, self._errors[-1]))
        limit = self._config.venue_error_limit
        if limit is None or len(self._errors) < limit:
            return None
        what = f" (last: {kind})" if kind else ""
        return self._trip(
            TripReason.VENUE_ERRORS,
            f"{len(self._errors)} venue errors within {self._config.venue_error_window_ms} ms >= limit "
            f"{limit}{what}",
            now_ms,
        )

    # --- by hand and by time ------------------------------------------------------------------

    def trip(self, actor: str, reason: str, now_ms: int) -> BreakerTripped | None:
        """Open by hand (API, operator). None when already open."""
        _check_actor(actor)
        if not reason.strip():
            raise ValueError("manual trip reason: expected a non-empty text")
        return self._trip(TripReason.MANUAL, reason, now_ms, actor)

    def reset(self, actor: str, now_ms: int, detail: str = "") -> BreakerReset | None:
        """Close by hand. Clears the losing streak and the error window and re-bases the drawdown peak, so the
        facts that tripped it cannot trip it again at once. None when already closed."""
        _check_actor(actor)
        return self._reset(actor, now_ms, detail)

    def tick(self, now_ms: int) -> BreakerReset | None:
        """Let time pass: expire old venue errors; reset an automatic trip once `cooldown_ms` elapsed."""
        self._expire_errors(now_ms)
        cooldown = self._config.cooldown_ms
        if (
            not self._open
            or cooldown is None
            or self._reason is TripReason.MANUAL
            or self._since_ms is None
            or now_ms < self._since_ms + cooldown
        ):
            return None
        return self._reset(COOLDOWN_ACTOR, now_ms, f"cooldown of {cooldown} ms elapsed")

    # --- internals ----------------------------------------------------------------------------

    def _trip(
        self, reason: TripReason, detail: str, now_ms: int, actor: str = SYSTEM_ACTOR
    ) -> BreakerTripped | None:
        if self._open:
            return None
        self._open = True
        self._reason = reason
        self._detail = detail
        self._actor = actor
        self._since_ms = now_ms
        return BreakerTripped(reason=reason, detail=detail, actor=actor, at_ms=now_ms)

    def _reset(self, actor: str, now_ms: int, detail: str) -> BreakerReset | None:
        if not self._open or self._reason is None or self._since_ms is None:
            return None
        event = BreakerReset(
            actor=actor,
            at_ms=now_ms,
            tripped_reason=self._reason,
            tripped_at_ms=self._since_ms,
            detail=detail,
        )
        self._open = False
        self._reason = None
        self._detail = ""
        self._actor = actor
        self._since_ms = now_ms
        self._losses = 0
        self._errors.clear()
        self._peak = None
        return event

    def _expire_errors(self, now_ms: int) -> None:
        # The window is (now − window, now]: an error exactly `window` ms old has left it.
        horizon = now_ms - self._config.venue_error_window_ms
        del self._errors[: bisect.bisect_right(self._errors, horizon)]


def _check_actor(actor: str) -> None:
    if not actor.strip():
        raise ValueError("actor: expected a non-empty name of who acts (operator, api key name)")
