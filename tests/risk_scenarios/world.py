"""A five-perp simulated venue (BTC, ETH, SOL, XRP, DOGE) stepped row by row on a manual clock, with the grid
engine on BTC and a recording journal: the stage for the risk scenario tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import anyio

from opensqt.clock import ManualClock
from opensqt.data.market_data import ColumnBuilder, EventKind, MarketData, Scale
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.engines.grid_engine import GridEngine
from opensqt.engines.grid_events import EngineEvent, EngineNotice, OrderEvent
from opensqt.engines.journal import NullJournal
from opensqt.exchanges.sim import (
    BTC_USDT_PERP,
    DOGE_USDT_PERP,
    ETH_USDT_PERP,
    SOL_USDT_PERP,
    XRP_USDT_PERP,
    FaultPlan,
    SimExchange,
    SimVenue,
)
from opensqt.model import GridMode, Instrument, Order, OrderStatus, Side
from opensqt.risk import RiskMonitorConfig
from opensqt.runtime.settle import settle
from opensqt.trading.logic import GridParams

MINUTE = 60_000
T0 = 28_333_333 * MINUTE  # 1_699_999_980_000: a minute boundary, so candles line up with the script
PERPS: tuple[Instrument, ...] = (BTC_USDT_PERP, ETH_USDT_PERP, SOL_USDT_PERP, XRP_USDT_PERP, DOGE_USDT_PERP)
BASE = {
    BTC_USDT_PERP.symbol: Decimal("60000"),
    ETH_USDT_PERP.symbol: Decimal("3000"),
    SOL_USDT_PERP.symbol: Decimal("150"),
    XRP_USDT_PERP.symbol: Decimal("0.5"),
    DOGE_USDT_PERP.symbol: Decimal("0.1"),
}
SYMBOL = BTC_USDT_PERP.symbol

#: (second within the minute, {symbol: (price, qty)}) for one minute; None price = the symbol's base
MinuteScript = dict[str, tuple[Decimal, Decimal]]


def minute_of(t_ms: int) -> int:
    return (t_ms - T0) // MINUTE


def build_tape(minutes: Sequence[MinuteScript]) -> MarketData:
    """Two trades a minute per symbol (at :10 and :40), every symbol at the same instants in PERPS order."""
    cols = ColumnBuilder()
    scales = tuple(Scale(i.tick_size, i.lot_size) for i in PERPS)
    for m, script in enumerate(minutes):
        for second in (10, 40):
            for k, inst in enumerate(PERPS):
                price, qty = script.get(inst.symbol, (BASE[inst.symbol], Decimal(1)))
                side = 1 if second == 10 else -1
                ts = T0 + m * MINUTE + second * 1000
                cols.add(
                    ts, EventKind.TRADE, scales[k].to_ticks(price), scales[k].to_lots(qty), side=side, sym=k
                )
    return cols.build(tuple(i.symbol for i in PERPS), scales, (), "risk-scenario")


def calm() -> MinuteScript:
    return {}


def crash(drop: Decimal = Decimal("0.05"), qty: Decimal = Decimal(10)) -> MinuteScript:
    """Every symbol `drop` below its base with a volume spike; BTC only 50 below, so it fills no grid buy."""
    out = {s: ((p * (1 - drop)), qty) for s, p in BASE.items()}
    out[SYMBOL] = (BASE[SYMBOL] - 50, qty)
    return out


def depressed() -> MinuteScript:
    """Prices still low, volume back to normal (WEAK: not panic, not normal)."""
    out = {s: (p * Decimal("0.95"), Decimal(1)) for s, p in BASE.items()}
    out[SYMBOL] = (BASE[SYMBOL] - 50, Decimal(1))
    return out


class RecordingJournal(NullJournal):
    """Keeps the audit rows (kind, message, ts, actor)."""

    def __init__(self) -> None:
        self.audits: list[tuple[str, str, int, str]] = []

    def audit(self, kind: str, message: str, ts_ms: int, actor: str = "system") -> None:
        self.audits.append((kind, message, ts_ms, actor))


def grid_config(**overrides: Any) -> GridEngineConfig:
    params = GridParams(
        interval=Decimal("100"),
        order_amount=Decimal("1000"),
        buy_window=3,
        sell_window=3,
        grid_mode=GridMode.LONG,
        bot_tag="t",
    )
    base = GridEngineConfig(
        symbol=SYMBOL,
        params=params,
        leverage=5,
        reconcile_interval=3600.0,
        cleanup_interval=3600.0,
        price_stale_seconds=3600.0,
        risk_monitor=RiskMonitorConfig(),  # the real monitor, default config (five majors)
    )
    return replace(base, **overrides)


@dataclass
class World:
    """The venue, the engine, the tape and a cursor into it."""

    clock: ManualClock
    venue: SimVenue
    exchange: SimExchange
    engine: GridEngine
    journal: RecordingJournal
    tape: MarketData
    events: list[tuple[int, EngineEvent]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        minutes: Sequence[MinuteScript],
        cfg: GridEngineConfig | None = None,
        faults: FaultPlan | None = None,
    ) -> World:
        clock = ManualClock(T0)
        venue = SimVenue(list(PERPS), clock=clock, balances={"USDT": Decimal(100_000)})
        exchange = SimExchange(venue, faults=faults)
        journal = RecordingJournal()
        engine = GridEngine(exchange, cfg or grid_config(), clock, journal=journal)
        tape = build_tape(minutes)
        venue.attach(tape)
        world = cls(clock, venue, exchange, engine, journal, tape)
        engine.listeners.append(lambda e: world.events.append((clock.now_ms(), e)))
        return world

    async def step_until(self, until_ms: int) -> None:
        """Play every row with ts <= until_ms (as MarketPlayer does: clock, venue step, publish, settle)."""
        data = self.tape
        while self.venue.cursor < len(data) and int(data.ts[self.venue.cursor]) <= until_ms:
            i = self.venue.cursor
            self.clock.set_ms(int(data.ts[i]))
            events = self.venue.step()
            self.exchange.publish_row(i)
            self.exchange.publish(events)
            await settle()
        if until_ms > self.clock.now_ms():
            await self.advance_to(until_ms)

    async def advance_to(self, until_ms: int, step_ms: int = 250) -> None:
        """Let market time pass without trades (timers fire: housekeeping, reconciliation)."""
        while self.clock.now_ms() < until_ms:
            self.clock.set_ms(min(until_ms, self.clock.now_ms() + step_ms))
            await settle()

    async def start(self, tg: Any, history_minutes: int) -> None:
        """Play `history_minutes` before the engine exists, start it, play the next BTC trade (its first
        price), and wait until it trades (start-up retries wait on the clock: let a little time pass)."""
        await self.step_until(T0 + history_minutes * MINUTE - 1)
        tg.start_soon(self.engine.run)
        await settle()
        first = T0 + history_minutes * MINUTE + 10_000
        await self.step_until(first)
        with anyio.fail_after(10):
            while self.engine.phase not in ("trading", "stopped"):
                self.clock.advance(0.01)
                await anyio.sleep(0.001)
        await settle()

    # --- reads -----------------------------------------------------------------------------------

    def open_orders(self, side: Side | None = None) -> list[Order]:
        return [o for o in self.venue.open_orders(SYMBOL) if side is None or o.side is side]

    def buy_prices(self) -> list[Decimal]:
        return sorted(o.price for o in self.open_orders(Side.BUY) if o.price is not None)

    def notices(self, kind: str | None = None) -> list[EngineNotice]:
        return [e for _, e in self.events if isinstance(e, EngineNotice) and (kind is None or e.kind == kind)]

    def audits(self, kind: str) -> list[tuple[str, str, int, str]]:
        return [a for a in self.journal.audits if a[0] == kind]

    def cancelled_buys(self) -> list[tuple[int, str]]:
        """(engine time, client id) of every buy the engine saw cancelled."""
        return [
            (t, e.update.order.client_order_id)
            for t, e in self.events
            if isinstance(e, OrderEvent)
            and e.update.order.side is Side.BUY
            and e.update.order.status is OrderStatus.CANCELED
        ]

    def placed_buys(self) -> list[tuple[int, str, Decimal | None]]:
        """(engine time, client id, price) of every grid buy (client id prefix "t") the venue acknowledged."""
        seen: set[str] = set()
        out = []
        for t, e in self.events:
            if not isinstance(e, OrderEvent):
                continue
            o = e.update.order
            cid = o.client_order_id
            if o.side is Side.BUY and o.status is OrderStatus.NEW and cid.startswith("t") and cid not in seen:
                seen.add(o.client_order_id)
                out.append((t, o.client_order_id, o.price))
        return out
