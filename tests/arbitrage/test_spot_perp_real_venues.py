"""arbitrage_bot `--mode spot-perp` on one "venue" through real ccxt: Binance spot on the loopback spot server
and Binance USDT-M on the loopback USDT-M server, both from one config. The bot (a child process) enters
long spot / short perp, books the funding the venue paid from its income history (to the cent, each booking
once across a restart, what was paid while it was down caught up), and exits both legs when funding flips."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import anyio
import pytest

from opensqt.config import load_settings
from opensqt.engines.venues import build_real_exchange
from opensqt.model import Side
from opensqt.store import PnlKind, open_store
from opensqt.testing.binance_server import BinanceServer, default_instruments
from opensqt.testing.binance_spot import BinanceSpotServer, FundingVenue, SpotVenue, spot_instruments
from tests.arbitrage.test_real_venues import _finish, _spawn, _wait

PERP, SPOT = "BTC/USDT:USDT", "BTC/USDT"
BOT = "loop-spot-perp"
HOUR_MS = 3_600_000


def _config(folder: Path, spot_port: int, perp_port: int) -> Path:
    text = f"""
app:
  bot_name: {BOT}
  active_exchanges: [bspot, bperp]
  data_dir: {folder}
exchanges:
  bspot:
    kind: binance_spot
    base_url: http://127.0.0.1:{spot_port}
    api_key: loopback-key
    api_secret: loopback-secret
    rate_limit: 1000
  bperp:
    kind: binance
    base_url: http://127.0.0.1:{perp_port}
    api_key: loopback-key
    api_secret: loopback-secret
    rate_limit: 1000
arbitrage:
  mode: spot_perp
  spot_exchange: bspot
  perp_exchange: bperp
  symbols: [{PERP}]
  order_amount: 100
  max_legs: 3
  min_volume_24h: 0
  slippage_bps: 0
  holding_period_hours: 720
api:
  enabled: false
telemetry:
  metrics_enabled: false
logging:
  level: INFO
  json_file: false
"""
    path = folder / "spot_perp.yaml"
    path.write_text(text)
    return path


class World:
    """One venue's two products: a spot account and a USDT-M account paying funding when the test says."""

    def __init__(self) -> None:
        self.spot = SpotVenue(spot_instruments(), balances={"USDT": D(100_000)})
        self.perp = FundingVenue(default_instruments(3), balance=D(100_000), funding_rate=D("0.001"))
        self.perp.schedule_funding(PERP, _now() + HOUR_MS)  # no funding until the test asks
        self.paid: list[int] = []

    def market(self) -> None:
        self.spot.set_book(SPOT, D("60000.00"), D("60000.01"), D(5))
        self.spot.publish_trade(SPOT, D("60000.00"), D("0.01"), Side.SELL)
        self.perp.set_book(PERP, D("60000.0"), D("60000.1"), D(5))
        self.perp.publish_trade(PERP, D("60000.0"), D("0.01"), Side.SELL)

    def fund_now(self) -> None:
        """Announce a funding time 1 s ahead; `drive` settles it when it comes."""
        self.perp.schedule_funding(PERP, _now() + 1000)

    async def drive(self) -> None:
        while True:
            self.market()
            due = self.perp.next_funding_ms(PERP)
            if due is not None and _now() >= due:
                self.perp.settle_funding(PERP, due)
                self.paid.append(due)
                self.perp.schedule_funding(PERP, due + HOUR_MS)
            await anyio.sleep(0.1)


def _now() -> int:
    return int(time.time() * 1000)


@pytest.fixture
async def world() -> AsyncIterator[tuple[World, BinanceSpotServer, BinanceServer]]:
    w = World()
    w.market()
    async with (
        BinanceSpotServer(w.spot) as spot_server,
        BinanceServer(w.perp) as perp_server,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(w.drive)
        yield w, spot_server, perp_server  # type: ignore[misc]
        tg.cancel_scope.cancel()


def _funding_rows(folder: Path) -> list[Any]:
    store = open_store(f"sqlite:///{folder / 'opensqt.sqlite'}")
    try:
        return [r for r in store.pnl.history(BOT) if r.kind is PnlKind.FUNDING]
    finally:
        store.close()


def _leg_status(folder: Path) -> set[str]:
    store = open_store(f"sqlite:///{folder / 'opensqt.sqlite'}")
    try:
        return {r.status for r in store.arbitrage.load_legs(BOT)}
    finally:
        store.close()


async def test_one_config_builds_binance_spot_and_usdm_instances(
    tmp_path: Path, world: tuple[World, BinanceSpotServer, BinanceServer]
) -> None:
    _, spot_server, perp_server = world
    settings = load_settings(_config(tmp_path, spot_server.port, perp_server.port), env={})
    spot = build_real_exchange("bspot", settings.exchanges["bspot"])
    perp = build_real_exchange("bperp", settings.exchanges["bperp"])
    try:
        assert (spot.name, perp.name) == ("bspot", "bperp")
        assert (spot.spec.ccxt_id, perp.spec.ccxt_id) == ("binance", "binanceusdm")  # type: ignore[attr-defined]
        assert spot.client is not perp.client  # type: ignore[attr-defined]
        assert list(await spot.load_markets()) == [SPOT]
        assert PERP in await perp.load_markets()
        assert (await spot.fetch_balance())["USDT"].total == D(100_000)
        assert (await perp.fetch_balance())["USDT"].total == D(100_000)
    finally:
        await spot.close()
        await perp.close()
    assert spot_server.not_found == [] and perp_server.not_found == []
    assert {p for _, p in spot_server.requests} <= {"/api/v3/exchangeInfo", "/api/v3/account"} | {
        "/sapi/v1/margin/allPairs",
        "/sapi/v1/margin/isolated/allPairs",
    }


async def test_spot_perp_enters_books_venue_funding_once_and_exits(
    tmp_path: Path, world: tuple[World, BinanceSpotServer, BinanceServer]
) -> None:
    w, spot_server, perp_server = world
    config = _config(tmp_path, spot_server.port, perp_server.port)
    extra = ["--funding-delay", "0.5"]

    # Run 1: enter (spot buy first, then the perp short sized from it), then one funding time.
    first = _spawn(config, tmp_path, 90, extra)
    try:
        await _wait(lambda: w.perp._positions.get(PERP) is not None, 40, "both legs entered")
        w.fund_now()
        await _wait(lambda: len(_funding_rows(tmp_path)) == 1, 20, "the first funding booked")
    finally:
        first.send_signal(signal.SIGTERM)
    out1 = await _finish(first)
    assert "funding: 0 venue bookings already counted, 0 caught up" in out1, out1[-3000:]

    # While the bot is down the venue pays again.
    w.perp.settle_funding(PERP, _now())

    # Run 2: the restored position catches up on that booking, counts the first one no second time, books
    # a third funding time, then exits both legs once funding turns negative.
    second = _spawn(config, tmp_path, 90, extra)
    try:
        await _wait(lambda: len(_funding_rows(tmp_path)) == 2, 40, "the missed funding caught up")
        w.fund_now()
        await _wait(lambda: len(_funding_rows(tmp_path)) == 3, 20, "the third funding booked")
        w.perp.set_funding_rate(D("-0.0005"))
        await _wait(lambda: PERP not in w.perp._positions, 30, "the exit")
        await _wait(lambda: _leg_status(tmp_path) == {"closed"}, 30, "both legs closed in the store")
    finally:
        second.send_signal(signal.SIGTERM)
    out2 = await _finish(second)
    assert "funding: 1 venue bookings already counted, 1 caught up" in out2, out2[-3000:]

    # The venue: one order per leg each way, flat afterwards.
    spot_orders = sorted(w.spot._orders.values(), key=lambda o: o.ts_init)
    perp_orders = sorted(w.perp._orders.values(), key=lambda o: o.ts_init)
    assert [(o.side, o.filled) for o in spot_orders] == [(Side.BUY, D("0.001")), (Side.SELL, D("0.001"))]
    assert [(o.side, o.filled, o.reduce_only) for o in perp_orders] == [
        (Side.SELL, D("0.001"), False),
        (Side.BUY, D("0.001"), True),
    ]
    assert (await w.spot.fetch_balance())["BTC"].total == D(0)

    # What the venue paid, and what the bot booked: the same three payments, to the cent.
    assert [(i.income_id, i.amount) for i in w.perp.incomes] == [
        ("9689322392", D("0.06000000")),
        ("9689322393", D("0.06000000")),
        ("9689322394", D("0.06000000")),
    ]
    rows = _funding_rows(tmp_path)
    assert sorted((r.venue, r.symbol, r.ref_id, r.amount) for r in rows) == [
        ("bperp", PERP, "income:9689322392", D("0.06000000")),
        ("bperp", PERP, "income:9689322393", D("0.06000000")),
        ("bperp", PERP, "income:9689322394", D("0.06000000")),
    ]
    store = open_store(f"sqlite:///{tmp_path / 'opensqt.sqlite'}")
    try:
        legs = {r.leg: r for r in store.arbitrage.load_legs(BOT)}
        assert (legs["long"].venue, legs["long"].product, legs["long"].funding_collected) == (
            "bspot",
            "spot",
            D(0),
        )
        assert (legs["short"].venue, legs["short"].product, legs["short"].funding_collected) == (
            "bperp",
            "perp",
            D("0.18"),
        )
        assert {r.status for r in legs.values()} == {"closed"}
    finally:
        store.close()
