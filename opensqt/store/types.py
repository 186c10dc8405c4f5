"""Column types: Decimals stored exactly as TEXT (SQLite's NUMERIC goes through float and loses digits)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def decimal_to_text(value: Decimal) -> str:
    """The exact text of a finite Decimal: `Decimal(text) == value` with the same exponent and sign."""
    if not isinstance(value, Decimal):
        raise TypeError(f"expected a Decimal, got {type(value).__name__} {value!r}")
    if not value.is_finite():
        raise ValueError(f"expected a finite Decimal, got {value!r}")
    return str(value)


def text_to_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, TypeError):
        raise ValueError(f"expected decimal text, got {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"expected a finite decimal, got {text!r}")
    return value


def canonical_decimal(value: Decimal) -> str:
    """A canonical key form: equal numbers give equal text (`1.0`, `1.00` and `1` all give `1`)."""
    if value == 0:
        return "0"
    # Strip trailing zeros by hand: Decimal.normalize() would round to the context's 28 digits.
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    kept = list(digits)
    while len(kept) > 1 and kept[-1] == 0:
        kept.pop()
        exponent += 1
    return format(Decimal((sign, tuple(kept), exponent)), "f")


class DecimalText(TypeDecorator[Any]):
    """A Decimal column stored as TEXT. Binds exactly (floats refused); reads return the raw text, which
    the repositories parse with `text_to_decimal` so a corrupt value is reported with table, key and column.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return decimal_to_text(value)
