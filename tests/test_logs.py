"""Logging: a configured secret never reaches the console, the JSON file or error output, whoever logs it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from loguru import logger

from opensqt.config import Settings, load_settings
from opensqt.logs import Redactor, setup_logging

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DB_PASSWORD = "pg-p4ssw0rd-xyz"
EXTRA = "passed-in-secret-777"
ALL_SECRETS = (API_KEY, API_SECRET, DB_PASSWORD, EXTRA)


def _settings(tmp_path: Path, **logging_overrides: object) -> Settings:
    return load_settings(
        None,
        {
            "app.data_dir": str(tmp_path),
            "app.bot_name": "test-bot",
            "app.database_url": f"postgresql+psycopg://bot:{DB_PASSWORD}@127.0.0.1:5432/opensqt",
            "exchanges.binance": {"api_key": API_KEY, "api_secret": API_SECRET},
            "logging": {"level": "DEBUG", **logging_overrides},
        },
        {},
    )


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[io.StringIO, Path]]:
    stream = io.StringIO()
    setup = setup_logging(_settings(tmp_path), [EXTRA], console=stream)
    assert setup.log_file == tmp_path / "logs" / "test-bot.jsonl"
    yield stream, setup.log_file
    setup.close()


def _emit_everything() -> None:
    # other tests (and SQLAlchemy's engines) set levels on these stdlib loggers: start from "inherit"
    # (SQLAlchemy sets its root logger to WARNING when imported)
    for name in ("ccxt", "ccxt.base.exchange", "aiohttp.client", "sqlalchemy", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    logger.info("placing order with key {} and secret {}", API_KEY, API_SECRET)
    logger.bind(apiKey=API_KEY, request={"secret": API_SECRET, "side": "buy"}).debug("bound values")
    logging.getLogger("ccxt.base.exchange").debug(
        "GET https://fapi.binance.com/fapi/v1/order?timestamp=1&signature=0f3a9c "
        "headers {'X-MBX-APIKEY': '%s'}",
        API_KEY,
    )
    logging.getLogger("aiohttp.client").warning(
        'POST /fapi/v1/listenKey -> {"listenKey": "pqia91ma19a5s61cv6a81"}'
    )
    logging.getLogger("sqlalchemy.engine").info(
        "connect postgresql+psycopg://bot:%s@127.0.0.1/opensqt", DB_PASSWORD
    )
    try:
        raise RuntimeError(f"venue said: invalid key {API_KEY} / {EXTRA}")
    except RuntimeError:
        logger.exception("order failed")
    try:
        raise ValueError(API_SECRET)
    except ValueError:
        logging.getLogger("ccxt").exception("stdlib traceback")


def test_no_secret_reaches_console_or_file(console: tuple[io.StringIO, Path]) -> None:
    stream, log_file = console
    _emit_everything()
    out = stream.getvalue()
    written = log_file.read_text(encoding="utf-8")
    for text in (out, written):
        for secret in ALL_SECRETS:
            assert secret not in text
        assert "0f3a9c" not in text  # a signature
        assert "pqia91ma19a5s61cv6a81" not in text  # a listen key
    assert "placing order with key *** and secret ***" in out
    assert "RuntimeError: venue said: invalid key *** / ***" in out
    assert "ValueError: ***" in out
    assert "signature=***" in out and "'X-MBX-APIKEY': '***'" in out and '"listenKey": "***"' in out
    assert "postgresql+psycopg://bot:***@127.0.0.1/opensqt" in out


def test_file_is_json_lines_with_the_exception(console: tuple[io.StringIO, Path]) -> None:
    _, log_file = console
    _emit_everything()
    lines = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert [line["level"] for line in lines] == [
        "INFO",
        "DEBUG",
        "DEBUG",
        "WARNING",
        "INFO",
        "ERROR",
        "ERROR",
    ]
    assert lines[0]["message"] == "placing order with key *** and secret ***"
    assert lines[1]["extra"] == {"apiKey": "***", "request": {"secret": "***", "side": "buy"}}
    assert lines[2]["extra"] == {"stdlib_logger": "ccxt.base.exchange"}
    assert lines[2]["logger"].rsplit(".", 1)[-1] == "test_logs"  # the call site, not the logging module
    assert lines[5]["message"] == "order failed"
    assert lines[5]["exception"].endswith("RuntimeError: venue said: invalid key *** / ***")


def test_level_filters_and_close_restores_stdlib(tmp_path: Path) -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    stream = io.StringIO()
    setup = setup_logging(_settings(tmp_path, level="WARNING", json_file=False), console=stream)
    assert setup.log_file is None
    logger.info("hidden")
    logger.warning("shown")
    setup.close()
    assert root.handlers == before
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].endswith("- shown")
    assert not (tmp_path / "logs").exists()


def test_redactor_masks_values_and_fields() -> None:
    r = Redactor(["s3cr3t/+=value", "ab"])
    assert r("raw s3cr3t/+=value quoted s3cr3t%2F%2B%3Dvalue") == "raw *** quoted ***"
    assert r("short ab stays") == "short ab stays"  # too short to mask by value
    assert r("api_key=abc123&price=5") == "api_key=***&price=5"
    assert r("{'apiKey': 'k', 'secret': 's', 'qty': '1'}") == "{'apiKey': '***', 'secret': '***', 'qty': '1'}"
    assert r('"passphrase":"pp","listenKey":"lk"') == '"passphrase":"***","listenKey":"***"'
    assert r("OK-ACCESS-SIGN: zzz x-api-key: yyy") == "OK-ACCESS-SIGN: *** x-api-key: ***"
    assert r("Authorization: Bearer eyJhbGciOi.abc") == "Authorization: Bearer ***"
    assert r("https://user:pw@host/x") == "https://user:***@host/x"
    assert r("trading.api_secret = ***: expected") == "trading.api_secret = ***: expected"
    assert r("price=100 qty=2") == "price=100 qty=2"
