"""`market_maker preflight`: start the configured venue and its streams the way `run` does, run only the
pre-flight checks (REQUIREMENTS §2.1), print one line per failed check and exit 0 (go) or 1 (no go).

No order is placed or cancelled: the engine is stopped at its pre-flight step, before restore and trading.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from typing import TextIO

import anyio

from opensqt.config import Settings

EXIT_OK, EXIT_FAILURE = 0, 1


class _ChecksDone(Exception):
    """Raised by the pre-flight hook to stop the engine once the checks ran."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up when the venue's streams do not deliver a price within this long (default 60)",
    )


def main(args: argparse.Namespace, settings: Settings) -> int:
    from market_maker.__main__ import run_overrides

    _ = run_overrides  # the run flags (--exchange, --symbol) were applied to `settings` already
    timeout = float(getattr(args, "timeout", 60.0) or 60.0)
    return anyio.run(lambda: preflight(settings, timeout=timeout, out=sys.stdout))


async def preflight(
    settings: Settings,
    *,
    timeout: float = 60.0,
    out: TextIO = sys.stdout,
    venue: object | None = None,
) -> int:
    """Run the checks on the first active venue; `venue` (a `grid_runtime.Venue`) replaces the configured one
    (tests). Returns the exit code."""
    from opensqt.engines.grid_config import engine_config_from_settings
    from opensqt.engines.grid_engine import GridEngine
    from opensqt.engines.grid_events import StartupError
    from opensqt.engines.grid_runtime import Venue, build_venue
    from opensqt.engines.preflight import check, preflight_config
    from opensqt.risk import PreflightFailure

    try:
        chosen = venue if isinstance(venue, Venue) else build_venue(settings, speed=None, data_file=None)
    except StartupError as exc:
        print(f"preflight: {exc}", file=out)
        return EXIT_FAILURE
    # never touch the account's orders: no cancel at the end, no risk monitor (it only watches klines)
    config = replace(engine_config_from_settings(settings), cancel_on_exit=False, risk_monitor=None)
    failures: list[PreflightFailure] = []
    problems: list[str] = []
    trading = settings.trading

    async def hook(engine: GridEngine) -> None:
        failures.extend(
            await check(engine, preflight_config(engine, trading.position_safety_check, trading.max_leverage))
        )
        raise _ChecksDone

    engine = GridEngine(chosen.exchange, config, chosen.clock, preflight=hook)
    name = chosen.exchange.name
    try:
        with anyio.move_on_after(timeout) as scope:
            async with anyio.create_task_group() as tg:
                if chosen.driver is not None:
                    driver = chosen.driver

                    async def drive() -> None:
                        await driver()

                    tg.start_soon(drive)
                await engine.run()
        if scope.cancelled_caught:
            problems.append(
                f"{name}: no price and order stream within {timeout:g} s (stopped at {engine.phase})"
            )
    except* _ChecksDone:
        pass
    except* StartupError as group:
        # the venue refused a precondition before the checks (hedge mode, leverage not applied, no market)
        problems.extend(str(leaf) for leaf in _leaves(group))
    except* Exception as group:
        problems.extend(f"{name}: {type(leaf).__name__}: {leaf}" for leaf in _leaves(group))
    finally:
        with anyio.CancelScope(shield=True):
            await chosen.exchange.close()
    lines = problems + [f.message for f in failures]
    for line in lines:
        print(f"preflight: {line}", file=out, flush=True)
    if lines:
        return EXIT_FAILURE
    print(f"preflight: all checks passed on {name} for {engine.symbol}", file=out, flush=True)
    return EXIT_OK


def _leaves(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]
