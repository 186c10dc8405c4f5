"""The uniform risk interface every engine uses (REQUIREMENTS §16): a gate asked on market data, an exit
policy asked on position updates, and small test doubles and combinators for both."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from opensqt.model import Position


@runtime_checkable
class RiskGate(Protocol):
    """Asked on every market-data update: when triggered the engine halts new orders and runs its defensive
    action (grid: cancel all buys; arbitrage: no new entries)."""

    def is_triggered(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ExitContext:
    """What an exit policy may look at besides the position itself. Time is passed in, never read."""

    now_ms: int
    mark_price: Decimal | None = None
    risk_triggered: bool = False
    breaker_open: bool = False


@runtime_checkable
class EmergencyExitPolicy(Protocol):
    """Asked on every position update: True means the engine runs its immediate exit workflow."""

    def should_emergency_exit(self, position: Position, context: ExitContext) -> bool: ...


class StaticRiskGate:
    """A gate whose answer is set by hand: the test double for engines' scenario tests."""

    __slots__ = ("_triggered",)

    def __init__(self, triggered: bool = False) -> None:
        self._triggered = triggered

    def is_triggered(self) -> bool:
        return self._triggered

    def set_triggered(self, triggered: bool) -> None:
        self._triggered = triggered


class AnyRiskGate:
    """Triggered when any of its gates is: lets an engine ask the risk monitor and the breaker in one call."""

    __slots__ = ("_gates",)

    def __init__(self, gates: Sequence[RiskGate]) -> None:
        if not gates:
            raise ValueError("AnyRiskGate: gates must hold at least one gate")
        self._gates = tuple(gates)

    def is_triggered(self) -> bool:
        return any(gate.is_triggered() for gate in self._gates)


@dataclass(frozen=True, slots=True)
class StaticExitPolicy:
    """An exit policy with a fixed answer: the test double."""

    exit: bool = False

    def should_emergency_exit(self, position: Position, context: ExitContext) -> bool:
        return self.exit


@dataclass(frozen=True, slots=True)
class LossLimitExitPolicy:
    """Exit when the position's unrealized loss reaches `max_loss` (quote currency), or when the mark price is
    within `liquidation_buffer` (a fraction of the mark, e.g. 0.05 = 5%) of the liquidation price.

    A flat position never exits. Either limit may be None (off).
    """

    max_loss: Decimal | None = None
    liquidation_buffer: Decimal | None = None

    def __post_init__(self) -> None:
        if self.max_loss is not None and self.max_loss <= 0:
            raise ValueError(f"LossLimitExitPolicy.max_loss: expected > 0 or None, got {self.max_loss}")
        if self.liquidation_buffer is not None and not 0 < self.liquidation_buffer < 1:
            raise ValueError(
                f"LossLimitExitPolicy.liquidation_buffer: expected a fraction in (0, 1) or None, "
                f"got {self.liquidation_buffer}"
            )

    def should_emergency_exit(self, position: Position, context: ExitContext) -> bool:
        if position.is_flat:
            return False
        if self.max_loss is not None and position.unrealized_pnl <= -self.max_loss:
            return True
        if self.liquidation_buffer is None or position.liquidation_price is None:
            return False
        mark = context.mark_price if context.mark_price is not None else position.mark_price
        if mark is None or mark <= 0:
            return False
        return abs(mark - position.liquidation_price) <= mark * self.liquidation_buffer
