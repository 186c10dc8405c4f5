"""Agent API benchmark over loopback TLS 1.3: unary call latency (p50/p99, target p99 < 2 ms) and slot-stream
fan-out to 10 subscribers (target >= 20,000 messages/s delivered). The server runs in a child process (its own
core), as in production; the clients run here.

    .venv/bin/python bench/bench_api.py [--calls 3000] [--updates 5000] [--subscribers 10]
"""

from __future__ import annotations

# First: importing opensqt.api restricts gRPC's TLS 1.2 ciphers, which only works before grpc loads.
import opensqt.api  # noqa: F401

# isort: split
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import grpc
from grpc import aio

from opensqt.api.client import ApiClient
from opensqt.api.v1 import grid_pb2, grid_pb2_grpc


async def serve(data_dir: Path, updates: int, subscribers: int) -> None:
    from opensqt.api.fake import FakeEngine
    from opensqt.api.hub import SlotHub
    from opensqt.api.server import ApiServer, ApiSettings
    from opensqt.model import Slot, SlotStatus

    engine = FakeEngine(("BTCUSDT",))
    engine.grids["BTCUSDT"] = hub = SlotHub("BTCUSDT", buffer=updates + 10)
    for i in range(40):
        hub.publish([Slot(price=Decimal(27000 + 10 * i))], ts_ms=0)
    settings = ApiSettings(
        listen="127.0.0.1:0", data_dir=data_dir, rate_limit_per_key=100_000, rate_burst=100_000
    )
    server = ApiServer(settings, grid=engine, risk=engine, positions=engine, env={})
    await server.start()
    print(json.dumps({"target": server.target}), flush=True)
    # Wait for the fan-out subscribers, then publish as fast as the loop allows (yielding so streams drain).
    while hub.subscribers < subscribers:
        await anyio.sleep(0.01)
    for i in range(updates):
        hub.publish(
            [Slot(price=Decimal(27000 + 10 * (i % 40)), slot_status=SlotStatus.PENDING, attempt=i)], ts_ms=i
        )
        if i % 64 == 0:
            await anyio.sleep(0)
    await anyio.sleep_forever()


async def bench_unary(client: ApiClient, calls: int) -> list[float]:
    for _ in range(200):  # warm up
        await client.get_breaker()
    samples = []
    for _ in range(calls):
        start = time.perf_counter()
        await client.get_breaker()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


async def bench_fanout(
    target: str, cert: bytes, key: str, updates: int, subscribers: int
) -> tuple[float, int]:
    channels = [aio.secure_channel(target, grpc.ssl_channel_credentials(cert)) for _ in range(2)]
    counts = [0] * subscribers
    times: list[float] = []
    started: list[float] = []

    async def subscriber(n: int) -> None:
        stub: Any = grid_pb2_grpc.GridServiceStub(channels[n % 2])  # type: ignore[no-untyped-call]
        call = stub.SubscribeSlots(grid_pb2.SubscribeSlotsRequest(), metadata=[("x-api-key", key)])
        async for message in call:
            if message.snapshot:
                continue
            if not started:
                started.append(time.perf_counter())
            counts[n] += 1
            if message.version == 40 + updates:
                break
        call.cancel()
        times.append(time.perf_counter())

    async with anyio.create_task_group() as tg:
        for n in range(subscribers):
            tg.start_soon(subscriber, n)
    for channel in channels:
        await channel.close()
    elapsed = max(times) - started[0]
    return sum(counts) / elapsed, sum(counts)


async def main_async(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        child = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--serve",
                str(data_dir),
                "--updates",
                str(args.updates),
                "--subscribers",
                str(args.subscribers),
                *(["--no-uvloop"] if args.no_uvloop else []),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert child.stdout is not None
            target = json.loads(child.stdout.readline())["target"]
            cert = (data_dir / "api" / "tls" / "cert.pem").read_bytes()
            key = (data_dir / "api" / "control.key").read_text().strip()
            async with ApiClient(target, key, root_cert=cert) as client:
                samples = await bench_unary(client, args.calls)
            quantiles = statistics.quantiles(samples, n=100)
            print(
                f"unary GetCircuitBreaker over TLS 1.3, {args.calls} calls: p50 {quantiles[49]:.3f} ms, "
                f"p99 {quantiles[98]:.3f} ms (target p99 < 2 ms)"
            )
            cpu0, wall0 = time.process_time(), time.perf_counter()
            rate, delivered = await bench_fanout(target, cert, key, args.updates, args.subscribers)
            client_cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0)
            print(
                f"slot stream fan-out: {delivered} messages to {args.subscribers} subscribers, "
                f"{rate:,.0f} messages/s delivered (target >= 20,000/s); client process busy "
                f"{client_cpu:.0%} of the time"
            )
        finally:
            child.terminate()
            child.wait(10)


def _loop(args: argparse.Namespace) -> dict[str, Any]:
    return {"use_uvloop": not args.no_uvloop}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--updates", type=int, default=5000)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--no-uvloop", action="store_true", help="use the plain asyncio event loop")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        from loguru import logger

        logger.remove()
        anyio.run(serve, args.serve, args.updates, args.subscribers, backend_options=_loop(args))
        return 0
    anyio.run(main_async, args, backend_options=_loop(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
