"""`FaultPlan`: seeded, scriptable failures of the simulated venue, to rehearse what real venues do to us.

Scripted faults fire on the next matching calls (`fail_next`, `timeout_next`, `drop_stream`); random ones
fire with seeded probabilities, so a failing test replays exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from opensqt.exchanges.errors import NetworkError, RequestTimeout, VenueError

#: Calls that change venue state: a timeout on them is ambiguous (the change may or may not have happened).
MUTATING = frozenset(
    {"create_order", "create_orders", "cancel_order", "cancel_orders", "cancel_all_orders", "set_leverage"}
)


@dataclass(slots=True)
class _Rule:
    op: str
    error: VenueError
    executed: bool | None  # for timeouts: True = the call took effect, False = it did not, None = coin flip
    times: int


@dataclass(slots=True)
class Decision:
    """What to do with one call: raise `error` before executing, or execute then raise `error` (timeout)."""

    before: VenueError | None = None
    after: VenueError | None = None


@dataclass
class FaultPlan:
    """Faults for one `SimExchange`. Rates are probabilities per call (or order update), drawn from `seed`.

    - `network_error_rate`: a call fails with `NetworkError` before reaching the venue.
    - `timeout_rate`: a mutating call raises `RequestTimeout`; whether it took effect is a seeded coin flip.
    - `duplicate_rate`: an order update is delivered twice.
    - `reorder_rate`: two consecutive order updates of one batch are delivered swapped.
    - `fill_before_ack`: a create call lets the order stream's consumers run (and see the fills) before it
      returns, as a websocket often beats the REST answer.
    """

    seed: int = 0
    network_error_rate: float = 0.0
    timeout_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder_rate: float = 0.0
    fill_before_ack: bool = False
    rules: list[_Rule] = field(default_factory=list)
    drops: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("network_error_rate", "timeout_rate", "duplicate_rate", "reorder_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: expected a probability in [0, 1], got {value}")
        self._rng = random.Random(self.seed)

    # --- scripting ------------------------------------------------------------------------------

    def fail_next(self, op: str, error: VenueError, times: int = 1) -> FaultPlan:
        """The next `times` calls of `op` (a method name, or `*`) raise `error` without taking effect."""
        self.rules.append(_Rule(op, error, False, times))
        return self

    def timeout_next(self, op: str, executed: bool | None = None, times: int = 1) -> FaultPlan:
        """The next `times` calls of `op` raise `RequestTimeout`; `executed` says whether they took effect
        (None: a seeded coin flip, the truly ambiguous case)."""
        self.rules.append(
            _Rule(op, RequestTimeout(f"{op}: request timed out (outcome unknown)"), executed, times)
        )
        return self

    def drop_stream(self, stream: str, after: int = 0) -> FaultPlan:
        """Disconnect `stream` (`orders`, `trades`, `ticker`, `bids_asks`, `ohlcv`, `positions`, `balance`,
        `funding`) once `after` more updates were published to it: queued updates are lost and the next watch
        raises `NetworkError`; the watch after that resubscribes."""
        self.drops[stream] = after
        return self

    # --- decisions (called by SimExchange) -------------------------------------------------------

    def decide(self, op: str) -> Decision:
        for rule in self.rules:
            if rule.times > 0 and rule.op in (op, "*"):
                rule.times -= 1
                if isinstance(rule.error, RequestTimeout):
                    executed = rule.executed if rule.executed is not None else self._rng.random() < 0.5
                    return Decision(after=rule.error) if executed else Decision(before=rule.error)
                return Decision(before=rule.error)
        if self.network_error_rate and self._rng.random() < self.network_error_rate:
            return Decision(before=NetworkError(f"{op}: connection reset (injected)"))
        if op in MUTATING and self.timeout_rate and self._rng.random() < self.timeout_rate:
            error = RequestTimeout(f"{op}: request timed out (injected; outcome unknown)")
            return Decision(after=error) if self._rng.random() < 0.5 else Decision(before=error)
        return Decision()

    def should_drop(self, stream: str) -> bool:
        """Count one update on `stream`; True when a scripted drop is due now."""
        left = self.drops.get(stream)
        if left is None:
            return False
        if left <= 0:
            del self.drops[stream]
            return True
        self.drops[stream] = left - 1
        return False

    def mangle_order_updates(self, updates: list[object]) -> list[object]:
        if not (self.duplicate_rate or self.reorder_rate):
            return updates
        out: list[object] = []
        for u in updates:
            out.append(u)
            if self.duplicate_rate and self._rng.random() < self.duplicate_rate:
                out.append(u)
        if self.reorder_rate:
            k = 0
            while k + 1 < len(out):
                if self._rng.random() < self.reorder_rate:
                    out[k], out[k + 1] = out[k + 1], out[k]
                    k += 2
                else:
                    k += 1
        return out
