"""`market_maker run`: the grid on the configured venue (the embedded simulated venue by default)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import anyio

from opensqt.cli import config_path, overrides_from_args
from opensqt.config import Settings, load_settings
from opensqt.engines.grid_runtime import run_market_maker
from opensqt.runtime.affinity import pin_to_cpus
from opensqt.runtime.busy_poll import loop_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The run flags are declared by the program itself (market_maker/__main__.py)."""


def main(args: argparse.Namespace, settings: Settings) -> int:
    from market_maker.__main__ import run_overrides

    pin_to_cpus(settings.concurrency.cpu_affinity)
    data = getattr(args, "data", None)

    def reload() -> Settings:
        # the same layering as at start-up: the file again, the environment, the same command-line flags
        overrides = {**overrides_from_args(args, {}), **run_overrides(args)}
        return load_settings(config_path(args, os.environ), overrides, os.environ)

    return anyio.run(
        lambda: run_market_maker(
            settings,
            duration=getattr(args, "duration", None),
            speed=getattr(args, "speed", None),
            data_file=Path(data) if data else None,
            out=sys.stdout,
            reload_settings=reload,
        ),
        backend_options=loop_options(settings.concurrency.busy_poll),
    )
