"""`load_settings`: defaults < YAML/TOML file (with `${VAR}` expansion) < `OPENSQT_*` environment < CLI.

Every problem from every layer is collected into one `ConfigError`; nothing is half-loaded.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from opensqt.config.errors import (
    SECRET_KEY_RE,
    ConfigError,
    ConfigProblem,
    problems_from_validation,
    resolve,
)
from opensqt.config.settings import Settings
from opensqt.config.types import unwrap_optional

ENV_PREFIX = "OPENSQT_"
ENV_NESTING = "__"
#: Not a setting: the environment's way to name the config file (CLI `--config` wins over it).
CONFIG_PATH_ENV = "OPENSQT_CONFIG"
_VAR_RE = re.compile(r"\$(\$\{)|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def load_settings(
    path: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective settings. `overrides` are CLI values, nested or with dotted keys
    (`{"trading.symbol": "ETH/USDT:USDT"}`); `env` defaults to `os.environ`. Raises `ConfigError`."""
    env = os.environ if env is None else env
    problems: list[ConfigProblem] = []
    file_data = _collect(problems, lambda: read_config_file(path, env) if path is not None else {})
    env_data = _collect(problems, lambda: env_layer(env))
    cli_data = _collect(problems, lambda: cli_layer(overrides or {}))
    if problems:
        raise ConfigError(problems)
    merged = deep_merge(deep_merge(file_data, env_data), cli_data)
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        # `from None`: pydantic's own message would repeat the raw inputs, secrets included.
        raise ConfigError(problems_from_validation(exc, Settings)) from None


def _collect(problems: list[ConfigProblem], build: Any) -> dict[str, Any]:
    try:
        result: dict[str, Any] = build()
        return result
    except ConfigError as exc:
        problems.extend(exc.problems)
        return {}


# ---------------------------------------------------------------------------------------------- file layer


class _ExactLoader(yaml.SafeLoader):
    """YAML that keeps numbers exact (floats become Decimal from their text) and refuses duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


def _exact_float(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node)).replace("_", "").lower()
    special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
    return Decimal(special.get(text, text))


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


def read_config_file(path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """Parse a .yaml/.yml/.toml file into a dict and expand `${VAR}` / `${VAR:-default}` in its strings."""
    name = str(path)
    if not path.is_file():
        raise ConfigError([ConfigProblem(name, None, "expected an existing config file")])
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        expected = f"expected a readable UTF-8 file ({exc.__class__.__name__})"
        raise ConfigError([ConfigProblem(name, None, expected)]) from None
    if suffix in (".yaml", ".yml"):
        try:
            data = yaml.load(text, Loader=_ExactLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{name} line {mark.line + 1}" if mark is not None else name
            raise ConfigError([ConfigProblem(where, None, f"expected valid YAML: {exc.problem}")]) from None
        except yaml.YAMLError as exc:
            raise ConfigError([ConfigProblem(name, None, f"expected valid YAML: {exc}")]) from None
    elif suffix == ".toml":
        try:
            data = tomllib.loads(text, parse_float=Decimal)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([ConfigProblem(name, None, f"expected valid TOML: {exc}")]) from None
    else:
        raise ConfigError([ConfigProblem(name, None, "expected a .yaml, .yml or .toml file")])
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([ConfigProblem(name, None, "expected a mapping of sections at the top level")])
    problems: list[ConfigProblem] = []
    expanded = _expand(data, (), env, problems)
    if problems:
        raise ConfigError(problems)
    return dict(expanded)


def _expand(value: Any, path: tuple[str, ...], env: Mapping[str, str], problems: list[ConfigProblem]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, (*path, str(k)), env, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [
            _expand(v, (*path[:-1], f"{path[-1]}[{i}]") if path else (f"[{i}]",), env, problems)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(1):
            return "\0"  # an escaped `$${`, restored below so it is never expanded
        name, default = match.group(2), match.group(3)
        found = env.get(name)
        if found:
            return found
        if default is not None:
            return default
        problems.append(
            ConfigProblem(
                ".".join(path),
                match.group(0),
                f"expected environment variable {name} to be set (or write ${{{name}:-default}})",
            )
        )
        return ""

    result = _VAR_RE.sub(substitute, value)
    if "${" in result:
        problems.append(ConfigProblem(".".join(path), value, "expected ${NAME} or ${NAME:-default}"))
    return result.replace("\0", "${")


# ----------------------------------------------------------------------------------------------- env layer


def env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    """`OPENSQT_TRADING__BUY_WINDOW=20` -> {"trading": {"buy_window": "20"}}. Variables whose first part is
    not a section (OPENSQT_CONFIG, tools' own switches) are not settings and are left alone."""
    out: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key in sorted(env):
        if not key.upper().startswith(ENV_PREFIX) or key.upper() == CONFIG_PATH_ENV:
            continue
        parts = key[len(ENV_PREFIX) :].lower().split(ENV_NESTING)
        if parts[0] not in Settings.model_fields:
            continue
        path = ".".join(parts)
        if any(not p for p in parts):
            problems.append(
                ConfigProblem(key, None, "expected OPENSQT_<SECTION>__<KEY> with single `__` between")
            )
            continue
        try:
            value = _env_value(parts, env[key])
        except ValueError as exc:
            problems.append(ConfigProblem(path, "***" if _secretish(parts) else env[key], str(exc)))
            continue
        _set_nested(out, parts, value)
    if problems:
        raise ConfigError(problems)
    return out


def cli_layer(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """CLI values as nested dicts. A `--set KEY=TEXT` value is text as an environment variable's is, read
    the same way: a list key takes a JSON list or comma-separated values, a section or map a JSON object."""
    typed: dict[str, Any] = {}
    problems: list[ConfigProblem] = []
    for key, value in overrides.items():
        parts = key.split(".")
        if isinstance(value, str) and len(parts) > 1 and parts[0] in Settings.model_fields:
            try:
                value = _env_value(parts, value)
            except ValueError as exc:
                problems.append(ConfigProblem(key, "***" if _secretish(parts) else value, str(exc)))
                continue
        typed[key] = value
    if problems:
        raise ConfigError(problems)
    return expand_dotted(typed)


def _secretish(parts: list[str]) -> bool:
    return bool(SECRET_KEY_RE.search(parts[-1]))


def _env_value(parts: list[str], raw: str) -> Any:
    where = resolve(Settings, parts)
    target: Any = dict  # a dict entry such as exchanges.binance, given whole as JSON
    if where.info is not None:
        target = unwrap_optional(where.info.annotation)[0]
        target = get_origin(target) or target
    stripped = raw.strip()
    if target is list:
        if stripped.startswith("["):
            try:
                parsed = json.loads(stripped, parse_float=Decimal)
            except json.JSONDecodeError:
                raise ValueError("expected a JSON list or comma-separated values") from None
            return parsed
        return [item.strip() for item in stripped.split(",") if item.strip()]
    is_section = isinstance(target, type) and issubclass(target, BaseModel)
    if (target is dict or is_section) and stripped.startswith("{"):
        try:
            return json.loads(stripped, parse_float=Decimal)
        except json.JSONDecodeError:
            raise ValueError("expected a JSON object") from None
    return raw


def _set_nested(out: dict[str, Any], parts: list[str], value: Any) -> None:
    node = out
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    last = parts[-1]
    if isinstance(node.get(last), dict) and isinstance(value, dict):
        node[last] = deep_merge(node[last], value)
    else:
        node[last] = value


# ----------------------------------------------------------------------------------------------- merging


def expand_dotted(data: Mapping[str, Any]) -> dict[str, Any]:
    """Nested dicts with optional dotted keys -> nested dicts (`{"a.b": 1}` -> `{"a": {"b": 1}}`)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        parts = str(key).split(".")
        if any(not p for p in parts):
            raise ConfigError(
                [ConfigProblem(str(key), None, "expected a dotted key path such as trading.symbol")]
            )
        if isinstance(value, Mapping):
            value = expand_dotted(value)
        _set_nested(out, parts, value)
    return out


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`top` wins; mappings merge key by key, lists and scalars are replaced whole."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out
