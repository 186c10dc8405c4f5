"""Logging for every program: readable loguru console lines, a rotated JSON-lines file under the data dir,
and one redactor that masks secrets in every record, including libraries' stdlib logging and tracebacks.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import re
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import quote

from loguru import logger

from opensqt.config import Settings, collect_secrets

if TYPE_CHECKING:
    from loguru import Record

MASK = "***"
#: Shorter secrets are not masked by value: masking every "ab" in every line would destroy the logs.
MIN_SECRET_CHARS = 4

# Names of fields whose values are secret wherever they appear: query strings (`signature=...`), JSON
# (`"listenKey": "..."`), Python reprs (`{'apiKey': '...'}`) and venue headers (`X-MBX-APIKEY`,
# `OK-ACCESS-SIGN`).
_SECRET_NAME = (
    r"[\w-]*(?:api[-_]?key|apikey|secret|signature|sign|listen[-_]?key|passphrase|password|token"
    r"|access[-_]?key)"
)
_FIELD_RE = re.compile(
    r"(?i)(?P<key>[\"']?\b" + _SECRET_NAME + r"\b[\"']?\s*[:=]\s*[\"']?)(?P<value>(?!\*{3})[^\"'\s&,;}\])]+)"
)
# Cheap pre-check: most lines name no secret field, and the field pattern is costly to scan everywhere.
_FIELD_HINT_RE = re.compile(r"(?i)key|secret|sign|passphrase|password|token")
_URL_PASSWORD_RE = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)(?P<value>[^@\s/]+)(?=@)", re.I)
_BEARER_RE = re.compile(r"(?i)(?P<head>\bbearer\s+)(?P<value>[A-Za-z0-9._~+/=-]+)")

_STDLIB_LEVELS = {
    "TRACE": 5,
    "DEBUG": 10,
    "INFO": 20,
    "SUCCESS": 25,
    "WARNING": 30,
    "ERROR": 40,
    "CRITICAL": 50,
}


class Redactor:
    """Masks configured secret values (raw, URL-quoted and JSON-escaped) and common secret fields."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants: set[str] = set()
        for secret in secrets:
            if len(secret) < MIN_SECRET_CHARS:
                continue
            variants |= {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(variants, key=len, reverse=True)
        self._values = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def __call__(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(MASK, text)
        if _FIELD_HINT_RE.search(text):
            text = _FIELD_RE.sub(lambda m: m.group("key") + MASK, text)
        if "@" in text:
            text = _URL_PASSWORD_RE.sub(lambda m: m.group("head") + MASK, text)
        return (
            _BEARER_RE.sub(lambda m: m.group("head") + MASK, text)
            if "earer" in text or "EARER" in text
            else text
        )


_redactor = Redactor()


def redact(text: str) -> str:
    """Mask secrets in any text meant for a human (error lines, exception messages printed by the CLI)."""
    return _redactor(text)


def _patch(record: Record) -> None:
    """Runs for every record before any sink sees it: message, extra values and traceback are redacted."""
    record["message"] = _redactor(record["message"])
    extra = record["extra"]
    for key, value in list(extra.items()):
        if key.startswith("_opensqt"):
            continue
        if re.fullmatch(_SECRET_NAME, key, re.I):
            extra[key] = MASK
        elif isinstance(value, str):
            extra[key] = _redactor(value)
    exc = record["exception"]
    if exc is not None and exc.type is not None:
        # Formatted here, without local variables, so the sinks only ever see redacted text.
        text = "".join(traceback.format_exception(exc.type, exc.value, exc.traceback))
        extra["_opensqt_exc"] = _redactor(text.rstrip("\n"))
        record["exception"] = None


def _console_format(record: Record) -> str:
    tail = "\n{extra[_opensqt_exc]}" if "_opensqt_exc" in record["extra"] else ""
    return (
        "<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
        "<cyan>{name}</cyan>:<cyan>{line}</cyan> - <level>{message}</level>" + tail + "\n"
    )


def _json_format(record: Record) -> str:
    extra = record["extra"]
    line: dict[str, Any] = {
        "time": record["time"].isoformat(),
        "level": record["level"].name,
        "logger": record["name"],
        "function": record["function"],
        "line": record["line"],
        "message": record["message"],
        "extra": {k: v for k, v in extra.items() if not k.startswith("_opensqt")},
    }
    if "_opensqt_exc" in extra:
        line["exception"] = extra["_opensqt_exc"]
    # The whole line is redacted once more: nested values (a bound dict with an apiKey) are caught here.
    extra["_opensqt_json"] = _redactor(json.dumps(line, default=str, ensure_ascii=False))
    return "{extra[_opensqt_json]}\n"


class InterceptHandler(logging.Handler):
    """Sends stdlib logging (ccxt, aiohttp, grpc, sqlalchemy...) through loguru and thus the redactor."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        # Report the library's own call site, not this handler or the logging module.
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame, depth = frame.f_back, depth + 1
        logger.opt(depth=depth, exception=record.exc_info).bind(stdlib_logger=record.name).log(
            level, record.getMessage()
        )


@dataclass
class LoggingSetup:
    """What `setup_logging` installed; `close()` removes it again (tests, and a clean shutdown)."""

    handler_ids: list[int]
    log_file: Path | None
    _root_handlers: list[logging.Handler] = field(default_factory=list)
    _root_level: int = logging.WARNING

    def close(self) -> None:
        for handler_id in self.handler_ids:
            with contextlib.suppress(ValueError):
                logger.remove(handler_id)
        self.handler_ids = []
        root = logging.getLogger()
        root.handlers = self._root_handlers
        root.setLevel(self._root_level)
        logging.captureWarnings(False)


_threshold = [logger.level("INFO").no]


def _at_level(record: Record) -> bool:
    return record["level"].no >= _threshold[0]


def set_level(level: str) -> None:
    """Change the level of every installed sink at once (a live config reload)."""
    _threshold[0] = logger.level(level).no
    logging.getLogger().setLevel(_STDLIB_LEVELS[level])


def setup_logging(
    settings: Settings, secrets: Iterable[str] = (), *, console: TextIO | None = None
) -> LoggingSetup:
    """Install the console and JSON-file sinks of `settings.logging` and a redactor for `secrets` plus
    every secret found in `settings`. Replaces earlier loguru handlers (loguru's default one included)."""
    global _redactor
    _redactor = Redactor([*collect_secrets(settings), *secrets])
    config = settings.logging
    _threshold[0] = logger.level(config.level).no
    logger.remove()
    logger.configure(patcher=_patch)
    ids: list[int] = []
    if config.console:
        stream = console if console is not None else sys.stderr
        colorize = stream.isatty() if hasattr(stream, "isatty") else False
        ids.append(
            logger.add(
                stream,
                level=0,
                filter=_at_level,
                format=_console_format,
                colorize=colorize,
                backtrace=False,
                diagnose=False,
            )
        )
    log_file: Path | None = None
    if config.json_file:
        log_dir = config.dir if config.dir is not None else settings.app.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / (config.file_name or f"{settings.app.bot_name}.jsonl")
        ids.append(
            logger.add(
                log_file,
                level=0,
                filter=_at_level,
                format=_json_format,
                rotation=config.rotation,
                retention=config.retention,
                encoding="utf-8",
                backtrace=False,
                diagnose=False,
            )
        )
    root = logging.getLogger()
    setup = LoggingSetup(ids, log_file, list(root.handlers), root.level)
    root.handlers = [InterceptHandler()]
    root.setLevel(_STDLIB_LEVELS[config.level])
    logging.captureWarnings(True)
    return setup
