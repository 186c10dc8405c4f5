"""Replay invariants: fast path == stepping every row, determinism, and Hypothesis properties of the venue."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.data import MarketData, SyntheticMarket, load_binance_capture
from opensqt.exchanges.errors import ExchangeError
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP, SimVenue
from opensqt.model import (
    BalanceUpdated,
    FundingPaid,
    LiquiditySide,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionUpdated,
    Side,
    TimeInForce,
)
from opensqt.testing.tapes import make_tape
from tests.conftest import SHARED_DATA

BTC = "BTC/USDT:USDT"
CAPTURE = SHARED_DATA / "binance-usdm" / "btcusdt_20240808.gz"


def grid_run(data: MarketData, fast: bool, step_ticks: int = 50, levels: int = 10) -> list[object]:
    """20 resting orders around the first bid; every filled order is replaced one step away (a grid)."""
    v = SimVenue([BTC_USDT_PERP, ETH_USDT_PERP], balances={"USDT": D(1_000_000)})
    v.attach(data)
    v.advance(max_rows=5, stop_on_event=False, fast=fast)
    mid = v.markets[BTC].bid or v.markets[BTC].last
    tick = BTC_USDT_PERP.tick_size
    n = 0
    for k in range(1, levels + 1):
        for side, sign in ((Side.BUY, -1), (Side.SELL, 1)):
            v.place_order(PlaceOrder(f"o{n}", BTC, side, D("0.01"), (mid + sign * k * step_ticks) * tick))
            n += 1
    log: list[object] = list(v.drain())
    while not v.exhausted:
        events = v.advance(fast=fast)
        log.extend(events)
        for e in events:
            if isinstance(e, OrderUpdated) and e.fill and e.order.status is OrderStatus.FILLED:
                f = e.fill
                price = f.price + step_ticks * tick * (1 if f.side is Side.BUY else -1)
                v.place_order(PlaceOrder(f"o{n}", BTC, f.side.opposite, D("0.01"), price))
                n += 1
                log.extend(v.drain())
    return log


def test_fast_path_gives_exactly_the_fills_of_stepping_every_row_on_the_capture() -> None:
    data = load_binance_capture(CAPTURE, BTC_USDT_PERP)
    fast, slow = grid_run(data, True), grid_run(data, False)
    n_fills = sum(1 for e in fast if isinstance(e, OrderUpdated) and e.fill)
    assert n_fills == 58
    assert repr(fast) == repr(slow)


def test_same_seed_gives_byte_identical_event_logs() -> None:
    def once(seed: int) -> bytes:
        data = SyntheticMarket([BTC_USDT_PERP, ETH_USDT_PERP], seed=seed).generate()
        return repr(grid_run(data, True, step_ticks=200)).encode()

    first = once(7)
    assert first == once(7)
    assert first != once(8)
    assert first.count(b"Fill(") > 10


# --- Hypothesis -----------------------------------------------------------------------------------

rows = st.one_of(
    st.tuples(st.just("trade"), st.integers(-40, 40), st.integers(1, 400), st.sampled_from(["buy", "sell"])),
    st.tuples(st.just("book"), st.integers(-40, 40), st.integers(1, 5), st.integers(1, 400)),
    st.tuples(st.just("funding"), st.integers(-300, 300)),
)
orders = st.tuples(
    st.just("order"),
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(-40, 40),
    st.integers(1, 300),
    st.sampled_from(["GTC", "IOC", "FOK", "PO", "MKT"]),
    st.booleans(),
)
cancels = st.tuples(st.just("cancel"), st.integers(0, 30))
actions = st.lists(st.one_of(rows, rows, orders, cancels), min_size=1, max_size=60)

BASE = 600_000  # 60000.0 in ticks


def play(acts: list[tuple[Any, ...]], fast: bool) -> tuple[SimVenue, list[object], dict[str, PlaceOrder]]:
    tape_rows: list[tuple[Any, ...]] = []
    for k, a in enumerate(acts):
        ts = 1000 * (k + 1)
        if a[0] == "trade":
            tape_rows.append(("trade", ts, D(BASE + int(a[1])) / 10, D(int(a[2])) / 1000, a[3]))
        elif a[0] == "book":
            bid = BASE + int(a[1])
            tape_rows.append(("book", ts, D(bid) / 10, D(int(a[3])) / 1000, D(bid + int(a[2])) / 10, "0.2"))
        elif a[0] == "funding":
            tape_rows.append(("funding", ts, D(int(a[1])) / 1_000_000, ts + 2500))
    v = SimVenue([BTC_USDT_PERP], balances={"USDT": D(100_000)})
    v.attach(
        make_tape(tape_rows) if tape_rows else make_tape([("book", 500, "60000.0", "1", "60000.1", "1")])
    )
    log: list[object] = []
    placed: dict[str, PlaceOrder] = {}
    for k, a in enumerate(acts):
        ts = 1000 * (k + 1)
        if a[0] == "order":
            _, side, off, lots, tif, reduce = a
            cid = f"c{k}"
            market = tif == "MKT"
            cmd = PlaceOrder(
                cid,
                BTC,
                side,
                D(int(lots)) / 1000,
                None if market else D(BASE + int(off)) / 10,
                OrderType.MARKET if market else OrderType.LIMIT,
                TimeInForce.GTC if market else TimeInForce(tif),
                bool(reduce),
            )
            try:
                v.place_order(cmd)
                placed[cid] = cmd
            except ExchangeError:
                pass
        elif a[0] == "cancel":
            open_ = v.open_orders()
            if open_:
                v.cancel_order(BTC, open_[int(a[1]) % len(open_)].client_order_id)
        else:
            log.extend(v.drain())
            log.extend(v.advance(until_ms=ts, stop_on_event=False, fast=fast))
        log.extend(v.drain())
    log.extend(v.advance(stop_on_event=False, fast=fast))
    return v, log, placed


@settings(max_examples=150)
@given(actions)
def test_venue_invariants_hold_on_random_paths(acts: list[tuple[Any, ...]]) -> None:
    v, log, placed = play(acts, fast=True)
    _, slow_log, _ = play(acts, fast=False)
    assert repr(log) == repr(slow_log)

    realized = fees = funding = D(0)
    last_status: dict[str, OrderStatus] = {}
    filled: dict[str, D] = {}
    position = D(0)
    for e in log:
        if isinstance(e, FundingPaid):
            funding += e.amount
        elif isinstance(e, PositionUpdated):
            position = e.position.size
        elif isinstance(e, OrderUpdated):
            o = e.order
            prev = last_status.get(o.client_order_id)
            assert prev is None or prev.can_become(o.status), (prev, o.status)
            last_status[o.client_order_id] = o.status
            assert o.filled <= o.quantity
            if e.fill is None:
                continue
            f = e.fill
            realized += f.realized_pnl or 0
            fees += f.fee
            filled[o.client_order_id] = filled.get(o.client_order_id, D(0)) + f.quantity
            assert filled[o.client_order_id] == o.filled
            cmd = placed.get(o.client_order_id)
            if cmd is None:
                continue  # the venue's own autoclose order
            if cmd.price is not None:
                assert (f.price <= cmd.price) if cmd.side is Side.BUY else (f.price >= cmd.price)
            if cmd.post_only:
                assert f.liquidity is LiquiditySide.MAKER
            if cmd.reduce_only:
                before = position
                after = before + f.quantity * f.side.sign
                assert before != 0 and (after == 0 or (after > 0) == (before > 0))
        elif isinstance(e, BalanceUpdated):
            pass
    assert v.account.wallet["USDT"] == D(100_000) + realized - fees + funding
