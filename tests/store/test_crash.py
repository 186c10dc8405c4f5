"""Crash safety: a writer under heavy load killed with SIGKILL 20 times leaves an intact database in which
every update is wholly present or wholly absent, and every acknowledged update is present.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time

from tests.conftest import ROOT
from tests.store.conftest import fresh_store

KILLS = 20


def _run_and_kill(url: str, first: int, rng: random.Random) -> int:
    """Start a writer child, let it commit a little, SIGKILL it; return the last acknowledged update n."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.store.crash_child", url, str(first)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    acked = first - 1
    try:
        line = child.stdout.readline()  # the first ack: the child is writing
        assert line.startswith("ack "), f"crash child did not start writing: {line!r}"
        acked = int(line.split()[1])
        time.sleep(rng.uniform(0.0, 0.25))  # kill at a random point of the write stream (a real process)
    finally:
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
    for line in out.splitlines():  # acks printed before the kill landed
        if line.startswith("ack "):
            acked = int(line.split()[1])
    assert child.returncode == -signal.SIGKILL
    return acked


def test_sigkill_under_heavy_write_load_twenty_times_leaves_no_half_applied_update(sqlite_url: str) -> None:
    fresh_store(sqlite_url).close()
    rng = random.Random(5)
    acknowledged: set[int] = set()
    for k in range(KILLS):
        first = (k + 1) * 1_000_000
        last = _run_and_kill(sqlite_url, first, rng)
        acknowledged.update(range(first, last + 1))

    db = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"))
    try:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        orders = {int(r[0][1:]) for r in db.execute("SELECT client_order_id FROM orders")}
        fills = {int(r[0][1:]) for r in db.execute("SELECT trade_id FROM fills")}
        slots = {int(r[0].split(".")[0]) for r in db.execute("SELECT price FROM slots")}
        pnl = {int(r[0][1:]) for r in db.execute("SELECT ref_id FROM pnl_history")}
        processed = {int(r[0][1:]) for r in db.execute("SELECT venue_order_id FROM processed_updates")}
    finally:
        db.close()
    # Each update's order, fill, slot, PnL and idempotency rows are all present or all absent...
    assert orders == fills == slots == pnl == processed
    # ...every write the writer acknowledged survived the kills...
    assert acknowledged <= orders
    # ...and the runs really wrote under load (well beyond the acknowledged prefix of each run).
    assert len(orders) >= KILLS * 200
