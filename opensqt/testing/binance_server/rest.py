"""REST endpoints of the loopback Binance USDT-M server: each maps onto backend `Exchange` calls."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opensqt.exchanges.base import MarginSource
from opensqt.model import Position
from opensqt.testing.binance_server import shapes

if TYPE_CHECKING:
    from opensqt.testing.binance_server.server import BinanceServer, Handler

#: the maintenance margin rate `/fapi/v1/leverageBracket` advertises (one bracket), and that the account's
#: `totalMaintMargin` charges when the backend keeps no margin ledger of its own
MAINT_MARGIN_RATIO = Decimal("0.004")


def routes(server: BinanceServer) -> dict[tuple[str, str], tuple[Handler, bool]]:
    """(method, path) -> (handler, signed). Paths are Binance's own."""
    from opensqt.testing.binance_server.server import ApiError

    b = server.backend

    def perps(symbol: str | None) -> list[str]:
        # USDT-M serves perpetuals only; a backend may also hold spot markets (the sim venue does).
        return [symbol] if symbol else [i.symbol for i in server.instruments() if i.is_perpetual]

    def vsym(symbol: str) -> str:
        return server.instrument(symbol).venue_symbol

    async def ping(p: dict[str, str]) -> Any:
        return {}

    async def time(p: dict[str, str]) -> Any:
        return {"serverTime": server.clock.now_ms()}

    async def exchange_info(p: dict[str, str]) -> Any:
        await server.refresh_markets()
        return shapes.exchange_info(server.instruments(), server.clock.now_ms())

    async def depth(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        tickers = await server._backend(b.fetch_tickers([symbol]))
        t = tickers[symbol]
        last_id = server.hub.depth_update_id(vsym(symbol))
        now = server.clock.now_ms()
        bids = [[shapes.s(t.bid), "1"]] if t.bid else []
        asks = [[shapes.s(t.ask), "1"]] if t.ask else []
        return {"lastUpdateId": last_id, "E": now, "T": now, "bids": bids, "asks": asks}

    async def ticker_24hr(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        tickers = await server._backend(b.fetch_tickers(perps(symbol)))
        rows = [shapes.ticker_24hr(t, vsym(s)) for s, t in tickers.items()]
        return rows[0] if symbol else rows

    async def book_ticker(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        tickers = await server._backend(b.fetch_tickers(perps(symbol)))
        rows = [
            {
                "symbol": vsym(s),
                "bidPrice": shapes.s(t.bid),
                "bidQty": "1",
                "askPrice": shapes.s(t.ask),
                "askQty": "1",
                "time": t.ts_event,
            }
            for s, t in tickers.items()
        ]
        return rows[0] if symbol else rows

    async def klines(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        since = int(p["startTime"]) if "startTime" in p else None
        limit = int(p["limit"]) if "limit" in p else None
        rows = await server._backend(b.fetch_ohlcv(symbol, p.get("interval", "1m"), since, limit))
        return [shapes.kline_row(k) for k in rows]

    async def premium_index(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        rates = await server._backend(b.fetch_funding_rates(perps(symbol)))
        rows = [shapes.premium_index(f, vsym(s), server.clock.now_ms()) for s, f in rates.items()]
        return rows[0] if symbol else rows

    async def funding_rate(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        rates = await server._backend(b.fetch_funding_rates(perps(symbol)))
        return [
            {
                "symbol": vsym(s),
                "fundingRate": shapes.s(f.rate),
                "fundingTime": f.next_funding_time - int(f.interval_hours * 3_600_000),
                "markPrice": shapes.s(f.mark_price),
            }
            for s, f in rates.items()
        ]

    async def funding_info(p: dict[str, str]) -> Any:
        rates = await server._backend(b.fetch_funding_rates(perps(None)))
        return [
            {
                "symbol": vsym(s),
                "adjustedFundingRateCap": "0.02",
                "adjustedFundingRateFloor": "-0.02",
                "fundingIntervalHours": int(f.interval_hours),
                "disclaimer": False,
            }
            for s, f in rates.items()
        ]

    async def account_margin(wallet: Decimal, positions: list[Position]) -> tuple[Decimal, Decimal]:
        # (totalMarginBalance, totalMaintMargin): the backend's own figures where it keeps a margin ledger
        # (the sim venue); else wallet + unrealized PnL, and every position's notional x the advertised rate
        if b.has.get("fetch_account_margin") and isinstance(b, MarginSource):
            m = await server._backend(b.fetch_account_margin())
            return m.margin_balance, m.maintenance_margin
        upnl = sum((pos.unrealized_pnl for pos in positions), Decimal(0))
        return wallet + upnl, sum((pos.notional * MAINT_MARGIN_RATIO for pos in positions), Decimal(0))

    async def account(p: dict[str, str]) -> Any:
        balances = await server._backend(b.fetch_balance())
        positions = await server._backend(b.fetch_positions())
        usdt = balances.get("USDT")
        margin_balance, maint = await account_margin(usdt.total if usdt else Decimal(0), positions)
        assets = [shapes.asset_balance(x, server.clock.now_ms()) for x in balances.values()]
        pos_rows = []
        for pos in positions:
            lev = await server._backend(b.fetch_leverage(pos.symbol))
            pos_rows.append(shapes.position_risk(pos, server.instrument(pos.symbol), lev))
        total = shapes.s(usdt.total) if usdt else "0"
        return {
            "totalInitialMargin": shapes.s(usdt.used) if usdt else "0",
            "totalMaintMargin": shapes.s(maint),
            "totalWalletBalance": total,
            "totalUnrealizedProfit": "0",
            "totalMarginBalance": shapes.s(margin_balance),
            "totalPositionInitialMargin": "0",
            "totalOpenOrderInitialMargin": "0",
            "totalCrossWalletBalance": total,
            "totalCrossUnPnl": "0",
            "availableBalance": shapes.s(usdt.free) if usdt else "0",
            "maxWithdrawAmount": shapes.s(usdt.free) if usdt else "0",
            "canTrade": True,
            "canDeposit": True,
            "canWithdraw": True,
            "feeTier": 0,
            "multiAssetsMargin": False,
            "tradeGroupId": -1,
            "updateTime": server.clock.now_ms(),
            "assets": assets,
            "positions": pos_rows,
        }

    async def balance(p: dict[str, str]) -> Any:
        balances = await server._backend(b.fetch_balance())
        return [
            {"accountAlias": "loopback", **shapes.asset_balance(x, server.clock.now_ms())}
            for x in balances.values()
        ]

    async def position_risk(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        positions = await server._backend(b.fetch_positions([symbol] if symbol else None))
        rows = []
        for pos in positions:
            lev = await server._backend(b.fetch_leverage(pos.symbol))
            rows.append(shapes.position_risk(pos, server.instrument(pos.symbol), lev))
        return rows

    async def leverage(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        try:
            lev = int(p["leverage"])
        except (KeyError, ValueError):
            raise ApiError(
                400, -1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed."
            ) from None
        try:
            got = await b.set_leverage(symbol, lev)
        except Exception as exc:
            raise ApiError(400, -4028, f"Leverage {lev} is not valid: {exc}") from None
        return {"leverage": got, "maxNotionalValue": "1000000", "symbol": vsym(symbol)}

    async def leverage_bracket(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        insts = [server.instrument(symbol)] if symbol else server.instruments()
        rows = [
            {
                "symbol": i.venue_symbol,
                "notionalCoef": 1.0,
                "brackets": [
                    {
                        "bracket": 1,
                        "initialLeverage": i.max_leverage,
                        "notionalCap": 1000000,
                        "notionalFloor": 0,
                        "maintMarginRatio": float(MAINT_MARGIN_RATIO),
                        "cum": 0.0,
                    }
                ],
            }
            for i in insts
        ]
        return rows[0] if symbol else rows

    async def symbol_config(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        insts = [server.instrument(symbol)] if symbol else server.instruments()
        rows = []
        for i in insts:
            lev = await server._backend(b.fetch_leverage(i.symbol))
            rows.append(
                {
                    "symbol": i.venue_symbol,
                    "marginType": "CROSSED",
                    "isAutoAddMargin": "false",
                    "leverage": lev,
                    "maxNotionalValue": "1000000",
                }
            )
        return rows

    async def commission(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        maker, taker = await server._backend(b.fetch_trading_fees(symbol))
        return {
            "symbol": vsym(symbol),
            "makerCommissionRate": shapes.s(maker),
            "takerCommissionRate": shapes.s(taker),
        }

    async def position_mode(p: dict[str, str]) -> Any:
        return {"dualSidePosition": await server._backend(b.fetch_position_mode())}

    async def set_position_mode(p: dict[str, str]) -> Any:
        hedged = p.get("dualSidePosition", "false").lower() == "true"
        if hedged == await server._backend(b.fetch_position_mode()):
            raise ApiError(400, -4059, "No need to change position side.")
        # The backend port has no setter: the mode is the backend's to choose.
        raise ApiError(400, -4068, "The position side cannot be changed if there exists position.")

    async def margin_type(p: dict[str, str]) -> Any:
        if p.get("marginType", "CROSSED").upper() != "CROSSED":
            raise ApiError(400, -4046, "The loopback venue trades cross margin only.")
        raise ApiError(400, -4046, "No need to change margin type.")

    async def new_order(p: dict[str, str]) -> Any:
        command = server.place_command(p)
        await server.delay_order()
        order = await server._backend(b.create_order(command))
        return server.order_json(order)

    async def get_order(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        order = await server._backend(b.fetch_order(symbol, server.client_id_for(p)))
        return server.order_json(order)

    async def cancel(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        order = await server._backend(b.cancel_order(symbol, server.client_id_for(p)), cancel=True)
        return server.order_json(order)

    async def open_orders(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        return [server.order_json(o) for o in await server._backend(b.fetch_open_orders(symbol))]

    async def cancel_all(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        await server._backend(b.cancel_all_orders(symbol))
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    async def batch_orders(p: dict[str, str]) -> Any:
        try:
            raw = json.loads(p["batchOrders"])
        except (KeyError, ValueError):
            raise ApiError(
                400, -1102, "Mandatory parameter 'batchOrders' was not sent, was empty/null, or malformed."
            ) from None
        if not isinstance(raw, list) or not 1 <= len(raw) <= 5:
            raise ApiError(400, -1130, "Data sent for parameter 'batchOrders' is not valid: 1 to 5 orders.")
        out: list[Any] = []
        for item in raw:
            try:
                command = server.place_command({k: str(v) for k, v in item.items()})
                out.append(server.order_json(await server._backend(b.create_order(command))))
            except ApiError as err:
                out.append({"code": err.code, "msg": err.msg})
        return out

    async def batch_cancel(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        # ccxt spells it `orderidlist`; Binance reads parameter names case-insensitively here.
        ids = _id_list(p.get("orderIdList") or p.get("orderidlist"))
        cids = _id_list(p.get("origClientOrderIdList") or p.get("origclientorderidlist"))
        out: list[Any] = []
        for cid in [server.client_id_for({"orderId": i}) for i in ids] + cids:
            try:
                out.append(server.order_json(await server._backend(b.cancel_order(symbol, cid), cancel=True)))
            except ApiError as err:
                out.append({"code": err.code, "msg": err.msg})
        return out

    async def user_trades(p: dict[str, str]) -> Any:
        symbol = server._symbol(p)
        assert symbol is not None
        since = int(p.get("startTime", "0"))
        fills = [f for f in server.fills(symbol) if f.ts_event >= since]
        return [shapes.user_trade(f, vsym(symbol), server.venue_order_id(f)) for f in fills]

    async def income(p: dict[str, str]) -> Any:
        # Funding bookings only (incomeType FUNDING_FEE); a backend without a funding history has none.
        if p.get("incomeType", "FUNDING_FEE") != "FUNDING_FEE":
            return []
        history = getattr(b, "fetch_funding_history", None)
        symbols = perps(server._symbol(p, required=False))
        if history is None:
            return []
        since, until = int(p.get("startTime", "0")), int(p.get("endTime", str(2**62)))
        rows = [f for s in symbols for f in await server._backend(history(s, since)) if f.ts_event <= until]
        rows.sort(key=lambda f: (f.ts_event, f.income_id))
        # Binance's documented row: income as a string, time in ms, tranId a number, tradeId empty for funding
        return [
            {
                "symbol": vsym(f.symbol),
                "incomeType": "FUNDING_FEE",
                "income": shapes.s(f.amount),
                "asset": f.asset,
                "info": "FUNDING_FEE",
                "time": f.ts_event,
                "tranId": int(f.income_id) if f.income_id.isdigit() else f.income_id,
                "tradeId": "",
            }
            for f in rows[: int(p.get("limit", "100"))]
        ]

    async def listen_key_new(p: dict[str, str]) -> Any:
        return {"listenKey": server.new_listen_key()}

    async def listen_key_keep(p: dict[str, str]) -> Any:
        return {}

    public: dict[tuple[str, str], Handler] = {
        ("GET", "/fapi/v1/ping"): ping,
        ("GET", "/fapi/v1/time"): time,
        ("GET", "/fapi/v1/exchangeInfo"): exchange_info,
        ("GET", "/fapi/v1/depth"): depth,
        ("GET", "/fapi/v1/ticker/24hr"): ticker_24hr,
        ("GET", "/fapi/v1/ticker/bookTicker"): book_ticker,
        ("GET", "/fapi/v1/klines"): klines,
        ("GET", "/fapi/v1/premiumIndex"): premium_index,
        ("GET", "/fapi/v1/fundingRate"): funding_rate,
        ("GET", "/fapi/v1/fundingInfo"): funding_info,
    }
    signed: dict[tuple[str, str], Handler] = {
        ("GET", "/fapi/v2/account"): account,
        ("GET", "/fapi/v3/account"): account,
        ("GET", "/fapi/v2/balance"): balance,
        ("GET", "/fapi/v3/balance"): balance,
        ("GET", "/fapi/v2/positionRisk"): position_risk,
        ("GET", "/fapi/v3/positionRisk"): position_risk,
        ("POST", "/fapi/v1/leverage"): leverage,
        ("GET", "/fapi/v1/leverageBracket"): leverage_bracket,
        ("GET", "/fapi/v1/symbolConfig"): symbol_config,
        ("GET", "/fapi/v1/commissionRate"): commission,
        ("GET", "/fapi/v1/positionSide/dual"): position_mode,
        ("POST", "/fapi/v1/positionSide/dual"): set_position_mode,
        ("POST", "/fapi/v1/marginType"): margin_type,
        ("POST", "/fapi/v1/order"): new_order,
        ("GET", "/fapi/v1/order"): get_order,
        ("DELETE", "/fapi/v1/order"): cancel,
        ("GET", "/fapi/v1/openOrders"): open_orders,
        ("DELETE", "/fapi/v1/allOpenOrders"): cancel_all,
        ("POST", "/fapi/v1/batchOrders"): batch_orders,
        ("DELETE", "/fapi/v1/batchOrders"): batch_cancel,
        ("GET", "/fapi/v1/userTrades"): user_trades,
        ("GET", "/fapi/v1/income"): income,
    }
    # listenKey calls carry the API key header but no signature, as on Binance.
    keyed: dict[tuple[str, str], Handler] = {
        ("POST", "/fapi/v1/listenKey"): listen_key_new,
        ("PUT", "/fapi/v1/listenKey"): listen_key_keep,
        ("DELETE", "/fapi/v1/listenKey"): listen_key_keep,
    }
    table: dict[tuple[str, str], tuple[Handler, bool]] = {k: (h, False) for k, h in public.items()}
    table.update({k: (h, True) for k, h in signed.items()})
    table.update({k: (h, False) for k, h in keyed.items()})
    return table


def _id_list(raw: str | None) -> list[str]:
    """A Binance id list parameter: JSON (`[1,2]`, `["a","b"]`)."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if not isinstance(value, list):
        from opensqt.testing.binance_server.server import ApiError

        raise ApiError(
            400, -1130, f"Data sent for parameter id list is not valid: expected a JSON list, got {raw!r}"
        )
    return [str(v) for v in value]
