"""`ConfigError`: every problem of a configuration at once, one line each, secrets masked.

Line format: `config error: trading.buy_window = 500: expected an integer from 1 to 200`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, SecretStr, ValidationError
from pydantic.fields import FieldInfo

from opensqt.config.types import expects_text, is_secret_field, unwrap_optional

MASK = "***"
#: Key names whose values are secrets even where the model does not say so (an unknown key `api_secrt`).
SECRET_KEY_RE = re.compile(r"(?i)(api[-_]?key|secret|passphrase|password|token|signature|listen[-_]?key)")
_MAX_VALUE_CHARS = 80


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """One thing wrong: where (key path, or file and line), the value as shown (masked), what was expected."""

    path: str
    value: str | None
    expected: str

    def line(self) -> str:
        if self.value is None:
            return f"config error: {self.path}: {self.expected}"
        return f"config error: {self.path} = {self.value}: {self.expected}"


class ConfigError(Exception):
    """A configuration that cannot be used. `str()` gives one line per problem; nothing secret is in it."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems: tuple[ConfigProblem, ...] = tuple(dict.fromkeys(problems))
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [p.line() for p in self.problems]


def show_value(value: object, secret: bool = False) -> str:
    """A bad value as printed in an error line: plain, short, and `***` for anything secret."""
    if secret or isinstance(value, SecretStr):
        return MASK
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | Decimal | Path):
        text = str(value)
    elif isinstance(value, str):
        text = value if value and value == value.strip() and "\n" not in value else repr(value)
    elif isinstance(value, list | tuple):
        text = "[" + ", ".join(show_value(v) for v in value) + "]"
    elif isinstance(value, dict):
        text = "{" + ", ".join(str(k) for k in value) + "}"
    elif isinstance(value, BaseModel):
        text = "{...}"
    else:
        text = type(value).__name__
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


@dataclass(frozen=True, slots=True)
class Resolved:
    """Where a pydantic `loc` points: the printable path parts and, for a known field, its FieldInfo."""

    parts: tuple[str, ...]
    info: FieldInfo | None
    owner: type[BaseModel] | None  # the model that owns the last part (for suggestions on unknown keys)
    dict_key: bool = False  # the problem is the name of a dict entry, not its value
    item: bool = False  # the problem is one element of a list field


def resolve(root: type[BaseModel], loc: Sequence[int | str]) -> Resolved:
    """Walk a model class along `loc`, skipping pydantic's union-member tags after a leaf."""
    parts: list[str] = []
    model: type[BaseModel] | None = root
    info: FieldInfo | None = None
    owner: type[BaseModel] | None = root
    item = False
    i = 0
    while i < len(loc):
        key = loc[i]
        if model is None:
            if isinstance(key, int) and parts and not item:
                parts[-1] += f"[{key}]"
                item = True
            i += 1
            continue
        owner = model
        if not isinstance(key, str) or key not in model.model_fields:
            parts.append(str(key))
            return Resolved(tuple(parts), None, owner)
        info = model.model_fields[key]
        parts.append(key)
        i += 1
        inner, _ = unwrap_optional(info.annotation)
        model = None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            model = inner
        elif get_origin(inner) is dict:
            value_type = unwrap_optional(get_args(inner)[1])[0]
            if i < len(loc):
                parts.append(str(loc[i]))
                i += 1
                if i < len(loc) and loc[i] == "[key]":
                    return Resolved(tuple(parts), info, owner, dict_key=True)
                if isinstance(value_type, type) and issubclass(value_type, BaseModel):
                    model = value_type
                    info = None
    return Resolved(tuple(parts), info, owner, item=item)


def _unknown_may_be_secret(where: Resolved) -> bool:
    """An unknown key's value is masked when the key could be a misspelt secret: the rest of the line
    names the key, so the value is rarely needed to fix the mistake."""
    key = where.parts[-1] if where.parts else ""
    if SECRET_KEY_RE.search(key) or (where.parts and where.parts[0] in ("exchanges", "live_server")):
        return True
    fields = where.owner.model_fields if where.owner else {}
    close = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
    return bool(close) and is_secret_field(fields[close[0]])


def problems_from_validation(exc: ValidationError, root: type[BaseModel]) -> list[ConfigProblem]:
    """Turn pydantic's errors into one problem per bad key, in the order pydantic found them."""
    problems: list[ConfigProblem] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        ctx: dict[str, Any] = dict(err.get("ctx") or {})
        value: object = err.get("input")
        if kind == "cross_field":
            field = str(ctx.get("field", ""))
            loc = loc + tuple(field.split("."))
            value = ctx.get("value")
        where = resolve(root, loc)
        path = ".".join(where.parts) or "(top level)"
        secret = where.info is not None and is_secret_field(where.info)
        if kind == "extra_forbidden":
            secret = _unknown_may_be_secret(where)
            problems.append(ConfigProblem(path, show_value(value, secret), _unknown_key(where)))
        elif where.dict_key:
            expects = expects_text(where.info) if where.info else "a valid name"
            problems.append(ConfigProblem(path, None, f"expected {expects} as the entry name"))
        elif kind == "missing":
            expects = expects_text(where.info) if where.info else "a value"
            problems.append(ConfigProblem(path, None, f"missing: expected {expects}"))
        elif kind == "cross_field":
            problems.append(ConfigProblem(path, show_value(value, secret), str(ctx.get("message"))))
        elif where.info is not None:
            expected = "expected " + expects_text(where.info, item=where.item)
            if kind in ("too_short", "too_long"):
                expected += _length_note(kind, ctx)
            problems.append(ConfigProblem(path, show_value(value, secret), expected))
        else:
            # A whole section given as a scalar, or an error pydantic reports above the field level.
            problems.append(ConfigProblem(path, show_value(value, secret), f"expected {_section_text(kind)}"))
    return list(dict.fromkeys(problems))


def _length_note(kind: str, ctx: dict[str, Any]) -> str:
    if kind == "too_short":
        return f" (at least {ctx.get('min_length')})"
    return f" (at most {ctx.get('max_length')})"


def _section_text(kind: str) -> str:
    return (
        "a mapping of keys to values"
        if kind in ("model_type", "dict_type", "model_attributes_type")
        else ("a valid value")
    )


def _unknown_key(where: Resolved) -> str:
    known = list(where.owner.model_fields) if where.owner else []
    key = where.parts[-1] if where.parts else ""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    if close:
        return f"unknown key; did you mean {'.'.join((*where.parts[:-1], close[0]))}?"
    return "unknown key; expected one of " + ", ".join(known)
