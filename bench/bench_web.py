"""Live page load: the page server (`python -m opensqt.web.demo`: FakeEngine behind a real TLS ApiServer,
50 grid updates/s) in a child process, 100 loopback websocket browsers, a fifth of them stalled (never
reading). Prints the server's RSS over time, each reader's lag and message rate, and the resyncs.

    .venv/bin/python bench/bench_web.py [--clients 100] [--stalled 20] [--rate 50] [--seconds 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import anyio
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def reader(url: str, origin: str, stop: anyio.Event, lags: list[float], counts: list[int]) -> None:
    async with connect(url, additional_headers={"Origin": origin}, max_size=2**24) as ws:
        n = 0
        while not stop.is_set():
            with anyio.move_on_after(0.5):
                frame = json.loads(await ws.recv())
                lags.append(time.time() * 1000 - frame["ts"])
                n += len(frame["msgs"])
        counts.append(n)


async def stalled(url: str, origin: str, stop: anyio.Event) -> None:
    # Connects and never reads: the server must bound what it keeps for it (resync instead of queueing).
    async with connect(url, additional_headers={"Origin": origin}, max_queue=4):
        await stop.wait()


async def bench(args: argparse.Namespace) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opensqt.web.demo",
            "--port",
            "0",
            "--rate",
            str(args.rate),
            "--max-connections",
            str(args.clients + 10),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline().strip()
        base = line.split("live page: ")[1]
        port = int(base.rsplit(":", 1)[1])
        url, origin = f"ws://127.0.0.1:{port}/ws", base
        await anyio.sleep(1)
        idle = rss_mb(child.pid)
        print(f"server idle RSS {idle:.1f} MB (pid {child.pid}), {args.rate} updates/s")
        stop = anyio.Event()
        lags: list[float] = []
        counts: list[int] = []
        samples: list[tuple[float, float]] = []
        readers = args.clients - args.stalled
        async with anyio.create_task_group() as tg:
            for i in range(args.clients):
                if i < args.stalled:
                    tg.start_soon(stalled, url, origin, stop)
                else:
                    tg.start_soon(reader, url, origin, stop, lags, counts)
            start = time.monotonic()
            while time.monotonic() - start < args.seconds:
                await anyio.sleep(1)
                samples.append((time.monotonic() - start, rss_mb(child.pid)))
            half = len(lags) // 2
            early, late = lags[:half], lags[half:]
            stop.set()
        print(f"{args.clients} websockets ({readers} reading, {args.stalled} stalled), {args.seconds} s")
        print("server RSS MB by second: " + " ".join(f"{m:.0f}" for _, m in samples))
        growth = samples[-1][1] - samples[len(samples) // 2][1]
        print(
            f"server RSS: idle {idle:.1f}, peak {max(m for _, m in samples):.1f}, "
            f"end {samples[-1][1]:.1f} MB; second-half growth {growth:+.1f} MB"
        )
        q = statistics.quantiles(lags, n=100)
        print(f"reader lag ms (server send -> parse): p50 {q[49]:.1f} p99 {q[98]:.1f} max {max(lags):.1f}")
        print(
            f"lag p50: first half {statistics.median(early):.1f} ms, second {statistics.median(late):.1f} ms"
        )
        print(
            f"messages per reader: mean {statistics.mean(counts) / args.seconds:.0f}/s, "
            f"min {min(counts) / args.seconds:.0f}/s"
        )
    finally:
        child.terminate()
        child.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--stalled", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    anyio.run(bench, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
