"""The grid's emergency exit (§16): the exit policy is asked on every position change; when it says so the
engine cancels every order, closes the position with a reduce-only market order, and halts until a reset."""

from __future__ import annotations

from decimal import Decimal

from opensqt.model import OrderStatus, OrderType, Side
from opensqt.risk import LossLimitExitPolicy
from tests.engines.harness import T0, config, run_grid


async def test_a_loss_beyond_the_limit_closes_everything_and_halts() -> None:
    rows = [
        ("trade", T0 + 1000, "60000", "0.5", "buy"),
        # one print through all three buys (59900, 59800, 59700): long 0.048 at 59800 on average, marked at
        # 59000 = -38.4 unrealized, beyond the 20 USDT limit
        ("trade", T0 + 2000, "59000", "1", "sell"),
        ("trade", T0 + 3000, "59010", "0.1", "buy"),
    ]
    run = await run_grid(
        rows,
        cfg=config(cancel_on_exit=False),
        exit_policy=LossLimitExitPolicy(max_loss=Decimal(20)),
        quiet_ms=2000,
    )
    engine = run.engine
    assert run.position() == 0 and engine.slots.inventory == 0
    assert run.open_orders() == []
    closes = [
        o for o in (live.snapshot(0) for live in run.venue.orders.values()) if o.type is OrderType.MARKET
    ]
    assert [(c.side, c.quantity, c.status, c.reduce_only) for c in closes] == [
        (Side.SELL, Decimal("0.048"), OrderStatus.FILLED, True)
    ]
    assert engine.breaker.is_open and engine.exiting is not None
    assert "emergency exit" in (engine.manual_pause or "")
    # halted: nothing new was placed after the exit
    assert all(
        o.side is not Side.BUY or o.status is not OrderStatus.NEW
        for o in (live.snapshot(0) for live in run.venue.orders.values())
    )
    # an operator reset lifts the halt
    assert engine.reset_breaker("operator") and engine.exiting is None and engine.manual_pause is None
