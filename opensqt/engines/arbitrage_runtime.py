"""The arbitrage_bot process on real venues: builds both venues from the config, starts them in the required
order (order stream, price and funding streams, pre-flight on every venue), restores the legs from the store,
re-attaches to unfinished DBOS workflows, then trades on the wall clock with the gRPC API and metrics."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import anyio
from anyio.abc import TaskGroup, TaskStatus
from loguru import logger

from opensqt.clock import Clock, WallClock
from opensqt.config import Settings
from opensqt.engines.arbitrage_engine import ArbitrageEngine, ArbitrageEngineConfig, Pair
from opensqt.engines.arbitrage_funding import FundingCollector
from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import NetworkError, RateLimited, VenueError
from opensqt.market.price_monitor import PriceMonitor
from opensqt.model import Instrument
from opensqt.risk import (
    CircuitBreaker,
    FeeBasis,
    PositionMode,
    PreflightCheck,
    PreflightConfig,
    VenueFacts,
    run_preflight,
)
from opensqt.store import AuditRecord, BotRecord, Store
from opensqt.trading.execution.legs import VenueCalls
from opensqt.trading.logic.funding import FundingParams, Shape
from opensqt.trading.logic.universe import UniverseParams

EXIT_OK = 0
EXIT_FAILURE = 1
FIRST_DATA_TIMEOUT_S = 30.0  # first price / funding update per stream before start-up gives up


class ArbitrageStartupError(Exception):
    """The bot cannot start trading; the text says which venue and check."""


def engine_config(settings: Settings, universe: UniverseParams | None = None) -> ArbitrageEngineConfig:
    arb = settings.arbitrage
    params = FundingParams(
        min_spread_apr=arb.min_spread_apr,
        exit_spread_apr=arb.exit_spread_apr,
        liquidation_threshold=arb.liquidation_threshold,
        holding_period_hours=arb.holding_period_hours,
        slippage_bps=arb.slippage_bps,
        funding_stale_ms=arb.funding_stale_seconds * 1000,
        use_margin=arb.use_margin,
        switch_enabled=arb.switch_enabled,
        switch_min_hold_ms=arb.switch_min_hold_hours * 3_600_000,
        switch_cost_multiple=arb.switch_cost_multiple,
    )
    return ArbitrageEngineConfig(
        shape=Shape(arb.mode),
        order_amount=arb.order_amount,
        max_positions=arb.max_legs,
        rescan_interval_ms=arb.rescan_interval_seconds * 1000,
        params=params,
        # Funding history only builds up at funding boundaries while running: symbols the operator named are
        # eligible at once (history still scores them); an automatic universe waits for 3 intervals.
        universe=universe
        or UniverseParams(min_volume_24h=arb.min_volume_24h, min_history=0 if arb.symbols else 3),
        bot=settings.app.bot_name,
    )


def open_store(settings: Settings) -> Store:
    """The store; the embedded SQLite default is ours to create and migrate, PostgreSQL is deployment's."""
    from opensqt.store import migrate
    from opensqt.store import open_store as _open

    url = settings.app.database_url or f"sqlite:///{Path(settings.app.data_dir) / 'opensqt.sqlite'}"
    if url.startswith("sqlite"):
        Path(settings.app.data_dir).mkdir(parents=True, exist_ok=True)
        migrate(url)
    return _open(url)


def real_venue_names(settings: Settings) -> tuple[str, str] | None:
    """The two venues of `arbitrage.spot_exchange`/`perp_exchange` when both are configured real accounts
    with keys; None means run on the simulator."""
    names = (settings.arbitrage.spot_exchange, settings.arbitrage.perp_exchange)
    for name in names:
        cfg = settings.exchanges.get(name)
        if cfg is None or cfg.kind == "sim" or cfg.api_key is None or not cfg.api_key.get_secret_value():
            return None
    return names


def find_pairs(settings: Settings, markets: dict[str, dict[str, Instrument]]) -> list[Pair]:
    """spot_perp: the perp venue's perps with a spot market of the same base/quote on the spot venue;
    cross: perps listed on both venues. `arbitrage.symbols` (perp symbols) narrows the list."""
    a_name, b_name = settings.arbitrage.spot_exchange, settings.arbitrage.perp_exchange
    a, b = markets[a_name], markets[b_name]
    wanted = set(settings.arbitrage.symbols)
    pairs = []
    for symbol, perp in sorted(b.items()):
        if not perp.is_perpetual or (wanted and symbol not in wanted):
            continue
        if settings.arbitrage.mode == "cross":
            other = a.get(symbol)
            if other is not None and other.is_perpetual:
                pairs.append(Pair(symbol, a_name, other, b_name, perp))
        else:
            spot = a.get(f"{perp.base}/{perp.quote}")
            if spot is not None and not spot.is_perpetual:
                pairs.append(Pair(symbol, a_name, spot, b_name, perp))
    missing = wanted - {p.key for p in pairs}
    if missing:
        raise ArbitrageStartupError(
            f"arbitrage.symbols: {', '.join(sorted(missing))} not tradable on both {a_name} and {b_name}"
        )
    if not pairs:
        raise ArbitrageStartupError(f"no symbol is tradable on both {a_name} and {b_name}")
    return pairs


class SyncRequest:
    """A venue reported order news: re-read the legs' sizes soon (LegManager re-syncs after every order
    update, not only after its own workflows: a liquidation or a manual order moves a leg too)."""

    def __init__(self) -> None:
        self._event = anyio.Event()
        self.requests = 0

    def request(self) -> None:
        self.requests += 1
        self._event.set()

    async def wait(self, timeout: float) -> bool:
        """True when a request came within `timeout` seconds (and clears it)."""
        with anyio.move_on_after(timeout):
            await self._event.wait()
        if not self._event.is_set():
            return False
        self._event = anyio.Event()
        return True


@dataclass
class VenueStreams:
    """One venue's streams: orders (verified once subscribed), trade prices and funding per symbol."""

    name: str
    exchange: Exchange
    clock: Clock
    symbols: list[str]
    perps: list[str]
    order_stream_live: bool = False
    order_updates: int = 0
    prices: dict[str, PriceMonitor] = field(default_factory=dict)
    funding_ms: dict[str, int] = field(default_factory=dict)
    resync: SyncRequest | None = None
    _funding_first: anyio.Event = field(default_factory=anyio.Event)

    async def run_orders(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        # Same rule as the grid: the stream counts as live once its first watch call is running (the
        # ccxt adapter subscribes there and recovers a dropped stream over REST on its next call).
        started = False
        failures = 0
        while True:
            if not started:
                started = self.order_stream_live = True
                task_status.started()
            try:
                updates = await self.exchange.watch_orders(None)
                failures = 0
                self.order_updates += len(updates)
                if updates and self.resync is not None:
                    self.resync.request()
            except VenueError as exc:
                failures += 1
                logger.warning("{}: order stream failed ({}); resubscribing", self.name, exc)
                await self.clock.sleep(min(5.0, 0.1 * 2**failures))

    async def run_funding(self, symbol: str) -> None:
        failures = 0
        while True:
            try:
                await self.exchange.watch_funding_rate(symbol)
                failures = 0
            except VenueError as exc:
                failures += 1
                logger.warning("{}: funding stream {} failed ({})", self.name, symbol, exc)
                await self.clock.sleep(min(5.0, 0.1 * 2**failures))
                continue
            self.funding_ms[symbol] = self.clock.now_ms()
            if all(s in self.funding_ms for s in self.perps):
                self._funding_first.set()

    async def start(self, tg: TaskGroup) -> None:
        """Order stream verified -> price streams and first prices -> funding streams and first updates."""
        await tg.start(self.run_orders)
        for symbol in self.symbols:
            monitor = PriceMonitor(self.exchange, symbol, self.clock)
            self.prices[symbol] = monitor
            await tg.start(monitor.run)
        with anyio.move_on_after(FIRST_DATA_TIMEOUT_S) as scope:
            for monitor in self.prices.values():
                await monitor.wait_first_price()
        if scope.cancelled_caught:
            silent = [s for s, m in self.prices.items() if m.latest is None]
            raise ArbitrageStartupError(
                f"{self.name}: no price on {', '.join(silent)} within {FIRST_DATA_TIMEOUT_S:g}s"
            )
        for symbol in self.perps:
            tg.start_soon(self.run_funding, symbol)
        if self.perps:
            with anyio.move_on_after(FIRST_DATA_TIMEOUT_S) as scope:
                await self._funding_first.wait()
            if scope.cancelled_caught:
                raise ArbitrageStartupError(
                    f"{self.name}: funding stream silent for {FIRST_DATA_TIMEOUT_S:g}s"
                )

    def funding_healthy(self, stale_ms: int) -> bool | None:
        if not self.perps:
            return None
        now = self.clock.now_ms()
        return all(now - self.funding_ms.get(s, -(10**15)) <= stale_ms for s in self.perps)


async def _retry(call: Callable[..., Any], *args: Any, attempts: int = 5) -> Any:
    for attempt in range(attempts):
        try:
            return await call(*args)
        except (NetworkError, RateLimited) as exc:
            if attempt == attempts - 1:
                raise
            logger.warning("{} failed ({}); retrying", getattr(call, "__name__", "call"), exc)
            await anyio.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


async def preflight(settings: Settings, streams: VenueStreams, instruments: list[Instrument]) -> list[str]:
    """Balance, leverage, fees (taker: entries and exits are market orders), one-way mode and the streams of
    one venue; the grid's net-profit-per-interval check does not apply to arbitrage."""
    ex = streams.exchange
    quote = instruments[0].settle
    balances = await _retry(ex.fetch_balance)
    balance = balances[quote].total if quote in balances else Decimal(0)
    perps = [i for i in instruments if i.is_perpetual]
    leverage = settings.trading.leverage
    if perps:
        for inst in perps:
            await _retry(ex.set_leverage, inst.symbol, leverage)
        venue_leverage = await _retry(ex.fetch_leverage, perps[0].symbol)
        mode = PositionMode.HEDGE if await _retry(ex.fetch_position_mode) else PositionMode.ONE_WAY
    else:
        venue_leverage, mode = 1, PositionMode.NOT_APPLICABLE
    try:
        maker, taker = await ex.fetch_trading_fees(instruments[0].symbol)
        maker_fee: Decimal | None = maker
        taker_fee: Decimal | None = taker
    except VenueError:
        maker_fee = taker_fee = None
    now = streams.clock.now_ms()
    monitor = streams.prices[instruments[0].symbol]
    facts = VenueFacts(
        venue=streams.name,
        balance=balance,
        leverage=venue_leverage,
        price=monitor.latest.price if monitor.latest else Decimal(0),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        position_mode=mode,
        price_stream_healthy=not any(m.is_stale(now) for m in streams.prices.values()),
        order_stream_healthy=streams.order_stream_live,
        funding_stream_healthy=streams.funding_healthy(settings.arbitrage.funding_stale_seconds * 1000),
        quote=quote,
    )
    config = PreflightConfig(
        order_amount=settings.arbitrage.order_amount,
        position_safety_check=settings.arbitrage.max_legs,
        max_leverage=settings.trading.max_leverage,
        leverage=leverage if perps else None,
        fee_basis=FeeBasis.TAKER,
        require_funding_stream=bool(perps),
    )
    return [f.message for f in run_preflight([facts], config) if f.check is not PreflightCheck.NET_PROFIT]


@dataclass
class ArbitrageRuntime:
    """What a running bot exposes to tests: the engine, its venues' streams, the API server (if any)."""

    engine: ArbitrageEngine
    streams: dict[str, VenueStreams]
    api: Any = None
    recovered: list[str] = field(default_factory=list)


async def run_arbitrage_bot(
    settings: Settings,
    *,
    duration: Decimal | None = None,
    step_seconds: float = 10.0,
    funding_delay_seconds: float = 10.0,
    out: TextIO = sys.stdout,
    ready: Callable[[ArbitrageRuntime], None] | None = None,
) -> int:
    """Run on the configured real venues until `duration` seconds or SIGINT/SIGTERM. Returns the exit code.
    `funding_delay_seconds`: how long after a funding time the venue's income history is first read."""
    from opensqt.engines.venues import build_real_exchange
    from opensqt.trading.execution.workflows import DurableWorkflows, default_system_database_url

    names = real_venue_names(settings)
    if names is None:
        print(
            "arbitrage_bot: both arbitrage venues need a real exchange entry with API keys", file=sys.stderr
        )
        return EXIT_FAILURE
    clock = WallClock()
    exchanges: dict[str, Exchange] = {n: build_real_exchange(n, settings.exchanges[n]) for n in names}
    store = open_store(settings)
    bot = settings.app.bot_name
    durable: DurableWorkflows | None = None
    code = EXIT_OK
    try:
        now = clock.now_ms()
        store.bots.register(BotRecord(bot, "arbitrage", ",".join(names), "real", now, now))
        markets = {n: dict(await _retry(ex.load_markets)) for n, ex in exchanges.items()}
        pairs = find_pairs(settings, markets)
        async with anyio.create_task_group() as tg:
            tg.start_soon(_stop_on_signals, tg)
            streams = {}
            resync = SyncRequest()
            for n, ex in exchanges.items():
                insts = [p.a if p.a_venue == n else p.b for p in pairs]
                s = VenueStreams(
                    n,
                    ex,
                    clock,
                    [i.symbol for i in insts],
                    [i.symbol for i in insts if i.is_perpetual],
                    resync=resync,
                )
                await s.start(tg)
                failures = await preflight(settings, s, insts)
                if failures:
                    lines = "\n".join(f"  preflight: {f}" for f in failures)
                    raise ArbitrageStartupError(f"pre-flight failed, not trading:\n{lines}")
                streams[n] = s
                logger.info("{}: order stream verified, prices and funding flowing, pre-flight passed", n)

            def audit(aid: str, action: str, target: str, result: str, details: dict[str, Any]) -> None:
                store.audit.record(
                    AuditRecord(aid, clock.now_ms(), "system", action, target, result, details, bot)
                )

            url = settings.app.database_url if _is_postgres(settings) else None
            calls = VenueCalls(exchanges)
            durable = DurableWorkflows(
                calls, url or default_system_database_url(Path(settings.app.data_dir)), audit=audit
            )
            durable.launch()
            engine = ArbitrageEngine(
                engine_config(settings), exchanges, pairs, durable, breaker=CircuitBreaker(), store=store
            )
            engine.bind(tg)
            restored = engine.restore(store.arbitrage.load_legs(bot))
            recovered = await engine.recover(durable, clock.now_ms())
            await engine.settle(clock.now_ms())
            logger.info("restored {} positions, re-attached {} workflows", restored, len(recovered))
            funding = FundingCollector(engine, exchanges, store, delay_ms=int(funding_delay_seconds * 1000))
            counted = funding.load()
            caught_up = await funding.poll(clock.now_ms(), force=True)  # what was paid while we were down
            logger.info("funding: {} venue bookings already counted, {} caught up", counted, caught_up)
            runtime = ArbitrageRuntime(engine, streams, recovered=recovered)
            runtime.api = await _start_api(settings, engine, store, clock, tg)
            await _start_metrics(settings, engine, tg)
            print(f"arbitrage_bot trading {', '.join(p.key for p in pairs)} on {' + '.join(names)}", file=out)
            if ready is not None:
                ready(runtime)
            tg.start_soon(_trade, engine, funding, clock, step_seconds, resync)
            if duration is not None:
                await anyio.sleep(float(duration))
                tg.cancel_scope.cancel()
    except* (ArbitrageStartupError, VenueError) as group:
        for exc in _leaves(group):
            print(f"arbitrage_bot: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    finally:
        with anyio.CancelScope(shield=True):
            if durable is not None:
                durable.shutdown()
            store.close()
            for ex in exchanges.values():
                await ex.close()
    return code


async def _trade(
    engine: ArbitrageEngine,
    funding: FundingCollector,
    clock: Clock,
    step_seconds: float,
    resync: SyncRequest | None = None,
) -> None:
    """A decision round every `step_seconds`; in between, order news from a venue re-reads the sizes of the
    positions no workflow is working on (a workflow's own orders are applied from its result)."""
    while True:
        try:
            await engine.step(clock.now_ms())
            await funding.poll(clock.now_ms())
        except VenueError as exc:  # one round lost; the next one reads everything again
            logger.warning("arbitrage step failed: {}", exc)
        deadline = anyio.current_time() + step_seconds
        while resync is not None and (left := deadline - anyio.current_time()) > 0:
            if not await resync.wait(left):
                break
            try:
                await engine.sync(clock.now_ms(), only_idle=True)
            except VenueError as exc:
                logger.warning("arbitrage re-sync after order news failed: {}", exc)
        if resync is None:
            await anyio.sleep(step_seconds)


def _is_postgres(settings: Settings) -> bool:
    return (settings.app.database_url or "").startswith("postgres")


async def _start_api(
    settings: Settings, engine: ArbitrageEngine, store: Store, clock: Clock, tg: TaskGroup
) -> Any:
    if not settings.api.enabled:
        return None
    from opensqt.api.arbitrage import arbitrage_services
    from opensqt.api.server import ApiServer, ApiSettings
    from opensqt.engines.arbitrage_api import ArbitrageApi

    api = ArbitrageApi(engine, store, clock)

    def audit(record: Any) -> None:
        store.record_audit(
            who=record.key_id,
            action=f"api:{record.method}",
            target=engine.config.bot,
            result=f"{record.detail} -> {record.outcome}",
            ts_ms=record.ts_ms,
            bot=engine.config.bot,
        )

    server = ApiServer(
        ApiSettings.from_config(settings),
        grid=api,
        risk=api,
        positions=api,
        audit=audit,
        clock=clock,
        extra_services=arbitrage_services(api),
    )
    await tg.start(server.serve, api.close)
    logger.info("gRPC API (ArbitrageService) on {}", server.target)
    return server


async def _start_metrics(settings: Settings, engine: ArbitrageEngine, tg: TaskGroup) -> None:
    from opensqt.telemetry import Metrics, MetricsServer, arbitrage_source

    metrics = Metrics(settings.app.bot_name)
    metrics.register("arbitrage", arbitrage_source(engine))
    if settings.telemetry.metrics_enabled:
        port = await tg.start(MetricsServer.from_config(metrics, settings.telemetry).serve)
        logger.info("metrics on http://{}:{}/metrics", settings.telemetry.metrics_host, port)


async def _stop_on_signals(tg: TaskGroup) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info("{} received: stopping", signal.Signals(signum).name)
            tg.cancel_scope.cancel()
            return


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
