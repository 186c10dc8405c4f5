"""Decimal helpers: exact parsing of prices and quantities, never through float."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation

ZERO = Decimal(0)
ONE = Decimal(1)


def to_decimal(value: object, field: str = "value") -> Decimal:
    """Parse a price or quantity exactly; raise ValueError naming `field` for anything not a finite number.

    Floats are refused: a float has already lost the venue's digits.
    """
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, bool):
        raise ValueError(f"{field}: expected a decimal number, got a boolean")
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{field}: expected a decimal number, got {value!r}") from None
    else:
        raise ValueError(f"{field}: expected a decimal number as str/int/Decimal, got {type(value).__name__}")
    if not d.is_finite():
        raise ValueError(f"{field}: expected a finite number, got {value!r}")
    return d


def floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` that is <= value."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


def ceil_to_step(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` that is >= value."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def round_to_step(value: Decimal, step: Decimal) -> Decimal:
    """The nearest multiple of `step` (ties to even, as Python's round)."""
    return (value / step).to_integral_value() * step


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return (value % step) == 0
