"""A loopback Binance USDT-M venue process with its own simulated market, for end-to-end runs of market_maker.

`python -m opensqt.testing.loopback_market --port P --seed S [--speed X] [--state FILE]` serves the simulated
venue behind the Binance protocol (`BinanceServer`) while a seeded synthetic market (or a recorded file, or
tapes pushed by a test) plays into it. The venue lives as long as this process, so it outlives market_maker
restarts. A JSON control port on 127.0.0.1 lets tests script the market, inject faults and read the venue's
truth (open orders, trades, position) and a timeline of what the server received.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import signal
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
from aiohttp import web
from loguru import logger

from opensqt.clock import ManualClock, WallClock
from opensqt.config import ConfigError
from opensqt.data.market_data import MarketData
from opensqt.exchanges.sim import DEFAULT_INSTRUMENTS, SimExchange, SimVenue
from opensqt.model import Fill, Instrument, OrderUpdated, Side
from opensqt.runtime.affinity import pin_to_cpus
from opensqt.runtime.busy_poll import loop_options
from opensqt.testing.binance_server.server import BinanceServer
from opensqt.testing.tapes import make_tape

MODES = ("synthetic", "scripted", "replay")


class RecordingServer(BinanceServer):
    """`BinanceServer` that keeps a timeline of what reached it: websocket connections and order requests,
    with monotonic times, so tests can check the start-up order and benchmarks can time follow-up orders."""

    def __init__(self, backend: SimExchange, **kwargs: Any) -> None:
        super().__init__(backend, **kwargs)
        self.timeline: list[dict[str, Any]] = []

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        t = time.monotonic()
        if request.headers.get("Upgrade", "").lower() == "websocket":
            user = "listenKey" in request.query or any(k in request.path for k in self.listen_keys)
            self.timeline.append({"t": t, "kind": "ws", "path": request.path, "user": user})
            return await super()._dispatch(request)
        entry: dict[str, Any] | None = None
        if request.path in ("/fapi/v1/order", "/fapi/v1/batchOrders", "/fapi/v1/listenKey"):
            body = await request.text()  # aiohttp caches the body: the handler reads it again
            entry = {"t": t, "kind": "rest", "method": request.method, "path": request.path}
            if request.method == "POST" and request.path != "/fapi/v1/listenKey":
                entry["orders"] = _orders_of(request.path, request.query_string, body)
            self.timeline.append(entry)
        response = await super()._dispatch(request)
        if entry is not None:
            entry["status"] = response.status
            if isinstance(response, web.Response) and response.text and "orders" in entry:
                with contextlib.suppress(ValueError):
                    answer = json.loads(response.text)
                    answers = answer if isinstance(answer, list) else [answer]
                    # per order: the Binance error code, or 0 when accepted (a batch answers each order)
                    entry["codes"] = [a.get("code", 0) if isinstance(a, dict) else 0 for a in answers]
        return response

    def ws_api_received(self, t: float, method: str, params: dict[str, Any]) -> dict[str, Any] | None:
        # orders over the websocket API join the same timeline as REST ones (kind "ws-api")
        if method != "order.place":
            return None
        keep = ("side", "price", "quantity", "timeInForce", "newClientOrderId", "type", "reduceOnly")
        order = {k: str(params[k]) for k in keep if k in params}
        entry: dict[str, Any] = {"t": t, "kind": "ws-api", "method": method, "orders": [order]}
        self.timeline.append(entry)
        return entry

    def ws_api_answered(self, entry: dict[str, Any] | None, status: int, code: int) -> None:
        if entry is not None:
            entry["status"], entry["codes"] = status, [code]


def _orders_of(path: str, query: str, body: str) -> list[dict[str, str]]:
    from urllib.parse import parse_qsl

    params = dict(parse_qsl(query, keep_blank_values=True))
    params.update(parse_qsl(body, keep_blank_values=True))
    keep = ("side", "price", "quantity", "timeInForce", "newClientOrderId", "type", "reduceOnly")
    if path.endswith("batchOrders"):
        try:
            raw = json.loads(params.get("batchOrders", "[]"))
        except ValueError:
            return []
        return [{k: str(o[k]) for k in keep if k in o} for o in raw if isinstance(o, dict)]
    return [{k: params[k] for k in keep if k in params}]


class LoopbackMarket:
    """The simulated venue, its Binance face and the market feeding it; `control_app()` is the test port."""

    def __init__(
        self,
        *,
        mode: str = "synthetic",
        seed: int = 0,
        speed: float = 1.0,
        balance: Decimal = Decimal(10_000),
        symbols: Sequence[str] = ("BTC/USDT:USDT",),
        replay: Path | None = None,
        port: int = 0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
        if speed <= 0:
            raise ValueError(f"speed: expected > 0 (1.0 = real time), got {speed}")
        unknown = [s for s in symbols if s not in DEFAULT_INSTRUMENTS]
        if unknown:
            raise ValueError(f"symbols: {', '.join(unknown)} not markets of the simulated venue")
        self.mode, self.seed, self.speed, self.replay = mode, seed, speed, replay
        self.traded: list[Instrument] = [DEFAULT_INSTRUMENTS[s] for s in symbols]
        perps = [i for i in DEFAULT_INSTRUMENTS.values() if i.is_perpetual and i not in self.traded]
        self.clock = ManualClock(WallClock().now_ms())
        self.venue = SimVenue(
            [*self.traded, *perps], name="binance-loopback", balances={"USDT": balance}, clock=self.clock
        )
        self.exchange = SimExchange(self.venue)
        self.server = RecordingServer(self.exchange, port=port)
        self.fills: list[Fill] = []  # every fill of the account, as the venue made it
        self.fill_at: list[float] = []  # monotonic time each of `fills` was recorded
        self.fill_times: list[tuple[float, Fill]] = []  # (monotonic time its row was published, fill)
        self.rows = 0
        self._resume = anyio.Event()
        self._resume.set()
        self._tape_lock = anyio.Lock()
        self._rebase = True

    # --- the market -------------------------------------------------------------------------------

    def pause(self) -> None:
        if self._resume.is_set():
            self._resume = anyio.Event()

    def resume(self) -> None:
        self._rebase = True
        self._resume.set()

    @property
    def paused(self) -> bool:
        return not self._resume.is_set()

    async def play(self, data: MarketData, *, speed: float | None) -> int:
        """Play `data` into the venue row by row (paced to `speed` x real time, or as fast as possible),
        publishing each row to market streams and the account's updates to the user stream."""
        self.venue.attach(data)
        start_wall, start_ts = 0.0, 0
        self._rebase = True
        for i in range(len(data)):
            if not self._resume.is_set():
                await self._resume.wait()
            ts = int(data.ts[i])
            if speed is not None:
                if self._rebase:
                    start_wall, start_ts, self._rebase = time.monotonic(), ts, False
                delay = start_wall + (ts - start_ts) / 1000 / speed - time.monotonic()
                if delay > 0:
                    await anyio.sleep(delay)
            events = self.venue.step()
            t = time.monotonic()
            self.exchange.publish_row(i)
            self.exchange.publish(events)
            for e in events:
                if isinstance(e, OrderUpdated) and e.fill is not None:
                    self.fill_times.append((t, e.fill))
            self.rows += 1
            await anyio.lowlevel.checkpoint()
        return len(data)

    async def record_fills(self) -> None:
        """Keep every fill of the traded symbol, from resting orders and from crossing submits alike."""
        symbol = self.traded[0].symbol
        while True:
            for update in await self.exchange.watch_orders(symbol):
                if update.fill is not None:
                    self.fills.append(update.fill)
                    self.fill_at.append(time.monotonic())

    async def run_market(self) -> None:
        if self.mode == "scripted":
            await anyio.sleep_forever()
        if self.mode == "replay":
            from opensqt.data.files import load_market_file

            assert self.replay is not None
            data = load_market_file(self.replay, self.traded[0])
            await self.play(data, speed=self.speed)
            logger.info("replay of {} ended; the venue stays up", self.replay)
            await anyio.sleep_forever()
        from opensqt.data.synthetic import SyntheticMarket

        market = SyntheticMarket(self.traded, seed=self.seed)
        for chunk in market.chunks(self.clock.now_ms()):
            await self.play(chunk, speed=self.speed)

    async def play_tape(self, rows: list[list[Any]], gap_ms: int = 1) -> int:
        """Scripted rows `[kind, *fields]` without timestamps ("trade", price, qty, side | "book", bid,
        bid_qty, ask, ask_qty), stamped from the wall clock on, played at once."""
        if not isinstance(rows, list) or not rows:
            raise ValueError("rows: expected a non-empty list of [kind, ...] rows")
        now = max(WallClock().now_ms(), self.venue.now_ms + 1)
        stamped: list[tuple[object, ...]] = []
        for n, row in enumerate(rows):
            if not isinstance(row, list) or not row or row[0] not in ("trade", "book"):
                raise ValueError(f'rows[{n}]: expected ["trade", price, qty, side] or ["book", ...]')
            stamped.append((row[0], now + n * gap_ms, *row[1:]))
        async with self._tape_lock:
            return await self.play(make_tape(stamped, self.traded[0]), speed=None)

    # --- the venue's truth ------------------------------------------------------------------------

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        symbol = self.traded[0].symbol
        position = sum((p.size for p in self.venue.positions([symbol])), Decimal(0))
        return {
            "port": self.server.port,
            "now_ms": self.venue.now_ms,
            "rows": self.rows,
            "paused": self.paused,
            "position": str(position),
            "balance": {a: str(b.total) for a, b in self.venue.balances().items()},
            "open_orders": [
                {
                    "client_order_id": o.client_order_id,
                    "side": o.side.value,
                    "price": str(o.price),
                    "amount": str(o.quantity),
                    "filled": str(o.filled),
                    "status": o.status.value,
                }
                for o in self.venue.open_orders(symbol)
            ],
            "fills": [
                {
                    "trade_id": f.trade_id,
                    "client_order_id": f.client_order_id,
                    "side": f.side.value,
                    "price": str(f.price),
                    "qty": str(f.quantity),
                    "fee": str(f.fee),
                    "t": t,
                }
                for t, f in zip(self.fill_at, self.fills, strict=True)
                if f.symbol == symbol
            ],
            "timeline": self.server.timeline[since:],
            "timeline_len": len(self.server.timeline),
            "not_found": [list(x) for x in self.server.not_found],
            "user_connections": len(self.server.hub._user),
        }

    def tick_to_trade(self) -> list[float]:
        """Seconds from publishing the row that filled a buy to the server receiving the next sell order."""
        sells = [
            e["t"]
            for e in self.server.timeline
            if e["kind"] in ("rest", "ws-api") and any(o.get("side") == "SELL" for o in e.get("orders", ()))
        ]
        out: list[float] = []
        k = 0
        for t, fill in self.fill_times:
            if fill.side is not Side.BUY:
                continue
            while k < len(sells) and sells[k] < t:
                k += 1
            if k < len(sells):
                out.append(sells[k] - t)
                k += 1
        return out

    # --- control port -----------------------------------------------------------------------------

    def control_app(self) -> web.Application:
        app = web.Application()
        routes = [
            web.get("/state", self._state),
            web.post("/tape", self._tape),
            web.post("/faults", self._faults),
            web.post("/drop", self._drop),
            web.post("/market", self._market),
            web.get("/latency", self._latency),
        ]
        app.add_routes(routes)
        return app

    async def _state(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response(self.snapshot(since))

    async def _tape(self, request: web.Request) -> web.Response:
        body = await _json(request)
        try:
            n = await self.play_tape(body.get("rows", []), int(body.get("gap_ms", 1)))
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"rows": n, "fills": len(self.fills)})

    async def _faults(self, request: web.Request) -> web.Response:
        body = await _json(request)
        faults = self.server.faults
        for key in ("rate_limit_next", "retry_after_s", "order_delay_s"):
            if key in body:
                setattr(faults, key, type(getattr(faults, key))(body[key]))
        return web.json_response({k: getattr(faults, k) for k in vars(faults)})

    async def _drop(self, request: web.Request) -> web.Response:
        body = await _json(request)
        hub = self.server.hub
        n = await (hub.drop_user_streams() if body.get("user_only") else hub.drop_all())
        played = 0
        if body.get("rows"):  # play at once, before the client can reconnect: fills land in the gap
            played = await self.play_tape(body["rows"])
        return web.json_response({"dropped": n, "rows": played})

    async def _market(self, request: web.Request) -> web.Response:
        body = await _json(request)
        if body.get("paused") is True:
            self.pause()
        elif body.get("paused") is False:
            self.resume()
        return web.json_response({"paused": self.paused, "rows": self.rows})

    async def _latency(self, request: web.Request) -> web.Response:
        return web.json_response({"tick_to_trade_s": self.tick_to_trade()})


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


async def serve(market: LoopbackMarket, control_port: int, state: Path | None) -> None:
    """Run the server, the control port and the market until cancelled (SIGINT/SIGTERM)."""
    async with market.server as server, anyio.create_task_group() as tg:
        runner = web.AppRunner(market.control_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", control_port)
        await site.start()
        sock = getattr(site, "_server", None)
        ctl = sock.sockets[0].getsockname()[1] if sock is not None and sock.sockets else control_port
        ready = {"event": "ready", "port": server.port, "control_port": ctl, "base_url": server.base_url}
        # The start-up objects (markets, the venue's book, the servers) live for the whole run: freeze them,
        # or every full collection walks them again (~17 ms, stalling whatever the venue was serving then).
        gc.collect()
        gc.freeze()
        print(json.dumps(ready), flush=True)
        try:
            tg.start_soon(market.record_fills)
            tg.start_soon(market.run_market)
            if state is not None:
                tg.start_soon(_write_state, market, state, ready)
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    break
            tg.cancel_scope.cancel()
        finally:
            if state is not None:
                _dump(market, state, ready)
            with anyio.CancelScope(shield=True):
                await runner.cleanup()


async def _write_state(market: LoopbackMarket, path: Path, ready: dict[str, Any]) -> None:
    while True:
        _dump(market, path, ready)
        await anyio.sleep(1.0)


def _dump(market: LoopbackMarket, path: Path, ready: dict[str, Any]) -> None:
    snap = {**ready, **market.snapshot()}
    snap.pop("timeline")  # large; read it from the control port
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(snap))
    tmp.replace(path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m opensqt.testing.loopback_market")
    parser.add_argument(
        "--port", type=int, default=18080, help="Binance port on 127.0.0.1 (0: any free port)"
    )
    parser.add_argument("--control-port", type=int, default=0, help="control port on 127.0.0.1 (0: any)")
    parser.add_argument("--seed", type=int, default=0, help="synthetic market seed")
    parser.add_argument("--speed", type=float, default=1.0, help="market speed (1.0 = real time)")
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="synthetic",
        help="synthetic market, scripted (tapes from the control port), or replay FILE",
    )
    parser.add_argument("--replay", type=Path, help="recorded market file (with --mode replay)")
    parser.add_argument("--balance", type=Decimal, default=Decimal(10_000), help="USDT of the account")
    parser.add_argument("--state", type=Path, help="write the venue's state here as JSON every second")
    parser.add_argument(
        "--cpu",
        type=int,
        action="append",
        default=[],
        help="pin the venue to this CPU (repeatable): benchmarks keep it off market_maker's CPU",
    )
    parser.add_argument(
        "--busy-poll", action="store_true", help="poll sockets without sleeping (benchmarks: a warm venue)"
    )
    args = parser.parse_args(argv)
    if args.mode == "replay" and (args.replay is None or not args.replay.is_file()):
        parser.error(f"--replay: expected an existing market file with --mode replay, got {args.replay}")
    if args.speed <= 0:
        parser.error(f"--speed: expected > 0, got {args.speed}")
    try:
        pin_to_cpus(args.cpu, key="--cpu")
    except ConfigError as error:
        parser.error(str(error).removeprefix("config error: "))
    logger.remove()
    logger.add(sys.stderr, level="WARNING")
    market = LoopbackMarket(
        mode=args.mode,
        seed=args.seed,
        speed=args.speed,
        balance=args.balance,
        replay=args.replay,
        port=args.port,
    )
    with contextlib.suppress(KeyboardInterrupt):
        anyio.run(serve, market, args.control_port, args.state, backend_options=loop_options(args.busy_poll))


if __name__ == "__main__":
    main()
