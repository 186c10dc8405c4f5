"""Fixtures for the store tests: migrated SQLite stores, a real PostgreSQL, and update builders."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from opensqt.model import (
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
)
from opensqt.store import BotRecord, OrderUpdateWrite, PnlKind, PnlRecord, Store, migrate, open_store
from tests.support.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

BOT = "grid-1"
VENUE = "binance"
SYMBOL = "BTC/USDT:USDT"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite'}"


def fresh_store(url: str) -> Store:
    migrate(url)
    store = open_store(url)
    store.bots.register(BotRecord(BOT, "grid", VENUE, "cfg-hash-1", 1, 1))
    return store


@pytest.fixture
def store(sqlite_url: str) -> Iterator[Store]:
    s = fresh_store(sqlite_url)
    try:
        yield s
    finally:
        s.close()


def order_update(
    n: int,
    *,
    filled: str = "0",
    status: OrderStatus = OrderStatus.NEW,
    quantity: str = "0.010",
    price: str = "100.10",
    trade: str | None = None,
    trade_qty: str | None = None,
    ts: int = 1_000,
) -> OrderUpdated:
    """Order `n` (client id c<n>, venue id v<n>) as reported; with `trade`, a fill of `trade_qty`."""
    order = Order(
        client_order_id=f"c{n}",
        symbol=SYMBOL,
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=Decimal(quantity),
        price=Decimal(price),
        venue_order_id=f"v{n}",
        filled=Decimal(filled),
        average_price=Decimal(price) if Decimal(filled) > 0 else None,
        status=status,
        ts_event=ts,
        ts_init=ts - 1,
    )
    fill = None
    if trade is not None:
        fill = Fill(
            trade_id=trade,
            client_order_id=f"c{n}",
            symbol=SYMBOL,
            side=Side.BUY,
            price=Decimal(price),
            quantity=Decimal(trade_qty or filled),
            fee=Decimal("0.00040040"),
            fee_asset="USDT",
            liquidity=LiquiditySide.MAKER,
            venue_order_id=f"v{n}",
            ts_event=ts,
        )
    return OrderUpdated(order, fill)


def slot_for(update: OrderUpdated, ts: int) -> Slot:
    o = update.order
    done = o.status is OrderStatus.FILLED
    return Slot(
        price=o.price or Decimal(0),
        slot_status=SlotStatus.FREE if done else SlotStatus.LOCKED,
        position_status=PositionStatus.FILLED if o.filled > 0 else PositionStatus.EMPTY,
        position_qty=o.filled,
        client_order_id=None if done else o.client_order_id,
        venue_order_id=None if done else o.venue_order_id,
        order_side=None if done else o.side,
        order_price=None if done else o.price,
        order_qty=Decimal(0) if done else o.quantity,
        order_status=None if done else o.status,
        filled_qty=o.filled,
        attempt=1,
        ts_update=ts,
    )


def write_for(update: OrderUpdated, ts: int, *, slot: bool = True) -> OrderUpdateWrite:
    pnl: tuple[PnlRecord, ...] = ()
    if update.fill is not None:
        pnl = (
            PnlRecord(BOT, VENUE, SYMBOL, PnlKind.FEE, update.fill.trade_id, -update.fill.fee, "USDT", ts),
        )
    return OrderUpdateWrite(
        bot=BOT,
        venue=VENUE,
        update=update,
        ts_ms=ts,
        slot=slot_for(update, ts) if slot else None,
        pnl=pnl,
    )
