"""A small long grid played on a `FakeEngine` for the live page's tests, benchmark and screenshot; and
`python -m opensqt.web.demo`: the page without a market_maker (a FakeEngine behind a real ApiServer)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from opensqt.api.fake import FakeEngine
from opensqt.api.ports import EngineStatus, RiskStatus, SymbolRiskStatus
from opensqt.model import (
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
)

FEE_RATE = Decimal("0.0002")


class GridScenario:
    """A long grid: a buy order rests on each level below the price; a filled buy holds `qty` and works a sell
    one step up; a filled sell empties the level and re-arms its buy. Moves only when `move_to` is called."""

    def __init__(
        self,
        engine: FakeEngine,
        centre: Decimal = Decimal("27000"),
        step: Decimal = Decimal("10"),
        levels: int = 10,
        qty: Decimal = Decimal("0.010"),
    ) -> None:
        self.engine = engine
        self.symbol = next(iter(engine.grids))
        self.step = step
        self.qty = qty
        self.price = centre
        self.centre = centre
        self.levels = [centre - step * i for i in range(1, levels + 1)] + [
            centre + step * i for i in range(levels)
        ]
        self.slots: dict[Decimal, Slot] = {}
        self.size = Decimal(0)
        self.cost = Decimal(0)
        self.trades = 0

    def _buy(self, level: Decimal) -> Slot:
        self.trades += 1
        return Slot(
            price=level,
            slot_status=SlotStatus.LOCKED,
            client_order_id=f"g-{level}-{self.trades}",
            venue_order_id=str(self.trades),
            order_side=Side.BUY,
            order_price=level,
            order_qty=self.qty,
            order_status=OrderStatus.NEW,
            attempt=1,
            ts_update=self.engine.clock.now_ms(),
        )

    def start(self) -> None:
        now = self.engine.clock.now_ms()
        for level in self.levels:
            self.slots[level] = self._buy(level) if level < self.price else Slot(price=level, ts_update=now)
        self._publish(self.slots.values())

    def _publish(self, changed: object) -> None:
        e = self.engine
        e.publish_slots(list(changed), centre_price=self.centre, last_price=self.price)  # type: ignore[call-overload]
        e.open_orders = [
            Order(
                client_order_id=s.client_order_id or "",
                symbol=self.symbol,
                side=s.order_side,
                type=OrderType.LIMIT,
                quantity=s.order_qty,
                price=s.order_price,
                venue_order_id=s.venue_order_id,
                status=OrderStatus.NEW,
            )
            for s in self.slots.values()
            if s.order_side is not None and s.slot_status is SlotStatus.LOCKED
        ]
        e.engine_status = replace(
            e.engine_status,
            last_price=self.price,
            centre_price=self.centre,
            interval=self.step,
            ts_ms=e.clock.now_ms(),
        )

    def _fill(self, slot: Slot, side: Side, price: Decimal) -> None:
        self.trades += 1
        fee = (price * self.qty * FEE_RATE).quantize(Decimal("0.00000001"))
        pnl = None
        if side is Side.BUY:
            self.cost += price * self.qty
            self.size += self.qty
        else:
            avg = (self.cost / self.size).quantize(Decimal("0.01"))
            pnl = ((price - avg) * self.qty).quantize(Decimal("0.0001"))
            self.cost -= avg * self.qty
            self.size -= self.qty
        self.engine.add_fills(
            [
                Fill(
                    trade_id=f"t{self.trades}",
                    client_order_id=slot.client_order_id or "",
                    symbol=self.symbol,
                    side=side,
                    price=price,
                    quantity=self.qty,
                    fee=fee,
                    fee_asset="USDT",
                    liquidity=LiquiditySide.MAKER,
                    realized_pnl=pnl,
                    ts_event=self.engine.clock.now_ms(),
                )
            ]
        )

    def move_to(self, price: Decimal) -> None:
        """The market trades at `price`: fill what it crosses, publish the changed slots and the price."""
        self.price = price
        now = self.engine.clock.now_ms()
        changed: list[Slot] = []
        for level, slot in self.slots.items():
            if slot.order_side is Side.BUY and price <= level:
                self._fill(slot, Side.BUY, level)
                self.trades += 1
                slot = replace(
                    slot,
                    position_status=PositionStatus.FILLED,
                    position_qty=self.qty,
                    position_side=Side.BUY,
                    order_side=Side.SELL,
                    order_price=level + self.step,
                    client_order_id=f"g-{level}-{self.trades}",
                    order_status=OrderStatus.NEW,
                    filled_qty=Decimal(0),
                    ts_update=now,
                )
            elif slot.order_side is Side.SELL and slot.order_price is not None and price >= slot.order_price:
                self._fill(slot, Side.SELL, slot.order_price)
                slot = self._buy(level) if level < price else Slot(price=level, ts_update=now)
            elif slot.order_side is None and level < price:
                slot = self._buy(level)
            else:
                continue
            self.slots[level] = slot
            changed.append(slot)
        self._publish(changed)
        avg = self.cost / self.size if self.size else Decimal(0)
        self.engine.publish_positions(
            [
                Position(
                    symbol=self.symbol,
                    size=self.size,
                    entry_price=avg.quantize(Decimal("0.01")),
                    unrealized_pnl=((price - avg) * self.size).quantize(Decimal("0.0001")),
                    mark_price=price,
                    leverage=3,
                    ts_event=now,
                )
            ]
        )

    def crash(self, reason: str = "price fell 6.2% in 1 minute") -> None:
        """The risk monitor triggers: trading pauses, an alert goes out."""
        e = self.engine
        now = e.clock.now_ms()
        e.risk_status = RiskStatus(
            triggered=True,
            since_ms=now,
            strategy="volatility",
            symbols=(SymbolRiskStatus(self.symbol, "triggered", reason, Decimal("4.75")),),
        )
        e.engine_status = EngineStatus(
            running=False,
            paused_reasons=("risk monitor",),
            symbol=self.symbol,
            last_price=self.price,
            centre_price=self.centre,
            interval=self.step,
            ts_ms=now,
        )
        e.publish_alert("risk_triggered", reason, self.symbol)

    def calm(self) -> None:
        e = self.engine
        e.risk_status = RiskStatus(
            triggered=False,
            since_ms=None,
            strategy="volatility",
            symbols=(SymbolRiskStatus(self.symbol, "normal", "", Decimal("0.82")),),
        )


def main(argv: list[str] | None = None) -> int:
    """Serve the page over a FakeEngine playing the grid at `--rate` price moves per second."""
    import math

    import anyio

    from opensqt.api.client import ApiClient
    from opensqt.api.server import ApiServer, ApiSettings
    from opensqt.clock import ManualClock, WallClock
    from opensqt.web.app import WebSettings
    from opensqt.web.server import LiveServer

    parser = argparse.ArgumentParser(prog="python -m opensqt.web.demo")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--rate", type=float, default=5.0, help="price moves per second")
    parser.add_argument("--max-connections", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--speed", type=float, default=1.0, help="engine seconds per wall second (fills the chart faster)"
    )
    args = parser.parse_args(argv)

    async def run() -> None:
        data = args.data_dir or Path(tempfile.mkdtemp(prefix="opensqt-demo-"))
        clock = ManualClock(WallClock().now_ms())
        engine = FakeEngine(("BTCUSDT",), clock=clock)
        scenario = GridScenario(engine)
        scenario.calm()
        scenario.start()
        api = ApiServer(
            ApiSettings(listen="127.0.0.1:0", data_dir=data, rate_limit_per_key=1000),
            grid=engine,
            risk=engine,
            positions=engine,
            env={},
        )
        async with anyio.create_task_group() as tg:
            await tg.start(api.serve)
            key = (data / "api" / "read_only.key").read_text().strip()
            assert api.tls is not None
            client = ApiClient(api.target, key, root_cert=api.tls.cert_pem)
            web = WebSettings(port=args.port, max_connections=args.max_connections)
            live = await tg.start(LiveServer(web, client, symbol="BTCUSDT").serve)
            print(f"live page: {live.url}", flush=True)
            n = 0
            while True:
                n += 1
                wave = Decimal(str(round(60 * math.sin(n / 40) + 15 * math.sin(n / 7), 1)))
                scenario.move_to(scenario.centre + wave)
                await anyio.sleep(1 / args.rate)
                clock.advance(args.speed / args.rate)

    try:
        anyio.run(run)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
