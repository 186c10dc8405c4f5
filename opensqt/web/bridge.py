"""`ApiBridge`: follows market_maker's gRPC API (subscriptions for slots, positions and alerts; a poll for
status, risk, orders and fills) into a `LiveView`, and tracks the link for the page ("disconnected since")."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import anyio
from loguru import logger

from opensqt.api import ports
from opensqt.api.client import ApiError
from opensqt.clock import Clock, WallClock
from opensqt.model import Fill, Order
from opensqt.runtime.limits import backoff_delays
from opensqt.web.view import Connection, LiveView, Message

FILLS_PAGE = 100


class ApiReader(Protocol):
    """The part of `opensqt.api.client.ApiClient` the bridge uses (tests may pass their own)."""

    reconnects: int

    async def get_engine_status(self) -> ports.EngineStatus: ...

    async def get_risk_status(self) -> ports.RiskStatus: ...

    async def get_risk_metrics(self) -> ports.RiskMetrics: ...

    async def get_breaker(self) -> ports.BreakerStatus: ...

    async def get_open_orders(self, symbol: str | None = None) -> tuple[Order, ...]: ...

    async def get_fills(self, query: ports.PageQuery = ...) -> ports.Page[Fill]: ...

    def subscribe_slots(self, symbol: str | None = None) -> AsyncIterator[ports.SlotUpdate]: ...

    def subscribe_positions(self, symbol: str | None = None) -> AsyncIterator[ports.PositionUpdate]: ...

    def subscribe_risk_alerts(self) -> AsyncIterator[ports.RiskAlert]: ...


class ApiBridge:
    """Run with `await tg.start(bridge.run)`; every change goes to `publish` as a list of messages."""

    def __init__(
        self,
        client: ApiReader,
        view: LiveView,
        publish: Callable[[list[Message]], None],
        *,
        symbol: str | None = None,
        poll_interval: float = 1.0,
        clock: Clock | None = None,
        retry_after_refusal: float = 5.0,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.client = client
        self.view = view
        self._publish = publish
        self.symbol = symbol
        self.poll_interval = poll_interval
        self.clock = clock or WallClock()
        self._retry_after_refusal = retry_after_refusal
        self._sleep = sleep
        self._poke = anyio.Event()
        self.polls = 0

    # --- connection state -------------------------------------------------------------------------------

    def _emit(self, messages: list[Message]) -> None:
        if messages:
            self._publish(messages)

    def mark_up(self) -> None:
        if not self.view.connection.connected:
            logger.info("market_maker API at {} is reachable", getattr(self.client, "target", "?"))
            self._set(Connection(True, self.clock.now_ms(), "", self.client.reconnects))

    def mark_down(self, code: str) -> None:
        c = self.view.connection
        if c.connected or c.since_ms == 0 or c.error != code:
            if c.connected:
                logger.warning("market_maker API lost ({})", code)
            # Keep the first moment it went down: the page says "disconnected since" that moment.
            since = c.since_ms if not c.connected and c.since_ms else self.clock.now_ms()
            self._set(Connection(False, since, code, self.client.reconnects))

    def _set(self, connection: Connection) -> None:
        self._emit(self.view.apply_connection(connection))

    def poke(self) -> None:
        """Poll now (an alert arrived: risk state has likely changed)."""
        self._poke.set()

    # --- tasks ------------------------------------------------------------------------------------------

    async def run(self, *, task_status: Any = anyio.TASK_STATUS_IGNORED) -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._follow, "slots", self._slots)
            tg.start_soon(self._follow, "positions", self._positions)
            tg.start_soon(self._follow, "alerts", self._alerts)
            tg.start_soon(self._poll_forever)
            task_status.started()

    async def _follow(self, name: str, body: Callable[[], Awaitable[None]]) -> None:
        """Run one subscription forever. The client reconnects by itself on transient failures; a refusal
        (bad key, unknown symbol) ends its iterator with ApiError: show it and try again later."""
        while True:
            try:
                await body()
                code = "ENDED"
            except ApiError as exc:
                code = exc.code
                logger.error("API subscription {} refused: {}", name, exc.code)
            self.mark_down(code)
            await self._sleep(self._retry_after_refusal)

    async def _slots(self) -> None:
        async for update in self.client.subscribe_slots(self.symbol):
            self.mark_up()
            self._emit(self.view.apply_slots(update))

    async def _positions(self) -> None:
        async for update in self.client.subscribe_positions(self.symbol):
            self.mark_up()
            self._emit(self.view.apply_positions(update))

    async def _alerts(self) -> None:
        async for alert in self.client.subscribe_risk_alerts():
            self.mark_up()
            self._emit(self.view.apply_alert(alert))
            self.poke()

    async def _poll_forever(self) -> None:
        failures = 0
        delays = backoff_delays(base=self.poll_interval, cap=max(5.0, self.poll_interval))
        while True:
            ok = await self.poll_once()
            failures = 0 if ok else failures + 1
            wait = self.poll_interval if ok else delays(failures - 1)
            with anyio.move_on_after(wait):
                await self._poke.wait()
            self._poke = anyio.Event()

    async def poll_once(self) -> bool:
        """One round of reads; True if market_maker answered. A transient failure marks the link down."""
        self.polls += 1
        try:
            engine = await self.client.get_engine_status()
            risk = await self.client.get_risk_status()
            metrics = await self.client.get_risk_metrics()
            breaker = await self.client.get_breaker()
            orders = await self.client.get_open_orders(self.symbol)
            fills = await self.client.get_fills(ports.PageQuery(symbol=self.symbol, page_size=FILLS_PAGE))
        except ApiError as exc:
            self.mark_down(exc.code)
            return False
        except ValueError as exc:
            # A reply that does not convert (bad decimal, unknown enum): show the link as unusable.
            logger.error("market_maker API sent data the page cannot use: {}", exc)
            self.mark_down("BAD_DATA")
            return False
        self.mark_up()
        view = self.view
        out = view.apply_engine(engine)
        if engine.last_price is not None and engine.last_price != view.last_price:
            out += view.apply_price(engine.last_price, engine.ts_ms)
        out += view.apply_risk(risk, metrics, breaker)
        out += view.apply_orders(orders)
        out += view.apply_fills(fills.items)
        self._emit(out)
        return True
