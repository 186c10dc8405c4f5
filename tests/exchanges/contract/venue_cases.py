"""The venues under contract: how to build each, and the exact values its fixtures must produce."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from opensqt.exchanges.base import Exchange
from opensqt.model import OrderStatus
from opensqt.testing.binance_server import MemoryVenue, default_instruments
from opensqt.testing.binance_server.harness import loopback_binance
from opensqt.testing.fixture_transport import Canned, FixtureTransport, load_capture, load_json

VENUES = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "venues"
# Documented payloads for venues without recorded traffic; each folder's README names its sources.
PAYLOADS = Path(__file__).resolve().parent / "payloads"


@dataclass
class Case:
    """One venue: a builder yielding (exchange, hooks) and what the shared assertions expect from it."""

    name: str
    build: Callable[[], Any]
    symbol: str
    tick: Decimal
    lot: Decimal
    balance_usdt: Decimal
    order_price: Decimal
    order_qty: Decimal
    funding_rate: Decimal
    funding_hours: Decimal
    # A recorded order push (None: the venue pushes through its real stream) and what it must parse to.
    push: dict[str, Any] | None = None
    push_expect: tuple[str, OrderStatus, Decimal] | None = None
    push_fill: tuple[str, Decimal, Decimal] | None = None  # (trade id, price, qty) or None: no fill
    hooks: dict[str, Any] = field(default_factory=dict)
    # The sim venue schedules funding from its market data; with none attached it has no next time.
    next_funding_known: bool = True


# --- the simulated venue (opensqt.exchanges.sim), directly and behind the loopback server ------------------


def _sim_exchange() -> tuple[Any, Callable[[str], None]]:
    from opensqt.exchanges.sim import DEFAULT_INSTRUMENTS, SimExchange, SimVenue

    venue = SimVenue(list(DEFAULT_INSTRUMENTS.values()), balances={"USDT": Decimal(1000)})

    def reject(kind: str) -> None:
        if kind == "margin":
            venue.account.wallet["USDT"] = Decimal(0)

    return SimExchange(venue), reject


@asynccontextmanager
async def _sim() -> AsyncIterator[tuple[Exchange, dict[str, Any]]]:
    exchange, reject = _sim_exchange()
    yield exchange, {"reject": reject}


@asynccontextmanager
async def _sim_loopback() -> AsyncIterator[tuple[Exchange, dict[str, Any]]]:
    backend, reject = _sim_exchange()
    async with loopback_binance(backend) as (_, exchange):
        yield exchange, {"reject": reject}


# --- memory venue (the loopback server's own small backend) -------------------------------------------------


def _memory_venue() -> tuple[MemoryVenue, dict[str, Any]]:
    """The loopback server's small backend with a book, and its fault control (`reject("margin")`)."""
    venue = MemoryVenue(default_instruments(3), balance=Decimal(1000))
    venue.set_book("BTC/USDT:USDT", Decimal("60000.0"), Decimal("60000.1"))

    def reject(kind: str) -> None:
        if kind == "margin":
            venue._wallet = Decimal(0)

    return venue, {"reject": reject}


@asynccontextmanager
async def _memory() -> AsyncIterator[tuple[Exchange, dict[str, Any]]]:
    yield _memory_venue()


# --- binanceusdm: the real ccxt client against the loopback server ---------------------------------------


@asynccontextmanager
async def _binance() -> AsyncIterator[tuple[Exchange, dict[str, Any]]]:
    venue, controls = _memory_venue()
    async with loopback_binance(venue) as (_, exchange):
        yield exchange, controls


@asynccontextmanager
async def _binance_ws() -> AsyncIterator[tuple[Exchange, dict[str, Any]]]:
    """As `_binance`, with single orders placed and cancelled over the ws API (`order_entry: websocket`)."""
    venue, controls = _memory_venue()
    async with loopback_binance(venue, options={"order_entry": "websocket"}) as (server, exchange):
        await exchange.load_markets()
        assert await exchange.ws_orders.wait_ready()
        yield exchange, controls
        # every order call of the shared contract went over the ws API, none over REST
        assert not [r for r in server.requests if r[1] == "/fapi/v1/order"], server.requests


# --- okx and bybit: ccxt fed recorded payloads --------------------------------------------------------------


def _okx_transport() -> FixtureTransport:
    t = FixtureTransport()
    t.add(
        "GET", "/api/v5/public/instruments", Canned(load_json(VENUES / "okx/http_get_instruments_swap.json"))
    )
    t.add("GET", "/api/v5/account/balance", Canned(load_json(VENUES / "okx/http_get_account_balance.json")))
    placed = load_json(VENUES / "okx/http_place_order_response.json")

    def place(p: dict[str, str]) -> Canned:
        # ccxt sends single orders through batch-orders (its default `createOrder` method for okx).
        cid = p.get("clOrdId") or json.loads(p.get("data", "[{}]") if p.get("data") else "[{}]")[0].get(
            "clOrdId", ""
        )
        return Canned({"code": "0", "msg": "", "data": [{**placed, "clOrdId": cid}]})

    t.add("POST", "/api/v5/trade/order", place)
    t.add("POST", "/api/v5/trade/batch-orders", place)
    t.add(
        "POST",
        "/api/v5/trade/cancel-order",
        lambda p: Canned(
            {
                "code": "0",
                "msg": "",
                "data": [
                    {"ordId": placed["ordId"], "clOrdId": p.get("clOrdId", ""), "sCode": "0", "sMsg": ""}
                ],
            }
        ),
    )
    # Documented shape of GET /api/v5/public/funding-rate (OKX v5 docs).
    t.add(
        "GET",
        "/api/v5/public/funding-rate",
        Canned(
            {
                "code": "0",
                "msg": "",
                "data": [
                    {
                        "instId": "BTC-USDT-SWAP",
                        "instType": "SWAP",
                        "fundingRate": "0.0001",
                        "nextFundingRate": "",
                        "fundingTime": "1700006400000",
                        "nextFundingTime": "1700035200000",
                        "method": "current_period",
                        "minFundingRate": "-0.00375",
                        "maxFundingRate": "0.00375",
                        "settState": "settled",
                        "settFundingRate": "0.0001",
                        "premium": "0.0001",
                        "interestRate": "0.0001",
                        "impactValue": "",
                        "formulaType": "noRate",
                        "ts": "1700000000000",
                    }
                ],
            }
        ),
    )
    return t


def _okx_reject(t: FixtureTransport, kind: str) -> None:
    if kind == "margin":
        refused = Canned(
            {
                "code": "1",
                "msg": "All operations failed",
                "data": [
                    {
                        "ordId": "",
                        "clOrdId": "c",
                        "sCode": "51008",
                        "sMsg": "Order failed. Insufficient USDT margin",
                    }
                ],
            }
        )
        t.add("POST", "/api/v5/trade/order", refused)
        t.add("POST", "/api/v5/trade/batch-orders", refused)
    elif kind == "unknown":
        t.add(
            "POST",
            "/api/v5/trade/cancel-order",
            Canned(
                {
                    "code": "1",
                    "msg": "",
                    "data": [
                        {
                            "ordId": "",
                            "clOrdId": "c",
                            "sCode": "51400",
                            "sMsg": "Cancellation failed as the order does not exist",
                        }
                    ],
                }
            ),
        )


def _bybit_transport() -> FixtureTransport:
    t = FixtureTransport()
    t.add(
        "GET",
        "/v5/market/instruments-info",
        Canned(load_json(VENUES / "bybit/http_get_instruments_linear.json")),
    )
    t.add(
        "GET", "/v5/account/wallet-balance", Canned(load_json(VENUES / "bybit/http_get_wallet_balance.json"))
    )
    t.add("GET", "/v5/user/query-api", Canned(load_json(VENUES / "bybit/http_get_user_query_api.json")))
    t.add("GET", "/v5/account/info", Canned(load_json(VENUES / "bybit/http_get_account_info.json")))
    ok = {"retCode": 0, "retMsg": "OK", "retExtInfo": {}, "time": 1700000000000}
    t.add(
        "POST",
        "/v5/order/create",
        lambda p: Canned(
            {**ok, "result": {"orderId": "1321003749386327552", "orderLinkId": p.get("orderLinkId", "")}}
        ),
    )
    t.add(
        "POST",
        "/v5/order/cancel",
        lambda p: Canned(
            {**ok, "result": {"orderId": "1321003749386327552", "orderLinkId": p.get("orderLinkId", "")}}
        ),
    )
    # Documented shape of GET /v5/market/tickers?category=linear (Bybit v5 docs).
    t.add(
        "GET",
        "/v5/market/tickers",
        Canned(
            {
                **ok,
                "result": {
                    "category": "linear",
                    "list": [
                        {
                            "symbol": "BTCUSDT",
                            "lastPrice": "30000.00",
                            "indexPrice": "30001.00",
                            "markPrice": "30000.50",
                            "prevPrice24h": "29500.00",
                            "price24hPcnt": "0.016949",
                            "highPrice24h": "30100.00",
                            "lowPrice24h": "29400.00",
                            "prevPrice1h": "29990.00",
                            "openInterest": "1000",
                            "openInterestValue": "30000500",
                            "turnover24h": "150000000",
                            "volume24h": "5000",
                            "fundingRate": "0.0001",
                            "fundingIntervalHour": "8",
                            "nextFundingTime": "1700035200000",
                            "predictedDeliveryPrice": "",
                            "basisRate": "",
                            "deliveryFeeRate": "",
                            "deliveryTime": "0",
                            "ask1Size": "1",
                            "bid1Price": "30000.00",
                            "ask1Price": "30000.10",
                            "bid1Size": "1",
                            "basis": "",
                        }
                    ],
                },
            }
        ),
    )
    return t


def _bybit_reject(t: FixtureTransport, kind: str) -> None:
    base = {"retExtInfo": {}, "time": 1700000000000, "result": {}}
    if kind == "margin":
        t.add(
            "POST",
            "/v5/order/create",
            Canned({**base, "retCode": 110007, "retMsg": "ab not enough for new order"}),
        )
    elif kind == "unknown":
        t.add(
            "POST",
            "/v5/order/cancel",
            Canned({**base, "retCode": 110001, "retMsg": "order not exists or too late"}),
        )


# --- bitget: ccxt fed documented payloads (payloads/bitget/README.md) ---------------------------------------


def _error(venue: str, name: str) -> Canned:
    """One venue error answer from payloads/<venue>/errors.json, with its HTTP status."""
    entry = load_json(PAYLOADS / venue / "errors.json")[name]
    return Canned(entry["body"], entry["status"])


def _bitget_transport() -> FixtureTransport:
    t = FixtureTransport()
    contracts = load_json(PAYLOADS / "bitget/contracts_usdt_futures.json")
    # ccxt asks every product type (live and demo); only USDT-FUTURES has markets in this account.
    t.add(
        "GET",
        "/api/v2/mix/market/contracts",
        lambda p: Canned(contracts if p.get("productType") == "USDT-FUTURES" else {**contracts, "data": []}),
    )
    t.add(
        "GET",
        "/api/v2/mix/account/accounts",
        Canned(load_json(PAYLOADS / "bitget/accounts_usdt_futures.json")),
    )
    placed = load_json(PAYLOADS / "bitget/place_order.json")
    canceled = load_json(PAYLOADS / "bitget/cancel_order.json")

    def echo(answer: dict[str, Any]) -> Callable[[dict[str, str]], Canned]:
        # The venue answers with the clientOid it was sent.
        return lambda p: Canned({**answer, "data": {**answer["data"], "clientOid": p.get("clientOid", "")}})

    t.add("POST", "/api/v2/mix/order/place-order", echo(placed))
    t.add("POST", "/api/v2/mix/order/cancel-order", echo(canceled))
    t.add(
        "GET",
        "/api/v2/mix/market/current-fund-rate",
        Canned(load_json(PAYLOADS / "bitget/current_fund_rate.json")),
    )
    return t


def _bitget_reject(t: FixtureTransport, kind: str) -> None:
    if kind == "margin":
        t.add("POST", "/api/v2/mix/order/place-order", _error("bitget", "insufficient_margin"))
    elif kind == "unknown":
        t.add("POST", "/api/v2/mix/order/cancel-order", _error("bitget", "unknown_order_cancel"))


# --- gate: ccxt fed the cryptofeed capture (markets, funding) and documented payloads (account, orders) -----

_GATE_CAPTURE = VENUES / "cryptofeed-captures/GATEIO_FUTURES.0"
_GATE_CONTRACTS_URL = "https://api.gateio.ws/api/v4/futures/usdt/contracts"


def _gate_transport() -> FixtureTransport:
    t = FixtureTransport()
    contracts = load_capture(_GATE_CAPTURE, _GATE_CONTRACTS_URL)
    t.add("GET", "/api/v4/futures/usdt/contracts", Canned(contracts))
    t.add("GET", "/api/v4/futures/btc/contracts", Canned([]))  # ccxt also asks the BTC-settled list
    btc = next(c for c in contracts if c["name"] == "BTC_USDT")
    t.add("GET", "/api/v4/futures/usdt/contracts/BTC_USDT", Canned(btc))
    t.add(
        "GET",
        "/api/v4/futures/usdt/accounts",
        Canned(load_json(PAYLOADS / "gate/futures_usdt_accounts.json")),
    )
    order = load_json(PAYLOADS / "gate/futures_order_open.json")

    def place(p: dict[str, str]) -> Canned:
        return Canned({**order, "text": p["text"], "size": int(p["size"]), "left": int(p["size"])}, 201)

    t.add("POST", "/api/v4/futures/usdt/orders", place)
    # Gate cancels by `text` in place of the order id: DELETE /orders/t-<client id>.
    t.add(
        "DELETE",
        "/api/v4/futures/usdt/orders/t-contract1",
        Canned({**order, "status": "finished", "finish_as": "cancelled", "finish_time": 1732060803.012}),
    )
    return t


def _gate_reject(t: FixtureTransport, kind: str) -> None:
    if kind == "margin":
        t.add("POST", "/api/v4/futures/usdt/orders", _error("gate", "insufficient_margin"))
    elif kind == "unknown":
        t.add("DELETE", "/api/v4/futures/usdt/orders/t-never-placed", _error("gate", "unknown_order"))


def _fixture_builder(
    venue: str, transport: Callable[[], FixtureTransport], reject: Callable[[FixtureTransport, str], None]
) -> Callable[[], Any]:
    @asynccontextmanager
    async def build() -> AsyncIterator[tuple[Exchange, dict[str, Any]]]:
        from opensqt.exchanges.factory import build_exchange

        exchange = build_exchange(
            venue, "ccxt", {"api_key": "k", "secret": "s", "password": "p"}, {"rate_limit": 0}
        )
        t = transport()
        t.install(exchange.client)  # type: ignore[attr-defined]
        try:
            yield exchange, {"reject": lambda kind: reject(t, kind), "transport": t}
        finally:
            await exchange.close()
            assert t.missing == [], f"{venue}: calls without a fixture: {t.missing}"

    return build


def _push(path: str, root: Path = VENUES) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((root / path).read_text())
    return payload


CASES = [
    Case(
        "sim",
        _sim,
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal(1000),
        Decimal("59000.0"),
        Decimal("0.010"),
        Decimal(0),
        Decimal(8),
        next_funding_known=False,
    ),
    Case(
        "binanceusdm-loopback-sim",
        _sim_loopback,
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal(1000),
        Decimal("59000.0"),
        Decimal("0.010"),
        Decimal(0),
        Decimal(8),
        next_funding_known=False,
    ),
    Case(
        "memory",
        _memory,
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal(1000),
        Decimal("59000.0"),
        Decimal("0.010"),
        Decimal("0.0001"),
        Decimal(8),
    ),
    Case(
        "binanceusdm-loopback",
        _binance,
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal(1000),
        Decimal("59000.0"),
        Decimal("0.010"),
        Decimal("0.0001"),
        Decimal(8),
        push=_push("binance-usdm/ws_futures_order_update_trade_reduce_only_qty.json")["data"],
        push_expect=("O-12345-test-reduce-only-trade", OrderStatus.FILLED, Decimal("1.000")),
        push_fill=("9988776655", Decimal("2500.00"), Decimal("1.000")),
    ),
    Case(
        "binanceusdm-loopback-ws",
        _binance_ws,
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal(1000),
        Decimal("59000.0"),
        Decimal("0.010"),
        Decimal("0.0001"),
        Decimal(8),
    ),
    Case(
        "okx-fixture",
        _fixture_builder("okx", _okx_transport, _okx_reject),
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.01"),
        Decimal("99.89469657000001"),
        Decimal("59000.0"),
        Decimal("1"),
        Decimal("0.0001"),
        Decimal(8),
        push=_push("okx/ws_orders.json"),
        push_expect=("001BTCUSDT20250106001", OrderStatus.FILLED, Decimal("0.03")),
        push_fill=("1518905529", Decimal("103698.9"), Decimal("0.03")),
    ),
    Case(
        "bybit-fixture",
        _fixture_builder("bybit", _bybit_transport, _bybit_reject),
        "BTC/USDT:USDT",
        Decimal("0.5"),
        Decimal("0.001"),
        Decimal("1000.50"),
        Decimal("59000.0"),
        Decimal("0.010"),
        Decimal("0.0001"),
        Decimal(8),
        push=_push("bybit/ws_account_order.json"),
        push_expect=("client-1", OrderStatus.CANCELED, Decimal("0")),
    ),
    Case(
        "bitget-fixture",
        _fixture_builder("bitget", _bitget_transport, _bitget_reject),
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("0.0001"),
        Decimal("1843.75162201"),
        Decimal("59000.0"),
        Decimal("0.0150"),
        Decimal("0.000068"),
        Decimal(8),
        push=_push("bitget/ws_orders_filled.json", PAYLOADS),
        push_expect=("grid0007b1", OrderStatus.FILLED, Decimal("0.0150")),
        push_fill=("1233932966658228225", Decimal("59000.0"), Decimal("0.0150")),
    ),
    Case(
        "gate-fixture",
        _fixture_builder("gate", _gate_transport, _gate_reject),
        "BTC/USDT:USDT",
        Decimal("0.1"),
        Decimal("1"),  # gate trades whole contracts; BTC_USDT's contract is 0.0001 BTC
        Decimal("2513.38940127"),
        Decimal("59000.0"),
        Decimal("10"),
        Decimal("0.000086"),
        Decimal(8),
        push=_push("gate/ws_futures_orders_filled.json", PAYLOADS),
        # gate's order stream states no execution of its own: the fill is inferred from the filled size
        push_expect=("grid0007b1", OrderStatus.FILLED, Decimal("10")),
        push_fill=("58828563214:10", Decimal("59000"), Decimal("10")),
    ),
]
