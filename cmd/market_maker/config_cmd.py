"""`market_maker config check [FILE]` and `market_maker config show`: validate or print the configuration."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from opensqt.cli import Io, add_config_actions, run_config_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_actions(parser)


def main(args: argparse.Namespace, io: Io | None = None, forced: Mapping[str, Any] | None = None) -> int:
    """Exit 0 when the configuration is valid (check) or was printed (show); 2 with one line per problem."""
    return run_config_command(args, io or Io.system(), forced)
