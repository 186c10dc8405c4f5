"""kill -9 of the arbitrage *engine* during the exit workflow: at every step boundary of the exit, right after
each exit order reached the venue, and at random moments over the whole entry-then-exit run. The restarted
engine restores its legs from the store, re-attaches the pending workflow and finishes the job. Checks: both
legs closed at the venue and in the store, never a naked leg over one lot, exactly one venue order per step
(no duplicates) and each of them in the audit log with its workflow's result."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

from opensqt.store import BotRecord, migrate, open_store
from opensqt.trading.execution.legs import leg_client_order_id
from tests.arbitrage.file_venue import load_venue, save_venue
from tests.arbitrage.world import PERP, venue
from tests.conftest import ROOT

EXIT_BOUNDARIES = ["exit:start", "exit:closed0", "exit:verified0"]
LOT = PERP.lot_size


def _child(folder: Path, crash_at: str = "", kill_after: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.arbitrage.engine_crash_child", str(folder), crash_at, str(kill_after)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _crash_and_recover(
    folder: Path, crash_at: str = "", kill_after: int = 0, kill_in: float | None = None
) -> str:
    save_venue(folder / "venue.pkl", venue())
    url = f"sqlite:///{folder / 'store.sqlite'}"
    migrate(url)
    store = open_store(url)
    store.bots.register(BotRecord("crash", "arbitrage", "sim", "h", 0, 0))
    store.close()
    first = _child(folder, crash_at, kill_after)
    head = ""
    if kill_in is not None:
        assert first.stdout is not None
        while "launched" not in head and first.poll() is None:
            head += first.stdout.readline()
        time.sleep(kill_in)  # measured from DBOS launch: inside the engine's work, not in the imports
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
    out1, err1 = first.communicate(timeout=30)
    out1 = head + out1
    if kill_in is None:
        assert first.returncode == -signal.SIGKILL, (
            f"did not die at {crash_at or kill_after}: {out1}{err1[-2000:]}"
        )
    second = _child(folder)
    out2, err2 = second.communicate(timeout=30)
    assert second.returncode == 0, f"restart failed: {out2}{err2[-3000:]}"
    assert "done []" in out2, out2
    return f"--- first ---\n{out1}--- restart ---\n{out2}"


def _check(folder: Path, out: str) -> tuple[set[str], set[str]]:
    """The end state every case must reach; returns (entry workflows, exit workflows) that placed orders."""
    v = load_venue(folder / "venue.pkl")
    spot = v.balances().get("BTC")
    spot_size = spot.total if spot is not None else Decimal(0)
    perp_size = sum((p.size for p in v.positions([PERP.symbol])), Decimal(0))
    assert abs(spot_size + perp_size) <= LOT, f"naked leg: spot {spot_size} perp {perp_size}\n{out}"
    assert (spot_size, perp_size) == (Decimal(0), Decimal(0)), out  # both legs closed
    store = open_store(f"sqlite:///{folder / 'store.sqlite'}")
    try:
        rows = store.audit.list()
        legs = store.arbitrage.load_legs("crash")
    finally:
        store.close()
    orders = {r.details["client_order_id"]: r for r in rows if r.action == "arbitrage.order"}
    results = {r.id: r.result for r in rows if r.id.endswith(":result")}
    # Every venue order is in the audit log, and nothing else is: one order per (workflow, step).
    assert set(v.orders) == set(orders), f"venue {sorted(v.orders)} != audit {sorted(orders)}\n{out}"
    for cid, r in orders.items():
        wid, step = r.details["workflow_id"], r.details["step"]
        assert cid == leg_client_order_id(wid, step) and r.result == "filled", out
        symbol = r.target.split(":", 1)[1]
        assert Decimal(r.details["filled"]) == v.fetch_order(symbol, cid).filled > 0, out
    entries = {r.details["workflow_id"] for r in orders.values() if "|entry|" in r.details["workflow_id"]}
    exits = {r.details["workflow_id"] for r in orders.values() if "|exit|" in r.details["workflow_id"]}
    if orders:  # one entry of two legs, one exit of two legs: no workflow ran twice, no second position
        assert len(entries) == 1 and len(exits) == 1, f"{entries} {exits}\n{out}"
        steps = sorted(r.details["step"] for r in orders.values())
        assert steps == ["A", "B", "XL0", "XS0"], out
        assert results == {
            f"{next(iter(entries))}:result": "opened",
            f"{next(iter(exits))}:result": "closed",
        }, out
    assert legs and {leg.status for leg in legs} == {"closed"}, out
    return entries, exits


BOUNDARY_CASES = [(b, 0) for b in EXIT_BOUNDARIES] + [("", 3), ("", 4)]  # orders 3, 4: the exit's closes
SEEDS = range(6)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str | BaseException]]:
    """Every case's kill and restart, three at a time (each child spends ~2 s importing): the file stays well
    under a minute. Each test below then checks its own case."""

    def one(
        name: str, crash_at: str, kill_after: int, kill_in: float | None
    ) -> tuple[Path, str | BaseException]:
        folder = tmp_path_factory.mktemp(name.replace(":", "_"))
        try:
            return folder, _crash_and_recover(folder, crash_at, kill_after, kill_in)
        except BaseException as exc:  # reported by the case's own test
            return folder, exc

    cases: dict[str, tuple[str, int, float | None]] = {f"{c}{k}": (c, k, None) for c, k in BOUNDARY_CASES}
    # The whole entry-then-exit run takes ~0.3 s after DBOS launch on this venue file (more under load).
    cases |= {f"seed{s}": ("", 0, random.Random(s).uniform(0.0, 0.35)) for s in SEEDS}
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(one, name, *case) for name, case in cases.items()}
        return {name: f.result() for name, f in futures.items()}


def _run(runs: dict[str, tuple[Path, str | BaseException]], name: str) -> tuple[Path, str]:
    folder, out = runs[name]
    if isinstance(out, BaseException):
        raise out
    return folder, out


@pytest.mark.slow
@pytest.mark.parametrize(("crash_at", "kill_after"), BOUNDARY_CASES)
def test_engine_killed_inside_the_exit_resumes_it(
    runs: dict[str, tuple[Path, str | BaseException]], crash_at: str, kill_after: int
) -> None:
    folder, out = _run(runs, f"{crash_at}{kill_after}")
    _, exits = _check(folder, out)
    first, restart = out.split("--- restart ---")
    assert "|exit|" in first and "restored 1" in restart, out
    # the killed exit workflow itself was re-attached and finished: no second exit was started
    assert f"recovered {next(iter(exits))}" in restart, out


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_engine_killed_at_random_moments_ends_closed(
    runs: dict[str, tuple[Path, str | BaseException]], seed: int
) -> None:
    folder, out = _run(runs, f"seed{seed}")
    _check(folder, out)
    first = out.split("--- restart ---")[0]
    when = "after done" if "done" in first else "mid-run"
    print(f"seed {seed}: killed {when}; {first.count('boundary')} boundaries")
