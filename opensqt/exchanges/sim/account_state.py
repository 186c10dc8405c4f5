"""The simulated venue's account as a plain document: a paper account outlives the process, as a venue's does.

`account_document(venue)` takes what a venue keeps between a bot's runs: balances, positions, the fees,
realized PnL and funding booked, the orders it still knows (open, and the finished ones still queryable), and
its id counters (a trade id is never issued twice: the bot de-duplicates fills by it). `restore_account`
puts such a document into a fresh venue with the same markets, checking every field first: a bad document
changes nothing and raises one `AccountStateError` naming the field. Decimals travel as strings, prices and
quantities of orders as integer ticks and lots of their market. Pure: the file is the caller's
(`opensqt.engines.grid_runtime`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from opensqt.exchanges.sim.account import Account, PositionState
from opensqt.exchanges.sim.orders import LiveOrder
from opensqt.exchanges.sim.venue import SimVenue
from opensqt.model import OrderStatus, OrderType, TimeInForce

VERSION = 1
COUNTERS = ("next_order_id", "next_trade_id", "next_autoclose")  # in the order of `SimVenue.next_ids`


class AccountStateError(ValueError):
    """A saved simulated account that cannot be restored; the message names the field."""


def account_document(venue: SimVenue) -> dict[str, Any]:
    acc = venue.account
    return {
        "version": VERSION,
        "venue": venue.name,
        "saved_at_ms": venue.now_ms,
        "wallet": _amounts(acc.wallet),
        "initial": _amounts(acc.initial),
        "fees": _amounts(acc.fees),
        "realized": _amounts(acc.realized),
        "funding": _amounts(acc.funding),
        "positions": {
            symbol: {
                "size": str(p.size),
                "entry": str(p.entry),
                "leverage": p.leverage,
                "realized": str(p.realized),
            }
            for symbol, p in acc.positions.items()
            if p.size or p.realized or p.leverage != acc.default_leverage
        },
        **dict(zip(COUNTERS, venue.next_ids, strict=True)),
        "fill_count": venue.fill_count,
        "orders": [_order(o) for o in venue.orders.values()],
    }


def saved_time(doc: object) -> int:
    """When the document was saved (the venue's time, ms; 0 when it does not say)."""
    d = _mapping(doc, "document")
    return _int(d, "saved_at_ms", "", minimum=0) if "saved_at_ms" in d else 0


def restore_account(venue: SimVenue, doc: object) -> None:
    """Load `doc` into `venue`, which must be fresh (no orders, nothing booked)."""
    if venue.orders or venue.fill_count:
        raise AccountStateError("simulated account: the venue has traded already; restore into a fresh one")
    d = _mapping(doc, "document")
    if d.get("version") != VERSION:
        raise AccountStateError(f"version: expected {VERSION}, got {d.get('version')!r}")
    if d.get("venue") != venue.name:
        raise AccountStateError(f"venue: expected {venue.name!r}, got {d.get('venue')!r}")
    saved_time(d)
    old = venue.account
    account = Account(
        _amount_table(d, "wallet"),
        maintenance_margin_rate=old.mmr,
        default_leverage=old.default_leverage,
        use_margin=old.use_margin,
        margin_leverage=old.margin_leverage,
    )
    account.initial = _amount_table(d, "initial")
    account.fees = _amount_table(d, "fees")
    account.realized = _amount_table(d, "realized")
    account.funding = _amount_table(d, "funding")
    for symbol, raw in _mapping(d.get("positions", {}), "positions").items():
        where = f"positions.{symbol}"
        if symbol not in venue.markets:
            raise AccountStateError(f"{where}: not a market of this venue ({', '.join(venue.markets)})")
        p = _mapping(raw, where)
        account.positions[symbol] = PositionState(
            size=_decimal(p, "size", where),
            entry=_decimal(p, "entry", where, minimum=Decimal(0)),
            leverage=_int(p, "leverage", where, minimum=1),
            realized=_decimal(p, "realized", where),
        )
    a, b, c = (_int(d, key, "", minimum=1) for key in COUNTERS)
    fill_count = _int(d, "fill_count", "", minimum=0)
    raw_orders = d.get("orders", [])
    if not isinstance(raw_orders, list):
        raise AccountStateError(f"orders: expected a list, got {type(raw_orders).__name__}")
    orders = [_live_order(venue, raw, f"orders[{i}]") for i, raw in enumerate(raw_orders)]
    if len({o.cid for o in orders}) != len(orders):
        raise AccountStateError("orders: a client order id appears twice")
    venue.adopt_account(account, (a, b, c), fill_count, orders)  # every field checked: now change the venue


# --- writing ------------------------------------------------------------------------------------------


def _amounts(table: Mapping[str, Decimal]) -> dict[str, str]:
    return {asset: str(v) for asset, v in table.items()}


def _order(o: LiveOrder) -> dict[str, Any]:
    return {
        "client_order_id": o.cid,
        "symbol": o.m.inst.symbol,
        "side": "buy" if o.sign > 0 else "sell",
        "type": o.type.value,
        "time_in_force": o.tif.value,
        "reduce_only": o.reduce_only,
        "price_ticks": o.price,
        "quantity_lots": o.qty,
        "filled_lots": o.filled,
        "notional": str(o.notional),
        "queue_lots": o.queue,
        "status": o.status.value,
        "venue_order_id": o.vid,
        "seq": o.seq,
        "created_ms": o.ts_create,
    }


# --- reading, every field checked -----------------------------------------------------------------------


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        raise AccountStateError(f"{where}: expected an object, got {type(value).__name__}")
    return value


def _decimal(d: Mapping[str, Any], key: str, where: str, *, minimum: Decimal | None = None) -> Decimal:
    name = f"{where}.{key}" if where else key
    raw = d.get(key)
    if not isinstance(raw, str):
        raise AccountStateError(f"{name}: expected a decimal string, got {raw!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise AccountStateError(f"{name}: expected a decimal string, got {raw!r}") from None
    if not value.is_finite() or (minimum is not None and value < minimum):
        bound = f" >= {minimum}" if minimum is not None else ""
        raise AccountStateError(f"{name}: expected a finite decimal{bound}, got {raw!r}")
    return value


def _int(d: Mapping[str, Any], key: str, where: str, *, minimum: int) -> int:
    name = f"{where}.{key}" if where else key
    raw = d.get(key)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < minimum:
        raise AccountStateError(f"{name}: expected an integer >= {minimum}, got {raw!r}")
    return raw


def _amount_table(d: Mapping[str, Any], key: str) -> dict[str, Decimal]:
    table = _mapping(d.get(key, {}), key)
    return {asset: _decimal(table, asset, key) for asset in table}


def _choice(d: Mapping[str, Any], key: str, where: str, choices: Mapping[str, Any]) -> Any:
    raw = d.get(key)
    if not isinstance(raw, str) or raw not in choices:
        raise AccountStateError(f"{where}.{key}: expected one of {', '.join(choices)}, got {raw!r}")
    return choices[raw]


def _live_order(venue: SimVenue, raw: object, where: str) -> LiveOrder:
    d = _mapping(raw, where)
    cid = d.get("client_order_id")
    if not isinstance(cid, str) or not 1 <= len(cid) <= 36:
        raise AccountStateError(f"{where}.client_order_id: expected 1 to 36 characters, got {cid!r}")
    symbol = d.get("symbol")
    m = venue.markets.get(symbol) if isinstance(symbol, str) else None
    if m is None:
        raise AccountStateError(f"{where}.symbol: expected a market of this venue, got {symbol!r}")
    o = LiveOrder.__new__(LiveOrder)
    o.cid = cid
    o.m = m
    o.sign = _choice(d, "side", where, {"buy": 1, "sell": -1})
    o.type = _choice(d, "type", where, {t.value: t for t in OrderType})
    o.tif = _choice(d, "time_in_force", where, {t.value: t for t in TimeInForce})
    o.status = _choice(d, "status", where, {s.value: s for s in OrderStatus})
    reduce_only = d.get("reduce_only")
    if not isinstance(reduce_only, bool):
        raise AccountStateError(f"{where}.reduce_only: expected true or false, got {reduce_only!r}")
    o.reduce_only = reduce_only
    o.price = _int(d, "price_ticks", where, minimum=0)
    o.qty = _int(d, "quantity_lots", where, minimum=1)
    o.filled = _int(d, "filled_lots", where, minimum=0)
    if o.filled > o.qty:
        raise AccountStateError(f"{where}.filled_lots: expected <= quantity_lots {o.qty}, got {o.filled}")
    if o.type is OrderType.LIMIT and o.price < 1:
        raise AccountStateError(f"{where}.price_ticks: a limit order needs a price >= 1 tick, got {o.price}")
    o.notional = _decimal(d, "notional", where, minimum=Decimal(0))
    o.queue = _int(d, "queue_lots", where, minimum=0)
    o.vid = _int(d, "venue_order_id", where, minimum=1)
    o.seq = _int(d, "seq", where, minimum=1)
    o.ts_create = _int(d, "created_ms", where, minimum=0)
    o.snap = None
    o.snap_filled = 0
    return o
