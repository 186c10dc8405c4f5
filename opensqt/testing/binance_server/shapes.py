"""Binance USDT-M wire shapes: our model values rendered as the venue's REST and websocket JSON.

Field names and string/number choices follow the venue's documented examples (checked in tests against
`../shared/data/venues/binance-usdm/`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from opensqt.model import (
    Balance,
    BookTop,
    Fill,
    FundingRate,
    Instrument,
    Kline,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    Ticker,
    TimeInForce,
    Trade,
    timeframe_ms,
)

STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
    OrderStatus.EXPIRED: "EXPIRED",
}
TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.POST_ONLY: "GTX"}
TIF_IN = {v: k for k, v in TIF.items()}


def s(value: Decimal | None) -> str:
    """A Decimal as Binance writes it: plain notation, never exponent."""
    if value is None:
        return "0"
    return format(value, "f")


def symbol_info(inst: Instrument) -> dict[str, Any]:
    price_prec = max(0, -inst.tick_size.normalize().as_tuple().exponent)  # type: ignore[operator]
    qty_prec = max(0, -inst.lot_size.normalize().as_tuple().exponent)  # type: ignore[operator]
    return {
        "symbol": inst.venue_symbol,
        "pair": inst.venue_symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": inst.base,
        "quoteAsset": inst.quote,
        "marginAsset": inst.quote,
        "pricePrecision": price_prec,
        "quantityPrecision": qty_prec,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": s(inst.tick_size),
                "maxPrice": "10000000",
                "tickSize": s(inst.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": s(inst.lot_size),
                "maxQty": "10000000",
                "minQty": s(inst.min_qty),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": s(inst.lot_size),
                "maxQty": "10000000",
                "minQty": s(inst.min_qty),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": s(inst.min_notional)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def exchange_info(instruments: list[Instrument], now_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [symbol_info(i) for i in instruments if i.is_perpetual],
    }


def order(o: Order, venue_symbol: str, order_id: int) -> dict[str, Any]:
    cum_quote = (o.average_price or Decimal(0)) * o.filled
    return {
        "orderId": order_id,
        "symbol": venue_symbol,
        "status": STATUS[o.status],
        "clientOrderId": o.client_order_id,
        "price": s(o.price or Decimal(0)),
        "avgPrice": s(o.average_price),
        "origQty": s(o.quantity),
        "executedQty": s(o.filled),
        "cumQty": s(o.filled),
        "cumQuote": s(cum_quote),
        "timeInForce": TIF[o.time_in_force],
        "type": o.type.name,
        "reduceOnly": o.reduce_only,
        "closePosition": False,
        "side": o.side.name,
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": o.type.name,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": o.ts_init or o.ts_event,
        "updateTime": o.ts_event,
    }


def order_trade_update(
    o: Order, fill: Fill | None, venue_symbol: str, order_id: int, now_ms: int
) -> dict[str, Any]:
    if fill is not None:
        exec_type = "TRADE"
    elif o.status is OrderStatus.CANCELED:
        exec_type = "CANCELED"
    elif o.status is OrderStatus.EXPIRED:
        exec_type = "EXPIRED"
    else:
        exec_type = "NEW"
    inner = {
        "s": venue_symbol,
        "c": o.client_order_id,
        "S": o.side.name,
        "o": o.type.name,
        "f": TIF[o.time_in_force],
        "q": s(o.quantity),
        "p": s(o.price or Decimal(0)),
        "ap": s(o.average_price),
        "sp": "0",
        "x": exec_type,
        "X": STATUS[o.status],
        "i": order_id,
        "l": s(fill.quantity) if fill else "0",
        "z": s(o.filled),
        "L": s(fill.price) if fill else "0",
        "T": o.ts_event,
        "t": int(fill.trade_id) if fill and fill.trade_id.isdigit() else 0,
        "b": "0",
        "a": "0",
        "m": bool(fill and fill.liquidity.value == "maker"),
        "R": o.reduce_only,
        "wt": "CONTRACT_PRICE",
        "ot": o.type.name,
        "ps": "BOTH",
        "cp": False,
        "rp": s(fill.realized_pnl) if fill and fill.realized_pnl is not None else "0",
        "pP": False,
        "si": 0,
        "ss": 0,
        "V": "NONE",
        "pm": "NONE",
        "gtd": 0,
    }
    if fill is not None:
        inner["N"] = fill.fee_asset or "USDT"
        inner["n"] = s(fill.fee)
    return {"e": "ORDER_TRADE_UPDATE", "E": now_ms, "T": o.ts_event, "o": inner}


def user_trade(f: Fill, venue_symbol: str, order_id: int) -> dict[str, Any]:
    return {
        "buyer": f.side is Side.BUY,
        "commission": s(f.fee),
        "commissionAsset": f.fee_asset or "USDT",
        "id": int(f.trade_id) if f.trade_id.isdigit() else 0,
        "maker": f.liquidity.value == "maker",
        "orderId": order_id,
        "price": s(f.price),
        "qty": s(f.quantity),
        "quoteQty": s(f.price * f.quantity),
        "realizedPnl": s(f.realized_pnl),
        "side": f.side.name,
        "positionSide": "BOTH",
        "symbol": venue_symbol,
        "time": f.ts_event,
    }


def position_risk(p: Position, inst: Instrument, leverage: int) -> dict[str, Any]:
    mark = p.mark_price if p.mark_price is not None else p.entry_price
    notional = p.size * mark
    return {
        "symbol": inst.venue_symbol,
        "positionSide": "BOTH",
        "positionAmt": s(p.size),
        "entryPrice": s(p.entry_price),
        "breakEvenPrice": s(p.entry_price),
        "markPrice": s(mark),
        "unRealizedProfit": s(p.unrealized_pnl),
        "liquidationPrice": s(p.liquidation_price or Decimal(0)),
        "isolatedMargin": "0",
        "notional": s(notional),
        "marginAsset": "USDT",
        "isolatedWallet": "0",
        "initialMargin": s(abs(notional) / leverage),
        "maintMargin": "0",
        "positionInitialMargin": s(abs(notional) / leverage),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": p.ts_event,
        "leverage": str(leverage),
        "marginType": "cross",
        "isAutoAddMargin": "false",
        "maxNotionalValue": "1000000",
    }


def asset_balance(b: Balance, now_ms: int) -> dict[str, Any]:
    # ccxt skips assets whose updateTime is 0 as stale: a balance never touched still gets the server time.
    return {
        "asset": b.asset,
        "walletBalance": s(b.total),
        "unrealizedProfit": "0",
        "marginBalance": s(b.total),
        "maintMargin": "0",
        "initialMargin": s(b.used),
        "positionInitialMargin": "0",
        "openOrderInitialMargin": s(b.used),
        "crossWalletBalance": s(b.total),
        "crossUnPnl": "0",
        "availableBalance": s(b.free),
        "maxWithdrawAmount": s(b.free),
        "marginAvailable": True,
        "updateTime": b.ts_event or now_ms,
        "balance": s(b.total),  # `balance` is the /fapi/v2/balance spelling
    }


def account_update(
    balances: list[Balance],
    positions: list[Position],
    symbols: dict[str, str],
    now_ms: int,
    reason: str = "ORDER",
) -> dict[str, Any]:
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "a": {
            "m": reason,
            "B": [{"a": b.asset, "wb": s(b.total), "cw": s(b.total), "bc": "0"} for b in balances],
            "P": [
                {
                    "s": symbols.get(p.symbol, p.symbol),
                    "pa": s(p.size),
                    "ep": s(p.entry_price),
                    "bep": s(p.entry_price),
                    "cr": "0",
                    "up": s(p.unrealized_pnl),
                    "mt": "cross",
                    "iw": "0",
                    "ps": "BOTH",
                }
                for p in positions
            ],
        },
    }


def ticker_24hr(t: Ticker, venue_symbol: str) -> dict[str, Any]:
    return {
        "symbol": venue_symbol,
        "priceChange": "0",
        "priceChangePercent": s(t.change_pct_24h),
        "weightedAvgPrice": s(t.last),
        "lastPrice": s(t.last),
        "lastQty": "0",
        "openPrice": s(t.last),
        "highPrice": s(t.last),
        "lowPrice": s(t.last),
        "volume": "0",
        "quoteVolume": s(t.quote_volume_24h),
        "openTime": t.ts_event - 86_400_000,
        "closeTime": t.ts_event,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }


def premium_index(f: FundingRate, venue_symbol: str, now_ms: int) -> dict[str, Any]:
    mark = s(f.mark_price) if f.mark_price is not None else "0"
    return {
        "symbol": venue_symbol,
        "markPrice": mark,
        "indexPrice": s(f.index_price) if f.index_price else mark,
        "estimatedSettlePrice": mark,
        "lastFundingRate": s(f.rate),
        "interestRate": "0.00010000",
        "nextFundingTime": f.next_funding_time,
        "time": now_ms,
    }


def kline_row(k: Kline) -> list[Any]:
    close_time = k.open_time + timeframe_ms(k.timeframe) - 1
    return [
        k.open_time,
        s(k.open),
        s(k.high),
        s(k.low),
        s(k.close),
        s(k.volume),
        close_time,
        "0",
        0,
        "0",
        "0",
        "0",
    ]


def ws_kline(k: Kline, venue_symbol: str, now_ms: int) -> dict[str, Any]:
    return {
        "e": "kline",
        "E": now_ms,
        "s": venue_symbol,
        "k": {
            "t": k.open_time,
            "T": k.open_time + timeframe_ms(k.timeframe) - 1,
            "s": venue_symbol,
            "i": k.timeframe,
            "f": 0,
            "L": 0,
            "o": s(k.open),
            "c": s(k.close),
            "h": s(k.high),
            "l": s(k.low),
            "v": s(k.volume),
            "n": 0,
            "x": k.closed,
            "q": "0",
            "V": "0",
            "Q": "0",
            "B": "0",
        },
    }


def ws_trade(t: Trade, venue_symbol: str, now_ms: int) -> dict[str, Any]:
    tid = int(t.trade_id) if t.trade_id.isdigit() else 0
    # `m`: the buyer is the maker, i.e. the taker sold.
    return {
        "e": "trade",
        "E": now_ms,
        "T": t.ts_event,
        "s": venue_symbol,
        "t": tid,
        "p": s(t.price),
        "q": s(t.quantity),
        "X": "MARKET",
        "m": t.side is Side.SELL,
    }


def ws_agg_trade(t: Trade, venue_symbol: str, now_ms: int) -> dict[str, Any]:
    tid = int(t.trade_id) if t.trade_id.isdigit() else 0
    return {
        "e": "aggTrade",
        "E": now_ms,
        "a": tid,
        "s": venue_symbol,
        "p": s(t.price),
        "q": s(t.quantity),
        "f": tid,
        "l": tid,
        "T": t.ts_event,
        "m": t.side is Side.SELL,
    }


def ws_book_ticker(b: BookTop, venue_symbol: str, update_id: int, now_ms: int) -> dict[str, Any]:
    return {
        "e": "bookTicker",
        "u": update_id,
        "s": venue_symbol,
        "b": s(b.bid),
        "B": s(b.bid_qty),
        "a": s(b.ask),
        "A": s(b.ask_qty),
        "T": b.ts_event,
        "E": now_ms,
    }


def ws_mini_ticker(t: Ticker, venue_symbol: str, now_ms: int) -> dict[str, Any]:
    return {
        "e": "24hrMiniTicker",
        "E": now_ms,
        "s": venue_symbol,
        "c": s(t.last),
        "o": s(t.last),
        "h": s(t.last),
        "l": s(t.last),
        "v": "0",
        "q": s(t.quote_volume_24h),
    }


def ws_mark_price(f: FundingRate, venue_symbol: str, now_ms: int) -> dict[str, Any]:
    mark = s(f.mark_price) if f.mark_price is not None else "0"
    return {
        "e": "markPriceUpdate",
        "E": now_ms,
        "s": venue_symbol,
        "p": mark,
        "i": s(f.index_price) if f.index_price else mark,
        "P": mark,
        "r": s(f.rate),
        "T": f.next_funding_time,
    }


def order_type_in(raw: str) -> OrderType:
    if raw == "LIMIT":
        return OrderType.LIMIT
    if raw == "MARKET":
        return OrderType.MARKET
    raise ValueError(f"type: expected LIMIT or MARKET, got {raw!r}")
