"""`arbitrage_bot`: the funding-rate arbitrage bot's command line. `run` (the default) lives in
`arbitrage_bot/run_cmd.py` and is imported only when used; settings always have `app.strategy: arbitrage`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from opensqt.cli import Command, Io, Program, parse_duration, run_program

COMMANDS = (Command("run", "run_cmd", "run the arbitrage bot (the default command)"),)

EXAMPLES = """\
  arbitrage_bot --config configs/arbitrage_bot.yaml
  arbitrage_bot run --mode cross --config configs/arbitrage_bot.yaml --duration 1h
  arbitrage_bot config check configs/arbitrage_bot.yaml
  arbitrage_bot config show --config configs/arbitrage_bot.yaml

Settings: CLI flags > OPENSQT_<SECTION>__<KEY> environment > config file > defaults (docs/CONFIG.md).
Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad config (nothing is started)."""

MODES = {"spot-perp": "spot_perp", "cross": "cross"}


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mode", choices=sorted(MODES), help="spot-perp on one venue, or cross (perp-perp on two venues)"
    )
    parser.add_argument(
        "--duration", type=parse_duration, metavar="TIME", help="stop after this long: 90, 90s, 5m, 2h, 1d"
    )
    parser.add_argument("--data", metavar="DIR", help="data directory (app.data_dir)")


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if getattr(args, "mode", None):
        overrides["arbitrage.mode"] = MODES[args.mode]
    if getattr(args, "data", None):
        overrides["app.data_dir"] = args.data
    return overrides


PROGRAM = Program(
    prog="arbitrage_bot",
    package="arbitrage_bot",
    description="OpenSQT funding-rate arbitrage: spot-perp or perp-perp, delta neutral.",
    examples=EXAMPLES,
    commands=COMMANDS,
    add_run_flags=add_run_flags,
    run_overrides=run_overrides,
    forced={"app.strategy": "arbitrage"},
)


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    return run_program(PROGRAM, argv, io)


if __name__ == "__main__":
    sys.exit(main())
