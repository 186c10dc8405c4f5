"""`live_server`: the live web view's command line. `run` (the default) lives in `live_server/run_cmd.py`
and is imported only when used."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from opensqt.cli import Command, Io, Program, run_program

COMMANDS = (Command("run", "run_cmd", "serve the live view (the default command)"),)

EXAMPLES = """\
  live_server                                   serve http://127.0.0.1:8081 from a local market_maker
  live_server --config configs/live_server.yaml --port 8090 --grpc-target 127.0.0.1:50052
  live_server config check configs/live_server.yaml

Settings: CLI flags > OPENSQT_<SECTION>__<KEY> environment > config file > defaults (docs/CONFIG.md).
Exit status: 0 ok, 1 runtime failure, 2 bad usage or bad config (nothing is started)."""


def add_run_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", help="address to bind (live_server.host; beyond loopback needs a token)")
    parser.add_argument("--port", type=int, help="HTTP port (live_server.port)")
    parser.add_argument("--grpc-target", metavar="HOST:PORT", help="market_maker's gRPC API address")


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    flags = {"host": "live_server.host", "port": "live_server.port", "grpc_target": "live_server.grpc_target"}
    return {key: getattr(args, dest) for dest, key in flags.items() if getattr(args, dest, None) is not None}


PROGRAM = Program(
    prog="live_server",
    package="live_server",
    description="OpenSQT live view: a web page over market_maker's state (gRPC).",
    examples=EXAMPLES,
    commands=COMMANDS,
    add_run_flags=add_run_flags,
    run_overrides=run_overrides,
)


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    return run_program(PROGRAM, argv, io)


if __name__ == "__main__":
    sys.exit(main())
