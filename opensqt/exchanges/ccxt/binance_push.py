"""Binance USDT-M's ORDER_TRADE_UPDATE for a plain limit order, read straight into our `Order`.

A fill reaches market_maker as this push, and its closing order waits on reading it. ccxt's `parse_ws_order`
and `safe_order` take ~30 us warm and ~280 us on a CPU that has been idle for 50 ms (docs/PERFORMANCE.md);
reading the dozen fields our model keeps takes a fraction of that. Only the case the grid trades is read
here: a LIMIT order with a known symbol, a status and time in force we map, and well-formed numbers. Any
other push (market, stop and algo orders, liquidations, an unknown symbol, a malformed field) returns None
and goes through ccxt's parser as before. Tests hold the result equal to ccxt's path on the recorded pushes
and on generated ones (tests/exchanges/ccxt/test_binance_push.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from opensqt.model import Order, OrderStatus, OrderType, Side, TimeInForce

_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
# Binance order status -> ours, as ccxt's parse_order_status and our order_from_ccxt map them together
# (PARTIALLY_FILLED comes out of "open" with filled > 0)
_STATUS = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.NEW,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
_TIF = {"GTC": TimeInForce.GTC, "GTX": TimeInForce.POST_ONLY, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK}


def limit_order_from_push(o: Mapping[str, Any], symbol: str) -> Order | None:
    """The order of push body `o` (the message's "o", for market `symbol`), or None when it is not a plain
    limit order read here. The client order id is as the venue sent it (the adapter strips its prefix)."""
    if o.get("o") != "LIMIT" or "aid" in o:
        return None
    side = _SIDES.get(o.get("S"))  # type: ignore[arg-type]
    status = _STATUS.get(o.get("X"))  # type: ignore[arg-type]
    tif = _TIF.get(o.get("f"))  # type: ignore[arg-type]
    ts = o.get("T")
    oid = o.get("i")
    if side is None or status is None or tif is None or type(ts) is not int:
        return None
    if not isinstance(oid, int | str) or oid == "" or isinstance(oid, bool):
        return None
    cid = o.get("C") or o.get("c")
    if not isinstance(cid, str) or not cid:
        return None
    texts = (o.get("q"), o.get("p"), o.get("z"), o.get("ap"))
    if not all(type(t) is str for t in texts):
        return None  # numbers as JSON numbers are not Binance's shape: ccxt's parser decides
    try:
        quantity, price, filled, average = (Decimal(t) for t in texts)  # type: ignore[arg-type]
    except InvalidOperation:
        return None
    if not all(d.is_finite() for d in (quantity, price, filled, average)):
        return None  # checked first: comparing a NaN raises
    if not (quantity > 0 and price > 0 and 0 <= filled <= quantity and average >= 0):
        return None
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    return Order(
        client_order_id=cid,
        symbol=symbol,
        side=side,
        type=OrderType.LIMIT,
        quantity=quantity,
        price=price,
        venue_order_id=str(oid),
        filled=filled,
        average_price=average if average > 0 else None,
        status=status,
        time_in_force=tif,
        reduce_only=o.get("R") is True,
        ts_event=ts,
    )
