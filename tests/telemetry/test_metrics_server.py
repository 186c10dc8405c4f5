"""The /metrics endpoint: scraped over real HTTP on 127.0.0.1 and parsed with the official client's parser."""

from __future__ import annotations

import socket
from decimal import Decimal

import aiohttp
import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from opensqt.config import TelemetryConfig
from opensqt.telemetry import BotSnapshot, Metrics, MetricsBindError, MetricsServer, TradingSnapshot

SYMBOL = "ETH/USDT:USDT"


async def _get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_scrape_over_http_gives_the_exact_values() -> None:
    metrics = Metrics("bot-http")
    state = {"placed": 3}
    metrics.register(
        "grid",
        lambda: BotSnapshot(
            trading=(TradingSnapshot(SYMBOL, orders_placed=state["placed"], realized_pnl=Decimal("-7.25")),)
        ),
    )
    metrics.tick_to_order.observe(0.002)
    async with anyio.create_task_group() as tg:
        port = await tg.start(MetricsServer(metrics, "127.0.0.1", 0).serve)
        status, content_type, text = await _get(f"http://127.0.0.1:{port}/metrics")
        state["placed"] = 4  # read at scrape time, not at registration
        _, _, again = await _get(f"http://127.0.0.1:{port}/metrics")
        missing, _, _ = await _get(f"http://127.0.0.1:{port}/other")
        tg.cancel_scope.cancel()
    assert status == 200
    assert content_type.startswith("text/plain; version=")
    assert missing == 404
    families = {f.name: f for f in text_string_to_metric_families(text)}
    labels = {"bot": "bot-http", "symbol": SYMBOL}
    placed = families["opensqt_orders_placed"]
    assert placed.type == "counter"
    assert [(s.name, s.labels, s.value) for s in placed.samples] == [
        ("opensqt_orders_placed_total", labels, 3.0)
    ]
    assert [(s.labels, s.value) for s in families["opensqt_realized_pnl"].samples] == [(labels, -7.25)]
    count = [s for s in families["opensqt_tick_to_order_seconds"].samples if s.name.endswith("_count")]
    assert [s.value for s in count] == [1.0]
    again_placed = {f.name: f for f in text_string_to_metric_families(again)}["opensqt_orders_placed"]
    assert again_placed.samples[0].value == 4.0


async def test_the_port_is_released_when_the_task_group_stops() -> None:
    async with anyio.create_task_group() as tg:
        port = await tg.start(MetricsServer(Metrics("b"), "127.0.0.1", 0).serve)
        tg.cancel_scope.cancel()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


async def test_from_config_uses_the_telemetry_section() -> None:
    config = TelemetryConfig(metrics_enabled=True, metrics_host="127.0.0.1", metrics_port=9999)
    server = MetricsServer.from_config(Metrics("b"), config)
    assert (server.host, server.port) == ("127.0.0.1", 9999)


def test_metrics_are_off_by_default_and_bound_to_loopback() -> None:
    config = TelemetryConfig()
    assert (config.metrics_enabled, config.metrics_host, config.metrics_port) == (False, "127.0.0.1", 9464)


async def test_a_busy_port_fails_the_start_with_one_error_naming_the_setting() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with pytest.raises(ExceptionGroup) as caught:
            async with anyio.create_task_group() as tg:
                await tg.start(MetricsServer(Metrics("b"), "127.0.0.1", busy).serve)
    [error] = caught.value.exceptions
    assert isinstance(error, MetricsBindError)
    assert error.strerror == (
        f"telemetry.metrics_host/metrics_port: cannot listen on 127.0.0.1:{busy} "
        "(Address already in use); expected a free port on an address of this machine"
    )
