"""Simulator benchmark: capture load time, replay events/s with 20 resting grid orders, fill count.

Run: `.venv/bin/python bench/bench_sim.py` (from the repository root; reads ../shared/data).
"""

from __future__ import annotations

import sys
import time
from decimal import Decimal as D
from pathlib import Path

from opensqt.data import load_binance_capture
from opensqt.exchanges.sim import BTC_USDT_PERP, SimVenue
from opensqt.model import OrderStatus, OrderUpdated, PlaceOrder, Side

CAPTURE = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "binance-usdm" / "btcusdt_20240808.gz"
)
BTC = BTC_USDT_PERP.symbol


def replay(data: object, fast: bool = True, step_ticks: int = 50, levels: int = 10) -> tuple[float, int, int]:
    """20 resting orders (10 buys, 10 sells, 5 USDT apart); each filled order is replaced one step away."""
    v = SimVenue([BTC_USDT_PERP], balances={"USDT": D(10_000_000)})
    v.attach(data)  # type: ignore[arg-type]
    v.advance(max_rows=5, stop_on_event=False)
    mid = v.markets[BTC].bid
    tick = BTC_USDT_PERP.tick_size
    n = 0
    for k in range(1, levels + 1):
        for side, sign in ((Side.BUY, -1), (Side.SELL, 1)):
            v.place_order(PlaceOrder(f"o{n}", BTC, side, D("0.01"), (mid + sign * k * step_ticks) * tick))
            n += 1
    v.drain()
    start = time.perf_counter()
    while not v.exhausted:
        for e in v.advance(fast=fast):
            if isinstance(e, OrderUpdated) and e.fill and e.order.status is OrderStatus.FILLED:
                f = e.fill
                price = f.price + step_ticks * tick * (1 if f.side is Side.BUY else -1)
                v.place_order(PlaceOrder(f"o{n}", BTC, f.side.opposite, D("0.01"), price))
                n += 1
        v.drain()
    return time.perf_counter() - start, v.fill_count, len(v.open_orders())


def main() -> int:
    loads = []
    for _ in range(3):
        t = time.perf_counter()
        data = load_binance_capture(CAPTURE, BTC_USDT_PERP)
        loads.append(time.perf_counter() - t)
    runs = ", ".join(f"{x:.3f}" for x in loads)
    print(f"load capture: {len(data):,} rows in {min(loads):.3f} s (best of 3: {runs})")
    big = data.repeat(11)
    elapsed, fills, resting = replay(big)
    print(
        f"replay fast path: {len(big):,} events in {elapsed:.3f} s = {len(big) / elapsed:,.0f} events/s, "
        f"{fills} fills, {resting} orders resting at the end"
    )
    elapsed, fills, _ = replay(data, fast=False)
    print(
        f"replay stepping every row: {len(data):,} events in {elapsed:.3f} s = {len(data) / elapsed:,.0f} "
        f"events/s, {fills} fills"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
