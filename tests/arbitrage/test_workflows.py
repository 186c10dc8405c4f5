"""Entries and exits as DBOS workflows in this process, on a SQLite and on a real PostgreSQL system database:
results, idempotent restart by workflow id, audit rows."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from opensqt.exchanges.sim import SimExchange
from opensqt.trading.execution.legs import EntryOutcome, EntryPlan, ExitOutcome, ExitPlan, LegSpec, VenueCalls
from opensqt.trading.execution.workflows import DurableWorkflows, default_system_database_url
from opensqt.trading.state.legs import LegRole
from tests.arbitrage.world import PERP, SPOT, venue
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

LONG, SHORT = LegSpec(LegRole.LONG, "sim", SPOT), LegSpec(LegRole.SHORT, "sim", PERP)


async def roundtrip(url: str) -> None:
    v = venue()
    audit: dict[str, str] = {}

    def sink(aid: str, action: str, target: str, result: str, details: dict[str, Any]) -> None:
        audit[aid] = result

    wf = DurableWorkflows(VenueCalls({"sim": SimExchange(v)}), url, audit=sink)
    wf.launch()
    try:
        plan = EntryPlan("E1", PERP.symbol, LONG, SHORT, D("0.010"))
        entry = await wf.entry(plan)
        assert (entry.outcome, entry.long_qty, entry.short_qty) == (
            EntryOutcome.OPENED,
            D("0.010"),
            D("0.010"),
        )
        assert await wf.entry(plan) == entry  # same id: the recorded result, no new orders
        assert len(v.orders) == 2
        done = await wf.exit(ExitPlan("X1", PERP.symbol, LONG, SHORT, D("0.010"), D("0.010")))
        assert done.outcome is ExitOutcome.CLOSED and len(v.orders) == 4
        assert await wf.pending() == []
        assert audit == {
            "E1:A": "filled",
            "E1:B": "filled",
            "E1:result": "opened",
            "X1:XS0": "filled",
            "X1:XL0": "filled",
            "X1:result": "closed",
        }
    finally:
        wf.shutdown()


async def test_workflows_on_sqlite(tmp_path: Path) -> None:
    url = default_system_database_url(tmp_path)
    assert url == f"sqlite:///{tmp_path}/dbos.sqlite"
    await roundtrip(url)


@pytest.mark.real_part
async def test_workflows_on_postgresql(postgres_url: str) -> None:  # noqa: F811
    await roundtrip(postgres_url)
