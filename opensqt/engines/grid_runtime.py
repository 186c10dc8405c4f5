"""The market_maker process: builds the venue, store, engine and API from the config and runs them.

On the simulated venue the market is the seeded synthetic generator (paper trading in real time, or `speed`
times faster) or a recorded file replayed through the venue; the engine's clock follows the market data.
On a real venue the clock is the wall clock. SIGINT/SIGTERM stop new orders, cancel open orders (when
`cancel_on_exit`), flush the store and exit 0.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import anyio
from anyio.abc import TaskGroup
from loguru import logger

from opensqt.clock import Clock, ManualClock, WallClock
from opensqt.engines.grid_config import engine_config_from_settings, tick_problem
from opensqt.engines.grid_engine import GridEngine
from opensqt.engines.grid_events import StartupError
from opensqt.engines.journal import EngineJournal, NullJournal
from opensqt.engines.preflight import preflight_hook
from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import VenueError
from opensqt.runtime.gc_policy import collect_on_a_timer

if True:  # keep config typing light at import time
    from opensqt.config import Settings
if TYPE_CHECKING:
    from opensqt.exchanges.sim import SimVenue

EXIT_OK = 0
EXIT_FAILURE = 1


@dataclass
class Venue:
    """The exchange the engine trades on, its clock, and (simulated venue) the task feeding its market."""

    exchange: Exchange
    clock: Clock
    driver: Callable[[], Awaitable[Any]] | None = None
    quote: str = "USDT"
    save: Callable[[], None] | None = None  # simulated venue: keep its account for the next run


def build_sim_venue(settings: Settings, name: str, *, speed: Decimal | None, data_file: Path | None) -> Venue:
    from opensqt.data.files import load_market_file
    from opensqt.data.synthetic import SyntheticMarket
    from opensqt.exchanges.sim import DEFAULT_INSTRUMENTS, MarketPlayer, SimExchange, SimVenue

    cfg = settings.exchanges[name].sim if name in settings.exchanges else None
    balance = cfg.initial_balance if cfg else Decimal(10_000)
    quote = cfg.quote_asset if cfg else "USDT"
    seed = cfg.seed if cfg else 0
    price_file = data_file or (cfg.price_file if cfg else None)
    symbol = settings.trading.symbol
    instruments = dict(DEFAULT_INSTRUMENTS)
    if symbol not in instruments:
        raise StartupError(
            f"trading.symbol {symbol!r} is not a market of the simulated venue "
            f"(expected one of {', '.join(sorted(instruments))})"
        )
    monitored = [instruments[s] for s in settings.risk_control.monitor_symbols if s in instruments]
    traded = [instruments[symbol]] + [i for i in monitored if i.symbol != symbol]
    path = Path(settings.app.data_dir) / "sim" / f"{name}.json"
    saved = read_sim_account(path) if cfg is None or cfg.persist_account else None
    if price_file is not None:
        data = load_market_file(price_file, instruments[symbol])
        clock = ManualClock(int(data.ts[0]) if len(data) else 0)
        traded = [instruments[symbol]]
    else:
        data = None
        # an accelerated run ran ahead of the wall clock: the account's time never goes back
        now = WallClock().now_ms()
        clock = ManualClock(now if saved is None else max(now, _saved_time(saved, path)))
    venue = SimVenue(traded, name=name, balances={quote: balance}, clock=clock)
    if saved is not None:
        restore_sim_account(venue, saved, path)
    else:
        # a new account over a store that may hold an earlier one's fills: ids no earlier run issued
        venue.number_ids_from(WallClock().now_ms() * 1_000)
    save = None
    if cfg is None or cfg.persist_account:

        def save() -> None:
            save_sim_account(venue, path)

    exchange = SimExchange(venue)
    rate = float(speed) if speed is not None else None
    if data is not None:
        player = MarketPlayer(data, [exchange], speed=rate, clock=clock)
    else:
        market = SyntheticMarket(traded, seed=seed)
        player = MarketPlayer(market.chunks(clock.now_ms()), [exchange], speed=rate or 1.0, clock=clock)
    return Venue(exchange, clock, player.run, quote, save)


def read_sim_account(path: Path) -> object | None:
    """The paper account a previous run saved at `path`, parsed (None: no file, a new account)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StartupError(f"simulated account {path}: cannot read it: {exc.strerror}") from None
    try:
        doc: object = json.loads(text)
    except ValueError as exc:
        raise StartupError(f"simulated account {path}: not JSON ({exc}); fix or delete the file") from None
    return doc


def _refused(path: Path, exc: Exception) -> StartupError:
    return StartupError(
        f"simulated account {path}: {exc} (fix or delete the file; deleting it starts a new account)"
    )


def _saved_time(doc: object, path: Path) -> int:
    from opensqt.exchanges.sim.account_state import AccountStateError, saved_time

    try:
        return saved_time(doc)
    except AccountStateError as exc:
        raise _refused(path, exc) from None


def restore_sim_account(venue: SimVenue, doc: object, path: Path) -> None:
    from opensqt.exchanges.sim.account_state import AccountStateError, restore_account

    try:
        restore_account(venue, doc)
    except AccountStateError as exc:
        raise _refused(path, exc) from None
    acc = venue.account
    held = ", ".join(f"{s} {p.size}" for s, p in acc.positions.items() if p.size) or "none"
    logger.info(
        "simulated account restored from {}: wallet {}, positions {}, {} orders known (delete the file to "
        "start a new account)",
        path,
        ", ".join(f"{v} {a}" for a, v in acc.wallet.items()),
        held,
        len(venue.orders),
    )


def save_sim_account(venue: SimVenue, path: Path) -> None:
    """Write the paper account to `path` atomically (a crash mid-write leaves the previous file whole)."""
    from opensqt.exchanges.sim.account_state import account_document

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(account_document(venue), indent=1))
    os.replace(tmp, path)


def build_venue(settings: Settings, *, speed: Decimal | None, data_file: Path | None) -> Venue:
    name = settings.app.active_exchanges[0]
    config = settings.exchanges.get(name)
    kind = config.kind if config is not None else name
    if kind == "sim":
        return build_sim_venue(settings, name, speed=speed, data_file=data_file)
    if data_file is not None or speed is not None:
        raise StartupError("--data and --speed apply to the simulated venue only")
    from opensqt.engines.venues import build_real_exchange

    assert config is not None
    exchange = build_real_exchange(name, config)
    return Venue(exchange, WallClock())


def open_journal(settings: Settings, venue: Venue, on_failure: Callable[[str], None]) -> tuple[Any, Any]:
    """The store and its writer, migrating a brand-new embedded SQLite file on first run."""
    from opensqt.config import settings_yaml
    from opensqt.store import BotRecord, StoreWriter, migrate, open_store, status

    url = settings.app.database_url or f"sqlite:///{Path(settings.app.data_dir) / 'opensqt.sqlite'}"
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not path.exists() or path.stat().st_size == 0
        if fresh or status(url).current is None:
            applied = migrate(url)
            if applied:
                logger.info("database {}: applied migrations {}", path, ", ".join(applied))
    store = open_store(url)
    digest = hashlib.sha256(settings_yaml(settings).encode()).hexdigest()
    now = venue.clock.now_ms()
    store.bots.register(
        BotRecord(settings.app.bot_name, settings.app.strategy, venue.exchange.name, digest, now, now)
    )
    writer = StoreWriter(store, on_failure=lambda exc: on_failure(str(exc)))
    return store, writer


class StatusPrinter:
    """Prints one status line every few seconds of engine time."""

    def __init__(self, engine: GridEngine, out: TextIO) -> None:
        self.engine = engine
        self.out = out

    def line(self) -> str:
        s = self.engine.status()
        paused = (
            f" paused: {', '.join(s.paused_reasons)}" if s.paused_reasons and s.phase == "trading" else ""
        )
        return (
            f"[{s.phase}] price {s.last_price} centre {s.centre} interval {s.interval} | slots free {s.free} "
            f"pending {s.pending} locked {s.locked} | position {s.inventory} | realized {s.realized_pnl:.4f} "
            f"fees {s.fees:.4f} round trips {s.round_trips} | orders {s.orders_placed} "
            f"fills {s.fills}{paused}"
        )

    async def run(self, every: float) -> None:
        while True:
            await self.engine.clock.sleep(every)
            print(self.line(), file=self.out, flush=True)


async def run_market_maker(
    settings: Settings,
    *,
    duration: Decimal | None = None,
    speed: Decimal | None = None,
    data_file: Path | None = None,
    out: TextIO = sys.stdout,
    ready: Callable[[GridEngine], None] | None = None,
    reload_settings: Callable[[], Settings] | None = None,
) -> int:
    """Run until `duration` (engine time), a signal, or the end of a replayed file. Returns the exit code."""
    try:
        venue = build_venue(settings, speed=speed, data_file=data_file)
    except StartupError as refused:
        print(f"market_maker: {refused}", file=sys.stderr)
        return EXIT_FAILURE
    config = engine_config_from_settings(settings)
    engine_box: list[GridEngine] = []

    def pause(reason: str) -> None:
        if engine_box:
            engine_box[0].manual_pause = reason

    store = writer = None
    journal: EngineJournal = NullJournal()
    if settings.app.database_url != "none":
        from opensqt.engines.store_journal import StoreJournal

        store, writer = open_journal(settings, venue, pause)
        journal = StoreJournal(
            store,
            writer,
            bot=settings.app.bot_name,
            venue=venue.exchange.name,
            quote=venue.quote,
            on_failure=pause,
        )
    engine = GridEngine(
        venue.exchange,
        config,
        venue.clock,
        journal=journal,
        rate_limit=float(settings.exchanges[settings.app.active_exchanges[0]].rate_limit)
        if settings.app.active_exchanges[0] in settings.exchanges
        else 10.0,
        preflight=preflight_hook(settings.trading.position_safety_check, settings.trading.max_leverage),
        exit_policy=_exit_policy(settings),
    )
    engine_box.append(engine)
    code = EXIT_OK
    try:
        # the store's writer and the journal's pump outlive the trading tasks: the engine's shutdown flushes
        # through them, so they stop only after it
        async with anyio.create_task_group() as persistence:
            if writer is not None:
                await persistence.start(writer.run)
                await persistence.start(journal.run)  # type: ignore[attr-defined]
            try:
                await _trade(settings, venue, engine, duration, out, ready, reload_settings)
            finally:
                persistence.cancel_scope.cancel()
    except* StartupError as group:
        for exc in _leaves(group):
            print(f"market_maker: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    except* VenueError as group:
        # an unreachable or refusing venue: one line naming it, not a traceback
        for exc in _leaves(group):
            print(f"market_maker: venue {venue.exchange.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    finally:
        _remove_pid(settings)
        with anyio.CancelScope(shield=True):
            if writer is not None:
                try:
                    await writer.aclose()
                except Exception as exc:  # already reported by the writer's failure path
                    logger.error("store writer: {}", exc)
            if store is not None:
                store.close()
            await venue.exchange.close()
            if venue.save is not None:
                try:
                    venue.save()
                except OSError as exc:
                    logger.error("simulated account not saved: {}", exc)
    return code


@dataclass
class _SettingsHolder:
    current: Settings


async def _trade(
    settings: Settings,
    venue: Venue,
    engine: GridEngine,
    duration: Decimal | None,
    out: TextIO,
    ready: Callable[[GridEngine], None] | None,
    reload_settings: Callable[[], Settings] | None,
) -> None:
    async with anyio.create_task_group() as tg:
        tg.start_soon(_stop_on_signals, tg)
        holder = _SettingsHolder(settings)
        if venue.driver is not None:
            tg.start_soon(_drive, venue.driver, tg, engine)
        await _start_alerts(settings, engine, tg)
        await _start_api(settings, engine, tg)
        await tg.start(engine.run)
        await _start_metrics(settings, engine, tg)
        # Start-up's objects live for the whole run: frozen out of the collector, which from now on runs on
        # a timer instead of in the middle of a fill's way to its order (opensqt.runtime.gc_policy)
        tg.start_soon(collect_on_a_timer, engine.clock.sleep)
        if reload_settings is not None:
            tg.start_soon(_reload_on_sighup, engine, holder, reload_settings)
        _write_pid(settings)
        logger.info("market_maker trading {} on {}", engine.symbol, venue.exchange.name)
        printer = StatusPrinter(engine, out)
        print(printer.line(), file=out, flush=True)
        tg.start_soon(printer.run, float(settings.timing.status_print_interval_seconds))
        if ready is not None:
            ready(engine)
        if duration is not None:
            await venue.clock.sleep(float(duration))
            logger.info("duration reached; stopping")
            print(printer.line(), file=out, flush=True)
            tg.cancel_scope.cancel()


def pid_path(settings: Settings) -> Path:
    """Where a running market_maker writes its pid (`market_maker ctl reload` signals it)."""
    return Path(settings.app.data_dir) / f"market_maker.{settings.app.bot_name}.pid"


def _write_pid(settings: Settings) -> Path:
    import os

    path = pid_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")
    return path


def _remove_pid(settings: Settings) -> None:
    import os

    path = pid_path(settings)
    try:
        if path.read_text().strip() == str(os.getpid()):
            path.unlink()
    except OSError:
        pass


def _exit_policy(settings: Settings) -> Any:
    from opensqt.risk import LossLimitExitPolicy

    rc = settings.risk_control
    if rc.emergency_max_loss is None and rc.emergency_liquidation_buffer is None:
        return None
    return LossLimitExitPolicy(rc.emergency_max_loss, rc.emergency_liquidation_buffer)


async def _start_alerts(settings: Settings, engine: GridEngine, tg: TaskGroup) -> None:
    """Risk, breaker, margin-lock and reconciliation notices become alerts: a log line, and a webhook POST
    when `risk_control.webhook_url` is set (delivered by its own task; trading never waits on it)."""
    from opensqt.alerts import AlertSink, WebhookConfig

    url = settings.risk_control.webhook_url
    try:
        webhook = WebhookConfig(url.get_secret_value()) if url is not None else None
    except ValueError as exc:
        raise StartupError(f"risk_control.webhook_url: {exc}") from None
    sink = AlertSink(settings.app.bot_name, webhook)
    engine.listeners.append(sink.on_engine_event)
    if webhook is not None:
        tg.start_soon(sink.run)


async def _start_metrics(settings: Settings, engine: GridEngine, tg: TaskGroup) -> None:
    from opensqt.telemetry import Metrics, MetricsServer, grid_source

    metrics = Metrics(settings.app.bot_name)
    metrics.register("grid", grid_source(engine))
    engine.on_latency = metrics.tick_to_order.observe
    if settings.telemetry.metrics_enabled:
        port = await tg.start(MetricsServer.from_config(metrics, settings.telemetry).serve)
        logger.info("metrics on http://{}:{}/metrics", settings.telemetry.metrics_host, port)


async def _reload_on_sighup(
    engine: GridEngine, holder: _SettingsHolder, load: Callable[[], Settings]
) -> None:
    """SIGHUP re-reads the config: safe keys apply live, anything else is refused and nothing changes."""
    with anyio.open_signal_receiver(signal.SIGHUP) as signals:
        async for _ in signals:
            apply_reload(engine, holder, load)


def apply_reload(engine: GridEngine, holder: _SettingsHolder, load: Callable[[], Settings]) -> bool:
    from opensqt.config import ConfigError
    from opensqt.config.reload import plan_reload

    now = engine.clock.now_ms()
    try:
        new = load()
    except ConfigError as error:
        message = "; ".join(str(p) for p in error.problems)
        logger.error("reload refused: the new config is invalid: {}", message)
        engine.journal.audit("config_reload", f"refused: invalid config: {message}", now, actor="operator")
        return False
    plan = plan_reload(holder.current, new)
    if not plan.changes:
        logger.info("reload: no setting changed")
        engine.journal.audit("config_reload", "no change", now, actor="operator")
        return True
    if not plan.ok:
        for line in plan.lines():
            logger.error("reload: {}", line)
        engine.journal.audit("config_reload", "refused: " + "; ".join(plan.lines()), now, actor="operator")
        return False
    config = engine_config_from_settings(new, bot_tag=engine.params.bot_tag)
    problem = None if engine.instrument is None else tick_problem(config, engine.instrument)
    if problem is not None:
        logger.error("reload refused: {}", problem)
        engine.journal.audit("config_reload", f"refused: {problem}", now, actor="operator")
        return False
    engine.apply_live_config(config)
    if plan.touches("logging.level"):
        from opensqt.logs import set_level

        set_level(new.logging.level)
    holder.current = new
    for line in plan.lines():
        logger.info("reload: {}", line)
    engine.journal.audit("config_reload", "applied: " + "; ".join(plan.lines()), now, actor="operator")
    return True


def _leaves(error: BaseException) -> list[BaseException]:
    """The innermost exceptions of (nested) exception groups."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


async def _drive(driver: Callable[[], Awaitable[Any]], tg: TaskGroup, engine: GridEngine) -> None:
    """Feed the simulated market; a replayed file that ends stops the run."""
    await driver()
    logger.info("market data ended; stopping")
    tg.cancel_scope.cancel()


async def _stop_on_signals(tg: TaskGroup) -> None:
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            logger.info(
                "{} received: stopping (new orders stop, open orders cancelled)", signal.Signals(signum).name
            )
            tg.cancel_scope.cancel()
            return


async def _start_api(settings: Settings, engine: GridEngine, tg: TaskGroup) -> Any:
    if not settings.api.enabled:
        return None
    from opensqt.api.server import ApiServer, ApiSettings
    from opensqt.engines.grid_api import GridApi

    api = GridApi(engine)
    server = ApiServer(
        ApiSettings.from_config(settings),
        grid=api,
        risk=api,
        positions=api,
        audit=_audit_sink(engine),
        clock=engine.clock,
    )
    await tg.start(server.serve, api.close)
    logger.info("gRPC API on {}", server.target)
    return server


def _audit_sink(engine: GridEngine) -> Callable[[Any], None]:
    def sink(record: Any) -> None:
        engine.journal.audit(
            f"api:{record.method}", f"{record.detail} -> {record.outcome}", record.ts_ms, actor=record.key_id
        )

    return sink
