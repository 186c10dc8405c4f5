"""Restart recovery (issue 5): the engine stops without a word (as under kill -9), the market moves on and
fills or cancels its orders, a new engine starts on the same store and venue: it ends in the venue's state,
with no second order for any slot and every fill recorded once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from opensqt.clock import ManualClock
from opensqt.exchanges.sim import BTC_USDT_PERP, MarketPlayer, SimExchange, SimVenue
from opensqt.model import SlotStatus
from opensqt.store import migrate, open_store
from opensqt.testing.tapes import make_tape
from tests.engines.harness import SYMBOL, T0, store_session


async def test_restart_after_a_crash_ends_in_the_venue_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    migrate(url)
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": Decimal(100_000)})
    exchange = SimExchange(venue)
    # session 1: buys rest at 59900/59800/59700, the 59900 one fills and its sell rests at 60000
    first = await store_session(
        url,
        exchange,
        clock,
        [
            ("trade", T0 + 1000, "60000", "0.5", "buy"),
            ("trade", T0 + 2000, "59850", "1", "sell"),
        ],
        crash=False,
    )
    assert first.slots.inventory == Decimal("0.016")
    # down: the market fills the 60000 sell and the 59800 buy, and the operator cancels the 59700 buy
    player = MarketPlayer(
        make_tape([("trade", T0 + 3000, "60050", "1", "buy"), ("trade", T0 + 4000, "59750", "1", "sell")]),
        [exchange],
        clock=clock,
    )
    await player.run()
    cancelled = venue.cancel_order(
        SYMBOL, next(o.client_order_id for o in venue.open_orders(SYMBOL) if o.price == Decimal("59700.0"))
    )
    assert cancelled.status.value == "canceled"
    # session 2 on the same store and venue
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "59760", "0.1", "buy")], crash=False
    )
    slots = second.slots
    assert slots.inventory == sum((p.size for p in venue.positions([SYMBOL])), Decimal(0)) == Decimal("0.016")
    assert slots.round_trips == 1 and slots.realized_pnl == Decimal("1.6000")
    per_slot: dict[str, int] = {}
    for order in venue.open_orders(SYMBOL):
        per_slot[order.client_order_id[:-2]] = per_slot.get(order.client_order_id[:-2], 0) + 1
    live = {o.client_order_id for o in venue.open_orders(SYMBOL)}
    locked = {s.client_order_id for s in slots.slots.values() if s.slot_status is SlotStatus.LOCKED}
    assert live == locked
    store = open_store(url)
    fills = store.fills.list("bot", SYMBOL)
    store.close()
    assert sorted((f.side.value, f.price) for f in fills) == [
        ("buy", Decimal("59800.0")),
        ("buy", Decimal("59900.0")),
        ("sell", Decimal("60000.0")),
    ]
    assert len({f.trade_id for f in fills}) == len(fills) == 3


async def test_a_stale_open_record_of_an_older_attempt_does_not_hide_the_live_order(tmp_path: Path) -> None:
    # A kill between an order's final update and its write leaves it "open" in the store; the next attempt
    # for the same slot was sent after. Restart must settle the old one (gone) and re-attach the live one.
    from opensqt.model import Order, OrderType, Side, TimeInForce

    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    migrate(url)
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": Decimal(100_000)})
    exchange = SimExchange(venue)
    await store_session(
        url,
        exchange,
        clock,
        [
            ("trade", T0 + 1000, "60000", "0.5", "buy"),
            ("trade", T0 + 2000, "59850", "1", "sell"),
        ],
        crash=False,
    )
    store = open_store(url)
    ghost = Order(
        "tBcu6wN0",
        SYMBOL,
        Side.SELL,
        OrderType.LIMIT,
        Decimal("0.016"),
        Decimal("60000.0"),
        venue_order_id="999",
        time_in_force=TimeInForce.POST_ONLY,
        reduce_only=True,
        ts_init=T0,
    )
    store.orders.record_sent("bot", "sim", ghost, T0)
    store.close()
    # the live sell (attempt 2) fills while down
    await MarketPlayer(make_tape([("trade", T0 + 3000, "60050", "1", "buy")]), [exchange], clock=clock).run()
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "60040", "0.1", "buy")], crash=False
    )
    assert second.slots.inventory == 0 == sum((p.size for p in venue.positions([SYMBOL])), Decimal(0))
    assert second.slots.round_trips == 1 and second.slots.realized_pnl == Decimal("1.6000")
