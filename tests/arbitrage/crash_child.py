"""Child process of the arbitrage crash tests: runs entry workflow E1 then (with `exit`) exit workflow X1 as
DBOS workflows on a venue state file, first resuming whatever a killed predecessor left pending.

Usage: python -m tests.arbitrage.crash_child DIR SYSTEM_DB_URL PHASES [CRASH_AT] [KILL_AFTER_ORDER]
PHASES: `entry` or `entry,exit`. CRASH_AT: a step boundary name (`entry:A`, `exit:closed0`...) at which the
process SIGKILLs itself. KILL_AFTER_ORDER: SIGKILL right after the n-th order reached the venue.
"""

from __future__ import annotations

import os
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from opensqt.store import AuditRecord, open_store
from opensqt.trading.execution.legs import EntryPlan, ExitPlan, LegSpec, VenueCalls
from opensqt.trading.execution.workflows import DurableWorkflows
from opensqt.trading.state.legs import LegRole
from tests.arbitrage.file_venue import FileVenueExchange
from tests.arbitrage.world import PERP, SPOT

QTY = Decimal("0.010")
LONG = LegSpec(LegRole.LONG, "sim", SPOT)
SHORT = LegSpec(LegRole.SHORT, "sim", PERP)


async def main(folder: Path, url: str, phases: str, crash_at: str, kill_after: int) -> None:
    store = open_store(f"sqlite:///{folder / 'store.sqlite'}")

    def audit(aid: str, action: str, target: str, result: str, details: dict[str, Any]) -> None:
        store.audit.record(AuditRecord(aid, 0, "system", action, target, result, details, "crash"))

    def boundary(workflow_id: str, name: str) -> None:
        print(f"boundary {workflow_id} {name}", flush=True)
        if name == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    exchange = FileVenueExchange(folder / "venue.pkl", "sim", kill_after_order=kill_after, delay=0.01)
    wf = DurableWorkflows(VenueCalls({"sim": exchange}), url, audit=audit, on_boundary=boundary)
    wf.launch()
    print("launched", flush=True)
    try:
        for wid, name in await wf.pending():
            result = await wf.resume(wid)
            print(f"resumed {wid} {name} {result.outcome.value}", flush=True)
        entry = await wf.entry(EntryPlan("E1", PERP.symbol, LONG, SHORT, QTY))
        print(f"entry {entry.outcome.value} {entry.long_qty} {entry.short_qty}", flush=True)
        if "exit" in phases:
            plan = ExitPlan("X1", PERP.symbol, LONG, SHORT, entry.long_qty, entry.short_qty, "test")
            done = await wf.exit(plan)
            print(f"exit {done.outcome.value} {done.long_left} {done.short_left}", flush=True)
        print("done", flush=True)
    finally:
        wf.shutdown()
        store.close()


if __name__ == "__main__":
    a = sys.argv[1:]
    anyio.run(main, Path(a[0]), a[1], a[2], a[3] if len(a) > 3 else "", int(a[4]) if len(a) > 4 else 0)
