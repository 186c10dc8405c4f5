"""The grid engine on the simulated venue: exact scripted outcomes, start-up order, faults, invariants."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from opensqt.clock import ManualClock
from opensqt.engines.grid_engine import GridEngine
from opensqt.exchanges.errors import InsufficientFunds, OrderWouldCross
from opensqt.exchanges.sim import BTC_USDT_PERP, FaultPlan, SimExchange, SimVenue
from opensqt.model import GridMode, OrderStatus, Side, SlotStatus, TimeInForce
from opensqt.runtime.settle import settle
from opensqt.trading.logic import PostOnlyFallback
from tests.engines.harness import SYMBOL, T0, config, params, play, run_grid


def _orders(run):  # type: ignore[no-untyped-def]
    """Every order the venue ever saw, as (client id, side, price, qty, status, filled)."""
    return [
        (cid, o.side, o.price, o.quantity, o.status, o.filled)
        for cid, o in ((cid, live.snapshot(0)) for cid, live in run.venue.orders.items())
    ]


async def test_long_round_trip_exact_fills_and_pnl() -> None:
    rows = [
        ("trade", T0 + 1000, "60000", "0.5", "buy"),
        ("trade", T0 + 2000, "59850", "1", "sell"),  # prints through the 59900 buy
        ("trade", T0 + 3000, "60050", "1", "buy"),  # prints through the 60000 sell
    ]
    run = await run_grid(rows, cfg=config(cancel_on_exit=False))
    filled = [
        (cid, side, price, qty)
        for cid, side, price, qty, status, _ in _orders(run)
        if status is OrderStatus.FILLED
    ]
    assert filled == [
        ("tBcu6wN1", Side.BUY, Decimal("59900.0"), Decimal("0.016")),
        ("tScu6wN2", Side.SELL, Decimal("60000.0"), Decimal("0.016")),
    ]
    status = run.engine.status()
    assert status.realized_pnl == Decimal("1.6000")  # (60000 - 59900) × 0.016
    assert status.fees == Decimal("0.38368000")  # 0.0002 × (958.4 + 960)
    assert status.round_trips == 1 and status.inventory == 0 and run.position() == 0
    # after the trip the grid trails the price: centre 60100, buys below it
    assert status.centre == Decimal("60100.0")
    assert sorted((o.side, o.price) for o in run.open_orders()) == [
        (Side.BUY, Decimal("59800.0")),
        (Side.BUY, Decimal("59900.0")),
        (Side.BUY, Decimal("60000.0")),
    ]
    assert all(o.time_in_force is TimeInForce.POST_ONLY for o in run.open_orders())


async def test_short_mode_round_trip() -> None:
    rows = [
        ("trade", T0 + 1000, "60000", "0.5", "buy"),
        ("trade", T0 + 2000, "60150", "1", "buy"),  # lifts the 60100 sell: short 0.016
        ("trade", T0 + 3000, "59950", "1", "sell"),  # hits the 60000 buy-back
    ]
    run = await run_grid(rows, cfg=config(params=params(grid_mode=GridMode.SHORT), cancel_on_exit=False))
    filled = [
        (side, price, qty) for _, side, price, qty, status, _ in _orders(run) if status is OrderStatus.FILLED
    ]
    assert filled == [
        (Side.SELL, Decimal("60100.0"), Decimal("0.016")),
        (Side.BUY, Decimal("60000.0"), Decimal("0.016")),
    ]
    status = run.engine.status()
    assert status.realized_pnl == Decimal("1.6000")
    assert status.fees == Decimal("0.38432000")  # 0.0002 × (961.6 + 960)
    assert run.position() == 0


async def test_buys_fill_on_a_smooth_decline() -> None:
    # 10 USDT a step from 60000 down to 59650: each buy level is reached by prices, never by a gap
    rows = [("trade", T0 + 1000 + i * 1000, str(60000 - 10 * i), "0.01", "sell") for i in range(36)]
    run = await run_grid(rows, cfg=config(cancel_on_exit=False))
    bought = sorted(
        price
        for _, side, price, _, status, _ in _orders(run)
        if side is Side.BUY and status is OrderStatus.FILLED
    )
    assert bought == [Decimal("59700.0"), Decimal("59800.0"), Decimal("59900.0")]
    cancelled_buys = [
        price
        for _, side, price, _, status, _ in _orders(run)
        if side is Side.BUY and status is OrderStatus.CANCELED
    ]
    assert Decimal("59700.0") not in cancelled_buys and Decimal("59800.0") not in cancelled_buys
    assert run.position() == Decimal("0.048")


async def test_no_order_before_the_order_stream_is_live() -> None:
    calls: list[str] = []

    class Recording(FaultPlan):
        def decide(self, op: str):  # type: ignore[no-untyped-def]
            calls.append(op)
            return super().decide(op)

    rows = [("trade", T0 + 1000, "60000", "0.5", "buy")]
    run = await run_grid(rows, faults=Recording())
    assert "create_orders" in calls or "create_order" in calls
    first_create = min(i for i, op in enumerate(calls) if op.startswith("create"))
    assert ("orders", SYMBOL) in run.exchange._subs or ("orders", None) in run.exchange._subs
    # the order stream was subscribed (the engine reached trading) before the first create reached the venue
    assert run.engine.order_stream_live
    assert calls.index("load_markets") < first_create
    assert "fetch_open_orders" in calls[:first_create]  # reconciled before trading


async def test_post_only_rejections_fall_back_to_limit_after_three() -> None:
    faults = FaultPlan().fail_next("create_order", OrderWouldCross("would cross"), times=3)
    cfg = config(
        params=params(buy_window=1, sell_window=1, post_only_fallback=PostOnlyFallback.LIMIT),
        post_only_retry_delay=0.5,
        cancel_on_exit=False,
    )
    rows = [("trade", T0 + 1000, "60000", "0.5", "buy")]
    run = await run_grid(rows, cfg=cfg, faults=faults, quiet_ms=3000)
    orders = run.open_orders()
    assert [(o.side, o.price, o.time_in_force) for o in orders] == [
        (Side.BUY, Decimal("59900.0"), TimeInForce.GTC)
    ]
    slot = run.engine.slots.slot(Decimal("59900.0"))
    assert slot is not None and slot.post_only_failures == 3 and slot.attempt == 4
    assert run.engine.stats["rejected:post_only"] == 3


async def test_insufficient_margin_locks_buys_cancels_them_then_resumes() -> None:
    # 60000: a batch of three buys rests. 60050: the grid trails up; 59700 falls off the window and the new
    # level 60000 is refused for margin: the lock cancels the other resting buys and pauses buying.
    faults = FaultPlan().fail_next("create_order", InsufficientFunds("margin"), times=1)
    cfg = config(params=params(buy_window=3, sell_window=1), margin_lock_seconds=10.0, cancel_on_exit=False)
    rows = [("trade", T0 + 1000, "60000", "0.5", "buy"), ("trade", T0 + 2000, "60050", "0.1", "buy")]
    run = await run_grid(rows, cfg=cfg, faults=faults)
    assert run.engine.margin_locked_until_ms == T0 + 2000 + 10_000
    assert run.open_orders() == []
    assert run.engine.stats["rejected:insufficient_funds"] == 1
    cancelled = sorted(o[2] for o in _orders(run) if o[4] is OrderStatus.CANCELED)
    assert cancelled == [Decimal("59700.0"), Decimal("59800.0"), Decimal("59900.0")]
    # ten seconds on, the lock lifts and the buys come back
    later = await run_grid(
        rows,
        cfg=cfg,
        faults=FaultPlan().fail_next("create_order", InsufficientFunds("margin")),
        quiet_ms=11_000,
    )
    assert sorted(o.price for o in later.open_orders()) == [
        Decimal("59800.0"),
        Decimal("59900.0"),
        Decimal("60000.0"),
    ]


async def test_a_timed_out_submit_never_leads_to_a_second_order() -> None:
    faults = FaultPlan().timeout_next("create_order", executed=True, times=2)
    cfg = config(params=params(buy_window=2, sell_window=1), cancel_on_exit=False)
    rows = [("trade", T0 + 1000, "60000", "0.5", "buy"), ("trade", T0 + 2000, "60001", "0.1", "buy")]
    run = await run_grid(rows, cfg=cfg, faults=faults, quiet_ms=2000)
    assert run.orders_per_slot() == {Decimal("59800.0"): 1, Decimal("59900.0"): 1}
    assert all(s.slot_status is not SlotStatus.PENDING for s in run.engine.slots.slots.values())


async def test_shutdown_cancels_open_orders_and_leaks_no_task() -> None:
    before = len(asyncio.all_tasks())
    run = await run_grid([("trade", T0 + 1000, "60000", "0.5", "buy")], cfg=config(cancel_on_exit=True))
    assert run.open_orders() == []
    assert run.engine.phase == "stopped"
    await anyio.sleep(0)
    assert len(asyncio.all_tasks()) == before


price_paths = st.lists(st.integers(min_value=-3, max_value=3), min_size=5, max_size=40)


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    steps=price_paths,
    seed=st.integers(0, 10_000),
    duplicate=st.sampled_from([0.0, 0.3]),
    reorder=st.sampled_from([0.0, 0.3]),
    timeout=st.sampled_from([0.0, 0.2]),
    fill_before_ack=st.booleans(),
)
def test_invariants_hold_on_random_paths_with_faults(
    steps: list[int], seed: int, duplicate: float, reorder: float, timeout: float, fill_before_ack: bool
) -> None:
    price = 60000
    rows = [("trade", T0 + 1000, str(price), "0.5", "buy")]
    for i, step in enumerate(steps):
        price += step * 40
        rows.append(("trade", T0 + 2000 + i * 1000, str(price), "1", "buy" if step > 0 else "sell"))
    faults = FaultPlan(
        seed=seed,
        duplicate_rate=duplicate,
        reorder_rate=reorder,
        timeout_rate=timeout,
        fill_before_ack=fill_before_ack,
    )
    cfg = config(params=params(buy_window=3, sell_window=3), cancel_on_exit=False, reconcile_interval=5.0)
    run = anyio.run(lambda: run_grid(rows, cfg=cfg, faults=faults, quiet_ms=8000))
    # never two live orders for one slot
    assert all(count == 1 for count in run.orders_per_slot().values())
    last = Decimal(price)
    for order in run.open_orders():
        if order.side is Side.BUY and not order.reduce_only:
            assert (order.price is not None and order.price < last) or order.filled == 0
    # what the slots hold equals the venue's position, and a closing sell never exceeds it
    held = run.engine.slots.inventory
    assert held == run.position()
    sells = sum((o.remaining for o in run.open_orders() if o.side is Side.SELL), Decimal(0))
    assert sells <= held
    # once quiet, every LOCKED slot's order rests on the venue and nothing rests that no slot knows
    live = {o.client_order_id for o in run.open_orders()}
    locked = {
        s.client_order_id for s in run.engine.slots.slots.values() if s.slot_status is SlotStatus.LOCKED
    }
    assert live == locked
    # replaying every update changes nothing
    version = run.engine.slots.version
    for _cid, live_order in run.venue.orders.items():
        from opensqt.model import OrderUpdated

        assert run.engine.slots.apply(OrderUpdated(live_order.snapshot(0))) == []
    assert run.engine.slots.version == version


async def test_risk_trigger_cancels_buys_and_recovery_resumes() -> None:
    from opensqt.risk import StaticRiskGate

    rows = [("trade", T0 + 1000, "60000", "0.5", "buy")]
    run = await run_grid(rows, cfg=config(cancel_on_exit=False))
    assert any(o.side is Side.BUY for o in run.open_orders())
    gate = StaticRiskGate(True)
    snapshot = run.engine.core.snapshot(run.clock.now_ms())
    assert snapshot is not None and not snapshot.risk_triggered
    run.engine.risk = gate  # type: ignore[assignment]
    snapshot = run.engine.core.snapshot(run.clock.now_ms())
    assert snapshot is not None and snapshot.risk_triggered


async def test_a_decision_on_unchanged_inputs_is_skipped_and_any_change_decides_again() -> None:
    # The order stream decides on a fill with the newest price; the price loop then wakes for the same
    # trade: same price update, slot book version and flags, so the same commands (already dispatched).
    # Skipping it takes a decision off the tick-to-order path and must change nothing.
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": Decimal(100_000)})
    exchange = SimExchange(venue)
    engine = GridEngine(exchange, config(cancel_on_exit=False), clock)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await settle()
        await play(engine, exchange, clock, [("trade", T0 + 1000, "60000", "0.5", "buy")])
        orders = sorted((o.side, o.price) for o in venue.open_orders(SYMBOL))
        engine.on_price()  # decides on the book as the acks left it (nothing to do)
        decided, skipped = engine.stats["decisions"], engine.stats["decisions_unchanged"]
        engine.on_price()
        engine.on_price()
        assert (engine.stats["decisions"], engine.stats["decisions_unchanged"]) == (decided, skipped + 2)
        clock.advance(1)  # time alone changes nothing while the price is fresh (the housekeeping tick)
        engine.on_price()
        assert (engine.stats["decisions"], engine.stats["decisions_unchanged"]) == (decided, skipped + 3)
        engine.manual_pause = "operator"  # a flag the decision reads
        engine.on_price()
        assert engine.stats["decisions"] == decided + 1
        engine.manual_pause = None
        clock.advance(3600)  # the price goes stale (price_stale_seconds 3600): a time-based flag
        engine.on_price()
        engine.on_price()
        assert (engine.stats["decisions"], engine.stats["decisions_unchanged"]) == (decided + 2, skipped + 4)
        await settle()
        assert (
            sorted((o.side, o.price) for o in venue.open_orders(SYMBOL))
            == orders
            == [
                (Side.BUY, Decimal("59700.0")),
                (Side.BUY, Decimal("59800.0")),
                (Side.BUY, Decimal("59900.0")),
            ]
        )
        tg.cancel_scope.cancel()
