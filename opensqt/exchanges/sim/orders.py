"""Order and event types internal to the simulated venue: the mutable live order and the liquidation event."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from opensqt.exchanges.sim.market import MarketState
from opensqt.model import (
    ZERO,
    BalanceUpdated,
    FundingPaid,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionUpdated,
    Side,
)


@dataclass(frozen=True, slots=True)
class Liquidated:
    """The venue closed a position at its liquidation price (an `autoclose-` order carries the fill)."""

    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    ts_event: int


class LiveOrder:
    """A mutable order inside the venue; `Order` snapshots are taken from it."""

    __slots__ = (
        "cid",
        "filled",
        "m",
        "notional",
        "price",
        "qty",
        "queue",
        "reduce_only",
        "seq",
        "sign",
        "snap",
        "snap_filled",
        "status",
        "tif",
        "ts_create",
        "type",
        "vid",
    )

    def __init__(self, cmd: PlaceOrder, m: MarketState, price: int, qty: int, vid: int, ts: int) -> None:
        self.cid = cmd.client_order_id
        self.m = m
        self.sign = cmd.side.sign
        self.price = price
        self.qty = qty
        self.filled = 0
        self.notional = ZERO
        self.queue = 0
        self.tif = cmd.time_in_force
        self.type = cmd.type
        self.reduce_only = cmd.reduce_only
        self.vid = vid
        self.seq = vid
        self.status = OrderStatus.NEW
        self.ts_create = ts
        self.snap: Order | None = None
        self.snap_filled = 0

    def snapshot(self, ts: int) -> Order:
        # The venue reports an order and returns it in one call (an ack, a cancel): when nothing changed in
        # between, the same immutable snapshot serves both, and the slot book skips the repeat by identity.
        snap = self.snap
        if (
            snap is not None
            and snap.ts_event == ts
            and snap.status is self.status
            and self.filled == self.snap_filled
        ):
            return snap
        snap = self.snap = self._snapshot(ts)
        self.snap_filled = self.filled
        return snap

    def _snapshot(self, ts: int) -> Order:
        scale = self.m.scale
        filled = scale.qty(self.filled)
        return Order(
            client_order_id=self.cid,
            symbol=self.m.inst.symbol,
            side=Side.BUY if self.sign > 0 else Side.SELL,
            type=self.type,
            quantity=scale.qty(self.qty),
            price=scale.price(self.price) if self.type is OrderType.LIMIT else None,
            venue_order_id=str(self.vid),
            filled=filled,
            average_price=self.notional / filled if self.filled else None,
            status=self.status,
            time_in_force=self.tif,
            reduce_only=self.reduce_only,
            ts_event=ts,
        )


VenueEvent = OrderUpdated | PositionUpdated | BalanceUpdated | FundingPaid | Liquidated
