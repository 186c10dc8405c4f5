"""ArbitrageService over a real TLS channel: an ArbitrageEngine on simulated venues with DBOS workflows and a
store, served by ApiServer; legs, workflows with their steps, funding, keys, rate limits and bad fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import grpc
import pytest
from arbitrage_bot.run_cmd import START_MS, build_world
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from opensqt.api.arbitrage import SERVICE_NAME, arbitrage_services
from opensqt.api.server import ApiServer, ApiSettings
from opensqt.api.v1 import arbitrage_pb2, arbitrage_pb2_grpc, common_pb2
from opensqt.clock import ManualClock
from opensqt.engines.arbitrage_api import ArbitrageApi
from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig
from opensqt.exchanges.sim import SimExchange, SimVenue
from opensqt.model import FundingPaid
from opensqt.risk import CircuitBreaker
from opensqt.store import AuditRecord, PnlKind, Store
from opensqt.trading.execution.legs import VenueCalls
from opensqt.trading.execution.workflows import DurableWorkflows, default_system_database_url
from opensqt.trading.logic.funding import Shape
from opensqt.trading.logic.universe import UniverseParams
from tests.api.harness import FrozenClock
from tests.support.stores import arbitrage_store

STEP = 5 * 60_000
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


async def _nosleep(_: float) -> None:
    return None


@dataclass
class Served:
    engine: ArbitrageEngine
    store: Store
    server: ApiServer
    data: Path
    rate: FrozenClock

    def stub(self, key: str | None = None) -> tuple[Any, list[tuple[str, str]]]:
        assert self.server.tls is not None
        channel = aio.secure_channel(
            self.server.target, grpc.ssl_channel_credentials(self.server.tls.cert_pem)
        )
        token = key if key is not None else (self.data / "api" / "read_only.key").read_text().strip()
        return arbitrage_pb2_grpc.ArbitrageServiceStub(channel), [("x-api-key", token)]  # type: ignore[no-untyped-call]


async def _run(engine: ArbitrageEngine, venues: list[SimVenue], start: int, steps: int) -> int:
    now = start
    for _ in range(steps):
        for v in venues:
            for e in v.advance(until_ms=now, stop_on_event=False):
                if isinstance(e, FundingPaid):
                    engine.on_funding(v.name, e)
        await engine.step(now)
        await engine.drain()
        now += STEP
    return now


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    venues, pairs = build_world("spot_perp", D(24), 7, D(100_000))
    store = arbitrage_store(tmp_path)

    def audit(aid: str, action: str, target: str, result: str, details: dict[str, Any]) -> None:
        now = max(v.now_ms for v in venues)
        store.audit.record(AuditRecord(aid, now, "system", action, target, result, details, "arb"))

    exchanges = {v.name: SimExchange(v) for v in venues}
    durable = DurableWorkflows(
        VenueCalls(exchanges, sleep=_nosleep), default_system_database_url(tmp_path), audit=audit
    )
    durable.launch()
    config = ArbitrageEngineConfig(
        Shape.SPOT_PERP, D(1000), 3, universe=UniverseParams(min_volume_24h=D(0), min_history=0), bot="arb"
    )
    engine = ArbitrageEngine(config, exchanges, pairs, durable, breaker=CircuitBreaker(), store=store)
    await _run(engine, venues, START_MS, 12 * 8 + 2)  # both entries, then past the first 8 h funding time
    rate = FrozenClock()
    api = ArbitrageApi(engine, store, ManualClock(START_MS))
    server = ApiServer(
        ApiSettings(listen="127.0.0.1:0", data_dir=tmp_path, rate_limit_per_key=2.0),
        grid=api,
        risk=api,
        positions=api,
        env={},
        rate_clock=rate,
        extra_services=arbitrage_services(api),
    )
    await server.start()
    try:
        yield Served(engine, store, server, tmp_path, rate)
    finally:
        await server.stop(grace=None)
        durable.shutdown()
        store.close()


async def test_legs_workflows_and_funding_over_tls(served: Served) -> None:
    stub, md = served.stub()
    legs = (await stub.GetLegs(arbitrage_pb2.GetLegsRequest(symbol=BTC), metadata=md)).legs
    btc = next(p for p in served.engine.legs.active() if p.key == BTC)
    # 1000 USDT per leg at ~60k on the perp's 0.001 lot: 0.016 BTC long spot, 0.016 short perp.
    assert [(x.venue, x.symbol, x.side, x.quantity, x.status) for x in legs] == [
        ("sim", "BTC/USDT", common_pb2.SIDE_BUY, "0.016", "open"),
        ("sim", BTC, common_pb2.SIDE_SELL, "0.016", "open"),
    ]
    assert [x.leg_id for x in legs] == [f"{btc.position_id}:long", f"{btc.position_id}:short"]
    assert D(legs[0].entry_price) == btc.long.entry_price and D(legs[1].entry_price) == btc.short.entry_price
    served.rate.now += 1

    page = await stub.GetWorkflows(arbitrage_pb2.GetWorkflowsRequest(status="opened"), metadata=md)
    assert sorted(w.workflow_id.split("|")[1] for w in page.workflows) == [BTC, ETH]
    wf = next(w for w in page.workflows if w.workflow_id == btc.position_id)
    assert (wf.kind, wf.status, [(s.name, s.status) for s in wf.steps]) == (
        "entry",
        "opened",
        [("A", "succeeded"), ("B", "succeeded")],
    )
    one = await stub.GetWorkflow(arbitrage_pb2.GetWorkflowRequest(workflow_id=wf.workflow_id), metadata=md)
    assert one == wf
    served.rate.now += 1

    funding = await stub.GetFundingCollected(arbitrage_pb2.GetFundingCollectedRequest(), metadata=md)
    paid = [r for r in served.store.pnl.history("arb") if r.kind is PnlKind.FUNDING]
    assert len(funding.payments) == len(paid) > 0
    assert D(funding.total) == sum(r.amount for r in paid) == served.engine.legs.total_funding > 0
    assert funding.asset == "USDT"
    only_btc = await stub.GetFundingCollected(
        arbitrage_pb2.GetFundingCollectedRequest(symbol=BTC), metadata=md
    )
    assert D(only_btc.total) == btc.funding and {p.symbol for p in only_btc.payments} == {BTC}


async def test_bad_fields_unknown_workflow_and_keys_are_refused(served: Served) -> None:
    stub, md = served.stub()

    async def code_of(call: Any, request: Any, metadata: Any = md) -> tuple[grpc.StatusCode, str]:
        served.rate.now += 1  # keep the rate limiter out of this test
        with pytest.raises(aio.AioRpcError) as err:
            await call(request, metadata=metadata)
        return err.value.code(), err.value.details() or ""

    code, text = await code_of(stub.GetWorkflow, arbitrage_pb2.GetWorkflowRequest(workflow_id=""))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and text.startswith("workflow_id:")
    code, text = await code_of(
        stub.GetWorkflow, arbitrage_pb2.GetWorkflowRequest(workflow_id="arb|X|entry|1|1")
    )
    assert code is grpc.StatusCode.NOT_FOUND and "arb|X|entry|1|1" in text
    code, text = await code_of(stub.GetWorkflows, arbitrage_pb2.GetWorkflowsRequest(status="done"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and text.startswith("status: expected one of")
    code, text = await code_of(stub.GetLegs, arbitrage_pb2.GetLegsRequest(symbol="BTC USDT"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT and text.startswith("symbol:")
    bad_range = arbitrage_pb2.GetFundingCollectedRequest(since_ms=10, until_ms=5)
    code, text = await code_of(stub.GetFundingCollected, bad_range)
    assert code is grpc.StatusCode.INVALID_ARGUMENT and text.startswith("until_ms:")
    code, _ = await code_of(stub.GetLegs, arbitrage_pb2.GetLegsRequest(), [("x-api-key", "wrong-key")])
    assert code is grpc.StatusCode.UNAUTHENTICATED
    code, _ = await code_of(stub.GetLegs, arbitrage_pb2.GetLegsRequest(), [])
    assert code is grpc.StatusCode.UNAUTHENTICATED


async def test_rate_limit_and_health(served: Served) -> None:
    stub, md = served.stub()
    for _ in range(2):  # the burst: one second's worth at 2 calls/s
        await stub.GetLegs(arbitrage_pb2.GetLegsRequest(), metadata=md)
    with pytest.raises(aio.AioRpcError) as err:
        await stub.GetLegs(arbitrage_pb2.GetLegsRequest(), metadata=md)
    assert err.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
    served.rate.now += 1
    assert len((await stub.GetLegs(arbitrage_pb2.GetLegsRequest(), metadata=md)).legs) == 4
    assert served.server.tls is not None
    channel = aio.secure_channel(
        served.server.target, grpc.ssl_channel_credentials(served.server.tls.cert_pem)
    )
    health = health_pb2_grpc.HealthStub(channel)
    answer = await health.Check(health_pb2.HealthCheckRequest(service=SERVICE_NAME))
    assert answer.status == health_pb2.HealthCheckResponse.SERVING
    await channel.close()
