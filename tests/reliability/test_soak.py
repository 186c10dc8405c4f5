"""Soak: market_maker's engine on the simulated venue with the accelerated synthetic market (bench/soak.py).
The bounded variant runs in the suite; the 30-minute one runs with `just soak` (OPENSQT_SOAK=1)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from soak import SoakReport, soak


def _check(report: SoakReport, max_growth_mb: float) -> None:
    print("\n".join(report.lines()))
    assert report.exit_code == 0
    assert len(report.samples) >= 5
    # the same tasks run from the first steady sample to the last: nothing leaks, nothing dies
    low, high = report.tasks_after_warmup
    assert low == high, report.samples
    assert report.rss_growth_mb < max_growth_mb, report.samples
    # it traded all along: orders placed and fills in the second half too
    half = report.samples[len(report.samples) // 2]
    assert report.fills > half.fills > 0 and report.orders_placed > half.placed


def test_a_bounded_soak_keeps_tasks_and_memory_flat() -> None:
    report = anyio.run(lambda: soak(1.0, 100.0, sample_every=4.0, warmup=0.3))
    _check(report, max_growth_mb=10.0)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("OPENSQT_SOAK") != "1", reason="30-minute soak: set OPENSQT_SOAK=1")
def test_thirty_minutes_of_accelerated_trading() -> None:
    minutes = float(os.environ.get("OPENSQT_SOAK_MINUTES", "30"))
    report = anyio.run(lambda: soak(minutes, 50.0, sample_every=30.0))
    _check(report, max_growth_mb=10.0)
