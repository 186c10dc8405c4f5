"""`market_maker`: the grid market maker's command line. `run` is the default command; the other commands
live in their own modules (`market_maker/<name>_cmd.py`) and are imported only when used."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from market_maker import config_cmd
from opensqt.cli import Command, Io, Program, parse_duration, parse_positive_decimal, run_program

COMMANDS = (
    Command("run", "run_cmd", "run the grid (the default command)"),
    Command("preflight", "preflight_cmd", "check balance, leverage, fees and streams, then exit"),
    Command("db", "db_cmd", "database schema: db migrate | db status"),
    Command("ctl", "ctl_cmd", "talk to a running market_maker over its gRPC API", file_log=False),
    Command("backtest", "backtest_cmd", "replay recorded or synthetic data through the grid"),
    Command("download", "download_cmd", "download market data for backtests"),
    Command("doctor", "doctor_cmd", "diagnose the installation and the environment", file_log=False),
)

EXAMPLES = """\
  market_maker                                  run the grid on the simulated venue (built-in defaults)
  market_maker --config configs/market_maker.yaml --duration 10m
  market_maker run --exchange binance --symbol ETH/USDT:USDT --log-level debug
  market_maker config check configs/market_maker.yaml
  market_maker config show --config configs/market_maker.yaml --set trading.buy_window=20
  OPENSQT_TRADING__BUY_WINDOW=20 market_maker config show
  market_maker db migrate
  market_maker backtest --help

Settings: CLI flags > OPENSQT_<SECTION>__<KEY> environment > config file > defaults (docs/CONFIG.md).
Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad config (nothing is started)."""


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--exchange", metavar="NAME", help="venue to trade on (sets app.active_exchanges)")
    parser.add_argument("--symbol", metavar="SYMBOL", help="instrument, e.g. BTC/USDT:USDT (trading.symbol)")
    parser.add_argument(
        "--duration", type=parse_duration, metavar="TIME", help="stop after this long: 90, 90s, 5m, 2h, 1d"
    )
    parser.add_argument(
        "--speed",
        type=parse_positive_decimal,
        metavar="X",
        help="simulated venue only: run the clock X times faster than real time",
    )
    parser.add_argument(
        "--data", metavar="FILE", help="simulated venue only: replay this recorded market file instead"
    )
    parser.add_argument("--data-dir", metavar="DIR", help="data directory (app.data_dir)")


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    if getattr(args, "exchange", None):
        overrides["app.active_exchanges"] = [args.exchange]
    if getattr(args, "symbol", None):
        overrides["trading.symbol"] = args.symbol
    if getattr(args, "data_dir", None):
        overrides["app.data_dir"] = args.data_dir
    return overrides


PROGRAM = Program(
    prog="market_maker",
    package="market_maker",
    description="OpenSQT grid market maker: a trailing slot grid on a crypto perpetual.",
    examples=EXAMPLES,
    commands=COMMANDS,
    add_run_flags=add_run_flags,
    run_overrides=run_overrides,
    add_config=config_cmd.add_arguments,
    run_config=config_cmd.main,
)


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    return run_program(PROGRAM, argv, io)


if __name__ == "__main__":
    sys.exit(main())
