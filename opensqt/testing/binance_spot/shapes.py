"""Binance spot wire shapes (`/api/v3`, user data stream): our model values as the venue's JSON.

Field names, string/number choices and order follow Binance's documented samples (binance-spot-api-docs:
rest-api.md, user-data-stream.md); `tests/arbitrage/test_spot_server.py` checks the key sets against them.
Values shared with USDT-M (statuses, time in force, decimal rendering) come from the USDT-M shapes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from opensqt.model import Balance, Fill, Instrument, Order, OrderStatus, Side, Ticker, TimeInForce
from opensqt.testing.binance_server.shapes import STATUS, s

TIF = {TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK", TimeInForce.POST_ONLY: "GTC"}


def order_type(o: Order) -> str:
    # post-only on spot is its own order type, LIMIT_MAKER
    if o.time_in_force is TimeInForce.POST_ONLY:
        return "LIMIT_MAKER"
    return o.type.name


def symbol_info(inst: Instrument) -> dict[str, Any]:
    return {
        "symbol": inst.venue_symbol,
        "status": "TRADING",
        "baseAsset": inst.base,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": s(inst.tick_size),
                "maxPrice": "1000000.00000000",
                "tickSize": s(inst.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": s(inst.min_qty),
                "maxQty": "9000.00000000",
                "stepSize": s(inst.lot_size),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": "100.00000000",
                "stepSize": "0.00000000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": s(inst.min_notional),
                "applyMinToMarket": True,
                "maxNotional": "9000000.00000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(instruments: list[Instrument], now_ms: int) -> dict[str, Any]:
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(i) for i in instruments if not i.is_perpetual],
    }


def _cum_quote(o: Order) -> str:
    return s((o.average_price or Decimal(0)) * o.filled)


def order(o: Order, venue_symbol: str, order_id: int) -> dict[str, Any]:
    """GET /api/v3/order, openOrders rows."""
    return {
        "symbol": venue_symbol,
        "orderId": order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "price": s(o.price or Decimal(0)),
        "origQty": s(o.quantity),
        "executedQty": s(o.filled),
        "cummulativeQuoteQty": _cum_quote(o),
        "status": STATUS[o.status],
        "timeInForce": TIF[o.time_in_force],
        "type": order_type(o),
        "side": o.side.name,
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": o.ts_init or o.ts_event,
        "updateTime": o.ts_event,
        "isWorking": o.is_open,
        "workingTime": o.ts_init or o.ts_event,
        "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "NONE",
    }


def order_ack_full(o: Order, venue_symbol: str, order_id: int, fills: list[Fill]) -> dict[str, Any]:
    """POST /api/v3/order with newOrderRespType FULL (the default for MARKET and LIMIT)."""
    return {
        "symbol": venue_symbol,
        "orderId": order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "transactTime": o.ts_event,
        "price": s(o.price or Decimal(0)),
        "origQty": s(o.quantity),
        "executedQty": s(o.filled),
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": _cum_quote(o),
        "status": STATUS[o.status],
        "timeInForce": TIF[o.time_in_force],
        "type": order_type(o),
        "side": o.side.name,
        "workingTime": o.ts_init or o.ts_event,
        "selfTradePreventionMode": "NONE",
        "fills": [
            {
                "price": s(f.price),
                "qty": s(f.quantity),
                "commission": s(f.fee),
                "commissionAsset": f.fee_asset,
                "tradeId": int(f.trade_id) if f.trade_id.isdigit() else -1,
            }
            for f in fills
        ],
    }


def cancel_ack(o: Order, venue_symbol: str, order_id: int) -> dict[str, Any]:
    """DELETE /api/v3/order."""
    return {
        "symbol": venue_symbol,
        "origClientOrderId": o.client_order_id,
        "orderId": order_id,
        "orderListId": -1,
        "clientOrderId": o.client_order_id,
        "transactTime": o.ts_event,
        "price": s(o.price or Decimal(0)),
        "origQty": s(o.quantity),
        "executedQty": s(o.filled),
        "origQuoteOrderQty": "0.00000000",
        "cummulativeQuoteQty": _cum_quote(o),
        "status": STATUS[o.status],
        "timeInForce": TIF[o.time_in_force],
        "type": order_type(o),
        "side": o.side.name,
        "selfTradePreventionMode": "NONE",
    }


def execution_report(
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
    return {
        "e": "executionReport",
        "E": now_ms,
        "s": venue_symbol,
        "c": o.client_order_id,
        "S": o.side.name,
        "o": order_type(o),
        "f": TIF[o.time_in_force],
        "q": s(o.quantity),
        "p": s(o.price or Decimal(0)),
        "P": "0.00000000",
        "F": "0.00000000",
        "g": -1,
        "C": o.client_order_id if exec_type == "CANCELED" else "",
        "x": exec_type,
        "X": STATUS[o.status],
        "r": "NONE",
        "i": order_id,
        "l": s(fill.quantity) if fill else "0.00000000",
        "z": s(o.filled),
        "L": s(fill.price) if fill else "0.00000000",
        "n": s(fill.fee) if fill else "0",
        "N": fill.fee_asset if fill else None,
        "T": o.ts_event,
        "t": int(fill.trade_id) if fill and fill.trade_id.isdigit() else -1,
        "I": order_id * 2,
        "w": o.is_open,
        "m": bool(fill and fill.liquidity.value == "maker"),
        "M": False,
        "O": o.ts_init or o.ts_event,
        "Z": _cum_quote(o),
        "Y": s(fill.price * fill.quantity) if fill else "0.00000000",
        "Q": "0.00000000",
        "W": o.ts_init or o.ts_event,
        "V": "NONE",
    }


def account_position(balances: list[Balance], now_ms: int) -> dict[str, Any]:
    return {
        "e": "outboundAccountPosition",
        "E": now_ms,
        "u": max((b.ts_event for b in balances), default=now_ms) or now_ms,
        "B": [{"a": b.asset, "f": s(b.free), "l": s(b.used)} for b in balances],
    }


def account(balances: list[Balance], maker: Decimal, taker: Decimal, now_ms: int) -> dict[str, Any]:
    """GET /api/v3/account."""
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": s(maker),
            "taker": s(taker),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now_ms,
        "accountType": "SPOT",
        "balances": [{"asset": b.asset, "free": s(b.free), "locked": s(b.used)} for b in balances],
        "permissions": ["SPOT"],
        "uid": 354937868,
    }


def my_trade(f: Fill, venue_symbol: str, order_id: int) -> dict[str, Any]:
    """GET /api/v3/myTrades rows."""
    return {
        "symbol": venue_symbol,
        "id": int(f.trade_id) if f.trade_id.isdigit() else 0,
        "orderId": order_id,
        "orderListId": -1,
        "price": s(f.price),
        "qty": s(f.quantity),
        "quoteQty": s(f.price * f.quantity),
        "commission": s(f.fee),
        "commissionAsset": f.fee_asset,
        "time": f.ts_event,
        "isBuyer": f.side is Side.BUY,
        "isMaker": f.liquidity.value == "maker",
        "isBestMatch": True,
    }


def ticker_24hr(t: Ticker, venue_symbol: str) -> dict[str, Any]:
    return {
        "symbol": venue_symbol,
        "priceChange": "0.00000000",
        "priceChangePercent": s(t.change_pct_24h),
        "weightedAvgPrice": s(t.last),
        "prevClosePrice": s(t.last),
        "lastPrice": s(t.last),
        "lastQty": "0.00000000",
        "bidPrice": s(t.bid),
        "bidQty": "1.00000000",
        "askPrice": s(t.ask),
        "askQty": "1.00000000",
        "openPrice": s(t.last),
        "highPrice": s(t.last),
        "lowPrice": s(t.last),
        "volume": "0.00000000",
        "quoteVolume": s(t.quote_volume_24h),
        "openTime": t.ts_event - 86_400_000,
        "closeTime": t.ts_event,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }
