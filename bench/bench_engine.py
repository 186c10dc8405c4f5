"""Grid engine figures (issue 4): in-process tick-to-order on the simulated venue, start to first order of the
`market_maker` program, and its resident memory after accelerated trading.

    python bench/bench_engine.py [--fills 2000] [--minutes 10] [--skip-program]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from opensqt.clock import ManualClock  # noqa: E402
from opensqt.engines.grid_engine import GridEngine  # noqa: E402
from opensqt.exchanges.sim import BTC_USDT_PERP, MarketPlayer, SimExchange, SimVenue  # noqa: E402
from opensqt.model import OrderUpdated, Side  # noqa: E402
from opensqt.runtime.gc_policy import collect_on_a_timer  # noqa: E402
from opensqt.runtime.settle import settle  # noqa: E402
from opensqt.testing.tapes import make_tape  # noqa: E402
from tests.engines.harness import T0, config, params  # noqa: E402


class TimedExchange(SimExchange):
    """Stamps when the venue publishes a fill and when the next order reaches it."""

    def __init__(self, venue: SimVenue) -> None:
        super().__init__(venue)
        self.fill_at: float | None = None
        self.fill_side: Side | None = None
        self.samples: list[float] = []
        self.sides: list[Side | None] = []  # the side of the fill each sample starts from

    def publish(self, events):  # type: ignore[no-untyped-def]
        fills = [e.fill for e in events if isinstance(e, OrderUpdated) and e.fill is not None]
        if fills:
            self.fill_at = time.perf_counter()
            self.fill_side = fills[0].side
        super().publish(events)

    def _reached(self) -> None:
        if self.fill_at is not None:
            self.samples.append(time.perf_counter() - self.fill_at)
            self.sides.append(self.fill_side)
            self.fill_at = None

    async def create_order(self, command):  # type: ignore[no-untyped-def]
        self._reached()
        return await super().create_order(command)

    async def create_orders(self, commands):  # type: ignore[no-untyped-def]
        self._reached()
        return await super().create_orders(commands)


async def tick_to_order(fills: int) -> tuple[list[float], list[Side | None]]:
    # the price swings 60000 <-> 59850: each swing fills the 59900 buy, then its 60000 sell
    rows = [("trade", T0 + 1000, "60000", "0.5", "buy")]
    for i in range(fills):
        price = "59850" if i % 2 == 0 else "60050"
        rows.append(("trade", T0 + 2000 + i * 1000, price, "1", "sell" if i % 2 == 0 else "buy"))
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": Decimal(10_000_000)})
    exchange = TimedExchange(venue)
    cfg = config(params=params(buy_window=10, sell_window=10), cancel_on_exit=False)
    engine = GridEngine(exchange, cfg, clock)
    tape = make_tape(rows)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await settle()
        await MarketPlayer(tape.slice(0, 1), [exchange], clock=clock).run()
        while engine.phase != "trading":
            await anyio.sleep(0.001)
        # as the market_maker program does once trading (opensqt/engines/grid_runtime.py)
        tg.start_soon(collect_on_a_timer, clock.sleep)
        # one row a second: the engine's 1 s housekeeping tick lands between every fill and its order
        await MarketPlayer(tape.slice(1, len(tape)), [exchange], clock=clock).run()
        tg.cancel_scope.cancel()
    return exchange.samples, exchange.sides


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def program_figures(minutes: float) -> tuple[float, float]:
    """Seconds from spawning `market_maker` to its first status line (trading, first orders dispatched),
    and its resident memory (MB) after `minutes` of wall time at 60x speed."""
    data = tempfile.mkdtemp(prefix="osqt-bench-")
    env = {**os.environ, "OPENSQT_API__ENABLED": "false", "OPENSQT_LOGGING__LEVEL": "WARNING"}
    exe = ROOT / ".venv" / "bin" / "market_maker"
    cmd = [
        str(exe) if exe.exists() else "market_maker",
        "--data-dir",
        data,
        "--speed",
        "60",
        "--duration",
        str(int(minutes * 60 * 60) + 120),
    ]
    out = Path(data) / "stdout.txt"
    start = time.perf_counter()
    with out.open("wb") as sink:  # a file, not a pipe: an unread pipe would block the program's prints
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.DEVNULL, env=env)
    while "[trading]" not in out.read_text(errors="replace"):
        if proc.poll() is not None or time.perf_counter() - start > 60:
            proc.kill()
            raise SystemExit(f"market_maker did not start: {out.read_text(errors='replace')[-500:]!r}")
        time.sleep(0.01)
    started = time.perf_counter() - start
    time.sleep(minutes * 60)
    rss_kb = 0
    with open(f"/proc/{proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    proc.terminate()
    proc.wait(timeout=15)
    return started, rss_kb / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fills", type=int, default=2000)
    parser.add_argument("--minutes", type=float, default=10.0, help="wall minutes of accelerated trading")
    parser.add_argument("--skip-program", action="store_true")
    args = parser.parse_args()
    samples, sides = anyio.run(tick_to_order, args.fills)
    micro = [s * 1e6 for s in samples]
    # the figure: a trade fills a buy -> its sell reaches the venue
    buys = [m for m, side in zip(micro, sides, strict=True) if side is Side.BUY]
    for label, values, target in (
        ("a buy fills -> its sell reaches the venue", buys, "  (target p99 < 200 us)"),
        ("any fill -> the next order reaches the venue", micro, ""),
    ):
        print(
            f"tick-to-order (sim, in-process), {label}: {len(values)} fills, "
            f"p50 {statistics.median(values):.0f} us, p99 {pct(values, 0.99):.0f} us, "
            f"max {max(values):.0f} us{target}"
        )
    if not args.skip_program:
        started, rss = program_figures(args.minutes)
        print(f"market_maker start to trading: {started:.2f} s (target < 2 s)")
        print(
            f"market_maker resident memory after {args.minutes:g} min at 60x: {rss:.1f} MB (target < 120 MB)"
        )


if __name__ == "__main__":
    main()
