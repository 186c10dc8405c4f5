"""kill -9 during entry and exit workflows: at every step boundary, right after an order reached the venue,
and at random moments. After a restart the workflow resumes; both legs end open and matched (entry) or both
closed (exit); never a naked leg over one lot; no order placed twice; every outcome in the audit log."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from opensqt.store import migrate, open_store
from opensqt.trading.execution.legs import leg_client_order_id
from tests.arbitrage.file_venue import load_venue, save_venue
from tests.arbitrage.world import PERP, venue
from tests.conftest import ROOT
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

ENTRY_BOUNDARIES = ["entry:start", "entry:A", "entry:B"]
EXIT_BOUNDARIES = ["exit:start", "exit:closed0", "exit:verified0"]
LOT = PERP.lot_size


def _setup(folder: Path) -> None:
    save_venue(folder / "venue.pkl", venue())
    migrate(f"sqlite:///{folder / 'store.sqlite'}")


def _child(
    folder: Path, url: str, phases: str, crash_at: str = "", kill_after: int = 0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.arbitrage.crash_child",
            str(folder),
            url,
            phases,
            crash_at,
            str(kill_after),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _check(folder: Path, phases: str, out: str) -> None:
    v = load_venue(folder / "venue.pkl")
    spot = v.balances().get("BTC")
    spot_size = spot.total if spot is not None else Decimal(0)
    perp_size = sum((p.size for p in v.positions([PERP.symbol])), Decimal(0))
    assert abs(spot_size + perp_size) <= LOT, f"naked leg: spot {spot_size} perp {perp_size}\n{out}"
    steps = ["A", "B"] + (["XS0", "XL0"] if "exit" in phases else [])
    wid = {"A": "E1", "B": "E1", "XS0": "X1", "XL0": "X1"}
    expected = {leg_client_order_id(wid[s], s) for s in steps}
    # No duplicates: exactly one venue order per step, each found again by its deterministic id.
    assert set(v.orders) == expected, f"orders {sorted(v.orders)} != {sorted(expected)}\n{out}"
    if "exit" in phases:
        assert (spot_size, perp_size) == (Decimal(0), Decimal(0)), out
    else:
        assert (spot_size, perp_size) == (Decimal("0.010"), Decimal("-0.010")), out
    store = open_store(f"sqlite:///{folder / 'store.sqlite'}")
    try:
        audit = {(r.id, r.result) for r in store.audit.list()}
    finally:
        store.close()
    want = {("E1:A", "filled"), ("E1:B", "filled"), ("E1:result", "opened")}
    if "exit" in phases:
        want |= {("X1:XS0", "filled"), ("X1:XL0", "filled"), ("X1:result", "closed")}
    assert audit == want, out


def _crash_and_recover(
    folder: Path, url: str, phases: str, crash_at: str = "", kill_after: int = 0, kill_in: float | None = None
) -> str:
    first = _child(folder, url, phases, crash_at, kill_after)
    head = ""
    if kill_in is not None:
        assert first.stdout is not None
        while "launched" not in head and first.poll() is None:
            head += first.stdout.readline()
        time.sleep(kill_in)  # measured from DBOS launch: inside the workflows, not in the imports
        if first.poll() is None:
            first.send_signal(signal.SIGKILL)
    out1, err1 = first.communicate(timeout=60)
    out1 = head + out1
    if kill_in is None:
        assert first.returncode == -signal.SIGKILL, (
            f"did not die at {crash_at or kill_after}: {out1}{err1[-2000:]}"
        )
    second = _child(folder, url, phases)
    out2, err2 = second.communicate(timeout=60)
    assert second.returncode == 0, f"restart failed: {out2}{err2[-3000:]}"
    assert "done" in out2
    return f"--- first ---\n{out1}--- restart ---\n{out2}"


CASES = (
    [("entry", b, 0) for b in ENTRY_BOUNDARIES]
    + [("entry,exit", b, 0) for b in ENTRY_BOUNDARIES + EXIT_BOUNDARIES]
    + [("entry,exit", "", n) for n in (1, 2, 3, 4)]  # killed right after the n-th order reached the venue
)


@pytest.mark.slow
@pytest.mark.parametrize(("phases", "crash_at", "kill_after"), CASES)
def test_kill_at_step_boundary_resumes_and_ends_safe(
    tmp_path: Path, phases: str, crash_at: str, kill_after: int
) -> None:
    _setup(tmp_path)
    out = _crash_and_recover(tmp_path, f"sqlite:///{tmp_path / 'dbos.sqlite'}", phases, crash_at, kill_after)
    resumed = "X1" if crash_at.startswith("exit") or kill_after > 2 else "E1"
    assert f"resumed {resumed}" in out, out  # the killed workflow was picked up where it stopped
    _check(tmp_path, phases, out)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_kill_at_random_moments(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    phases = "entry,exit" if seed % 3 else "entry"
    _setup(tmp_path)
    # Both workflows take ~0.1 s after DBOS launch on this venue file (10 ms per venue call).
    out = _crash_and_recover(
        tmp_path, f"sqlite:///{tmp_path / 'dbos.sqlite'}", phases, kill_in=rng.uniform(0.0, 0.1)
    )
    _check(tmp_path, phases, out)
    first = out.split("--- restart ---")[0]
    when = "after done" if "done" in first else "mid-run"
    print(f"seed {seed}: killed {when}; {first.count('boundary')} boundaries")


@pytest.mark.slow
@pytest.mark.real_part
def test_kill_mid_entry_resumes_on_postgresql(tmp_path: Path, postgres_url: str) -> None:  # noqa: F811
    _setup(tmp_path)
    out = _crash_and_recover(tmp_path, postgres_url, "entry,exit", kill_after=3)
    assert "resumed X1" in out
    _check(tmp_path, "entry,exit", out)
