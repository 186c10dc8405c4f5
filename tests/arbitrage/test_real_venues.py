"""arbitrage_bot on real venues: two loopback Binance USDT-M servers (cross mode) driven by this test, the
bot a child process built from a config file. Start-up order, trading, kill -9 between the entry legs, restart
on the same store, DBOS database and venue state: workflow resumed, no duplicate order, legs matched,
accounting kept; ArbitrageService (TLS) and /metrics served while it runs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import grpc
import pytest
from grpc import aio

from opensqt.api.v1 import arbitrage_pb2, arbitrage_pb2_grpc, common_pb2
from opensqt.model import Side
from opensqt.store import PnlKind, open_store
from opensqt.testing.binance_server import BinanceServer, MemoryVenue, default_instruments
from tests.conftest import ROOT

BTC = "BTC/USDT:USDT"
BOT = "loop-arb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(folder: Path, port_a: int, port_b: int, api: int, metrics: int) -> Path:
    venues = "".join(
        f"""
  {name}:
    kind: binance
    base_url: http://127.0.0.1:{port}
    api_key: loopback-key
    api_secret: loopback-secret
    rate_limit: 1000"""
        for name, port in (("va", port_a), ("vb", port_b))
    )
    text = f"""
app:
  bot_name: {BOT}
  active_exchanges: [va, vb]
  data_dir: {folder}
exchanges:{venues}
arbitrage:
  mode: cross
  spot_exchange: va
  perp_exchange: vb
  symbols: [{BTC}]
  order_amount: 100
  max_legs: 3
  min_volume_24h: 0
  slippage_bps: 0
  holding_period_hours: 720
api:
  listen: 127.0.0.1:{api}
telemetry:
  metrics_enabled: true
  metrics_port: {metrics}
logging:
  level: INFO
  json_file: false
"""
    path = folder / "arb.yaml"
    path.write_text(text)
    return path


async def _drive(venues: list[MemoryVenue]) -> None:
    """A live market on both venues: book and trades every 100 ms (prices, funding stream ticks)."""
    while True:
        for v in venues:
            v.set_book(BTC, D("60000.0"), D("60000.1"), D(5))
            v.publish_trade(BTC, D("60000.0"), D("0.01"), Side.SELL)
        await anyio.sleep(0.1)


@pytest.fixture
async def world() -> AsyncIterator[tuple[list[MemoryVenue], list[BinanceServer]]]:
    # va pays 0.01 % per 8 h, vb 0.1 %: long va, short vb; 98.55 % APR against a 12.4 % threshold.
    venues = [
        MemoryVenue(default_instruments(3), balance=D(100_000), funding_rate=D(rate))
        for rate in ("0.0001", "0.001")
    ]
    for v in venues:
        v.set_book(BTC, D("60000.0"), D("60000.1"), D(5))
    async with BinanceServer(venues[0]) as a, BinanceServer(venues[1]) as b, anyio.create_task_group() as tg:
        tg.start_soon(_drive, venues)
        yield venues, [a, b]
        tg.cancel_scope.cancel()


def _spawn(config: Path, folder: Path, seconds: int, extra: Sequence[str] = ()) -> subprocess.Popen[str]:
    cmd = [str(ROOT / ".venv/bin/arbitrage_bot"), "run", "--config", str(config)]
    cmd += ["--duration", f"{seconds}s", "--step", "0.3", *extra]
    env = {**os.environ, "OPENSQT_LOGGING__LEVEL": "INFO"}
    return subprocess.Popen(
        cmd, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


async def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.05)


async def _finish(proc: subprocess.Popen[str], timeout: float = 90) -> str:
    await _wait(lambda: proc.poll() is not None, timeout, "arbitrage_bot to exit")
    out = proc.stdout.read() if proc.stdout else ""
    assert proc.returncode == 0, out[-4000:]
    return out


async def _api_legs(folder: Path, port: int) -> list[Any]:
    """GetLegs from the running bot over TLS with its read-only key, once both legs are open."""
    cert = (folder / "api" / "tls" / "cert.pem").read_bytes()
    key = (folder / "api" / "read_only.key").read_text().strip()
    channel = aio.secure_channel(f"127.0.0.1:{port}", grpc.ssl_channel_credentials(cert))
    stub = arbitrage_pb2_grpc.ArbitrageServiceStub(channel)  # type: ignore[no-untyped-call]
    try:
        for _ in range(100):
            try:
                found = await stub.GetLegs(
                    arbitrage_pb2.GetLegsRequest(symbol=BTC), metadata=[("x-api-key", key)], timeout=2
                )
                if [x.status for x in found.legs] == ["open", "open"]:
                    return list(found.legs)
            except aio.AioRpcError:
                pass
            await anyio.sleep(0.1)
        raise AssertionError("the bot's API never showed both legs open")
    finally:
        await channel.close()


def _orders(v: MemoryVenue) -> list[Any]:
    return list(v._orders.values())


async def _size(v: MemoryVenue) -> D:
    return sum((p.size for p in await v.fetch_positions([BTC])), D(0))


async def test_start_trade_kill_between_legs_and_restart(
    tmp_path: Path, world: tuple[list[MemoryVenue], list[BinanceServer]]
) -> None:
    (va, vb), (sa, sb) = world
    metrics_port, api_port = _free_port(), _free_port()
    config = _config(tmp_path, sa.port, sb.port, api_port, metrics_port)

    # Run 1: leg B's submit is held 1.5 s at venue b; the bot is killed while it is in flight.
    sb.faults.order_delay_s = 1.5
    first = _spawn(config, tmp_path, 120)
    try:
        await _wait(lambda: ("POST", "/fapi/v1/order") in sb.requests, 25, "leg B submit")
        assert [o.side for o in _orders(va)] == [Side.BUY] and await _size(va) == D("0.001")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    await anyio.sleep(2.0)  # the held submit lands (or not) while the bot is dead
    sb.faults.order_delay_s = 0.0

    # Run 2: same store, DBOS database and venues. The entry workflow resumes; step B finds its order or
    # places it once. Metrics and the API serve while it runs.
    second = _spawn(config, tmp_path, 12)
    await _wait(lambda: len(_orders(vb)) == 1 and vb._positions.get(BTC) is not None, 60, "leg B")
    async with aiohttp.ClientSession() as http:
        text = ""
        for _ in range(100):
            try:
                async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                    text = await r.text()
                if "opensqt_arbitrage" in text and "open" in text:
                    break
            except aiohttp.ClientError:
                pass
            await anyio.sleep(0.1)
    legs = await _api_legs(tmp_path, api_port)
    out = await _finish(second)
    assert [(x.venue, x.side, x.quantity, x.status) for x in legs] == [
        ("va", common_pb2.SIDE_BUY, "0.001", "open"),
        ("vb", common_pb2.SIDE_SELL, "0.001", "open"),
    ]
    assert "restored 1 positions, re-attached 1 workflows" in out, out[-4000:]
    assert "opensqt_arbitrage" in text

    # Exactly one order per leg across the crash; both legs held and matched.
    assert [(o.side, o.filled) for o in _orders(va)] == [(Side.BUY, D("0.001"))]
    assert [(o.side, o.filled) for o in _orders(vb)] == [(Side.SELL, D("0.001"))]
    assert (await _size(va), await _size(vb)) == (D("0.001"), D("-0.001"))
    store = open_store(f"sqlite:///{tmp_path / 'opensqt.sqlite'}")
    try:
        legs = store.arbitrage.load_legs(BOT)
        assert [(r.leg, r.venue, r.size, r.status) for r in legs] == [
            ("long", "va", D("0.001"), "open"),
            ("short", "vb", D("0.001"), "open"),
        ]
        assert legs[0].entry_price == D("60000.1") and legs[1].entry_price == D("60000.0")
        wid = legs[0].position_id
        audit = sorted(r.id for r in store.audit.list(0, 10_000) if r.id.startswith(wid))
        assert audit == [f"{wid}:A", f"{wid}:B", f"{wid}:result"]
        fees = [r for r in store.pnl.history(BOT) if r.kind is PnlKind.FEE]
        # taker 0.05 % of each leg's notional, booked once per order
        assert sorted(r.amount for r in fees) == [D("-0.03000005"), D("-0.03000000")]
        assert legs[0].fees + legs[1].fees == D("0.06000005")
    finally:
        store.close()

    # Run 3: a clean restart with the position open: restored, nothing re-entered, nothing placed.
    third = _spawn(config, tmp_path, 4)
    out = await _finish(third)
    assert "restored 1 positions, re-attached 0 workflows" in out, out[-4000:]
    assert len(_orders(va)) == 1 and len(_orders(vb)) == 1
