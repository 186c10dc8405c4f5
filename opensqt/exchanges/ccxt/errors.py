"""Map ccxt exceptions and venue error codes onto opensqt's two error families.

ccxt's own maps are a fallback: its binance tables classify -5022 (post-only) and -1003 (rate limit)
as generic errors, so a per-venue table keyed on the venue's code decides first.
"""

from __future__ import annotations

import json
import re
from typing import Any

from opensqt.exchanges import errors as ours

_E = type[ours.VenueError]

# Venue code -> our error class. Codes are strings as the venues send them (binance sends ints).
VENUE_CODES: dict[str, dict[str, _E]] = {
    "binance": {
        "-5022": ours.OrderWouldCross,  # post-only order could not be executed as maker
        "-2010": ours.InvalidOrder,  # spot: NEW_ORDER_REJECTED; the message refines it (_BY_MESSAGE)
        "-2019": ours.InsufficientFunds,  # Margin is insufficient
        "-2018": ours.InsufficientFunds,  # Balance is insufficient
        "-1003": ours.RateLimited,  # Too many requests
        "-1015": ours.RateLimited,  # Too many new orders
        "-2011": ours.OrderNotFound,  # Unknown order sent (cancel)
        "-2013": ours.OrderNotFound,  # Order does not exist (query)
        "-1021": ours.AuthenticationError,  # Timestamp outside of recvWindow
        "-1022": ours.AuthenticationError,  # Signature not valid
        "-2014": ours.AuthenticationError,  # API-key format invalid
        "-2015": ours.AuthenticationError,  # Invalid API-key, IP, or permissions
        "-4015": ours.InvalidOrder,  # Client order id is not valid
        "-4116": ours.DuplicateClientOrderId,  # ClientOrderId is duplicated
        "-4061": ours.PositionModeError,  # Order's position side does not match user's setting
        "-1111": ours.InvalidOrder,  # Precision is over the maximum defined for this asset
        "-4164": ours.InvalidOrder,  # Order's notional must be no smaller than the minimum
        "-2022": ours.InvalidOrder,  # ReduceOnly order is rejected
        "-1121": ours.InvalidOrder,  # Invalid symbol
    },
    "gate": {
        # Labels from Gate's API v4 error list; bodies are {"label": ..., "message" | "detail": ...}.
        "ORDER_POC_IMMEDIATE": ours.OrderWouldCross,  # futures: post-only (tif=poc) order would take
        "POC_FILL_IMMEDIATELY": ours.OrderWouldCross,  # spot's label for the same
        "INSUFFICIENT_AVAILABLE": ours.InsufficientFunds,
        "BALANCE_NOT_ENOUGH": ours.InsufficientFunds,
        "MARGIN_BALANCE_NOT_ENOUGH": ours.InsufficientFunds,
        "FUTURES_BALANCE_NOT_ENOUGH": ours.InsufficientFunds,
        "TOO_MANY_REQUESTS": ours.RateLimited,
        "TOO_FAST": ours.RateLimited,
        "ORDER_NOT_FOUND": ours.OrderNotFound,
        "CLIENT_ID_NOT_FOUND": ours.OrderNotFound,
        "ORDER_FINISHED": ours.OrderNotFound,  # cancel of an order already filled or cancelled: gone
        "INVALID_KEY": ours.AuthenticationError,
        "INVALID_SIGNATURE": ours.AuthenticationError,
        "INVALID_CREDENTIALS": ours.AuthenticationError,
        "AUTHENTICATION_FAILED": ours.AuthenticationError,
        "IP_FORBIDDEN": ours.AuthenticationError,
        "REQUEST_EXPIRED": ours.AuthenticationError,  # timestamp more than 60 s from the server's
        "AUTO_TRIGGER_PRICE_LESS_LAST": ours.InvalidOrder,
        "INCREASE_POSITION": ours.InvalidOrder,  # reduce-only order would increase the position
        "POSITION_DUAL_MODE": ours.PositionModeError,
        "POSITION_HOLDING": ours.PositionModeError,
        "DUPLICATE_REQUEST": ours.DuplicateClientOrderId,
    },
    "okx": {
        "51008": ours.InsufficientFunds,
        "51119": ours.InsufficientFunds,
        "51131": ours.InsufficientFunds,
        "51127": ours.InsufficientFunds,
        "50011": ours.RateLimited,
        "50061": ours.RateLimited,
        "51400": ours.OrderNotFound,
        "51401": ours.OrderNotFound,
        "51402": ours.OrderNotFound,
        "51603": ours.OrderNotFound,
        "51016": ours.DuplicateClientOrderId,  # Duplicated clOrdId
        "50102": ours.AuthenticationError,  # Timestamp request expired
        "50111": ours.AuthenticationError,
        "50113": ours.AuthenticationError,
        "51000": ours.InvalidOrder,  # Parameter error
        "51121": ours.InvalidOrder,  # Order quantity must be a multiple of the lot size
        "51169": ours.InvalidOrder,  # reduce-only: no position to reduce
    },
    "bybit": {
        "110007": ours.InsufficientFunds,
        "110004": ours.InsufficientFunds,
        "110012": ours.InsufficientFunds,
        "110044": ours.InsufficientFunds,
        "10006": ours.RateLimited,
        "10018": ours.RateLimited,
        "110001": ours.OrderNotFound,
        "110072": ours.DuplicateClientOrderId,  # OrderLinkedID is duplicate
        "10002": ours.AuthenticationError,  # request expired: timestamp / recv_window
        "10003": ours.AuthenticationError,
        "10004": ours.AuthenticationError,
        "110025": ours.PositionModeError,  # position mode not modified / mismatch
        "10001": ours.InvalidOrder,
        "110017": ours.InvalidOrder,  # reduce-only would increase position
    },
    "bitget": {
        # Codes from Bitget's v2 REST error list; bodies are {"code", "msg", "requestTime", "data": null}.
        # No post-only code: Bitget accepts a crossing post_only order and cancels it (order channel).
        "40762": ours.InsufficientFunds,  # The order amount exceeds the balance
        "43012": ours.InsufficientFunds,  # Insufficient balance
        "40711": ours.InsufficientFunds,  # Insufficient contract account balance
        "40712": ours.InsufficientFunds,  # Insufficient margin
        "429": ours.RateLimited,  # Too Many Requests (HTTP 429)
        "1001": ours.RateLimited,  # The request is too frequent and has been throttled
        "40768": ours.OrderNotFound,  # Order does not exist (cancel)
        "40109": ours.OrderNotFound,  # The data of the order cannot be found (query)
        "43001": ours.OrderNotFound,  # The order does not exist
        "22001": ours.OrderNotFound,  # No order to cancel
        "43025": ours.OrderNotFound,  # plan order does not exist
        "43004": ours.OrderNotFound,
        "40786": ours.DuplicateClientOrderId,  # Duplicate clientOid
        "40004": ours.AuthenticationError,  # Request timestamp expired
        "40005": ours.AuthenticationError,  # Invalid ACCESS_TIMESTAMP
        "40008": ours.AuthenticationError,  # Request timestamp expired
        "40006": ours.AuthenticationError,  # Invalid ACCESS_KEY
        "40009": ours.AuthenticationError,  # sign signature error
        "40012": ours.AuthenticationError,  # apikey/password is incorrect
        "40026": ours.AuthenticationError,  # User is disabled (not a rate limit)
        "40037": ours.AuthenticationError,  # Apikey does not exist
        "40774": ours.PositionModeError,  # order type for unilateral position must also be unilateral
        "40757": ours.InvalidOrder,  # Not enough position is available (reduce-only with no position)
        "43111": ours.InvalidOrder,
    },
}
VENUE_CODES["binanceusdm"] = VENUE_CODES["binance"]

# Codes a venue uses for several causes: the message decides (first match), else the code's table entry.
# Binance spot answers every refused new order with -2010 NEW_ORDER_REJECTED and says why in `msg`.
_BY_MESSAGE: dict[tuple[str, str], tuple[tuple[re.Pattern[str], _E], ...]] = {
    ("binance", "-2010"): (
        (re.compile(r"insufficient balance", re.IGNORECASE), ours.InsufficientFunds),
        (re.compile(r"immediately match", re.IGNORECASE), ours.OrderWouldCross),
    ),
}
_BY_MESSAGE[("binanceusdm", "-2010")] = _BY_MESSAGE[("binance", "-2010")]

# Payload fields carrying the venue's code, first found wins (okx: per-order codes in data[0].sCode).
_CODE_FIELDS = ("sCode", "code", "retCode", "label")


def _ccxt_fallback() -> list[tuple[type[BaseException], _E]]:
    # Imported here: ccxt is heavy and only real venues need it. Order matters: subclasses first.
    from ccxt.base import errors as cx

    return [
        (cx.OrderImmediatelyFillable, ours.OrderWouldCross),
        (cx.InsufficientFunds, ours.InsufficientFunds),
        (cx.RateLimitExceeded, ours.RateLimited),
        (cx.DDoSProtection, ours.RateLimited),
        (cx.DuplicateOrderId, ours.DuplicateClientOrderId),
        (cx.OrderNotFound, ours.OrderNotFound),
        (cx.InvalidNonce, ours.AuthenticationError),
        (cx.AuthenticationError, ours.AuthenticationError),
        (cx.InvalidOrder, ours.InvalidOrder),
        (cx.BadSymbol, ours.InvalidOrder),
        (cx.RequestTimeout, ours.RequestTimeout),
        (cx.NetworkError, ours.NetworkError),
        (cx.ExchangeError, ours.ExchangeError),
    ]


def venue_payload(message: str) -> dict[str, Any] | None:
    """The JSON body ccxt embeds in its error messages (`"<id> {...}"`), if any."""
    start = message.find("{")
    if start < 0:
        return None
    try:
        payload = json.loads(message[start:])
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def venue_code(payload: dict[str, Any]) -> str | None:
    data = payload.get("data")
    if isinstance(data, list) and data and isinstance(data[0], dict):
        scode = data[0].get("sCode")
        if scode not in (None, "", "0"):
            return str(scode)
    for name in _CODE_FIELDS:
        value = payload.get(name)
        if value not in (None, "", 0, "0", "00000"):
            return str(value)
    return None


def _retry_after(message: str) -> float | None:
    match = re.search(r"retry[- ]after[\"': ]+(\d+(?:\.\d+)?)", message, re.IGNORECASE)
    return float(match.group(1)) if match else None


_SECRET_PARAMS = re.compile(r"(signature|apiKey|api_key|sign|listenKey)=[^&\s\"']+", re.IGNORECASE)


def _scrub(message: str) -> str:
    """Strip signatures and keys that ccxt may echo (it includes the URL with its query string)."""
    return _SECRET_PARAMS.sub(r"\1=***", message)


def map_ccxt_error(exc: BaseException, venue: str) -> ours.VenueError:
    """Translate one ccxt exception into ours, keeping the venue's code. Non-ccxt exceptions pass through
    as `NetworkError` only if they are connection-level (OSError); everything else is re-raised by callers."""
    if isinstance(exc, ours.VenueError):
        return exc
    message = _scrub(str(exc))
    payload = venue_payload(message)
    code = venue_code(payload) if payload else None
    cls: _E | None = None
    if code is not None:
        for pattern, refined in _BY_MESSAGE.get((venue, code), ()):
            if pattern.search(str((payload or {}).get("msg", ""))):
                cls = refined
                break
        else:
            cls = VENUE_CODES.get(venue, {}).get(code)
    if cls is None and re.search(r"\b429\b|Too Many Requests", message) and "code" not in (payload or {}):
        cls = ours.RateLimited
    if cls is None:
        for ccxt_cls, mapped in _ccxt_fallback():
            if isinstance(exc, ccxt_cls):
                cls = mapped
                break
    if cls is None:
        cls = ours.NetworkError if isinstance(exc, OSError) else ours.ExchangeError
    text = f"{venue}: {message}" if not message.startswith(venue) else message
    if cls is ours.RateLimited:
        return ours.RateLimited(text, venue=venue, code=code, retry_after=_retry_after(message))
    return cls(text, venue=venue, code=code)
