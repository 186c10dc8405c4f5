"""Decision latency of the grid: a price event in, `decide_grid_orders` commands out, 100 active slots.

Prints p50 / p99 / max in microseconds for a quiet tick (no command), a busy tick (a fill to re-quote) and
a re-centring tick (the centre moved two intervals: new levels computed and hashed, ids not memoised).
Run: `.venv/bin/python bench/bench_decide.py`. Target: p99 < 50 µs.
"""

from __future__ import annotations

import gc
import statistics
import time
from decimal import Decimal

from opensqt.model import (
    GridMode,
    Instrument,
    InstrumentKind,
    OrderStatus,
    PlaceOrder,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
    TimeInForce,
)
from opensqt.trading.logic import GridParams, GridSnapshot, client_order_id, decide_grid_orders

D = Decimal
INST = Instrument(
    symbol="BTC/USDT:USDT",
    venue_symbol="BTCUSDT",
    kind=InstrumentKind.LINEAR_PERPETUAL,
    base="BTC",
    quote="USDT",
    tick_size=D("0.1"),
    lot_size=D("0.001"),
    min_notional=D("5"),
)
PARAMS = GridParams(
    interval=D(10),
    order_amount=D(100),
    buy_window=50,
    sell_window=51,
    grid_mode=GridMode.LONG,
    order_cleanup_threshold=200,
)
CENTRE = D(60000)


def active_slots() -> dict[Decimal, Slot]:
    """50 resting buys below the centre, 50 filled slots above with their closing sells resting."""
    slots: dict[Decimal, Slot] = {}
    for i in range(1, 51):
        price = CENTRE - i * PARAMS.interval
        slots[price] = Slot(
            price=price,
            slot_status=SlotStatus.LOCKED,
            attempt=1,
            order_side=Side.BUY,
            order_price=price,
            order_qty=D("0.001"),
            order_status=OrderStatus.NEW,
            venue_order_id=f"b{i}",
            client_order_id=client_order_id("osqt", Side.BUY, price, 1, INST.tick_size),
        )
    for i in range(0, 50):
        price = CENTRE + i * PARAMS.interval
        slots[price] = Slot(
            price=price,
            slot_status=SlotStatus.LOCKED,
            position_status=PositionStatus.FILLED,
            position_qty=D("0.001"),
            position_side=Side.BUY,
            attempt=2,
            order_side=Side.SELL,
            order_price=price + PARAMS.interval,
            order_qty=D("0.001"),
            order_status=OrderStatus.NEW,
            client_order_id=client_order_id("osqt", Side.SELL, price, 2, INST.tick_size),
            venue_order_id=f"s{i}",
        )
    return slots


def measure(snapshots: list[GridSnapshot], rounds: int, cold: bool = False) -> tuple[list[float], int]:
    samples: list[float] = []
    produced = 0
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for snap in snapshots:
            if cold:  # what the first tick after a re-centring pays: no memoised ids
                client_order_id.cache_clear()
            t0 = clock()
            commands = decide_grid_orders(snap, PARAMS, INST)
            samples.append((clock() - t0) / 1000)
            produced += len(commands)
    return samples, produced


def report(name: str, samples: list[float], produced: int) -> None:
    samples.sort()
    p50 = statistics.median(samples)
    p99 = samples[int(len(samples) * 0.99)]
    print(
        f"{name:<38} n={len(samples):>6}  p50 {p50:7.1f} µs  p99 {p99:7.1f} µs  max {samples[-1]:8.1f} µs"
        f"  commands/decision {produced / len(samples):.2f}"
    )


def main() -> None:
    slots = active_slots()
    prices = [CENTRE + D(k) / 10 for k in range(-40, 41)]  # wiggles around the centre: nothing to do
    quiet = [GridSnapshot(price=p, slots=slots, open_orders=100, interval=PARAMS.interval) for p in prices]
    # busy: the closest buy has just filled (slot FREE, holding) -> one closing sell and one new buy
    busy_slots = dict(slots)
    filled = CENTRE - PARAMS.interval
    busy_slots[filled] = Slot(
        price=filled,
        position_status=PositionStatus.FILLED,
        position_qty=D("0.001"),
        position_side=Side.BUY,
        attempt=1,
    )
    busy = [
        GridSnapshot(price=filled + D(k) / 10, slots=busy_slots, open_orders=99, interval=PARAMS.interval)
        for k in range(-4, 5)
    ]
    first = decide_grid_orders(busy[0], PARAMS, INST)
    assert [c.time_in_force for c in first if isinstance(c, PlaceOrder)] == [TimeInForce.POST_ONLY] * 2
    # re-centring: each tick moves the centre two intervals (alternating), id memo emptied before each call
    recentring = [
        GridSnapshot(
            price=CENTRE + k * PARAMS.interval, slots=slots, open_orders=100, interval=PARAMS.interval
        )
        for k in (-1, 1)
    ]
    measure(quiet, 20)  # warm-up
    gc.disable()
    try:
        report("quiet tick, 100 active slots", *measure(quiet, 250))
        report("fill re-quote tick, 100 active slots", *measure(busy, 2000))
        report("re-centring tick (caches cold)", *measure(recentring, 5000, cold=True))
    finally:
        gc.enable()


if __name__ == "__main__":
    main()
