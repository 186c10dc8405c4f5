"""Child process for the crash test: writes order updates through StoreWriter as fast as it can, printing
`ack <n>` after each flush (every write up to update n is committed), until it is killed with SIGKILL.

Usage: python -m tests.store.crash_child SQLITE_URL FIRST_N
"""

from __future__ import annotations

import sys

import anyio

from opensqt.model import OrderStatus
from opensqt.store import StoreWriter, open_store
from tests.store.conftest import order_update, write_for


async def main(url: str, first: int) -> None:
    store = open_store(url)
    writer = StoreWriter(store, max_queue=2_000, max_batch=500)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        n = first
        while True:
            for _ in range(200):
                update = order_update(
                    n, filled="0.010", status=OrderStatus.FILLED, trade=f"t{n}", price=f"{n}.10", ts=n
                )
                await writer.submit(write_for(update, n))
                n += 1
            await writer.flush()
            print(f"ack {n - 1}", flush=True)


if __name__ == "__main__":
    anyio.run(main, sys.argv[1], int(sys.argv[2]))
