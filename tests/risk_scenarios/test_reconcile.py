"""Reconciliation on the simulated venue (docs/RISK.md §2.3): injected divergences of 2% (force-sync) and 8%
(breaker trips, no new orders), orphan orders (cancelled), vanished orders (queried: fill applied or slot
freed) and fills missed while the order stream was down (applied exactly once)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import anyio

from opensqt.model import OrderStatus, OrderType, PlaceOrder, Side, SlotStatus
from opensqt.risk import TripReason
from tests.risk_scenarios.world import MINUTE, SYMBOL, T0, MinuteScript, World, calm, grid_config

LOW: MinuteScript = {SYMBOL: (Decimal("59850"), Decimal(1))}  # prints through the 59900 buy
MID: MinuteScript = {SYMBOL: (Decimal("59950"), Decimal(1))}  # between the grid's levels: fills nothing
LOWER: MinuteScript = {SYMBOL: (Decimal("59750"), Decimal(1))}  # prints through the 59800 buy


def one_level(order_amount: str) -> World:
    """One buy and one sell level, reconciling every 5 s; the script: calm, the 59900 buy fills at 2:10."""
    base = grid_config()
    cfg = grid_config(
        risk_monitor=None,
        reconcile_interval=5.0,
        cancel_on_exit=False,  # leave the venue's orders as the scenario left them
        params=replace(base.params, order_amount=Decimal(order_amount), buy_window=1, sell_window=1),
    )
    return World.build([calm(), calm(), LOW, MID, MID, LOWER, MID], cfg)


async def _foreign_buy(world: World, qty: str) -> None:
    """Someone else trades on the account (no bot prefix): it fills on the next print; the engine ignores
    it."""
    await world.exchange.create_order(
        PlaceOrder("ext-1", SYMBOL, Side.BUY, Decimal(qty), Decimal("61000"), OrderType.LIMIT)
    )


async def _divergence_run(order_amount: str, foreign_qty: str, until_min: int = 4) -> World:
    world = one_level(order_amount)
    async with anyio.create_task_group() as tg:
        await world.start(tg, 1)
        await world.step_until(T0 + 2 * MINUTE + 30_000)
        await _foreign_buy(world, foreign_qty)
        await world.step_until(T0 + until_min * MINUTE)
        tg.cancel_scope.cancel()
    return world


async def test_two_percent_divergence_is_force_synced_without_tripping() -> None:
    # grid buy 0.049 (2940 / 59900) filled, then a foreign 0.001: local 0.049 vs venue 0.050 = 2%
    world = await _divergence_run("2940", "0.001")
    report = world.engine.last_reconcile  # the next run finds the slots in sync
    assert report is not None and report.divergence == 0 and report.actions == ()
    assert report.findings == ("position 0.050 matches the venue",)
    first = world.notices("reconcile")[0]
    assert (first.message, first.ts_ms) == (
        "position 0.049 -> venue 0.050: force-synced",
        T0 + 2 * MINUTE + 40_000,
    )
    assert world.audits("reconcile")[0] == ("reconcile", first.message, first.ts_ms, "system")
    assert not world.engine.breaker.is_open and world.notices("circuit_breaker") == []


async def test_two_percent_divergence_ends_with_local_equal_to_venue() -> None:
    world = await _divergence_run("2940", "0.001")
    assert world.engine.slots.inventory == Decimal("0.050")
    assert len(world.notices("reconcile")) == 1  # synced once, then clean


async def test_eight_percent_divergence_trips_the_breaker_and_stops_new_orders() -> None:
    # grid buy 0.046 (2756 / 59900) filled, then a foreign 0.004: local 0.046 vs venue 0.050 = 8%
    world = await _divergence_run("2756", "0.004", until_min=7)
    engine = world.engine
    tripped_at = T0 + 2 * MINUTE + 40_000  # the print that filled the foreign order; reconciled at once
    state = engine.breaker.state()
    assert (
        state.is_open
        and state.reason is TripReason.RECONCILIATION_DIVERGENCE
        and state.since_ms == tripped_at
    )
    assert state.detail == (
        "position divergence 0.08 >= limit 0.05: position local 0.046 vs venue 0.050: "
        "divergence 0.08 >= 0.05 -> trip the circuit breaker"
    )
    [notice] = world.notices("circuit_breaker")
    assert notice.ts_ms == tripped_at and notice.message.startswith(
        "BreakerTripped(reason=<TripReason.RECONCILIATION_DIVERGENCE: 'reconciliation_divergence'>"
    )
    assert world.audits("circuit_breaker") == [("circuit_breaker", notice.message, tripped_at, "system")]
    # an open breaker pauses the grid: its resting orders are cancelled at once and nothing new is placed,
    # although the price keeps moving through the levels (5:10 prints at 59750) for four more minutes
    statuses = {cid: live.snapshot(0).status for cid, live in world.venue.orders.items()}
    assert statuses == {
        "tBcu6wN1": OrderStatus.FILLED,
        "tBctf4N1": OrderStatus.CANCELED,
        "tScu6wN2": OrderStatus.CANCELED,
        "ext-1": OrderStatus.FILLED,
    }
    assert engine.stats["placed"] == 3 and [p[0] for p in world.placed_buys()] == [T0 + 70_000, T0 + 130_000]
    assert world.open_orders() == [] and engine.slots.inventory == Decimal("0.046")
    assert "circuit breaker open" in engine.paused_reasons()


async def test_orphan_order_with_our_prefix_is_cancelled_and_foreign_one_left_alone() -> None:
    world = one_level("1000")
    async with anyio.create_task_group() as tg:
        await world.start(tg, 1)
        # ours by prefix but decoding to no slot (an unparseable id), and a foreign order
        for cid in ("tjunk", "manual-7"):
            await world.exchange.create_order(
                PlaceOrder(cid, SYMBOL, Side.BUY, Decimal("0.001"), Decimal("50000"), OrderType.LIMIT)
            )
        report = await world.engine.reconcile_now()
        await world.step_until(T0 + 1 * MINUTE + 30_000)
        tg.cancel_scope.cancel()
    assert (
        report.findings[0] == "orphan order tjunk (buy 0.001 @ 50000.0): ours by prefix, in no slot -> cancel"
    )
    assert [c.client_order_id for c in report.cancels] == ["tjunk"] and report.foreign == 1
    assert world.venue.fetch_order(SYMBOL, "tjunk").status is OrderStatus.CANCELED
    assert world.venue.fetch_order(SYMBOL, "manual-7").status is OrderStatus.NEW


async def test_vanished_order_cancelled_behind_our_back_frees_its_slot() -> None:
    world = one_level("1000")
    async with anyio.create_task_group() as tg:
        await world.start(tg, 1)
        [buy] = world.open_orders(Side.BUY)
        # cancelled at the venue, and the update lost (drained, never published)
        world.venue.cancel_order(SYMBOL, buy.client_order_id)
        world.venue.drain()
        slot = world.engine.slots.slot(Decimal("59900.0"))
        assert slot is not None and slot.slot_status is SlotStatus.LOCKED
        await world.step_until(T0 + 1 * MINUTE + 20_000)
        tg.cancel_scope.cancel()
    # queried, found cancelled: the slot was freed and the grid quoted the level again with a new attempt
    assert world.venue.fetch_order(SYMBOL, buy.client_order_id).status is OrderStatus.CANCELED
    [again] = world.open_orders(Side.BUY)
    assert (again.price, again.client_order_id) == (Decimal("59900.0"), "tBcu6wN2")
    assert world.engine.slots.inventory == 0 and world.engine.stats["fills"] == 0


async def test_fill_missed_while_the_order_stream_was_down_is_applied_once() -> None:
    world = one_level("1000")
    async with anyio.create_task_group() as tg:
        await world.start(tg, 1)
        await world.step_until(T0 + 2 * MINUTE)
        world.exchange.faults.drop_stream("orders")  # the next order update (the fill) is lost
        await world.step_until(T0 + 2 * MINUTE + 10_000)
        # the stream broke, the engine resubscribed and reconciled: the buy had vanished from the venue's
        # open orders, its query showed the fill, which was booked once
        assert world.engine.stats["order_stream_errors"] == 1
        assert world.engine.slots.inventory == Decimal("0.016")
        await world.step_until(T0 + 4 * MINUTE)  # dozens of reconciliations later: still once
        tg.cancel_scope.cancel()
    engine = world.engine
    assert world.venue.positions([SYMBOL])[0].size == Decimal("0.016")
    assert engine.slots.inventory == Decimal("0.016") and engine.stats["fills"] == 1
    assert engine.stats["gaps_recovered"] == 1
    assert not engine.breaker.is_open and world.notices("circuit_breaker") == []
    report = engine.last_reconcile
    assert report is not None and report.divergence in (None, Decimal(0)) and report.clean
