"""Child process of the engine-level crash tests: an `ArbitrageEngine` with DBOS workflows on a venue state
file enters one spot-perp position, then exits it (the risk policy says so), and is SIGKILLed at a named
step boundary of the exit workflow, right after the n-th order reached the venue, or by the parent at a
random moment. A restart runs the same program: restore legs from the store, re-attach the pending workflow
(`recover`), `settle`, and, being a restart, enter nothing new and exit whatever is still held.

Usage: python -m tests.arbitrage.engine_crash_child DIR CRASH_AT KILL_AFTER_ORDER
"""

from __future__ import annotations

import os
import signal
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig, Pair
from opensqt.risk import CircuitBreaker, StaticExitPolicy
from opensqt.store import AuditRecord, open_store
from opensqt.trading.execution.legs import VenueCalls
from opensqt.trading.execution.workflows import DurableWorkflows
from opensqt.trading.logic.funding import FundingParams, Shape
from opensqt.trading.logic.universe import UniverseParams
from opensqt.trading.state.legs import Phase
from tests.arbitrage.file_venue import FileVenueExchange
from tests.arbitrage.world import PERP, SPOT

BOT = "crash"
#: The world's 0.05 % funding (55 % APR) must qualify: costs annualised over a year, a 1 % floor.
PARAMS = FundingParams(
    min_spread_apr=Decimal("0.01"), exit_spread_apr=Decimal("0.001"), holding_period_hours=8760
)
CONFIG = ArbitrageEngineConfig(
    Shape.SPOT_PERP,
    Decimal(600),  # 0.010 BTC at ~60 000
    1,
    params=PARAMS,
    universe=UniverseParams(min_volume_24h=Decimal(0), min_history=0),
    bot=BOT,
)


def now_ms() -> int:
    # Wall time: workflow ids (`<bot>|<key>|exit|<ms>|<seq>`) stay unique across restarts.
    return time.time_ns() // 1_000_000


async def idle(engine: ArbitrageEngine) -> None:
    while engine.inflight:
        await anyio.sleep(0.005)


async def main(folder: Path, crash_at: str, kill_after: int) -> None:
    store = open_store(f"sqlite:///{folder / 'store.sqlite'}")

    def audit(aid: str, action: str, target: str, result: str, details: dict[str, Any]) -> None:
        store.audit.record(AuditRecord(aid, now_ms(), "system", action, target, result, details, BOT))

    def boundary(workflow_id: str, name: str) -> None:
        print(f"boundary {workflow_id} {name}", flush=True)
        if name == crash_at:
            os.kill(os.getpid(), signal.SIGKILL)

    exchange = FileVenueExchange(folder / "venue.pkl", "sim", kill_after_order=kill_after, delay=0.002)
    venues = {"sim": exchange}
    wf = DurableWorkflows(
        VenueCalls(venues), f"sqlite:///{folder / 'dbos.sqlite'}", audit=audit, on_boundary=boundary
    )
    wf.launch()
    print("launched", flush=True)
    breaker = CircuitBreaker()
    pairs = [Pair(PERP.symbol, "sim", SPOT, "sim", PERP)]
    engine = ArbitrageEngine(CONFIG, venues, pairs, wf, breaker=breaker, store=store)
    try:
        async with anyio.create_task_group() as tg:
            engine.bind(tg)
            records = store.arbitrage.load_legs(BOT)
            restarted = bool(records)
            if restarted:  # enter nothing new; exit whatever is held
                breaker.trip("operator", "restart: exit only", now_ms())
                engine.exit_policy = StaticExitPolicy(exit=True)
            print(f"restored {engine.restore(records)}", flush=True)
            found = await engine.recover(wf, now_ms())
            print(f"recovered {' '.join(found) or '-'}", flush=True)
            await idle(engine)
            await engine.settle(now_ms())
            for _ in range(50):
                await engine.step(now_ms())
                await idle(engine)
                if any(p.phase is Phase.OPEN for p in engine.legs.active()):
                    breaker.trip("operator", "entered: exit only", now_ms())
                    engine.exit_policy = StaticExitPolicy(exit=True)
                if not engine.legs.active() and breaker.is_open:
                    break
            engine.bind(None)
        left = [(p.key, p.phase.value) for p in engine.legs.active()]
        print(f"done {left}", flush=True)
    finally:
        wf.shutdown()
        store.close()


if __name__ == "__main__":
    a = sys.argv[1:]
    anyio.run(main, Path(a[0]), a[1] if len(a) > 1 else "", int(a[2]) if len(a) > 2 else 0)
