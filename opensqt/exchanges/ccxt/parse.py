"""Convert ccxt's unified dicts (run with `number = str`: every amount a string) into typed model values.

Nothing here touches the network: the adapter calls ccxt, these functions turn its answers into Decimals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opensqt.exchanges.base import AccountMargin
from opensqt.model import (
    Balance,
    Fill,
    FundingRate,
    Instrument,
    InstrumentKind,
    Kline,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    PlaceOrder,
    Position,
    Side,
    Ticker,
    TimeInForce,
    to_decimal,
)

_TICK_SIZE = 4  # ccxt.base.decimal_to_precision.TICK_SIZE
_DECIMAL_PLACES = 2


def dec(value: Any, field: str) -> Decimal:
    """A venue number as Decimal. ccxt's own constants (fee tables) are floats: take their shortest repr,
    which is the literal written in ccxt's source, never the binary expansion."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return to_decimal(value, field)


def opt_dec(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    return dec(value, field)


def _precision_step(value: Any, mode: int, field: str) -> Decimal:
    if mode == _DECIMAL_PLACES:
        return Decimal(1).scaleb(-int(dec(value, field)))
    return dec(value, field)


def instrument_from_market(market: Mapping[str, Any], venue: str, precision_mode: int) -> Instrument | None:
    """One ccxt market as an `Instrument`; None for markets we do not trade (inverse, dated, options)."""
    symbol = str(market["symbol"])
    if market.get("spot"):
        kind = InstrumentKind.SPOT
    elif market.get("swap") and (market.get("linear") or not market.get("inverse")):
        # Some instrument payloads omit the settle coin and ccxt then leaves `linear` unset: not inverse
        # is enough, since we only load USDT-settled swap markets.
        kind = InstrumentKind.LINEAR_PERPETUAL
    else:
        return None
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    if precision.get("price") is None or precision.get("amount") is None:
        raise ValueError(f"market {symbol}: precision.price and precision.amount are required")
    lot = _precision_step(precision["amount"], precision_mode, f"market {symbol} precision.amount")
    min_qty = opt_dec((limits.get("amount") or {}).get("min"), f"market {symbol} limits.amount.min")
    min_notional = opt_dec((limits.get("cost") or {}).get("min"), f"market {symbol} limits.cost.min")
    max_lev = opt_dec((limits.get("leverage") or {}).get("max"), f"market {symbol} limits.leverage.max")
    contract_size = opt_dec(market.get("contractSize"), f"market {symbol} contractSize")
    maker = opt_dec(market.get("maker"), f"market {symbol} maker")
    taker = opt_dec(market.get("taker"), f"market {symbol} taker")
    return Instrument(
        symbol=symbol,
        venue_symbol=str(market["id"]),
        kind=kind,
        base=str(market["base"]),
        quote=str(market["quote"]),
        tick_size=_precision_step(precision["price"], precision_mode, f"market {symbol} precision.price"),
        lot_size=lot,
        min_qty=min_qty if min_qty is not None else lot,
        min_notional=min_notional if min_notional is not None else Decimal(0),
        contract_size=contract_size if contract_size is not None and contract_size > 0 else Decimal(1),
        maker_fee=maker if maker is not None else Decimal("0.0002"),
        taker_fee=taker if taker is not None else Decimal("0.0005"),
        max_leverage=int(max_lev) if max_lev is not None and max_lev >= 1 else 125,
        venue=venue,
    )


_STATUS = {
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
    "expired": OrderStatus.EXPIRED,
}


def _tif(order: Mapping[str, Any]) -> TimeInForce:
    if order.get("postOnly") or order.get("timeInForce") == "PO":
        return TimeInForce.POST_ONLY
    tif = order.get("timeInForce")
    if tif in ("IOC", "FOK"):
        return TimeInForce(tif)
    return TimeInForce.GTC


def order_from_ccxt(order: Mapping[str, Any], command: PlaceOrder | None = None) -> Order:
    """A ccxt order as ours. Venues that answer a submit with ids only (bybit, okx) are completed from
    the command that placed it."""
    symbol = order.get("symbol") or (command.symbol if command else None)
    if not symbol:
        raise ValueError("order: symbol missing in the venue's answer")
    cid = order.get("clientOrderId") or (command.client_order_id if command else None) or ""
    side_raw = order.get("side") or (command.side.value if command else None)
    if side_raw not in ("buy", "sell"):
        raise ValueError(f"order {cid}: side must be buy or sell, got {side_raw!r}")
    amount = opt_dec(order.get("amount"), f"order {cid} amount")
    if amount is None or amount <= 0:
        if command is None:
            raise ValueError(f"order {cid}: amount missing in the venue's answer")
        amount = command.quantity
    price = opt_dec(order.get("price"), f"order {cid} price")
    if price is not None and price <= 0:
        price = None
    type_raw = order.get("type") or (command.type.value if command else "limit")
    otype = OrderType.MARKET if type_raw == "market" else OrderType.LIMIT
    if otype is OrderType.LIMIT and price is None and command is not None:
        price = command.price
    filled = opt_dec(order.get("filled"), f"order {cid} filled") or Decimal(0)
    status = _STATUS.get(str(order.get("status") or "open"), OrderStatus.NEW)
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    tif = _tif(order)
    if command is not None and command.post_only:
        tif = TimeInForce.POST_ONLY
    ts = order.get("lastUpdateTimestamp") or order.get("timestamp") or 0
    return Order(
        client_order_id=str(cid),
        symbol=str(symbol),
        side=Side(side_raw),
        type=otype,
        quantity=amount,
        price=price,
        venue_order_id=str(order["id"]) if order.get("id") not in (None, "") else None,
        filled=min(filled, amount),
        average_price=opt_dec(order.get("average"), f"order {cid} average"),
        status=status,
        time_in_force=tif,
        reduce_only=bool(order.get("reduceOnly")) or bool(command and command.reduce_only),
        ts_event=int(ts),
    )


def fill_from_trade(trade: Mapping[str, Any], client_order_id: str = "") -> Fill:
    """A ccxt `my trade` as our fill. Fee cost is what we paid (positive), as ccxt reports it."""
    tid = str(trade.get("id") or "")
    fee = trade.get("fee") or {}
    taker = trade.get("takerOrMaker")
    info = trade.get("info") or {}
    realized = info.get("realizedPnl") if isinstance(info, Mapping) else None
    return Fill(
        trade_id=tid,
        client_order_id=str(trade.get("clientOrderId") or client_order_id),
        symbol=str(trade["symbol"]),
        side=Side(trade["side"]),
        price=dec(trade["price"], f"trade {tid} price"),
        quantity=dec(trade["amount"], f"trade {tid} amount"),
        fee=opt_dec(fee.get("cost"), f"trade {tid} fee.cost") or Decimal(0),
        fee_asset=str(fee.get("currency") or ""),
        liquidity=LiquiditySide.TAKER if taker == "taker" else LiquiditySide.MAKER,
        venue_order_id=str(trade["order"]) if trade.get("order") else None,
        realized_pnl=opt_dec(realized, f"trade {tid} realizedPnl"),
        ts_event=int(trade.get("timestamp") or 0),
    )


def balances_from_ccxt(raw: Mapping[str, Any]) -> dict[str, Balance]:
    out: dict[str, Balance] = {}
    ts = int(raw.get("timestamp") or 0)
    for asset, entry in raw.items():
        if asset in ("info", "free", "used", "total", "timestamp", "datetime", "debt") or not isinstance(
            entry, Mapping
        ):
            continue
        total = opt_dec(entry.get("total"), f"balance {asset} total")
        free = opt_dec(entry.get("free"), f"balance {asset} free")
        used = opt_dec(entry.get("used"), f"balance {asset} used")
        if total is None and free is None:
            continue
        free = free if free is not None else (total or Decimal(0)) - (used or Decimal(0))
        used = used if used is not None else (total or Decimal(0)) - free
        out[asset] = Balance(
            asset=asset, total=total if total is not None else free + used, free=free, used=used, ts_event=ts
        )
    return out


def position_from_ccxt(raw: Mapping[str, Any]) -> Position:
    symbol = str(raw["symbol"])
    contracts = opt_dec(raw.get("contracts"), f"position {symbol} contracts") or Decimal(0)
    csize = opt_dec(raw.get("contractSize"), f"position {symbol} contractSize") or Decimal(1)
    side = raw.get("side")
    size = contracts * csize
    if side == "short" and size > 0:
        size = -size
    lev = opt_dec(raw.get("leverage"), f"position {symbol} leverage")
    return Position(
        symbol=symbol,
        size=size,
        entry_price=opt_dec(raw.get("entryPrice"), f"position {symbol} entryPrice") or Decimal(0),
        unrealized_pnl=opt_dec(raw.get("unrealizedPnl"), f"position {symbol} unrealizedPnl") or Decimal(0),
        liquidation_price=opt_dec(raw.get("liquidationPrice"), f"position {symbol} liquidationPrice"),
        leverage=int(lev) if lev is not None and lev >= 1 else 1,
        mark_price=opt_dec(raw.get("markPrice"), f"position {symbol} markPrice"),
        ts_event=int(raw.get("timestamp") or 0),
    )


def ticker_from_ccxt(raw: Mapping[str, Any]) -> Ticker:
    symbol = str(raw["symbol"])
    last = opt_dec(raw.get("last"), f"ticker {symbol} last")
    if last is None:
        last = opt_dec(raw.get("close"), f"ticker {symbol} close") or Decimal(0)
    return Ticker(
        symbol=symbol,
        last=last,
        bid=opt_dec(raw.get("bid"), f"ticker {symbol} bid"),
        ask=opt_dec(raw.get("ask"), f"ticker {symbol} ask"),
        quote_volume_24h=opt_dec(raw.get("quoteVolume"), f"ticker {symbol} quoteVolume") or Decimal(0),
        change_pct_24h=opt_dec(raw.get("percentage"), f"ticker {symbol} percentage") or Decimal(0),
        ts_event=int(raw.get("timestamp") or 0),
    )


def _interval_hours(raw: Any, default: Decimal) -> Decimal:
    if isinstance(raw, str) and raw.endswith("h") and raw[:-1].isdigit() and int(raw[:-1]) > 0:
        return Decimal(raw[:-1])
    return default  # unknown or "0h" (a venue field ccxt could not read): the venue's standard interval


def funding_from_ccxt(raw: Mapping[str, Any], default_hours: Decimal) -> FundingRate:
    symbol = str(raw["symbol"])
    rate = opt_dec(raw.get("fundingRate"), f"funding {symbol} fundingRate")
    if rate is None:
        raise ValueError(f"funding {symbol}: fundingRate missing")
    nxt = raw.get("nextFundingTimestamp") or raw.get("fundingTimestamp") or 0
    return FundingRate(
        symbol=symbol,
        rate=rate,
        interval_hours=_interval_hours(raw.get("interval"), default_hours),
        next_funding_time=int(nxt),
        mark_price=opt_dec(raw.get("markPrice"), f"funding {symbol} markPrice"),
        index_price=opt_dec(raw.get("indexPrice"), f"funding {symbol} indexPrice"),
        ts_event=int(raw.get("timestamp") or 0),
    )


def kline_from_ccxt(symbol: str, timeframe: str, row: list[Any], closed: bool = True) -> Kline:
    ts = int(row[0])
    where = f"kline {symbol} {ts}"
    return Kline(
        symbol=symbol,
        timeframe=timeframe,
        open_time=ts,
        open=dec(row[1], f"{where} open"),
        high=dec(row[2], f"{where} high"),
        low=dec(row[3], f"{where} low"),
        close=dec(row[4], f"{where} close"),
        volume=dec(row[5], f"{where} volume") if row[5] is not None else Decimal(0),
        closed=closed,
    )


def _inner(info: Mapping[str, Any]) -> Mapping[str, Any]:
    """Binance futures nests the order under `o`; other venues send it flat."""
    nested = info.get("o")
    return nested if isinstance(nested, Mapping) else info


def info_carries_fills(info: Mapping[str, Any]) -> bool:
    """Whether this venue's order update states its own last execution (then no delta inference)."""
    inner = _inner(info)
    # bitget: only an update that names its trade carries one; others fall back to delta inference, which
    # finds nothing new when the previous update already reported the fill (cumulative filled unchanged).
    return ("l" in inner and "t" in inner) or "fillSz" in inner or _is_bitget_fill(inner)


def _is_bitget_fill(inner: Mapping[str, Any]) -> bool:
    return bool(inner.get("tradeId")) and "baseVolume" in inner and "fillPrice" in inner


@dataclass(frozen=True, slots=True)
class _FillFields:
    """Where one venue's order update carries its execution, and how its fee is signed."""

    trade_id: str
    qty: str
    price: str
    fee: str
    fee_asset: str
    maker: tuple[str, object]  # (field, value meaning maker)
    pnl: str
    time: str
    fee_negative: bool  # the venue reports a charged fee as a negative amount


_BINANCE_FILL = _FillFields("t", "l", "L", "n", "N", ("m", True), "rp", "T", False)
_OKX_FILL = _FillFields(
    "tradeId", "fillSz", "fillPx", "fillFee", "fillFeeCcy", ("execType", "M"), "fillPnl", "fillTime", True
)
_BITGET_FILL = _FillFields(
    "tradeId",
    "baseVolume",
    "fillPrice",
    "fillFee",
    "fillFeeCoin",
    ("tradeScope", "M"),
    "pnl",
    "fillTime",
    fee_negative=True,
)


def last_fill_from_info(order: Order, info: Mapping[str, Any]) -> Fill | None:
    """The execution carried inside a venue's order update, when the venue sends one (binance `o.l`/`o.L`,
    okx `fillSz`/`fillPx`, bitget `tradeId`/`fillPrice`/`baseVolume`). None when the update has no fill."""
    inner = _inner(info)
    if "l" in inner and "L" in inner and "t" in inner:  # binance ORDER_TRADE_UPDATE / executionReport
        return _fill_from(order, inner, _BINANCE_FILL)
    if "fillSz" in inner and "tradeId" in inner:  # okx orders channel
        return _fill_from(order, inner, _OKX_FILL) if inner.get("tradeId") else None
    if _is_bitget_fill(inner):  # bitget orders channel: baseVolume is this update's execution
        return _fill_from(order, inner, _BITGET_FILL)
    return None


def _fill_from(order: Order, inner: Mapping[str, Any], f: _FillFields) -> Fill | None:
    qty = opt_dec(inner.get(f.qty), f"order update {f.qty}")
    if qty is None or qty <= 0:
        return None
    fee = opt_dec(inner.get(f.fee), f"order update {f.fee}") or Decimal(0)
    maker_field, maker_value = f.maker
    return Fill(
        trade_id=str(inner[f.trade_id]),
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        price=dec(inner[f.price], f"order update {f.price}"),
        quantity=qty,
        fee=-fee if f.fee_negative else fee,
        fee_asset=str(inner.get(f.fee_asset) or ""),
        liquidity=LiquiditySide.MAKER if inner.get(maker_field) == maker_value else LiquiditySide.TAKER,
        venue_order_id=order.venue_order_id,
        realized_pnl=opt_dec(inner.get(f.pnl), f"order update {f.pnl}"),
        ts_event=int(inner.get(f.time) or order.ts_event),
    )


def fill_from_delta(previous: Order | None, order: Order) -> Fill | None:
    """For venues whose order stream carries no per-execution fields (bybit, gate), infer the execution
    from the change in cumulative filled and average price; the trade id is derived from the order id and
    the new cumulative quantity so replays map to the same fill. Fee is unknown here (0)."""
    before = previous.filled if previous is not None else Decimal(0)
    qty = order.filled - before
    if qty <= 0 or order.average_price is None:
        return None
    prev_avg = (
        previous.average_price if previous is not None and previous.average_price is not None else Decimal(0)
    )
    price = (order.average_price * order.filled - prev_avg * before) / qty
    if price <= 0:
        price = order.average_price
    return Fill(
        trade_id=f"{order.venue_order_id}:{order.filled}",
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=order.side,
        price=price,
        quantity=qty,
        fee=Decimal(0),
        fee_asset="",
        liquidity=LiquiditySide.MAKER if order.post_only else LiquiditySide.TAKER,
        venue_order_id=order.venue_order_id,
        ts_event=order.ts_event,
    )


# --- account margin health (the `fetch_account_margin` capability) ---------------------------------------
#
# Each venue states its whole account's margin in its own account endpoint; ccxt's `fetch_balance()` keeps
# that raw body in `info`. Figures are the venue's own (never recomputed from positions): what its liquidation
# engine compares. docs/VENUES.md ("Account margin health") lists the fields and why each was chosen.


def _required(entry: Mapping[str, Any], key: str, what: str) -> Decimal:
    """A figure the venue must state: missing or empty is an unreadable answer (a ValueError naming it)."""
    value = entry.get(key)
    if value is None or value == "":
        raise ValueError(f"{what}: field {key!r} is missing or empty")
    return dec(value, f"{what} {key}")


def _margin(balance: Decimal, maintenance: Decimal, ts_ms: int, what: str) -> AccountMargin:
    if maintenance < 0:
        raise ValueError(f"{what}: maintenance margin must be >= 0, got {maintenance}")
    return AccountMargin(balance, maintenance, ts_ms)


def _only(info: Any, what: str) -> Mapping[str, Any]:
    """The one account object of a list answer (or the object itself)."""
    if isinstance(info, Mapping):
        return info
    if isinstance(info, list) and info and isinstance(info[0], Mapping):
        return info[0]
    raise ValueError(f"{what}: expected an account object, got {type(info).__name__}")


def _binance_margin(info: Any, settle: str, now_ms: int) -> AccountMargin:
    # GET /fapi/v3/account (v2 alike): account-wide totals; `updateTime` is documented "reserved, ignore".
    acct = _only(info, "binance account")
    what = "binance account"
    return _margin(
        _required(acct, "totalMarginBalance", what), _required(acct, "totalMaintMargin", what), now_ms, what
    )


def _bybit_margin(info: Any, settle: str, now_ms: int) -> AccountMargin:
    # GET /v5/account/wallet-balance (accountType=UNIFIED): unified-account totals in USD. A classic
    # (non-unified) account leaves them empty: refused as unreadable, not guessed from per-coin figures.
    body = _only(info, "bybit wallet balance")
    accounts = (body.get("result") or {}).get("list") or []
    what = "bybit wallet balance (unified account)"
    acct = _only(accounts, what)
    ts = int(body.get("time") or now_ms)
    return _margin(
        _required(acct, "totalMarginBalance", what), _required(acct, "totalMaintenanceMargin", what), ts, what
    )


def _okx_margin(info: Any, settle: str, now_ms: int) -> AccountMargin:
    # GET /api/v5/account/balance. Multi-currency and portfolio margin: the account-level `adjEq` (equity
    # after OKX's collateral discounts, what its margin ratio `mgnRatio` divides) against account-level `mmr`,
    # both in USD; `totalEq` is left out because it counts collateral undiscounted. Single-currency margin
    # ("futures mode") leaves both empty and margins each currency apart: the settle currency's cross equity
    # (`eq` - `isoEq`: isolated positions' equity backs only themselves) against its cross `mmr`.
    body = _only(info, "okx account balance")
    acct = _only(body.get("data") or [], "okx account balance")
    ts = int(acct.get("uTime") or now_ms)
    if acct.get("adjEq") not in (None, ""):
        what = "okx account balance (multi-currency/portfolio margin)"
        return _margin(_required(acct, "adjEq", what), _required(acct, "mmr", what), ts, what)
    what = f"okx account balance (single-currency margin, {settle})"
    detail = next((d for d in acct.get("details") or [] if d.get("ccy") == settle), None)
    if detail is None:
        raise ValueError(f"{what}: no {settle} entry in `details`")
    isolated = opt_dec(detail.get("isoEq"), f"{what} isoEq") or Decimal(0)
    return _margin(_required(detail, "eq", what) - isolated, _required(detail, "mmr", what), ts, what)


def _bitget_margin(info: Any, settle: str, now_ms: int) -> AccountMargin:
    # GET /api/v2/mix/account/accounts?productType=USDT-FUTURES, the settle coin's entry. Multi-asset
    # ("union") mode states `unionTotalMargin` and `unionMm` (USD). Single-asset mode states no maintenance
    # figure, only `crossedRiskRate` = cross maintenance margin / cross equity (liquidation at 1): the
    # maintenance reported here is that rate x `accountEquity`, so 1 - maintenance / balance is exactly the
    # venue's own 1 - risk rate.
    rows = info if isinstance(info, list) else [info]
    what = f"bitget futures account ({settle})"
    acct = next((r for r in rows if isinstance(r, Mapping) and r.get("marginCoin") == settle), None)
    if acct is None:
        raise ValueError(f"{what}: no {settle} margin coin in the answer")
    if acct.get("assetMode") == "union":
        what = f"{what}, multi-asset mode"
        balance = _required(acct, "unionTotalMargin", what)
        return _margin(balance, _required(acct, "unionMm", what), now_ms, what)
    equity = _required(acct, "accountEquity", what)
    return _margin(equity, equity * _required(acct, "crossedRiskRate", what), now_ms, what)


def _gate_margin(info: Any, settle: str, now_ms: int) -> AccountMargin:
    # GET /api/v4/futures/usdt/accounts (classic futures account, new classic margin mode): the cross-margin
    # account's `cross_margin_balance` and `cross_maintenance_margin` (isolated positions are margined apart).
    what = f"gate futures account ({settle})"
    acct = _only(info, what)
    return _margin(
        _required(acct, "cross_margin_balance", what),
        _required(acct, "cross_maintenance_margin", what),
        now_ms,
        what,
    )


_MARGIN_PARSERS = {
    "binanceusdm": _binance_margin,
    "bybit": _bybit_margin,
    "okx": _okx_margin,
    "bitget": _bitget_margin,
    "gate": _gate_margin,
}

#: ccxt ids whose account endpoint states the account's margin health
MARGIN_VENUES = frozenset(_MARGIN_PARSERS)


def account_margin_from_balance(
    ccxt_id: str, raw: Mapping[str, Any], settle: str, now_ms: int
) -> AccountMargin:
    """The account's margin from a ccxt `fetch_balance()` answer's raw `info`.

    Raises ValueError/KeyError/TypeError for anything unreadable (the adapter maps each to one ExchangeError).
    """
    return _MARGIN_PARSERS[ccxt_id](raw["info"], settle, now_ms)
