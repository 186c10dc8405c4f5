"""A scripted venue for grid scenarios: price steps in, our resting orders fill at their limit price.

Drives the real pipeline: `decide_grid_orders` -> `SlotManager.reserve` -> venue ack -> fills -> `apply`.
Fills are maker fills at the order price with the instrument's maker fee; every update is also recorded
so tests can replay them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from decimal import Decimal

from opensqt.model import (
    ZERO,
    CancelOrder,
    Command,
    Fill,
    Instrument,
    InstrumentKind,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    Side,
)
from opensqt.trading.logic import GridParams, GridSnapshot, decide_grid_orders, parse_client_order_id
from opensqt.trading.state import SlotManager

D = Decimal


def instrument(tick: str = "0.1", lot: str = "0.001", min_notional: str = "5") -> Instrument:
    return Instrument(
        symbol="BTC/USDT:USDT",
        venue_symbol="BTCUSDT",
        kind=InstrumentKind.LINEAR_PERPETUAL,
        base="BTC",
        quote="USDT",
        tick_size=D(tick),
        lot_size=D(lot),
        min_notional=D(min_notional),
        maker_fee=D("0.0002"),
    )


@dataclass
class Harness:
    params: GridParams
    inst: Instrument = field(default_factory=instrument)
    manager: SlotManager = field(default_factory=SlotManager)
    resting: dict[str, Order] = field(default_factory=dict)
    updates: list[OrderUpdated] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    cancelled: list[CancelOrder] = field(default_factory=list)
    position: Decimal = ZERO  # the venue's signed position
    interval: Decimal | None = None
    shift: Decimal = ZERO
    paused: bool = False
    risk_triggered: bool = False
    margin_locked: bool = False
    # faults: with an rng, updates are held back, delivered in random order and sometimes twice
    rng: random.Random | None = None
    backlog: list[OrderUpdated] = field(default_factory=list)
    _trade_seq: int = 0
    _venue_seq: int = 0

    def snapshot(self, price: Decimal) -> GridSnapshot:
        m = self.manager
        return GridSnapshot(
            price=price,
            slots=m.slots,
            open_orders=m.open_order_count,
            interval=self.interval or self.params.interval,
            centre_shift=self.shift,
            inventory=m.inventory,
            paused=self.paused,
            margin_locked=self.margin_locked,
            risk_triggered=self.risk_triggered,
            cancels_in_flight=m.cancels_in_flight(),
            retired_attempts=m.retired_attempts,
        )

    def step(self, price: Decimal) -> list[Command]:
        """Fill what the price reaches, then decide and carry out the grid's commands."""
        self.match(price)
        self.deliver()
        snapshot = self.snapshot(price)
        commands = decide_grid_orders(snapshot, self.params, self.inst)
        # the engine's way (the slot book's indexes) decides exactly what a walk over every slot decides
        m = self.manager
        indexed = decide_grid_orders(
            replace(snapshot, working=m.working, holds=m.holds_by_side), self.params, self.inst
        )
        assert _canonical(indexed) == _canonical(commands), (indexed, commands)
        for command in commands:
            if isinstance(command, CancelOrder):
                self.cancel(command)
            elif isinstance(command, PlaceOrder):
                self.place(command)
        return commands

    def place(self, command: PlaceOrder) -> None:
        slot_price = parse_client_order_id(command.client_order_id, self.inst.tick_size).slot_price
        self.manager.reserve(slot_price, command)
        self._venue_seq += 1
        assert command.price is not None
        order = Order(
            client_order_id=command.client_order_id,
            symbol=command.symbol,
            side=command.side,
            type=command.type,
            quantity=command.quantity,
            price=command.price,
            venue_order_id=f"v{self._venue_seq}",
            time_in_force=command.time_in_force,
            reduce_only=command.reduce_only,
        )
        self.resting[command.client_order_id] = order
        self.emit(OrderUpdated(order))

    def cancel(self, command: CancelOrder) -> None:
        self.manager.request_cancel(command.client_order_id)
        self.cancelled.append(command)
        order = self.resting.pop(command.client_order_id, None)
        if order is None:  # filled meanwhile, its update not yet delivered: the venue says not found
            self.manager.on_cancel_failed(command.client_order_id)
            return
        self.emit(OrderUpdated(order.with_status(OrderStatus.CANCELED)))

    def match(self, price: Decimal) -> None:
        for cid, order in sorted(self.resting.items(), key=lambda kv: kv[1].price or ZERO):
            assert order.price is not None
            if (order.side is Side.BUY and price <= order.price) or (
                order.side is Side.SELL and price >= order.price
            ):
                self.fill(cid, order.remaining)

    def fill(self, cid: str, qty: Decimal) -> None:
        order = self.resting[cid]
        assert order.price is not None
        self._trade_seq += 1
        filled = order.filled + qty
        status = OrderStatus.FILLED if filled == order.quantity else OrderStatus.PARTIALLY_FILLED
        done = replace(order, filled=filled, status=status, average_price=order.price)
        fill = Fill(
            trade_id=f"t{self._trade_seq}",
            client_order_id=cid,
            symbol=order.symbol,
            side=order.side,
            price=order.price,
            quantity=qty,
            fee=order.price * qty * self.inst.maker_fee,
            fee_asset="USDT",
            liquidity=LiquiditySide.MAKER,
            venue_order_id=order.venue_order_id,
        )
        self.fills.append(fill)
        self.position += qty * order.side.sign
        if status is OrderStatus.FILLED:
            del self.resting[cid]
        else:
            self.resting[cid] = done
        self.emit(OrderUpdated(done, fill))

    def emit(self, update: OrderUpdated) -> None:
        self.updates.append(update)
        if self.rng is None:
            self.manager.apply(update)
            return
        self.backlog.append(update)
        if self.rng.random() < 0.3:
            self.backlog.append(update)

    def deliver(self, everything: bool = False) -> None:
        """Apply held-back updates in a random order, keeping some back unless `everything`."""
        if self.rng is None or not self.backlog:
            return
        self.rng.shuffle(self.backlog)
        keep = 0 if everything else self.rng.randrange(len(self.backlog) + 1) // 2
        now, self.backlog = self.backlog[keep:], self.backlog[:keep]
        for update in now:
            self.manager.apply(update)

    def resting_by_slot(self) -> dict[Decimal, list[str]]:
        out: dict[Decimal, list[str]] = {}
        for cid in self.resting:
            out.setdefault(parse_client_order_id(cid, self.inst.tick_size).slot_price, []).append(cid)
        return out


def places(commands: list[Command]) -> list[tuple[str, str, str, bool]]:
    """(side, price, quantity, reduce_only) of each PlaceOrder, for exact comparisons."""
    return [
        (c.side.value, str(c.price), str(c.quantity), c.reduce_only)
        for c in commands
        if isinstance(c, PlaceOrder)
    ]


def cancels(commands: list[Command]) -> list[tuple[str, str]]:
    return [(c.client_order_id, c.reason) for c in commands if isinstance(c, CancelOrder)]


def _canonical(commands: list[Command]) -> tuple[list[str], list[Command]]:
    """Cancels as a set (their order follows slot iteration), placements in order."""
    cancels = sorted(c.client_order_id for c in commands if isinstance(c, CancelOrder))
    return cancels, [c for c in commands if isinstance(c, PlaceOrder)]
