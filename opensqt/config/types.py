"""Field types and the `setting(...)` helper shared by every config section.

Each field states what it expects once (type, range, choices); the same words appear in error lines and in
the generated docs/CONFIG.md, so the two can never disagree.
"""

from __future__ import annotations

import re
import types
import typing
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic.fields import FieldInfo


def _decimal_input(value: object) -> object:
    # Floats are refused: a float has already lost the digits the user wrote (0.1 is not 0.1). The loaders
    # never produce floats (YAML and TOML numbers arrive as Decimal), so this only stops programmatic misuse.
    if isinstance(value, (bool, float)):
        raise ValueError("not an exact decimal")
    if isinstance(value, str):
        try:
            value = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError("not a decimal number") from None
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError("not a finite number")
    return value


def _int_input(value: object) -> object:
    # pydantic's lax mode would turn `true` into 1; a window size written as `true` is a mistake, not a 1.
    if isinstance(value, bool | float):
        raise ValueError("not an integer")
    if isinstance(value, Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            raise ValueError("not an integer")
        return int(value)
    return value


def _optional_text(value: object) -> object:
    # An empty string (typically `${VAR:-}` or an empty environment variable) means "not set".
    if isinstance(value, str) and value.strip() == "":
        return None
    return value


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


#: A money-like value: amount, price interval, fee, threshold. Never a float.
Dec = Annotated[Decimal, BeforeValidator(_decimal_input)]
#: An integer that refuses booleans and fractional numbers.
Int = Annotated[int, BeforeValidator(_int_input)]
#: A secret that may be left unset (None); an empty string counts as unset.
OptSecret = Annotated[SecretStr | None, BeforeValidator(_optional_text)]
OptPath = Annotated[Path | None, BeforeValidator(_optional_text)]
OptStr = Annotated[str | None, BeforeValidator(_optional_text)]
# Before-validators run last-listed first: blank -> None, then the exact-decimal check.
OptDec = Annotated[Decimal | None, BeforeValidator(_decimal_input), BeforeValidator(_optional_text)]

Timeframe = Literal["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"]
LogLevel = Annotated[
    Literal["TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
]

SYMBOL_RE = r"^[A-Z0-9]{1,20}/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$"
HOST_PORT_RE = r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.\-]+):[0-9]{1,5}$"
NAME_RE = r"^[a-z][a-z0-9_]{0,31}$"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


class Section(BaseModel):
    """Base of every config section: unknown keys are errors and values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def setting(
    default: Any = ...,
    description: str = "",
    *,
    expects: str | None = None,
    item_expects: str | None = None,
    default_factory: Any = None,
    **constraints: Any,
) -> Any:
    """A config field: `description` goes to the docs; `expects` (and for lists `item_expects`) override the
    words derived from the type."""
    extra: dict[str, Any] = {}
    if expects:
        extra["expects"] = expects
    if item_expects:
        extra["item_expects"] = item_expects
    if default_factory is not None:
        return Field(
            default_factory=default_factory, description=description, json_schema_extra=extra, **constraints
        )
    return Field(default, description=description, json_schema_extra=extra, **constraints)


def is_secret_field(info: FieldInfo) -> bool:
    return _contains(info.annotation, SecretStr)


def _contains(annotation: Any, target: type) -> bool:
    if annotation is target:
        return True
    return any(_contains(arg, target) for arg in get_args(annotation))


def unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """(inner annotation, whether None is allowed), looking through Annotated and `X | None`."""
    if get_origin(annotation) is Annotated:
        return unwrap_optional(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) < len(get_args(annotation)):
            inner = args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
            return unwrap_optional(inner)[0], True
    return annotation, False


def _bounds_text(metadata: list[Any]) -> str:
    low: Any = None
    high: Any = None
    low_open = high_open = False
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            low = m.ge
        elif isinstance(m, annotated_types.Gt):
            low, low_open = m.gt, True
        elif isinstance(m, annotated_types.Le):
            high = m.le
        elif isinstance(m, annotated_types.Lt):
            high, high_open = m.lt, True
    if low is not None and high is not None and not low_open and not high_open:
        return f" from {low} to {high}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"{'<' if high_open else '<='} {high}")
    return (" " + " and ".join(parts)) if parts else ""


def _type_text(annotation: Any, metadata: list[Any]) -> str:
    inner, _ = unwrap_optional(annotation)
    if get_origin(inner) is Annotated:
        args = get_args(inner)
        return _type_text(args[0], [*metadata, *args[1:]])
    origin = get_origin(inner)
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(inner))
    if origin is list:
        return "a list of " + _plural(_type_text(get_args(inner)[0], []))
    if origin is dict:
        return "a mapping of names to sections"
    if inner is bool:
        return "true or false"
    if inner is int:
        return "an integer" + _bounds_text(metadata)
    if inner is Decimal:
        return "a decimal number" + _bounds_text(metadata)
    if inner is SecretStr:
        return "a secret string"
    if inner is Path:
        return "a file path"
    if inner is str:
        return "a string"
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "a mapping of keys (a section)"
    return "a valid value"


def _plural(text: str) -> str:
    for article in ("an ", "a "):
        if text.startswith(article):
            word, _, rest = text[len(article) :].partition(" ")
            return f"{word}s {rest}".strip()
    return text


def expects_text(info: FieldInfo, item: bool = False) -> str:
    """What a field accepts, in words: 'an integer from 1 to 200', 'one of long, short, neutral'.
    With `item`, what one element of a list field accepts."""
    extra = info.json_schema_extra
    if item:
        if isinstance(extra, dict) and isinstance(extra.get("item_expects"), str):
            return str(extra["item_expects"])
        inner, _ = unwrap_optional(info.annotation)
        if get_origin(inner) is list:
            return _type_text(get_args(inner)[0], [])
    if isinstance(extra, dict) and isinstance(extra.get("expects"), str):
        return str(extra["expects"])
    text = _type_text(info.annotation, list(info.metadata))
    _, optional = unwrap_optional(info.annotation)
    return f"{text} (or empty to leave unset)" if optional else text


def loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or bool(re.fullmatch(r"127(\.\d{1,3}){3}", host))


def split_host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)
