"""The paper account outlives the process: a venue saved at any row and restored into a fresh one trades on
exactly as the venue that never stopped; a damaged document is refused whole, naming the field."""

from __future__ import annotations

import copy
import dataclasses
import json
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.data import MarketData
from opensqt.exchanges.errors import DuplicateClientOrderId
from opensqt.exchanges.sim import BTC_USDT_PERP, SimVenue
from opensqt.exchanges.sim.account_state import AccountStateError, account_document, restore_account
from opensqt.model import Order, OrderUpdated, PlaceOrder, Side
from opensqt.testing.tapes import make_tape

BTC = BTC_USDT_PERP.symbol


def _tape(moves: list[int]) -> MarketData:
    """A book row then a trade row per move (ticks of 0.1 from 60,000), one second apart."""
    rows: list[tuple[Any, ...]] = []
    price = D(60_000)
    for i, move in enumerate(moves):
        price += D(move) / 10
        ts = 1_000 * (i + 1)
        rows.append(("book", ts, price - D("0.1"), "1", price + D("0.1"), "1"))
        rows.append(("trade", ts, price, "0.5", "buy" if move >= 0 else "sell"))
    return make_tape(rows)


def _venue() -> SimVenue:
    return SimVenue([BTC_USDT_PERP], balances={"USDT": D(1_000_000)})


def _orders_at(row: int, plan: list[tuple[int, int, int, int]]) -> list[PlaceOrder]:
    """The plan's orders due after `row`: (row, side, ticks away from 60,000, lots)."""
    out = []
    for k, (r, side, away, lots) in enumerate(plan):
        if r == row:
            s = Side.BUY if side > 0 else Side.SELL
            price = D(60_000) + D(away) / 10
            out.append(PlaceOrder(f"o{k}", BTC, s, D(lots) / 1000, price))
    return out


def _drive(
    venue: SimVenue, data: MarketData, first_row: int, plan: list[tuple[int, int, int, int]]
) -> list[Any]:
    """Step every row; after each book+trade pair, place the plan's orders due there. Returns every fill and
    every refusal, in order."""
    seen: list[Any] = []

    def record(events: list[Any]) -> None:
        for event in events:
            if isinstance(event, OrderUpdated) and event.fill is not None:
                f = event.fill
                seen.append((f.trade_id, f.client_order_id, f.price, f.quantity, f.fee, f.realized_pnl))

    venue.attach(data)
    for j in range(len(data)):
        record(venue.step())
        row = first_row + j
        if row % 2 == 1:
            for cmd in _orders_at(row // 2, plan):
                try:
                    order = venue.place_order(cmd)
                    seen.append(("placed", order.client_order_id, order.status, order.filled))
                except Exception as exc:  # refusals are part of the behaviour compared
                    seen.append(("refused", cmd.client_order_id, type(exc).__name__))
                record(venue.drain())
    return seen


def _account(venue: SimVenue) -> tuple[Any, ...]:
    acc = venue.account
    pos = acc.position(BTC)
    opens = [(o.client_order_id, o.status, o.filled) for o in venue.open_orders(BTC)]
    return dict(acc.wallet), dict(acc.fees), dict(acc.realized), pos.size, pos.entry, pos.realized, opens


plans = st.lists(
    st.tuples(st.integers(0, 39), st.sampled_from([1, -1]), st.integers(-40, 40), st.integers(1, 20)),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(moves=st.lists(st.integers(-8, 8), min_size=40, max_size=40), plan=plans, cut=st.integers(1, 39))
def test_saved_and_restored_at_any_row_the_account_trades_on_as_if_never_stopped(
    moves: list[int], plan: list[tuple[int, int, int, int]], cut: int
) -> None:
    data = _tape(moves)
    straight = _venue()
    whole = _drive(straight, data, 0, plan)

    first = _venue()
    before = _drive(first, data.slice(0, 2 * cut), 0, plan)
    doc = json.loads(json.dumps(account_document(first)))  # through the file's text
    second = _venue()
    restore_account(second, doc)
    after = _drive(second, data.slice(2 * cut, len(data)), 2 * cut, plan)

    assert before + after == whole
    assert _account(second) == _account(straight)
    fills = [f for f in whole if f[0] not in ("placed", "refused")]
    assert second.account.wallet["USDT"] == D(1_000_000) + sum((f[5] - f[4] for f in fills), D(0))


def _traded() -> SimVenue:
    v = _venue()
    _drive(
        v,
        _tape([1, -3, 2, -5, 4, 0, -2, 6]),
        0,
        [(0, 1, -5, 5), (0, -1, 30, 3), (1, 1, 1, 2), (2, 1, -100, 1)],
    )
    return v


def test_a_document_holds_positions_fees_counters_and_the_orders_still_known() -> None:
    v = _traded()
    doc = account_document(v)
    assert doc["version"] == 1 and doc["venue"] == "sim"
    assert doc["positions"][BTC]["size"] == str(v.account.position(BTC).size)
    assert doc["next_trade_id"] == v._next_trade and doc["fill_count"] == v.fill_count > 0
    assert sorted(o["client_order_id"] for o in doc["orders"]) == sorted(v.orders)
    restored = _venue()
    restore_account(restored, doc)
    # still resting, the same order (seen at the restored venue's own time)
    assert restored.fetch_order(BTC, "o3") == dataclasses.replace(v.fetch_order(BTC, "o3"), ts_event=0)
    with pytest.raises(DuplicateClientOrderId):
        restored.place_order(PlaceOrder("o0", BTC, Side.BUY, D("0.001"), D(59_000)))
    fresh: Order = restored.place_order(PlaceOrder("n1", BTC, Side.BUY, D("0.001"), D(59_000)))
    assert int(fresh.venue_order_id) == v._next_vid  # ids go on where they stopped


BAD = [
    (lambda d: d.update(version=2), "version: expected 1, got 2"),
    (lambda d: d.update(venue="other"), "venue: expected 'sim', got 'other'"),
    (lambda d: d["wallet"].update(USDT="lots"), "wallet.USDT: expected a decimal string, got 'lots'"),
    (lambda d: d["wallet"].update(USDT="NaN"), "wallet.USDT: expected a finite decimal, got 'NaN'"),
    (lambda d: d["positions"].update({"DOGE/USD": {}}), "positions.DOGE/USD: not a market of this venue"),
    (
        lambda d: d["positions"][BTC].update(entry="-1"),
        f"positions.{BTC}.entry: expected a finite decimal >= 0",
    ),
    (lambda d: d.update(saved_at_ms=-1), "saved_at_ms: expected an integer >= 0, got -1"),
    (lambda d: d.update(next_trade_id=0), "next_trade_id: expected an integer >= 1, got 0"),
    (lambda d: d.update(fill_count=True), "fill_count: expected an integer >= 0, got True"),
    (lambda d: d.update(orders={}), "orders: expected a list, got dict"),
    (lambda d: d["orders"][0].update(side="up"), "orders[0].side: expected one of buy, sell, got 'up'"),
    (lambda d: d["orders"][0].update(filled_lots=10**9), "orders[0].filled_lots: expected <= quantity_lots"),
    (lambda d: d["orders"][0].update(reduce_only=1), "orders[0].reduce_only: expected true or false, got 1"),
    (lambda d: d["orders"][0].update(symbol="ETH"), "orders[0].symbol: expected a market of this venue"),
    (lambda d: d["orders"].append(dict(d["orders"][0])), "orders: a client order id appears twice"),
]


@pytest.mark.parametrize(("damage", "message"), BAD)
def test_a_damaged_document_is_refused_whole_naming_the_field(damage: Any, message: str) -> None:
    doc = account_document(_traded())
    bad = copy.deepcopy(doc)
    damage(bad)
    v = _venue()
    with pytest.raises(AccountStateError, match="^" + message.replace("(", r"\(").replace("[", r"\[")):
        restore_account(v, bad)
    assert v.orders == {} and v.account.position(BTC).size == 0 and v.account.wallet == {"USDT": D(1_000_000)}
    restore_account(v, doc)  # nothing was half-applied: the good document still goes in


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_damage_is_a_clear_refusal_or_a_clean_restore(data: st.DataObject) -> None:
    doc = account_document(_traded())
    leaves: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        for key in list(node) if isinstance(node, dict) else range(len(node)):
            if isinstance(node[key], (dict, list)):
                walk(node[key])
            leaves.append((node, key))

    walk(doc)
    node, key = data.draw(st.sampled_from(leaves))
    node[key] = data.draw(
        st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.text(max_size=8), st.floats())
    )
    try:
        restore_account(_venue(), doc)
    except AccountStateError as exc:
        assert str(exc)  # one message naming a field


def test_restoring_into_a_venue_that_has_traded_is_refused() -> None:
    with pytest.raises(AccountStateError, match="has traded already"):
        restore_account(_traded(), account_document(_traded()))
