"""REST endpoints of the loopback Binance spot server (`/api/v3`, plus the one `/sapi` call ccxt makes for
fees): each maps onto backend `Exchange` calls."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opensqt.testing.binance_server.server import ApiError
from opensqt.testing.binance_server.shapes import s
from opensqt.testing.binance_spot import shapes

if TYPE_CHECKING:
    from opensqt.testing.binance_server.server import Handler
    from opensqt.testing.binance_spot.server import BinanceSpotServer


def routes(server: BinanceSpotServer) -> dict[tuple[str, str], tuple[Handler, bool]]:
    """(method, path) -> (handler, signed). Paths are Binance's own."""
    b = server.backend

    def symbols(symbol: str | None) -> list[str]:
        return [symbol] if symbol else [i.symbol for i in server.instruments()]

    def vsym(symbol: str) -> str:
        return server.spot_instrument(symbol).venue_symbol

    def required(p: dict[str, str]) -> str:
        symbol = server._symbol(p)
        assert symbol is not None
        return symbol

    async def ping(p: dict[str, str]) -> Any:
        return {}

    async def time(p: dict[str, str]) -> Any:
        return {"serverTime": server.clock.now_ms()}

    async def exchange_info(p: dict[str, str]) -> Any:
        await server.refresh_markets()
        return shapes.exchange_info(server.instruments(), server.clock.now_ms())

    async def depth(p: dict[str, str]) -> Any:
        symbol = required(p)
        t = (await server._backend(b.fetch_tickers([symbol])))[symbol]
        return {
            "lastUpdateId": server.hub.depth_update_id(vsym(symbol)),
            "bids": [[s(t.bid), "1.00000000"]] if t.bid else [],
            "asks": [[s(t.ask), "1.00000000"]] if t.ask else [],
        }

    async def ticker_24hr(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        tickers = await server._backend(b.fetch_tickers(symbols(symbol)))
        rows = [shapes.ticker_24hr(t, vsym(sym)) for sym, t in tickers.items()]
        return rows[0] if symbol else rows

    async def book_ticker(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        tickers = await server._backend(b.fetch_tickers(symbols(symbol)))
        rows = [
            {
                "symbol": vsym(sym),
                "bidPrice": s(t.bid),
                "bidQty": "1.00000000",
                "askPrice": s(t.ask),
                "askQty": "1.00000000",
            }
            for sym, t in tickers.items()
        ]
        return rows[0] if symbol else rows

    async def account(p: dict[str, str]) -> Any:
        balances = await server._backend(b.fetch_balance())
        insts = server.instruments()
        maker, taker = (insts[0].maker_fee, insts[0].taker_fee) if insts else (Decimal(0), Decimal(0))
        return shapes.account(list(balances.values()), maker, taker, server.clock.now_ms())

    async def trade_fee(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        rows = []
        for sym in symbols(symbol):
            maker, taker = await server._backend(b.fetch_trading_fees(sym))
            rows.append({"symbol": vsym(sym), "makerCommission": s(maker), "takerCommission": s(taker)})
        return rows

    async def new_order(p: dict[str, str]) -> Any:
        command = server.place_command(p)
        await server.delay_order()
        order = await server._backend(b.create_order(command))
        fills = [f for f in server.fills(order.symbol) if f.client_order_id == order.client_order_id]
        return shapes.order_ack_full(order, vsym(order.symbol), server._order_id(order), fills)

    async def get_order(p: dict[str, str]) -> Any:
        symbol = required(p)
        order = await server._backend(b.fetch_order(symbol, server.client_id_for(p)))
        return server.order_json(order)

    async def cancel(p: dict[str, str]) -> Any:
        symbol = required(p)
        try:
            cid = server.client_id_for(p)
        except ApiError as err:
            if err.code != -2013:
                raise
            raise ApiError(400, -2011, "Unknown order sent.") from None  # spot's answer to a cancel
        order = await server._backend(b.cancel_order(symbol, cid), cancel=True)
        return shapes.cancel_ack(order, vsym(symbol), server._order_id(order))

    async def open_orders(p: dict[str, str]) -> Any:
        symbol = server._symbol(p, required=False)
        return [server.order_json(o) for o in await server._backend(b.fetch_open_orders(symbol))]

    async def cancel_open_orders(p: dict[str, str]) -> Any:
        symbol = required(p)
        done = await server._backend(b.cancel_all_orders(symbol), cancel=True)
        return [shapes.cancel_ack(o, vsym(symbol), server._order_id(o)) for o in done]

    async def my_trades(p: dict[str, str]) -> Any:
        symbol = required(p)
        since = int(p.get("startTime", "0"))
        fills = [f for f in server.fills(symbol) if f.ts_event >= since]
        return [shapes.my_trade(f, vsym(symbol), server.venue_order_id(f)) for f in fills]

    async def margin_pairs(p: dict[str, str]) -> Any:
        # ccxt reads these while loading markets (with keys): this account trades no margin pairs
        return []

    async def listen_key_new(p: dict[str, str]) -> Any:
        return {"listenKey": server.new_listen_key()}

    async def listen_key_keep(p: dict[str, str]) -> Any:
        return {}

    public: dict[tuple[str, str], Handler] = {
        ("GET", "/api/v3/ping"): ping,
        ("GET", "/api/v3/time"): time,
        ("GET", "/api/v3/exchangeInfo"): exchange_info,
        ("GET", "/api/v3/depth"): depth,
        ("GET", "/api/v3/ticker/24hr"): ticker_24hr,
        ("GET", "/api/v3/ticker/bookTicker"): book_ticker,
    }
    signed: dict[tuple[str, str], Handler] = {
        ("GET", "/api/v3/account"): account,
        ("GET", "/sapi/v1/asset/tradeFee"): trade_fee,
        ("POST", "/api/v3/order"): new_order,
        ("GET", "/api/v3/order"): get_order,
        ("DELETE", "/api/v3/order"): cancel,
        ("GET", "/api/v3/openOrders"): open_orders,
        ("DELETE", "/api/v3/openOrders"): cancel_open_orders,
        ("GET", "/api/v3/myTrades"): my_trades,
        ("GET", "/sapi/v1/margin/allPairs"): margin_pairs,
        ("GET", "/sapi/v1/margin/isolated/allPairs"): margin_pairs,
    }
    # listenKey calls carry the API key header but no signature, as on Binance.
    keyed: dict[tuple[str, str], Handler] = {
        ("POST", "/api/v3/userDataStream"): listen_key_new,
        ("PUT", "/api/v3/userDataStream"): listen_key_keep,
        ("DELETE", "/api/v3/userDataStream"): listen_key_keep,
    }
    table: dict[tuple[str, str], tuple[Handler, bool]] = {k: (h, False) for k, h in public.items()}
    table.update({k: (h, True) for k, h in signed.items()})
    table.update({k: (h, False) for k, h in keyed.items()})
    return table
