"""The `Exchange` port over the simulated venue: streams, faults, request weights, batches, the player."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal as D

import anyio
import pytest

from opensqt.clock import ManualClock
from opensqt.data import MarketData, SyntheticMarket
from opensqt.exchanges import Exchange
from opensqt.exchanges.errors import (
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    RateLimited,
    RequestTimeout,
)
from opensqt.exchanges.sim import (
    BTC_USDT_PERP,
    ETH_USDT_PERP,
    FaultPlan,
    MarketPlayer,
    RequestWeightLimit,
    SimExchange,
    SimVenue,
    run_paper,
)
from opensqt.model import OrderStatus, OrderType, OrderUpdated, PlaceOrder, Side

pytestmark = pytest.mark.anyio
BTC = "BTC/USDT:USDT"
Tape = Callable[..., MarketData]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def exchange_on(data: MarketData, rows: int = 1, **kw: object) -> SimExchange:
    venue = SimVenue([BTC_USDT_PERP, ETH_USDT_PERP])
    venue.attach(data)
    venue.advance(max_rows=rows, stop_on_event=False)
    return SimExchange(venue, **kw)  # type: ignore[arg-type]


def limit(cid: str, side: Side, qty: str, price: str) -> PlaceOrder:
    return PlaceOrder(cid, BTC, side, D(qty), D(price))


async def test_it_is_an_exchange_and_streams_order_updates_in_batches(tape: Tape) -> None:
    ex = exchange_on(
        tape([("book", 1000, "60000.0", "1", "60000.5", "1"), ("trade", 2000, "59000.0", "1", "sell")])
    )
    assert isinstance(ex, Exchange)
    got: list[list[OrderUpdated]] = []
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            got.append(await ex.watch_orders())
            got.append(await ex.watch_orders(BTC))

        tg.start_soon(watch)
        await anyio.wait_all_tasks_blocked()  # the order stream is subscribed before any order
        await ex.create_order(limit("b1", Side.BUY, "0.01", "59999.0"))
        await anyio.wait_all_tasks_blocked()
        ex.publish(ex.venue.advance())
    assert [[(u.order.status, u.fill is not None) for u in batch] for batch in got] == [
        [(OrderStatus.NEW, False)],
        [(OrderStatus.FILLED, True)],
    ]
    assert got[1][0].fill is not None and got[1][0].fill.fee == D("0.1199980")


async def test_scripted_rejection_and_network_error_change_nothing(tape: Tape) -> None:
    ex = exchange_on(
        tape([("book", 1000, "60000.0", "1", "60000.5", "1")]),
        faults=FaultPlan().fail_next("create_order", InsufficientFunds("margin locked")),
    )
    with pytest.raises(InsufficientFunds):
        await ex.create_order(limit("b1", Side.BUY, "0.01", "59000.0"))
    assert await ex.fetch_open_orders(BTC) == []
    ex.faults.fail_next("*", NetworkError("reset"))
    with pytest.raises(NetworkError):
        await ex.create_order(limit("b1", Side.BUY, "0.01", "59000.0"))
    assert (await ex.create_order(limit("b1", Side.BUY, "0.01", "59000.0"))).status is OrderStatus.NEW


async def test_timeouts_are_ambiguous_the_order_may_or_may_not_exist(tape: Tape) -> None:
    ex = exchange_on(
        tape([("book", 1000, "60000.0", "1", "60000.5", "1")]),
        faults=FaultPlan()
        .timeout_next("create_order", executed=True)
        .timeout_next("create_order", executed=False),
    )
    with pytest.raises(RequestTimeout):
        await ex.create_order(limit("t1", Side.BUY, "0.01", "59000.0"))
    assert (await ex.fetch_order(BTC, "t1")).status is OrderStatus.NEW
    with pytest.raises(RequestTimeout):
        await ex.create_order(limit("t2", Side.BUY, "0.01", "59000.0"))
    with pytest.raises(OrderNotFound):
        await ex.fetch_order(BTC, "t2")


async def test_duplicated_updates_and_a_dropped_stream(tape: Tape) -> None:
    ex = exchange_on(
        tape([("book", 1000, "60000.0", "1", "60000.5", "1")]), faults=FaultPlan(duplicate_rate=1.0)
    )
    seen: list[object] = []
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            seen.append(await ex.watch_orders())
            try:
                await ex.watch_orders()
            except NetworkError as exc:
                seen.append(type(exc))
            seen.append(await ex.watch_orders())

        tg.start_soon(watch)
        await anyio.wait_all_tasks_blocked()
        await ex.create_order(limit("a", Side.BUY, "0.01", "59000.0"))
        await anyio.wait_all_tasks_blocked()
        ex.faults.drop_stream("orders")
        await ex.create_order(limit("b", Side.BUY, "0.01", "59000.0"))  # lost with the connection
        await anyio.wait_all_tasks_blocked()
        await ex.create_order(limit("c", Side.BUY, "0.01", "59000.0"))  # resubscribed: delivered
        await anyio.wait_all_tasks_blocked()
    first, error, last = seen
    assert [u.order.client_order_id for u in first] == ["a", "a"]  # type: ignore[attr-defined]
    assert error is NetworkError
    assert [u.order.client_order_id for u in last] == ["c", "c"]  # type: ignore[attr-defined]


async def test_fill_can_arrive_before_the_create_call_returns(tape: Tape) -> None:
    ex = exchange_on(
        tape([("book", 1000, "60000.0", "1", "60000.5", "1")]), faults=FaultPlan(fill_before_ack=True)
    )
    order: list[str] = []
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            for u in await ex.watch_orders():
                order.append(f"stream {u.order.status.value}")

        tg.start_soon(watch)
        await anyio.wait_all_tasks_blocked()
        await ex.create_order(PlaceOrder("m1", BTC, Side.BUY, D("0.01"), None, OrderType.MARKET))
        order.append("create returned")
    assert order == ["stream new", "stream filled", "create returned"]


async def test_request_weight_limit_answers_rate_limited(tape: Tape) -> None:
    ex = exchange_on(
        tape([("book", 1000, "60000.0", "1", "60000.5", "1")]),
        rate_limit=RequestWeightLimit(limit=10, window_ms=60_000),
    )
    for _ in range(2):
        await ex.fetch_balance()  # weight 5 each
    with pytest.raises(RateLimited) as info:
        await ex.fetch_order(BTC, "nope")
    assert info.value.retry_after == 59.0
    ex.venue.advance(until_ms=61_000)
    with pytest.raises(OrderNotFound):
        await ex.fetch_order(BTC, "nope")


async def test_batches_hold_at_most_five_and_fail_per_item(tape: Tape) -> None:
    ex = exchange_on(tape([("book", 1000, "60000.0", "1", "60000.5", "1")]))
    with pytest.raises(InvalidOrder, match="at most 5"):
        await ex.create_orders([limit(f"b{k}", Side.BUY, "0.01", "59000.0") for k in range(6)])
    results = await ex.create_orders(
        [limit("b1", Side.BUY, "0.01", "59000.0"), limit("b2", Side.BUY, "0.01", "59000.05")]
    )
    assert results[0].status is OrderStatus.NEW  # type: ignore[union-attr]
    assert isinstance(results[1], InvalidOrder)
    cancelled = await ex.cancel_orders(BTC, ["b1", "zz"])
    assert cancelled[0].status is OrderStatus.CANCELED  # type: ignore[union-attr]
    assert isinstance(cancelled[1], OrderNotFound)


async def test_player_drives_two_accounts_and_streams_klines_at_any_interval() -> None:
    data = SyntheticMarket([BTC_USDT_PERP], seed=3, step_ms=1000).generate()
    clock = ManualClock()
    a, b = (SimExchange(SimVenue([BTC_USDT_PERP], name=n, balances={"USDT": D(5000)})) for n in ("a", "b"))
    klines: list[object] = []
    async with anyio.create_task_group() as tg:

        async def watch() -> None:
            while True:
                klines.extend(k for k in await a.watch_ohlcv(BTC, "3m") if k.closed)

        tg.start_soon(watch)
        await anyio.wait_all_tasks_blocked()
        player = MarketPlayer(data, [a, b], clock=clock)
        a.venue.attach(data)
        a.venue.step()
        await a.create_order(PlaceOrder("m", BTC, Side.BUY, D("0.01"), None, OrderType.MARKET))
        rows = await player.run()
        tg.cancel_scope.cancel()
    assert rows == len(data)
    assert clock.now_ms() == int(data.ts[-1])
    assert (await a.fetch_positions([BTC]))[0].size == D("0.01")
    assert (await b.fetch_positions([BTC]))[0].size == 0
    assert len(klines) == 10  # 30 minutes over 11 unaligned 3m buckets; the last one still open
    assert klines == (await a.fetch_ohlcv(BTC, "3m"))[:10]


async def test_paper_mode_runs_on_the_wall_clock() -> None:
    ex = SimExchange(SimVenue([BTC_USDT_PERP]))
    market = SyntheticMarket([BTC_USDT_PERP], seed=1, step_ms=100)
    rows = await run_paper([ex], market, speed=1000.0, duration_ms=2_000)
    assert rows >= 20
    assert ex.venue.book_top(BTC) is not None
