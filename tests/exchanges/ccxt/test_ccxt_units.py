"""Error mapping per venue, URL rewriting, client-id limits, parsing, and the lazy ccxt import."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.exchanges import errors
from opensqt.exchanges.ccxt import VENUES, map_ccxt_error, rewrite_urls
from opensqt.exchanges.ccxt.parse import fill_from_delta, order_from_ccxt
from opensqt.model import OrderStatus, OrderType, Side


def _ccxt_error(cls_name: str, venue: str, body: dict[str, object]) -> BaseException:
    from ccxt.base import errors as cx

    exc: BaseException = getattr(cx, cls_name)(f"{venue} {json.dumps(body)}")
    return exc


@pytest.mark.parametrize(
    ("venue", "ccxt_cls", "body", "ours", "code"),
    [
        ("binanceusdm", "BadRequest", {"code": -5022, "msg": "post only"}, errors.OrderWouldCross, "-5022"),
        (
            "binanceusdm",
            "InsufficientFunds",
            {"code": -2019, "msg": "Margin is insufficient."},
            errors.InsufficientFunds,
            "-2019",
        ),
        (
            "binanceusdm",
            "ExchangeError",
            {"code": -1003, "msg": "Too many requests"},
            errors.RateLimited,
            "-1003",
        ),
        (
            "binanceusdm",
            "ExchangeError",
            {"code": -2011, "msg": "Unknown order sent."},
            errors.OrderNotFound,
            "-2011",
        ),
        (
            "binanceusdm",
            "OrderNotFound",
            {"code": -2013, "msg": "Order does not exist."},
            errors.OrderNotFound,
            "-2013",
        ),
        (
            "binanceusdm",
            "BadRequest",
            {"code": -1021, "msg": "Timestamp outside recvWindow"},
            errors.AuthenticationError,
            "-1021",
        ),
        (
            "binanceusdm",
            "AuthenticationError",
            {"code": -2015, "msg": "Invalid API-key"},
            errors.AuthenticationError,
            "-2015",
        ),
        (
            "binanceusdm",
            "ExchangeError",
            {"code": -4116, "msg": "ClientOrderId is duplicated."},
            errors.DuplicateClientOrderId,
            "-4116",
        ),
        (
            "gate",
            "OrderImmediatelyFillable",
            {"label": "ORDER_POC_IMMEDIATE", "detail": "x"},
            errors.OrderWouldCross,
            "ORDER_POC_IMMEDIATE",
        ),
        (
            "gate",
            "InsufficientFunds",
            {"label": "INSUFFICIENT_AVAILABLE", "message": "x"},
            errors.InsufficientFunds,
            "INSUFFICIENT_AVAILABLE",
        ),
        (
            "okx",
            "ExchangeError",
            {"code": "1", "data": [{"sCode": "51008", "sMsg": "Insufficient"}]},
            errors.InsufficientFunds,
            "51008",
        ),
        ("okx", "ExchangeError", {"code": "50011", "msg": "Too Many Requests"}, errors.RateLimited, "50011"),
        (
            "okx",
            "ExchangeError",
            {"code": "1", "data": [{"sCode": "51016", "sMsg": "Duplicated clOrdId"}]},
            errors.DuplicateClientOrderId,
            "51016",
        ),
        (
            "bybit",
            "InsufficientFunds",
            {"retCode": 110007, "retMsg": "ab not enough"},
            errors.InsufficientFunds,
            "110007",
        ),
        (
            "bybit",
            "OrderNotFound",
            {"retCode": 110001, "retMsg": "order not exists"},
            errors.OrderNotFound,
            "110001",
        ),
        (
            "bybit",
            "InvalidNonce",
            {"retCode": 10002, "retMsg": "timestamp"},
            errors.AuthenticationError,
            "10002",
        ),
        (
            "bitget",
            "InsufficientFunds",
            {"code": "43012", "msg": "Insufficient balance"},
            errors.InsufficientFunds,
            "43012",
        ),
        (
            "bitget",
            "ExchangeError",
            {"code": "40786", "msg": "Duplicate clientOid"},
            errors.DuplicateClientOrderId,
            "40786",
        ),
    ],
)
def test_venue_codes_map_to_our_errors(
    venue: str, ccxt_cls: str, body: dict[str, object], ours: type[errors.VenueError], code: str
) -> None:
    mapped = map_ccxt_error(_ccxt_error(ccxt_cls, venue, body), venue)
    assert type(mapped) is ours
    assert (mapped.code, mapped.venue) == (code, venue)


def test_network_errors_and_secrets() -> None:
    from ccxt.base import errors as cx

    timeout = map_ccxt_error(
        cx.RequestTimeout("binanceusdm GET https://x/fapi/v1/order?signature=abc123"), "binanceusdm"
    )
    assert type(timeout) is errors.RequestTimeout
    assert "abc123" not in str(timeout)
    assert type(map_ccxt_error(cx.ExchangeNotAvailable("down"), "okx")) is errors.NetworkError


def test_rewrite_urls_keeps_paths_and_fills_hostname() -> None:
    api = {
        "rest": "https://{hostname}/api",
        "ws": {"public": "wss://stream.{hostname}/v5/public/linear"},
        "list": ["https://fapi.binance.com/fapi/v1"],
    }
    out = rewrite_urls(api, "http://127.0.0.1:9", "ws://127.0.0.1:9", hostname="bybit.com")
    assert out == {
        "rest": "http://127.0.0.1:9/api",
        "ws": {"public": "ws://127.0.0.1:9/v5/public/linear"},
        "list": ["http://127.0.0.1:9/fapi/v1"],
    }


@pytest.mark.parametrize(
    ("venue", "limit"), [("binanceusdm", 36), ("okx", 32), ("bybit", 36), ("gate", 26), ("bitget", 50)]
)
def test_client_id_length_limits(venue: str, limit: int) -> None:
    spec = VENUES[venue]
    assert spec.check_client_order_id("a" * limit) is None
    reason = spec.check_client_order_id("a" * (limit + 1))
    assert reason is not None and f"at most {limit}" in reason


def test_okx_refuses_punctuation_in_client_ids() -> None:
    assert VENUES["okx"].check_client_order_id("grid-1") is not None
    assert VENUES["okx"].check_client_order_id("grid1") is None


@given(
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), places=1),
    st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), places=1),
)
def test_fill_from_delta_recovers_each_execution_exactly(
    q1: Decimal, q2: Decimal, p1: Decimal, p2: Decimal
) -> None:
    base = {
        "id": "9",
        "clientOrderId": "c",
        "symbol": "BTC/USDT:USDT",
        "side": "buy",
        "type": "limit",
        "amount": str(q1 + q2),
        "price": "100000",
    }
    first = order_from_ccxt({**base, "filled": str(q1), "average": str(p1), "status": "open"})
    avg = (p1 * q1 + p2 * q2) / (q1 + q2)
    second = order_from_ccxt({**base, "filled": str(q1 + q2), "average": str(avg), "status": "closed"})
    fill = fill_from_delta(first, second)
    assert fill is not None and fill.quantity == q2
    # the average carries 28 significant digits; recovering one execution from it scales its last digit by
    # filled / q2 (a 0.001 fill after 115.684 misses by 1e-19: Hypothesis found it)
    assert abs(fill.price - p2) <= avg * (q1 + q2) / q2 * Decimal("1e-27")
    assert second.status is OrderStatus.FILLED and first.status is OrderStatus.PARTIALLY_FILLED
    assert fill_from_delta(second, second) is None  # a replay reports nothing twice


def test_order_parse_refuses_a_bad_number_naming_the_field() -> None:
    with pytest.raises(ValueError, match="order c filled"):
        order_from_ccxt(
            {
                "id": "1",
                "clientOrderId": "c",
                "symbol": "X",
                "side": "buy",
                "type": "limit",
                "amount": "1",
                "price": "1",
                "filled": "abc",
            }
        )
    parsed = order_from_ccxt(
        {
            "id": "1",
            "clientOrderId": "c",
            "symbol": "X",
            "side": "sell",
            "type": "market",
            "amount": "2",
            "filled": "0",
        }
    )
    assert (parsed.type, parsed.side, parsed.price) == (OrderType.MARKET, Side.SELL, None)


def test_importing_exchanges_does_not_import_ccxt() -> None:
    code = (
        "import sys, opensqt.exchanges, opensqt.exchanges.factory, opensqt.exchanges.ccxt; "
        "print('ccxt' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_two_instances_share_neither_limiter_nor_keys() -> None:
    from opensqt.exchanges.factory import build_exchange

    a = build_exchange("binanceusdm", "ccxt", {"api_key": "ka", "secret": "sa"}, {"label": "acct-a"})
    b = build_exchange("binanceusdm", "ccxt", {"api_key": "kb", "secret": "sb"}, {"label": "acct-b"})
    spot = build_exchange("binance", "ccxt", None, {"testnet": True})
    ca, cb = a.client, b.client  # type: ignore[attr-defined]
    assert (a.name, b.name, ca.apiKey, cb.apiKey) == ("acct-a", "acct-b", "ka", "kb")
    assert ca.throttler is not cb.throttler
    assert spot.client.urls["api"]["public"].startswith("https://testnet")  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="password"):
        build_exchange("okx", "ccxt", {"api_key": "k", "secret": "s"})
    with pytest.raises(ValueError, match="unknown keys"):
        build_exchange("okx", "ccxt", None, {"baseurl": "x"})
