"""A grid engine on the simulated venue, driven by a scripted tape on a manual clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import anyio

from opensqt.clock import ManualClock
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.engines.grid_engine import GridEngine
from opensqt.engines.store_journal import StoreJournal
from opensqt.exchanges.sim import BTC_USDT_PERP, FaultPlan, MarketPlayer, SimExchange, SimVenue
from opensqt.model import GridMode, Order
from opensqt.runtime.settle import settle
from opensqt.store import BotRecord, StoreWriter, open_store
from opensqt.testing.tapes import Row, make_tape
from opensqt.trading.logic import GridParams, parse_client_order_id

SYMBOL = BTC_USDT_PERP.symbol
T0 = 1_700_000_000_000


def params(**overrides: Any) -> GridParams:
    base: dict[str, Any] = dict(
        interval=Decimal("100"),
        order_amount=Decimal("1000"),
        buy_window=3,
        sell_window=3,
        grid_mode=GridMode.LONG,
        bot_tag="t",
    )
    base.update(overrides)
    return GridParams(**base)


def config(**overrides: Any) -> GridEngineConfig:
    grid = overrides.pop("params", None) or params()
    base = GridEngineConfig(
        symbol=SYMBOL,
        params=grid,
        leverage=5,
        reconcile_interval=3600.0,
        cleanup_interval=3600.0,
        price_stale_seconds=3600.0,
    )
    return replace(base, **overrides)


@dataclass
class Run:
    engine: GridEngine
    venue: SimVenue
    exchange: SimExchange
    clock: ManualClock
    created: list[str] = field(default_factory=list)

    def open_orders(self) -> list[Order]:
        return self.venue.open_orders(SYMBOL)

    def position(self) -> Decimal:
        return sum((p.size for p in self.venue.positions([SYMBOL])), Decimal(0))

    def orders_per_slot(self) -> dict[Decimal, int]:
        counts: dict[Decimal, int] = {}
        for order in self.open_orders():
            price = parse_client_order_id(order.client_order_id, BTC_USDT_PERP.tick_size).slot_price
            counts[price] = counts.get(price, 0) + 1
        return counts


async def play(engine: GridEngine, exchange: SimExchange, clock: ManualClock, rows: Sequence[Row]) -> None:
    """Play the first row, wait until the engine trades (its start-up may use threads), then the rest."""
    tape = make_tape(rows)
    await MarketPlayer(tape.slice(0, 1), [exchange], clock=clock).run()
    with anyio.fail_after(10):
        while engine.phase not in ("trading", "stopped"):
            # start-up retries wait on the market clock: let market time pass (no trades) meanwhile
            clock.advance(0.05)
            await anyio.sleep(0.001)
    await settle()
    if len(tape) > 1:
        await MarketPlayer(tape.slice(1, len(tape)), [exchange], clock=clock).run()
    await settle()


async def run_grid(
    rows: Sequence[Row],
    *,
    cfg: GridEngineConfig | None = None,
    faults: FaultPlan | None = None,
    balance: Decimal = Decimal(100_000),
    quiet_ms: int = 0,
    exit_policy: Any = None,
) -> Run:
    """Start the engine, play `rows`, let everything settle, return the venue and engine for inspection.

    `quiet_ms`: after the tape, move the clock this far (timers fire: retries, reconciliation) with no trades.
    """
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": balance})
    exchange = SimExchange(venue, faults=faults)
    engine = GridEngine(exchange, cfg or config(), clock, exit_policy=exit_policy)
    run = Run(engine, venue, exchange, clock)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await settle()  # the engine subscribes and waits for its first price
        await play(engine, exchange, clock, rows)
        step = 250
        for _ in range(quiet_ms // step):
            clock.advance(step / 1000)
            await settle()
        tg.cancel_scope.cancel()
    return run


def venue_position(venue: SimVenue) -> Decimal:
    """The venue's net position in the harness's symbol."""
    return sum((p.size for p in venue.positions([SYMBOL])), Decimal(0))


async def store_session(
    url: str,
    exchange: SimExchange,
    clock: ManualClock,
    rows: Sequence[Row],
    *,
    crash: bool,
    lose_writes: bool = False,
) -> GridEngine:
    """One life of an engine on the SQLite (or PostgreSQL) store at `url`: start, play `rows`, stop without
    cancelling its orders; `crash` stops it before the journal's queued writes are flushed (as kill -9);
    `lose_writes` drops every write of this life (a kill before its first commit: it read the store, and
    whatever it did on the venue the store never saw)."""
    store = open_store(url)
    store.bots.register(BotRecord("bot", "grid", "sim", "x", T0, T0))
    writer = StoreWriter(store)
    paused: list[str] = []
    journal = StoreJournal(store, writer, bot="bot", venue="sim", quote="USDT", on_failure=paused.append)
    if lose_writes:
        journal._put = lambda item: None  # type: ignore[method-assign]
    engine = GridEngine(exchange, config(cancel_on_exit=False), clock, journal=journal)
    async with anyio.create_task_group() as tg:
        await tg.start(writer.run)
        await tg.start(journal.run)
        tg.start_soon(engine.run)
        await settle()
        await play(engine, exchange, clock, rows)
        if not crash:
            await journal.flush()
        tg.cancel_scope.cancel()
    assert paused == []
    store.close()
    return engine
