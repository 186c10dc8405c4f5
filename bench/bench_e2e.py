"""market_maker through the real ccxt client against the loopback Binance venue (issue 7's figures):
tick-to-trade (the venue publishes the trade that fills a grid buy -> it receives the follow-up sell) and the
resident memory of market_maker with ccxt loaded.

    python bench/bench_e2e.py [--seconds 120] [--speed 20] [--interval 10]

The venue runs its seeded synthetic market `--speed` times faster than real time, so a few minutes of wall
time hold hours of market; a narrow interval makes many round trips.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import loopback_venue, market_maker, stop, write_config  # noqa: E402


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="wall seconds of trading")
    parser.add_argument("--speed", type=float, default=20.0)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=100,
        help="requests/s to the venue (ccxt spaces them)",
    )
    parser.add_argument("--interval", type=int, default=25, help="USDT; > 24 pays both maker fees at 60k")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="osqt-e2e-"))
    with loopback_venue(work / "venue.log", "--seed", "7", "--speed", str(args.speed)) as venue:
        config = write_config(
            work / "mm.yaml",
            venue,
            work / "data",
            price_interval=args.interval,
            buy_window=5,
            sell_window=5,
            order_amount=120,
            post_only_fallback="limit",
        )
        with market_maker(config, work / "mm.log", "--log-level", "WARNING") as mm:
            mm.wait_trading(60)
            started = time.monotonic()
            rss_start = rss_mb(mm.proc.pid)
            time.sleep(args.seconds)
            rss_end = rss_mb(mm.proc.pid)
            elapsed = time.monotonic() - started
            samples = venue.call("/latency")["tick_to_trade_s"]
            stop(mm)
    ms = [s * 1000 for s in samples]
    if ms:
        print(
            f"tick-to-trade over loopback (ccxt): {len(ms)} fills, p50 {statistics.median(ms):.2f} ms, "
            f"p99 {pct(ms, 0.99):.2f} ms, max {max(ms):.2f} ms  (target p50 < 2 ms, p99 < 5 ms)"
        )
    else:
        print("tick-to-trade over loopback: no buy filled in the window; run longer or narrow --interval")
    print(
        f"market_maker with ccxt: resident memory {rss_start:.1f} MB after start-up, {rss_end:.1f} MB after "
        f"{elapsed / 60:.1f} min at {args.speed:g}x (target < 200 MB after 10 min)"
    )


if __name__ == "__main__":
    main()
