"""Soak: market_maker's engine on the simulated venue with an accelerated synthetic market for N minutes;
reports resident memory growth (target < 10 MB), task count stability and queue drops.

    .venv/bin/python bench/soak.py                  # 30 wall minutes at speed 50 (25 market hours)
    .venv/bin/python bench/soak.py --minutes 1.5 --speed 50 --json
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


def rss_bytes() -> int:
    """Resident set size of this process, from /proc (Linux)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    wall_s: float
    rss_mb: float
    tasks: int
    fills: int
    placed: int
    dropped: int


@dataclass
class SoakReport:
    minutes: float
    speed: float
    market_hours: float
    samples: list[Sample] = field(default_factory=list)
    baseline_rss_mb: float = 0.0
    final_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    rss_growth_mb: float = 0.0
    tasks_after_warmup: tuple[int, int] = (0, 0)
    fills: int = 0
    orders_placed: int = 0
    queue_drops: int = 0
    order_stream_errors: int = 0
    exit_code: int = -1

    def lines(self) -> list[str]:
        lo, hi = self.tasks_after_warmup
        return [
            f"soak: {self.minutes:g} wall min at speed {self.speed:g} = {self.market_hours:.1f} market hours",
            f"  resident memory: baseline {self.baseline_rss_mb:.1f} MB (after warm-up), "
            f"final {self.final_rss_mb:.1f} MB, peak {self.peak_rss_mb:.1f} MB, "
            f"growth {self.rss_growth_mb:+.1f} MB (target < 10 MB)",
            f"  tasks after warm-up: min {lo}, max {hi}",
            f"  trading: {self.orders_placed} orders placed, {self.fills} fills; "
            f"queue drops (market data, drop-oldest) {self.queue_drops}; "
            f"order stream errors {self.order_stream_errors}; exit {self.exit_code}",
        ]


class _Discard(io.TextIOBase):
    """Where the status lines go. The program prints them to its stdout and keeps none; an `io.StringIO`
    here kept them all, ~2 MB over 25 market hours, and the soak counted that as the program's growth."""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        return len(text)


def _dropped(engine: Any) -> int:
    subs = getattr(engine.exchange, "_subs", {})
    return sum(getattr(s, "dropped", 0) for s in subs.values())


async def soak(minutes: float, speed: float, *, sample_every: float = 5.0, warmup: float = 0.2) -> SoakReport:
    """Run the engine for `minutes` of wall time; the first `warmup` fraction is left out of the baseline."""
    from opensqt.config import load_settings
    from opensqt.engines.grid_runtime import run_market_maker

    report = SoakReport(minutes, speed, minutes * speed / 60)
    engines: list[Any] = []
    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(
            None,
            {"app.data_dir": data_dir, "api.enabled": False, "logging.level": "WARNING"},
            {},
        )
        from loguru import logger

        logger.remove()
        logger.add(sys.stderr, level="WARNING")
        start = time.monotonic()
        total = minutes * 60

        async def sampler() -> None:
            while not engines:
                await anyio.sleep(0.05)
            engine = engines[0]
            while True:
                await anyio.sleep(min(sample_every, total / 10))
                if engine.phase != "trading":
                    continue  # start-up and shutdown are not the steady state being measured
                gc.collect()
                report.samples.append(
                    Sample(
                        round(time.monotonic() - start, 1),
                        round(rss_bytes() / MB, 2),
                        len(asyncio.all_tasks()),
                        engine.stats["fills"],
                        engine.stats["placed"],
                        _dropped(engine),
                    )
                )
                report.fills, report.orders_placed = engine.stats["fills"], engine.stats["placed"]
                report.queue_drops = _dropped(engine)
                report.order_stream_errors = engine.stats["order_stream_errors"]

        async with anyio.create_task_group() as tg:
            tg.start_soon(sampler)
            report.exit_code = await run_market_maker(
                settings,
                duration=Decimal(str(total * speed)),
                speed=Decimal(str(speed)),
                out=_Discard(),
                ready=engines.append,
            )
            tg.cancel_scope.cancel()
    steady = [s for s in report.samples if s.wall_s >= total * warmup] or report.samples
    if steady:
        report.baseline_rss_mb = steady[0].rss_mb
        report.final_rss_mb = steady[-1].rss_mb
        report.peak_rss_mb = max(s.rss_mb for s in steady)
        report.rss_growth_mb = round(report.final_rss_mb - report.baseline_rss_mb, 2)
        report.tasks_after_warmup = (min(s.tasks for s in steady), max(s.tasks for s in steady))
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="wall minutes to run (default 30)")
    parser.add_argument(
        "--speed", type=float, default=50.0, help="market seconds per wall second (default 50)"
    )
    parser.add_argument("--sample", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--json", action="store_true", help="print the report as JSON too")
    args = parser.parse_args()
    report = anyio.run(lambda: soak(args.minutes, args.speed, sample_every=args.sample))
    print("\n".join(report.lines()))
    if args.json:
        print(json.dumps(asdict(report), indent=1))
    ok = report.rss_growth_mb < 10 and report.exit_code == 0
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
