"""A grid engine on the simulated venue, played in segments so faults can be switched on, off and re-armed
between them (websocket drops every few seconds, storms that start and stop), then checked for invariants."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

import anyio

from opensqt.exchanges.sim import FaultPlan
from opensqt.exchanges.sim.exchange import RequestWeightLimit
from opensqt.model import OrderStatus, OrderUpdated, Side, SlotStatus
from opensqt.runtime.settle import settle
from opensqt.testing.tapes import Row, make_tape
from tests.engines.harness import T0, Run, config, params

#: called before segment `i` is played, with the run (its `exchange.faults` can be re-armed)
Hook = Callable[[int, Run], None]


class LateUpdates(FaultPlan):
    """A `FaultPlan` that also delivers every `hold_every`-th order update late: with the next batch, after
    that batch's newer updates (the stale update a websocket replays after a reconnect). With `also_now`
    the update is delivered on time too (a late duplicate); without it, only late (a delayed update)."""

    def __init__(self, *, hold_every: int = 3, also_now: bool = True, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.hold_every = hold_every
        self.also_now = also_now
        self.held: list[object] = []
        self.seen = 0
        self.delivered_late = 0

    def mangle_order_updates(self, updates: list[object]) -> list[object]:
        late, self.held = self.held, []
        out: list[object] = []
        for u in super().mangle_order_updates(updates):
            self.seen += 1
            if self.hold_every and self.seen % self.hold_every == 0:
                self.held.append(u)
                if self.also_now:
                    out.append(u)
            else:
                out.append(u)
        self.delivered_late += len(late)
        return out + late


def zigzag(
    start_ms: int, start: int, steps: Sequence[int], *, step_ms: int = 1000, move: int = 40
) -> list[Row]:
    """Trades walking the price by `move` USDT per step (+1/-1/0), one per `step_ms`."""
    price = start
    rows: list[Row] = []
    for i, s in enumerate(steps):
        price += s * move
        rows.append(("trade", start_ms + i * step_ms, str(price), "1", "buy" if s > 0 else "sell"))
    return rows


async def run_segments(
    segments: Sequence[Sequence[Row]],
    *,
    faults: FaultPlan,
    hook: Hook | None = None,
    quiet_ms: int = 8000,
    balance: Decimal = Decimal(100_000),
    rate_limit: RequestWeightLimit | None = None,
    reconcile_interval: float = 5.0,
) -> Run:
    """Start the engine, play the segments in turn (calling `hook` before each), then `quiet_ms` of market
    time with no trades so retries and reconciliation run; returns the run for inspection."""
    from opensqt.clock import ManualClock
    from opensqt.engines.grid_engine import GridEngine
    from opensqt.exchanges.sim import BTC_USDT_PERP, MarketPlayer, SimExchange, SimVenue

    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": balance})
    exchange = SimExchange(venue, faults=faults, rate_limit=rate_limit)
    cfg = config(
        params=params(buy_window=3, sell_window=3),
        cancel_on_exit=False,
        reconcile_interval=reconcile_interval,
    )
    engine = GridEngine(exchange, cfg, clock)
    run = Run(engine, venue, exchange, clock)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await settle()
        first = make_tape([("trade", T0 + 500, "60000", "0.5", "buy")])
        await MarketPlayer(first, [exchange], clock=clock).run()
        with anyio.fail_after(10):
            waited = 0
            while engine.phase not in ("trading", "stopped"):
                clock.advance(0.05)
                await anyio.sleep(0.001)
                waited += 1
                if waited % 20 == 0:
                    # the market keeps trading while start-up retries: a price the engine missed comes again
                    again = make_tape([("trade", clock.now_ms(), "60000", "0.1", "buy")])
                    await MarketPlayer(again, [exchange], clock=clock).run()
        await settle()
        for i, rows in enumerate(segments):
            if hook is not None:
                hook(i, run)
            if rows:
                await MarketPlayer(make_tape(rows), [exchange], clock=clock).run()
            await settle()
        for _ in range(quiet_ms // 250):
            clock.advance(0.25)
            await settle()
        # what the engine said while still running (stopping it below moves it to "stopped")
        run.phase_before_stop = engine.phase  # type: ignore[attr-defined]
        run.paused_before_stop = engine.paused_reasons()  # type: ignore[attr-defined]
        tg.cancel_scope.cancel()
    return run


def calm(plan: FaultPlan) -> None:
    """Switch every fault of `plan` off: the venue behaves from now on."""
    plan.network_error_rate = plan.timeout_rate = plan.duplicate_rate = plan.reorder_rate = 0.0
    plan.fill_before_ack = False
    plan.rules.clear()
    plan.drops.clear()
    if isinstance(plan, LateUpdates):
        plan.hold_every = 0


def check_invariants(run: Run) -> None:
    """What must hold once the venue is quiet: one order per slot, slots agree with the venue's open orders,
    the slots' inventory equals the venue's position, closing sells never exceed it, every fill is applied
    once (fees equal), replays change nothing, and no slot is stuck PENDING."""
    per_slot = run.orders_per_slot()
    assert all(count == 1 for count in per_slot.values()), per_slot
    held = run.engine.slots.inventory
    assert held == run.position(), (held, run.position())
    sells = sum((o.remaining for o in run.open_orders() if o.side is Side.SELL), Decimal(0))
    assert sells <= held
    live = {o.client_order_id for o in run.open_orders()}
    slots = run.engine.slots.slots.values()
    locked = {s.client_order_id for s in slots if s.slot_status is SlotStatus.LOCKED}
    assert live == locked, (live - locked, locked - live)
    assert not [s for s in slots if s.slot_status is SlotStatus.PENDING]
    # every venue fill applied exactly once: the fees the slots booked equal what the venue charged
    assert run.engine.slots.fees == run.venue.account.fees.get("USDT", Decimal(0)), (
        run.engine.slots.fees,
        run.venue.account.fees,
    )
    version = run.engine.slots.version
    for live_order in run.venue.orders.values():
        assert run.engine.slots.apply(OrderUpdated(live_order.snapshot(0))) == []
    assert run.engine.slots.version == version


def filled_orders(run: Run) -> list[tuple[str, Side, Decimal]]:
    out = []
    for cid, live in run.venue.orders.items():
        o = live.snapshot(0)
        if o.status is OrderStatus.FILLED and o.price is not None:
            out.append((cid, o.side, o.price))
    return out
