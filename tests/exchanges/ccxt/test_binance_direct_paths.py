"""The Binance USDT-M shortcuts on the tick-to-trade path give exactly what the ccxt paths they bypass give:
the direct order stream (ORDER_TRADE_UPDATE taken before ccxt's handler) against ccxt's `watch_orders` result,
on every recorded order push; the ws API's order parameters against ccxt's `create_order_request`; and its
signature against ccxt's `sign_params`."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from opensqt.exchanges.ccxt.adapter import DEFER_ROUNDS
from opensqt.exchanges.ccxt.ws_orders import place_request, sign
from opensqt.exchanges.factory import build_exchange
from opensqt.model import OrderType, PlaceOrder, Side, TimeInForce
from opensqt.testing.fixture_transport import load_json, push_ws

VENUES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "venues" / "binance-usdm"
PUSHES = sorted(VENUES.glob("ws_futures_order_update_*.json"))


class _Socket:
    url = "ws://fixture/private/ws"
    subscriptions: ClassVar[dict[str, Any]] = {}
    futures: ClassVar[dict[str, Any]] = {}

    def resolve(self, *args: Any) -> None:
        raise AssertionError("the direct order stream must not resolve ccxt's futures")

    def reject(self, *args: Any) -> None:
        raise AssertionError(f"rejected: {args}")


def _adapter() -> Any:
    ex = build_exchange("binanceusdm", "ccxt", {"api_key": "key", "secret": "secret"}, {"rate_limit": 0})
    info = load_json(VENUES / "http_futures_market_exchange_info.json")
    ex.client.set_markets(ex.client.parse_markets(info["symbols"]))
    return ex


def test_recorded_pushes_are_found() -> None:
    assert len(PUSHES) >= 9, f"expected the recorded ORDER_TRADE_UPDATE samples under {VENUES}"


@pytest.mark.parametrize("path", PUSHES, ids=[p.stem for p in PUSHES])
def test_direct_order_stream_equals_ccxts_watch_orders(path: Path) -> None:
    message = load_json(path)["data"]
    via_ccxt = _adapter()
    resolved = push_ws(via_ccxt.client, copy.deepcopy(message))
    orders = [o for result, h in resolved if h == "orders" for o in result]
    expected = _outcome(lambda: via_ccxt.order_updates(orders[-1:]))

    direct = _adapter()
    direct._direct_buffers[None] = []  # a reader of every symbol is registered
    assert direct.take_order_push(copy.deepcopy(message)) is True
    # as ccxt's socket calls it: the adapter's guarded handler takes the push, ccxt's handler never runs
    direct._direct_buffers[None].clear()
    direct.client.handle_message(_Socket(), copy.deepcopy(message))
    got = _outcome(lambda: direct.order_updates(direct._direct_buffers[None]))
    # the same updates, or the same refusal (a liquidation push without a quantity is unreadable either way)
    assert got == expected
    assert isinstance(got, tuple) or len(got) == 1


def _outcome(fn: Any) -> Any:
    try:
        return fn()
    except Exception as exc:
        return (type(exc), str(exc))


def test_direct_order_stream_leaves_other_messages_and_other_symbols_alone() -> None:
    ex = _adapter()
    ex._direct_buffers["ETH/USDT:USDT"] = []
    push = load_json(VENUES / "ws_futures_order_update_trade_reduce_only_qty.json")["data"]
    assert ex.take_order_push({"e": "ACCOUNT_UPDATE", "E": 1}) is False
    assert ex.take_order_push({"e": "ORDER_TRADE_UPDATE", "o": {"s": "ETHUSDT"}}) is False  # not USDT-M's
    other = copy.deepcopy(push)
    other["o"]["s"] = "BTCUSDT"
    assert ex.take_order_push(other) is True
    assert ex._direct_buffers["ETH/USDT:USDT"] == []  # a BTC update is not an ETH reader's
    assert ex.take_order_push(copy.deepcopy(push)) is True
    updates = ex.order_updates(ex._direct_buffers["ETH/USDT:USDT"])
    assert [u.order.client_order_id for u in updates] == ["O-12345-test-reduce-only-trade"]


COMMANDS = [
    PlaceOrder("a1", "BTC/USDT:USDT", Side.BUY, Decimal("0.002"), Decimal("60050.0"),
               time_in_force=TimeInForce.POST_ONLY),
    PlaceOrder("a2", "BTC/USDT:USDT", Side.SELL, Decimal("0.002"), Decimal("60050.0")),
    PlaceOrder("a3", "BTC/USDT:USDT", Side.SELL, Decimal("0.010"), Decimal("60050.10"),
               time_in_force=TimeInForce.IOC, reduce_only=True),
    PlaceOrder("a4", "BTC/USDT:USDT", Side.BUY, Decimal("1.000"), Decimal("59999.9"),
               time_in_force=TimeInForce.FOK),
    PlaceOrder("a5", "BTC/USDT:USDT", Side.SELL, Decimal("0.002"), None, OrderType.MARKET, reduce_only=True),
    PlaceOrder("a6", "ETH/USDT:USDT", Side.BUY, Decimal("0.1"), Decimal("2500.00"),
               time_in_force=TimeInForce.POST_ONLY),
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=[c.client_order_id for c in COMMANDS])
def test_ws_order_parameters_equal_ccxts_request(command: PlaceOrder) -> None:
    ex = _adapter()
    client = ex.client
    market = client.market(command.symbol)
    tick, lot = Decimal(market["precision"]["price"]), Decimal(market["precision"]["amount"])
    params = ex._order_params(command)
    price = str(command.price) if command.price is not None else None
    expected = client.create_order_request(
        command.symbol,
        command.type.value,
        command.side.value,
        str(command.quantity),
        price,
        {**params, "isAlgoOrder": False},
    )
    assert place_request(command, market["id"], command.client_order_id, tick, lot) == expected


def test_ws_order_parameters_off_the_tick_are_left_to_ccxt() -> None:
    off = PlaceOrder("b1", "BTC/USDT:USDT", Side.BUY, Decimal("0.002"), Decimal("60050.05"))
    assert place_request(off, "BTCUSDT", "b1", Decimal("0.1"), Decimal("0.001")) is None
    odd_lot = PlaceOrder("b2", "BTC/USDT:USDT", Side.BUY, Decimal("0.0025"), Decimal("60050.0"))
    assert place_request(odd_lot, "BTCUSDT", "b2", Decimal("0.1"), Decimal("0.001")) is None


def test_signature_equals_ccxts_sign_params() -> None:
    ex = _adapter()
    client = ex.client
    client.nonce = lambda: 1_700_000_000_123
    params = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "newClientOrderId": "x-1:a/b",
        "type": "LIMIT",
        "quantity": "0.002",
        "price": "60050",
        "timeInForce": "GTX",
        "reduceOnly": True,
        "returnRateLimits": False,
    }
    expected = client.sign_params(dict(params))
    got = sign(dict(params), "key", b"secret", 1_700_000_000_123, client.options["recvWindow"])
    assert got == expected
    assert ex.ws_orders is None  # REST order entry by default


class _Rejects(_Socket):
    def __init__(self) -> None:
        self.rejected: list[str] = []

    def reject(self, *args: Any) -> None:
        self.rejected.append(str(args[0]))


def test_messages_after_an_order_push_wait_for_the_reader_then_reach_ccxt_in_order() -> None:
    import asyncio

    ex = _adapter()
    ex._direct_buffers[None] = []
    handled: list[Any] = []

    def ccxt_handler(ws: Any, message: Any) -> None:
        if message.get("bad"):
            raise ValueError("unreadable")
        handled.append(message["n"])

    guarded = ex._guarded(ccxt_handler)
    push = load_json(VENUES / "ws_futures_order_update_trade_reduce_only_qty.json")["data"]
    sock = _Rejects()

    async def scenario() -> list[list[Any]]:
        seen = []
        guarded(sock, {"e": "ACCOUNT_UPDATE", "n": 0})  # no push before it: straight to ccxt
        guarded(sock, copy.deepcopy(push))  # taken: the reader is woken
        guarded(sock, {"e": "ACCOUNT_UPDATE", "n": 1})
        guarded(sock, {"e": "ACCOUNT_UPDATE", "n": 2, "bad": True})
        guarded(sock, {"e": "ACCOUNT_UPDATE", "n": 3})
        seen.append(list(handled))
        for _ in range(DEFER_ROUNDS):  # the reader's passes and the order worker's; the held messages follow
            await asyncio.sleep(0)
            seen.append(list(handled))
        return seen

    assert asyncio.run(scenario()) == [[0]] * DEFER_ROUNDS + [[0, 1, 3]]
    assert len(ex._direct_buffers[None]) == 1  # the push went to the direct stream at once
    assert sock.rejected == ["binanceusdm: unreadable stream message"]  # the bad one dropped, as inline
