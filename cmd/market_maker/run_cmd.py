"""`market_maker run`: the grid on the configured venue (the embedded simulated venue by default)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import anyio

from opensqt.config import Settings
from opensqt.engines.grid_runtime import run_market_maker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The run flags are declared by the program itself (market_maker/__main__.py)."""


def main(args: argparse.Namespace, settings: Settings) -> int:
    data = getattr(args, "data", None)
    return anyio.run(
        lambda: run_market_maker(
            settings,
            duration=getattr(args, "duration", None),
            speed=getattr(args, "speed", None),
            data_file=Path(data) if data else None,
            out=sys.stdout,
        )
    )
