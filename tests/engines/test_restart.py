"""Restart recovery (issue 5): the engine stops without a word (as under kill -9), the market moves on and
fills or cancels its orders, a new engine starts on the same store and venue: it ends in the venue's state,
with no second order for any slot and every fill recorded once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from opensqt.clock import ManualClock
from opensqt.exchanges.sim import BTC_USDT_PERP, MarketPlayer, SimExchange, SimVenue
from opensqt.model import OrderStatus, OrderType, PlaceOrder, Side, SlotStatus, TimeInForce
from opensqt.store import migrate, open_store
from opensqt.testing.tapes import Row, make_tape
from opensqt.trading.logic import client_order_id
from tests.engines.harness import SYMBOL, T0, store_session, venue_position

TICK = BTC_USDT_PERP.tick_size


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
    await _down(exchange, clock, ("trade", T0 + 3000, "60050", "1", "buy"))
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "60040", "0.1", "buy")], crash=False
    )
    assert second.slots.inventory == 0 == sum((p.size for p in venue.positions([SYMBOL])), Decimal(0))
    assert second.slots.round_trips == 1 and second.slots.realized_pnl == Decimal("1.6000")


async def test_an_order_the_venue_does_not_know_is_recorded_gone_and_not_asked_about_again(
    tmp_path: Path,
) -> None:
    # The store holds an order as open that the venue has never heard of (a venue reset, an archive, the
    # embedded simulated venue of an earlier process). The restart asks once, frees nothing it should keep,
    # and records the order expired: the next restart neither loads nor asks about it.
    from opensqt.model import Order

    url, _venue, exchange, clock = await _first_life(tmp_path)
    cid = client_order_id("t", Side.BUY, Decimal("59500.0"), 1, TICK)
    store = open_store(url)
    ghost = Order(cid, SYMBOL, Side.BUY, OrderType.LIMIT, Decimal("0.001"), Decimal("59500.0"), ts_init=T0)
    store.orders.record_sent("bot", "sim", ghost, T0)
    open_before = {o.client_order_id for o in store.orders.load_open("bot", SYMBOL)}
    store.close()
    assert cid in open_before and len(open_before) == 4  # the three resting buys and the ghost

    asked: list[str] = []
    fetch = exchange.fetch_order

    async def counting_fetch(symbol: str, client_order_id: str) -> Order:
        asked.append(client_order_id)
        return await fetch(symbol, client_order_id)

    exchange.fetch_order = counting_fetch  # type: ignore[method-assign]
    await store_session(url, exchange, clock, [("trade", T0 + 2000, "60010", "0.1", "buy")], crash=False)
    assert asked.count(cid) == 1
    store = open_store(url)
    open_after = {o.client_order_id for o in store.orders.load_open("bot", SYMBOL)}
    with store.engine.connect() as conn:
        status = conn.exec_driver_sql(
            "select status from orders where client_order_id = ?", (cid,)
        ).scalar_one()
    store.close()
    assert status == OrderStatus.EXPIRED.value
    assert open_after == open_before - {cid}
    asked.clear()
    await store_session(url, exchange, clock, [("trade", T0 + 3000, "60020", "0.1", "buy")], crash=False)
    assert cid not in asked


async def test_a_close_sent_by_a_life_the_store_never_saw_is_found_after_a_second_restart(
    tmp_path: Path,
) -> None:
    # Life 1 leaves the 59900 buy resting (attempt 1). Life 2 re-attaches it, sees it fill and sends the
    # close, then dies before any of its writes commit. The close fills while down. Life 3 must find that
    # close by its id: the id of the slot's next attempt after the recorded buy, whatever life 2's re-attach
    # did, so re-attaching an order does not spend an attempt.
    url, venue, exchange, clock = await _first_life(tmp_path)
    second = await store_session(
        url,
        exchange,
        clock,
        [("trade", T0 + 2000, "60000", "0.1", "buy"), ("trade", T0 + 3000, "59850", "1", "sell")],
        crash=True,
        lose_writes=True,
    )
    close = second.slots.slot(Decimal("59900.0"))
    assert close is not None and close.client_order_id == "tScu6wN2" and close.order_side is Side.SELL
    await _down(exchange, clock, ("trade", T0 + 4000, "60050", "1", "buy"))
    assert venue_position(venue) == 0
    third = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "60040", "0.1", "buy")], crash=False
    )
    assert third.slots.inventory == 0 == venue_position(venue)
    assert third.slots.round_trips == 1 and third.slots.realized_pnl == Decimal("1.6000")
    assert not third.breaker.is_open
    assert _fills(url) == [
        ("tBcu6wN1", "buy", Decimal("59900.0"), Decimal("0.016")),
        ("tScu6wN2", "sell", Decimal("60000.0"), Decimal("0.016")),
    ]


def _send_as_a_lost_life(venue: SimVenue, cid: str, side: Side, price: str, qty: str = "0.016") -> None:
    """What a life the store never saw sent: the grid's own id, post-only, closes reduce-only."""
    venue.place_order(
        PlaceOrder(
            cid,
            SYMBOL,
            side,
            Decimal(qty),
            Decimal(price),
            OrderType.LIMIT,
            TimeInForce.POST_ONLY,
            reduce_only=side is Side.SELL,
        )
    )


async def test_a_close_behind_a_refused_id_is_found(tmp_path: Path) -> None:
    # The store knows the 59900 buy (attempt 1). A lost life saw it fill, had its close N2 refused (post-only,
    # the sim keeps no record of it) and sent N3, which filled. Restore asks N2 (missing); the venue is then
    # short of what the slot holds, so it chases on and finds N3.
    url, venue, exchange, clock = await _first_life(tmp_path)
    await _down(exchange, clock, ("trade", T0 + 2000, "59850", "0.05", "sell"))
    _send_as_a_lost_life(
        venue, client_order_id("t", Side.SELL, Decimal("59900.0"), 3, TICK), Side.SELL, "60000"
    )
    await _down(exchange, clock, ("trade", T0 + 3000, "60050", "1", "buy"))
    assert venue_position(venue) == 0
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "60040", "0.1", "buy")], crash=False
    )
    assert second.slots.inventory == 0 and not second.breaker.is_open
    assert second.slots.round_trips == 1 and second.slots.realized_pnl == Decimal("1.6000")
    slot = second.slots.slot(Decimal("59900.0"))
    assert slot is not None and slot.attempt >= 3  # the next id is past the one found
    assert _fills(url) == [
        ("tBcu6wN1", "buy", Decimal("59900.0"), Decimal("0.016")),
        ("tScu6wN3", "sell", Decimal("60000.0"), Decimal("0.016")),
    ]


async def test_an_open_and_its_close_sent_by_a_lost_life_are_both_taken_back(tmp_path: Path) -> None:
    # A lost life bought at 59600 (an empty level, attempt 1) and rested its close (attempt 2). Restore sees
    # the venue long of the slots, finds the buy on that level and then its close, which keeps resting.
    url, venue, exchange, clock = await _first_life(tmp_path)
    level = Decimal("59600.0")
    buy = client_order_id("t", Side.BUY, level, 1, TICK)
    _send_as_a_lost_life(venue, buy, Side.BUY, "59600")
    await _down(exchange, clock, ("trade", T0 + 2000, "59550", "0.016", "sell"))
    assert venue.fetch_order(SYMBOL, buy).status is OrderStatus.FILLED
    close = client_order_id("t", Side.SELL, level, 2, TICK)
    _send_as_a_lost_life(venue, close, Side.SELL, "59700")
    second = await store_session(
        url, exchange, clock, [("trade", T0 + 5000, "59560", "0.001", "buy")], crash=False
    )
    assert second.slots.inventory == venue_position(venue) and not second.breaker.is_open
    slot = second.slots.slot(level)
    assert slot is not None and slot.client_order_id == close and slot.slot_status is SlotStatus.LOCKED
    assert slot.position_qty == Decimal("0.016")
    assert (buy, "buy", level, Decimal("0.016")) in _fills(url)


def _fills(url: str) -> list[tuple[str, str, Decimal, Decimal]]:
    store = open_store(url)
    fills = store.fills.list("bot", SYMBOL)
    store.close()
    return sorted((f.client_order_id, f.side.value, f.price, f.quantity) for f in fills)


async def _first_life(tmp_path: Path) -> tuple[str, SimVenue, SimExchange, ManualClock]:
    """A store and a venue after one clean life that started the grid at 60000 (the 59900 buy rests)."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite'}"
    migrate(url)
    clock = ManualClock(T0)
    venue = SimVenue([BTC_USDT_PERP], clock=clock, balances={"USDT": Decimal(100_000)})
    exchange = SimExchange(venue)
    await store_session(url, exchange, clock, [("trade", T0 + 1000, "60000", "0.5", "buy")], crash=False)
    return url, venue, exchange, clock


async def _down(exchange: SimExchange, clock: ManualClock, row: Row) -> None:
    """The market while no engine runs."""
    await MarketPlayer(make_tape([row]), [exchange], clock=clock).run()
