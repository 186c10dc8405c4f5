"""Malformed venue messages through the real ccxt client and our adapter: ORDER_TRADE_UPDATE pushes on the
loopback Binance server's user stream (missing fields, wrong types, huge, negative, "NaN"), and the same
mutations straight through the adapter's parsing under Hypothesis. Each is refused with one clear error or
ignored, the stream keeps delivering, and nothing reaches the order book that the venue did not say."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.exchanges import errors
from opensqt.model import OrderUpdated
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance

BTC = "BTC/USDT:USDT"
pytestmark = pytest.mark.anyio

VALID: dict[str, Any] = {
    "e": "ORDER_TRADE_UPDATE",
    "E": 1_700_000_000_000,
    "T": 1_700_000_000_000,
    "o": {
        "s": "BTCUSDT", "c": "ok-1", "S": "BUY", "o": "LIMIT", "f": "GTX", "q": "0.010", "p": "59000.0",
        "ap": "0", "sp": "0", "x": "NEW", "X": "NEW", "i": 77, "l": "0", "z": "0", "L": "0",
        "T": 1_700_000_000_000, "t": 0, "b": "0", "a": "0", "m": False, "R": False, "wt": "CONTRACT_PRICE",
        "ot": "LIMIT", "ps": "BOTH", "cp": False, "rp": "0", "pP": False, "si": 0, "ss": 0, "V": "NONE",
        "pm": "NONE", "gtd": 0,
    },
}  # fmt: skip
NUMERIC = ("q", "p", "ap", "l", "z", "L", "n", "rp")
BAD_VALUES: list[object] = ["NaN", "nan", "Infinity", "-Infinity", "abc", "", "-5", "1e400", "1e-400", None,
                            [], {}, True, -1, 10**30]  # fmt: skip
MISSING = ("s", "c", "S", "o", "q", "p", "x", "X", "i", "z")


def _mutated(field: str, value: object, *, delete: bool = False) -> dict[str, Any]:
    message = copy.deepcopy(VALID)
    message["o"]["c"] = f"bad-{field}"
    if delete:
        del message["o"][field]
    else:
        message["o"][field] = value
    return message


def _sane(update: OrderUpdated) -> None:
    """What an accepted (possibly odd) message may produce: finite, non-negative, filled within quantity."""
    order = update.order
    assert order.quantity.is_finite() and order.quantity > 0
    assert order.filled.is_finite() and 0 <= order.filled <= order.quantity
    assert order.price is None or (order.price.is_finite() and order.price > 0)
    if update.fill is not None:
        assert update.fill.quantity.is_finite() and update.fill.quantity > 0


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def loopback() -> AsyncIterator[tuple[Any, Any]]:
    venue = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    venue.set_book(BTC, Decimal("60000.0"), Decimal("60000.1"))
    async with loopback_binance(venue) as pair:
        yield pair


CASES = [(f, v, False) for f in ("q", "p", "z", "l", "L") for v in ("NaN", "abc", "-5", "1e400", None)] + [
    (f, None, True) for f in MISSING
]


async def test_malformed_order_pushes_are_refused_and_the_stream_keeps_delivering(loopback: Any) -> None:
    server, ex = loopback
    await ex.load_markets()
    got: list[OrderUpdated] = []
    refused: list[str] = []

    async def collect() -> None:
        while True:
            try:
                got.extend(await ex.watch_orders())
            except (errors.ExchangeError, errors.NetworkError) as exc:
                refused.append(str(exc))

    async def wait_for(cid: str) -> None:
        with anyio.fail_after(5):
            while not any(u.order.client_order_id == cid for u in got):
                await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(collect)
        await anyio.sleep(0.3)
        for n, (field, value, delete) in enumerate(CASES):
            await server.hub.publish_user(_mutated(field, value, delete=delete))
            # after every bad push a good one must still come through: the stream is alive
            good = copy.deepcopy(VALID)
            good["o"]["c"] = f"ok-{n}"
            await server.hub.publish_user(good)
            await wait_for(f"ok-{n}")
        tg.cancel_scope.cancel()
    for update in got:
        _sane(update)
    assert [u.order.client_order_id for u in got if u.order.client_order_id.startswith("ok-")] == [
        f"ok-{n}" for n in range(len(CASES))
    ]
    assert all("unreadable" in r or "stream" in r or "order" in r for r in refused)


@settings(max_examples=300, deadline=None)
@given(
    field=st.sampled_from(NUMERIC + MISSING + ("m", "R", "f", "T", "t")),
    value=st.one_of(
        st.sampled_from(BAD_VALUES),
        st.text(max_size=12),
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    ),
    delete=st.booleans(),
)
def test_adapter_parsing_refuses_or_sanitises_every_mutation(field: str, value: object, delete: bool) -> None:
    from tests.reliability.ccxt_offline import offline_adapter

    ex = offline_adapter()
    known, seen = dict(ex._known), dict(ex._seen_trades)
    message = _mutated(field, value, delete=delete and field in VALID["o"])
    try:
        raw = ex.client.parse_ws_order(message["o"])
    except Exception:
        return  # turns this into a stream error and a REST recovery (the loopback test above proves it)
    try:
        updates = ex.order_updates([raw])
    except errors.ExchangeError as exc:
        assert "unreadable venue answer" in str(exc)
        assert (dict(ex._known), dict(ex._seen_trades)) == (known, seen)  # nothing half-applied
        return
    for update in updates:
        _sane(update)


TRADE: dict[str, Any] = {
    "e": "trade", "E": 1_700_000_000_000, "T": 1_700_000_000_000, "s": "BTCUSDT", "t": 5, "p": "60000.0",
    "q": "0.5", "X": "MARKET", "m": False,
}  # fmt: skip
BOOK: dict[str, Any] = {
    "e": "bookTicker", "u": 10, "s": "BTCUSDT", "b": "60000.0", "B": "1.0", "a": "60000.1", "A": "1.0",
    "T": 1_700_000_000_000, "E": 1_700_000_000_000,
}  # fmt: skip


async def _public_pushes(loopback: Any, kind: str, values: tuple[object, ...]) -> tuple[list[Any], list[str]]:
    server, ex = loopback
    await ex.load_markets()
    base, fields = (TRADE, ("p", "q")) if kind == "trade" else (BOOK, ("b", "B", "a", "A"))

    async def watch() -> Any:
        return await (ex.watch_trades(BTC) if kind == "trade" else ex.watch_bids_asks(BTC))

    got: list[Any] = []
    refused: list[str] = []

    async def collect() -> None:
        while True:
            try:
                got.append(await watch())
            except (errors.ExchangeError, errors.NetworkError) as exc:
                refused.append(str(exc))

    cases = [(f, v) for f in fields for v in values]
    async with anyio.create_task_group() as tg:
        tg.start_soon(collect)
        await anyio.sleep(0.3)
        for n, (field, value) in enumerate(cases):
            await server.hub.publish(f"btcusdt@{kind}", {**base, field: value})
            good = {
                **base,
                "t" if kind == "trade" else "u": 1000 + n,
                "p" if kind == "trade" else "b": "59999.0",
            }
            before = len(got)
            await server.hub.publish(f"btcusdt@{kind}", good)
            with anyio.fail_after(5):  # the good push still arrives: the socket is alive
                while len(got) == before:
                    await anyio.sleep(0.01)
        tg.cancel_scope.cancel()
    return got, refused


def _plausible(kind: str, got: list[Any]) -> None:
    """Nothing delivered has a price or size the venue could not have meant."""
    for item in got:
        for t in item if isinstance(item, list) else [item]:
            prices = [t.price] if kind == "trade" else [t.bid, t.ask]
            sizes = [t.quantity] if kind == "trade" else [t.bid_qty, t.ask_qty]
            assert all(p.is_finite() and 0 < p < 10**9 for p in prices), t
            assert all(q.is_finite() and 0 <= q < 10**9 for q in sizes), t


@pytest.mark.parametrize("kind", ["trade", "bookTicker"])
async def test_malformed_public_pushes_never_become_a_price_and_the_stream_keeps_delivering(
    loopback: Any, kind: str
) -> None:
    values = ("NaN", "abc", None, "-5", "0", "")
    got, refused = await _public_pushes(loopback, kind, values)
    _plausible(kind, got)
    fields = 2 if kind == "trade" else 4
    # every bad push is refused with one clear error, except a zero size on the book (an empty side is real)
    expected = fields * len(values) - (2 if kind == "bookTicker" else 0)
    assert len(refused) == expected, refused
    assert all("unreadable" in r for r in refused)


@pytest.mark.parametrize("kind", ["trade", "bookTicker"])
async def test_an_absurd_but_finite_price_is_refused(loopback: Any, kind: str) -> None:
    # A price above the market's price filter (the loopback's maxPrice is 10,000,000) is not one the venue
    # prints; a size of 1e400 is corrupt. 10000000.1 as a size is large but real (a deep book level).
    got, refused = await _public_pushes(loopback, kind, ("1e400", "10000000.1"))
    _plausible(kind, got)
    prices = 1 if kind == "trade" else 2
    assert len(refused) == prices * 3, refused  # each price field twice, each size field once
    assert sum("above the market's maximum 10000000" in r for r in refused) == prices * 2, refused
    assert all("above" in r and "unreadable" in r for r in refused), refused
