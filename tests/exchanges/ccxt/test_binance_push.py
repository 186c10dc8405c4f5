"""The direct order stream reads the grid's limit-order pushes itself (`limit_order_from_push`): what it
gives must be what ccxt's `parse_ws_order` path gives, on every recorded push and on generated ones; and any
push it does not read falls through to ccxt's parser."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.exchanges.ccxt.binance_push import limit_order_from_push
from opensqt.testing.fixture_transport import load_json
from tests.exchanges.ccxt.test_binance_direct_paths import PUSHES, _adapter, _outcome

ADAPTER = _adapter()


def _both(o: dict[str, Any]) -> tuple[Any, Any]:
    """(the direct stream's updates, ccxt's parse of the same push through the same adapter path)."""
    direct, via_ccxt = _adapter(), _adapter()
    direct._direct_buffers[None] = []
    message = {"e": "ORDER_TRADE_UPDATE", "E": 1, "T": 1, "o": copy.deepcopy(o)}

    def read() -> Any:
        if not direct.take_order_push(message):
            return "not taken"
        return direct.order_updates(direct._direct_buffers[None])

    got = _outcome(read)
    expected = _outcome(lambda: via_ccxt.order_updates([via_ccxt.client.parse_ws_order(copy.deepcopy(o))]))
    return got, expected


def test_recorded_limit_pushes_are_read_here_and_the_others_left_to_ccxt() -> None:
    read = []
    for path in PUSHES:
        o = load_json(path)["data"]["o"]
        order = limit_order_from_push(o, ADAPTER.client.safe_symbol(o["s"], None, None, "contract"))
        if order is not None:
            read.append(path.stem.removeprefix("ws_futures_order_update_"))
        got, expected = _both(o)
        assert got == expected, path.stem
    # the plain limit orders; market, stop and liquidation orders are left to ccxt
    assert read == ["new_price_match", "new_reduce_only_qty", "trade_reduce_only_qty"]


def _decimal_text(places: int, low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: str(Decimal(n).scaleb(-places)))


@st.composite
def limit_pushes(draw: st.DrawFn) -> dict[str, Any]:
    q = draw(st.integers(1, 5_000))
    z = draw(st.integers(0, q))
    last = draw(st.integers(0, z))
    price = draw(_decimal_text(1, 1, 10**7))
    o: dict[str, Any] = {
        "s": draw(st.sampled_from(["BTCUSDT", "ETHUSDT"])),
        "c": draw(st.from_regex(r"[A-Za-z0-9_-]{1,36}", fullmatch=True)),
        "S": draw(st.sampled_from(["BUY", "SELL"])),
        "o": "LIMIT",
        "f": draw(st.sampled_from(["GTC", "GTX", "IOC", "FOK", "GTD"])),
        "q": str(Decimal(q).scaleb(-3)),
        "p": price,
        "ap": draw(st.sampled_from(["0", "0.00000", price, draw(_decimal_text(5, 1, 10**12))])),
        "sp": "0",
        "x": draw(st.sampled_from(["NEW", "TRADE", "CANCELED", "EXPIRED", "AMENDMENT"])),
        "X": draw(
            st.sampled_from(
                ["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "EXPIRED_IN_MATCH", "REJECTED"]
            )
        ),
        "i": draw(st.integers(1, 2**62)),
        "l": str(Decimal(last).scaleb(-3)),
        "z": str(Decimal(z).scaleb(-3)),
        "L": draw(st.sampled_from(["0", price])),
        "n": draw(st.sampled_from(["0", "0.01200000", "0.00120000"])),
        "T": draw(st.integers(1_600_000_000_000, 1_900_000_000_000)),
        "t": draw(st.integers(0, 2**40)),
        "b": "0",
        "a": "0",
        "m": draw(st.booleans()),
        "R": draw(st.booleans()),
        "wt": "CONTRACT_PRICE",
        "ot": "LIMIT",
        "ps": "BOTH",
        "cp": False,
        "rp": draw(st.sampled_from(["0", "-1.25", "3.40000000"])),
    }
    if draw(st.booleans()):
        o["N"] = "USDT"
    if draw(st.integers(0, 9)) == 0:
        o["C"] = draw(st.sampled_from(["", "orig-id-1"]))
    if draw(st.integers(0, 9)) == 0:  # a field missing or malformed: ccxt's parser must decide
        key = draw(st.sampled_from(["q", "p", "z", "ap", "T", "i", "c", "S", "X", "f"]))
        o[key] = draw(st.sampled_from([None, "", "abc", 1.5, "NaN", "-1"]))
    return o


@settings(max_examples=400, deadline=None)
@given(limit_pushes())
def test_generated_limit_pushes_read_as_ccxt_reads_them(o: dict[str, Any]) -> None:
    got, expected = _both(o)
    assert got == expected
