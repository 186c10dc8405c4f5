"""Pre-flight for the grid engine (REQUIREMENTS §2.1): fetch the facts from the venue, judge them with the
pure `opensqt.risk.run_preflight`, and refuse to trade with one line per failed check."""

from __future__ import annotations

from decimal import Decimal

from opensqt.engines.grid_engine import GridEngine
from opensqt.engines.grid_events import StartupError
from opensqt.exchanges.errors import VenueError
from opensqt.model import InstrumentKind
from opensqt.risk import PositionMode, PreflightConfig, PreflightFailure, VenueFacts, run_preflight


async def gather_facts(engine: GridEngine) -> VenueFacts:
    exchange = engine.exchange
    instrument = engine.instrument
    assert instrument is not None
    balances = await exchange.fetch_balance()
    quote = instrument.settle
    balance = balances[quote].total if quote in balances else Decimal(0)
    leverage = await exchange.fetch_leverage(engine.symbol) if instrument.is_perpetual else 1
    try:
        maker, taker = await exchange.fetch_trading_fees(engine.symbol)
        maker_fee: Decimal | None = maker
        taker_fee: Decimal | None = taker
    except VenueError:
        maker_fee = taker_fee = None
    if instrument.kind is InstrumentKind.SPOT:
        mode = PositionMode.NOT_APPLICABLE
    else:
        mode = PositionMode.HEDGE if await exchange.fetch_position_mode() else PositionMode.ONE_WAY
    latest = engine.prices.latest
    return VenueFacts(
        venue=exchange.name,
        balance=balance,
        leverage=leverage,
        price=latest.price if latest else Decimal(0),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
        position_mode=mode,
        price_stream_healthy=not engine.prices.is_stale(engine.clock.now_ms()),
        order_stream_healthy=engine.order_stream_live,
        quote=quote,
    )


def preflight_config(engine: GridEngine, position_safety_check: int, max_leverage: int) -> PreflightConfig:
    return PreflightConfig(
        order_amount=engine.params.order_amount,
        position_safety_check=max(1, position_safety_check),
        max_leverage=max_leverage,
        leverage=engine.config.leverage if engine.instrument and engine.instrument.is_perpetual else None,
        interval=engine.params.interval,
    )


async def check(engine: GridEngine, config: PreflightConfig) -> list[PreflightFailure]:
    return run_preflight([await gather_facts(engine)], config)


def preflight_hook(position_safety_check: int, max_leverage: int):  # type: ignore[no-untyped-def]
    """The engine's start-up hook: raise `StartupError` listing every failed check."""

    async def hook(engine: GridEngine) -> None:
        failures = await check(engine, preflight_config(engine, position_safety_check, max_leverage))
        if failures:
            lines = "\n".join(f"  preflight: {f.message}" for f in failures)
            raise StartupError(f"pre-flight failed, not trading:\n{lines}")

    return hook
