"""Durable order-update ingest through StoreWriter: updates/s and p99 commit latency, on SQLite WAL and a
throwaway PostgreSQL (fsync on). Each update writes an order, fill, slot, PnL row and idempotency key.

Usage: python bench/bench_store.py [--updates 100000] [--batch 1000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import anyio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from loguru import logger  # noqa: E402

from opensqt.model import (  # noqa: E402
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
)
from opensqt.store import BotRecord, OrderUpdateWrite, PnlKind, PnlRecord, StoreWriter, migrate, open_store  # noqa: E402
from opensqt.store.writer import p99  # noqa: E402

TARGET_UPDATES_PER_S = 20_000


def make_writes(n: int) -> list[OrderUpdateWrite]:
    """n filled buy orders on a 100-level grid: order + fill + slot + fee row each."""
    writes = []
    for i in range(n):
        price = Decimal(60_000) + Decimal(i % 100) * Decimal("0.5")
        order = Order(
            f"c{i}",
            "BTC/USDT:USDT",
            Side.BUY,
            OrderType.LIMIT,
            Decimal("0.002"),
            price,
            venue_order_id=f"v{i}",
            filled=Decimal("0.002"),
            average_price=price,
            status=OrderStatus.FILLED,
            ts_event=i,
            ts_init=i,
        )
        fill = Fill(
            f"t{i}",
            f"c{i}",
            "BTC/USDT:USDT",
            Side.BUY,
            price,
            Decimal("0.002"),
            Decimal("0.024"),
            "USDT",
            LiquiditySide.MAKER,
            f"v{i}",
            None,
            i,
        )
        slot = Slot(
            price,
            SlotStatus.FREE,
            PositionStatus.FILLED,
            Decimal("0.002"),
            filled_qty=Decimal("0.002"),
            attempt=i // 100 + 1,
            ts_update=i,
        )
        pnl = (PnlRecord("bench", "binance", "BTC/USDT:USDT", PnlKind.FEE, f"t{i}", -fill.fee, "USDT", i),)
        writes.append(OrderUpdateWrite("bench", "binance", OrderUpdated(order, fill), i, slot, pnl))
    return writes


async def ingest(
    url: str, writes: list[OrderUpdateWrite], batch: int, burst: int
) -> tuple[float, float, int]:
    """Submit every write and flush; return (updates/s, p99 commit ms, batches).

    `burst` 0: the producer submits in a tight loop (it competes with the writer thread for the GIL);
    `burst` N: it submits N, then waits for them to be committed (acknowledged) before the next N.
    """
    store = open_store(url)
    store.bots.register(BotRecord("bench", "grid", "binance", "h"))
    writer = StoreWriter(store, max_queue=10_000, max_batch=batch)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        started = time.perf_counter()
        for i, w in enumerate(writes, start=1):
            await writer.submit(w)
            if burst and i % burst == 0:
                await writer.flush()
        await writer.flush()
        elapsed = time.perf_counter() - started
        await writer.aclose()
    store.close()
    return len(writes) / elapsed, p99(writer.commit_latencies_ms), writer.stats().batches


def run_case(label: str, url: str, n: int, batch: int, burst: int = 0) -> float:
    migrate(url)
    rate, lat, batches = anyio.run(ingest, url, make_writes(n), batch, burst)
    print(
        f"{label:<46} {n:>7} updates  {rate:>9,.0f} updates/s  p99 commit {lat:7.2f} ms  ({batches} commits)"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    logger.remove()
    n, b = args.updates, args.batch
    with tempfile.TemporaryDirectory() as d:
        sqlite_rate = run_case("sqlite WAL NORMAL, streaming producer", f"sqlite:///{d}/a.sqlite", n, b)
        run_case(f"sqlite WAL NORMAL, bursts of {b} acknowledged", f"sqlite:///{d}/b.sqlite", n, b, burst=b)
        run_case("sqlite WAL NORMAL, one update per commit", f"sqlite:///{d}/c.sqlite", min(n, 5_000), 1)
    if not args.skip_postgres:
        from tests.support.postgres import PostgresServer, find_bin_dir

        bin_dir = find_bin_dir()
        if bin_dir is None:
            print("postgresql: binaries not found (apt-get install postgresql); skipped")
        else:
            server = PostgresServer(bin_dir, fsync=True).start()
            try:
                run_case("postgresql 15 fsync on, streaming producer", server.create_database("b1"), n, b)
                run_case(
                    f"postgresql 15, bursts of {b} acknowledged", server.create_database("b2"), n, b, burst=b
                )
                run_case(
                    "postgresql 15, one update per commit", server.create_database("b3"), min(n, 2_000), 1
                )
            finally:
                server.stop()
    verdict = "meets" if sqlite_rate >= TARGET_UPDATES_PER_S else "MISSES"
    print(f"sqlite batched ingest {verdict} the target of {TARGET_UPDATES_PER_S:,} updates/s")
    return 0 if sqlite_rate >= TARGET_UPDATES_PER_S else 1


if __name__ == "__main__":
    sys.exit(main())
