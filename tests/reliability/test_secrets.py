"""Configured secrets never leave the process: market_maker runs on the simulated venue with exchange keys,
a database password and its API keys configured, serves the gRPC API, and afterwards none of those values is
in the console log, the JSON log file, the database files, or any API answer. (The web page and its
websocket frames are checked by tests/web/test_security.py::test_nothing_secret_reaches_the_browser.)"""

from __future__ import annotations

import io
import socket
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from opensqt.api.client import ApiClient
from opensqt.config import load_settings
from opensqt.engines.grid_runtime import run_market_maker
from opensqt.logs import setup_logging

API_KEY = "AKIAsoakkey0123456789"
API_SECRET = "s3cr3t-venue-secret-abcdef"
EXTRA = "webhook-token-9f8e7d"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_no_configured_secret_reaches_logs_database_or_api(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    listen = f"127.0.0.1:{_free_port()}"
    settings = load_settings(
        None,
        {
            "app.data_dir": str(data_dir),
            "app.bot_name": "secret-bot",
            "exchanges.binance": {"api_key": API_KEY, "api_secret": API_SECRET},
            "api.listen": listen,
            "logging.level": "DEBUG",
        },
        {},
    )
    console = io.StringIO()
    logs = setup_logging(settings, [EXTRA], console=console)
    answers: list[str] = []
    engines: list[Any] = []

    async def ask_the_api() -> None:
        with anyio.fail_after(60):
            while not engines or engines[0].stats["fills"] < 2:
                await anyio.sleep(0.1)
        async with ApiClient.from_data_dir(data_dir, target=listen, env={}) as client:
            answers.extend(
                repr(a)
                for a in (
                    await client.get_engine_status(),
                    await client.get_slots(),
                    await client.get_risk_status(),
                    await client.get_breaker(),
                    await client.get_positions(),
                    await client.get_open_orders(),
                    await client.get_order_history(),
                    await client.get_fills(),
                    await client.get_pnl_history(),
                    await client.get_reconciliation_status(),
                )
            )

    async def main() -> int:
        async with anyio.create_task_group() as tg:
            tg.start_soon(ask_the_api)
            code = await run_market_maker(
                settings, duration=Decimal(1800), speed=Decimal(200), out=console, ready=engines.append
            )
        return code

    try:
        assert anyio.run(main) == 0
    finally:
        logs.close()
    control_key = (data_dir / "api" / "control.key").read_text().strip()
    read_key = (data_dir / "api" / "read_only.key").read_text().strip()
    secrets = (API_KEY, API_SECRET, EXTRA, control_key, read_key)
    assert len(answers) == 10 and engines[0].stats["fills"] >= 2
    places = {
        "console": console.getvalue(),
        "json log": (data_dir / "logs" / "secret-bot.jsonl").read_text(),
        "api answers": "\n".join(answers),
    }
    databases = [p for p in data_dir.rglob("*") if p.is_file() and (".sqlite" in p.name or p.suffix == ".db")]
    assert databases, sorted(data_dir.rglob("*"))
    for db in databases:
        places[f"database {db.name}"] = db.read_bytes().decode("latin-1")
    # positive controls: each place holds real content (bot name, orders), so an absence means something
    assert "shutdown: cancelled" in places["json log"] and "BTC/USDT:USDT" in places["console"]
    assert any("secret-bot" in text for where, text in places.items() if where.startswith("database"))
    assert "BTC/USDT:USDT" in places["api answers"]
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a configured secret is in the {where}"
