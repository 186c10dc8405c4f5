"""Command-line plumbing shared by market_maker, arbitrage_bot and live_server: common flags, config
loading (exit 2 on a bad config, nothing started), lazy dispatch to subcommand modules, and exit codes.

A subcommand module exposes `add_arguments(parser)` and `main(args, settings) -> int`.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

from loguru import logger

from opensqt.config import CONFIG_PATH_ENV, ConfigError, Settings, load_settings, settings_yaml
from opensqt.logs import redact, setup_logging

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "SUCCESS", "WARNING", "ERROR", "CRITICAL")


class CliExit(Exception):
    """Stop the program with `code`; whatever had to be said was already printed."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True, slots=True)
class Command:
    """A subcommand another module implements: `module` is imported only when the command is used."""

    name: str
    module: str
    help: str
    file_log: bool = True  # short client commands (ctl, doctor) log to the console only


@dataclass(frozen=True, slots=True)
class Io:
    """Where a program reads its environment and writes its output; tests pass their own."""

    env: Mapping[str, str]
    out: TextIO
    err: TextIO

    @staticmethod
    def system() -> Io:
        return Io(os.environ, sys.stdout, sys.stderr)


def version_text(prog: str) -> str:
    try:
        version = metadata.version("opensqt")
    except metadata.PackageNotFoundError:
        version = "unknown"
    return f"{prog} {version} (opensqt)"


# --------------------------------------------------------------------------------------------- arguments


def parse_duration(text: str) -> Decimal:
    """`90`, `90s`, `5m`, `2h`, `1d` -> seconds (> 0)."""
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a duration such as 90, 90s, 5m, 2h or 1d, got {text!r}")
    seconds = Decimal(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    if seconds <= 0:
        raise argparse.ArgumentTypeError("expected a duration greater than zero")
    return seconds


def parse_positive_decimal(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def parse_set(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[a-z_][a-z0-9_]*(\.[a-z0-9_]+)+", key.strip()):
        raise argparse.ArgumentTypeError(
            f"expected KEY.PATH=VALUE such as trading.buy_window=20, got {text!r}"
        )
    return key.strip(), value


def add_config_arguments(parser: argparse.ArgumentParser, nested: bool = False) -> None:
    """--config, --set and --log-level: every command that loads settings takes them. `nested` is for a
    command's own subcommands (`db status --config x`): unset there, they leave the outer values alone."""
    unset: Any = argparse.SUPPRESS if nested else None
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"YAML or TOML config file (default: ${CONFIG_PATH_ENV}, else built-in defaults)",
        default=unset,
    )
    parser.add_argument(
        "--set",
        # Nested flags keep their own list: argparse would otherwise replace the outer one wholesale.
        dest="nested_set_values" if nested else "set_values",
        type=parse_set,
        action="append",
        metavar="KEY=VALUE",
        help="override one setting, e.g. --set trading.buy_window=20 (repeatable; beats file and env)",
        default=argparse.SUPPRESS if nested else [],
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        metavar="LEVEL",
        help="lowest level logged: " + ", ".join(LOG_LEVELS),
        default=unset,
    )


def add_config_to_subcommands(parser: argparse.ArgumentParser) -> None:
    """Give every nested subcommand of `parser` the config flags too, so they work after it as well."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                if "--config" not in child._option_string_actions:
                    add_config_arguments(child, nested=True)
                add_config_to_subcommands(child)


def overrides_from_args(args: argparse.Namespace, flags: Mapping[str, str]) -> dict[str, Any]:
    """CLI overrides as dotted keys: every `--set`, `--log-level`, and each flag in `flags` (dest -> key path)
    that was given. Named flags beat `--set` for the same key."""
    pairs = [*(getattr(args, "set_values", None) or []), *(getattr(args, "nested_set_values", None) or [])]
    overrides: dict[str, Any] = dict(pairs)
    if getattr(args, "log_level", None):
        overrides["logging.level"] = args.log_level
    for dest, key in flags.items():
        value = getattr(args, dest, None)
        if value is not None:
            overrides[key] = value
    return overrides


# -------------------------------------------------------------------------------------------- settings


def config_path(args: argparse.Namespace, env: Mapping[str, str]) -> Path | None:
    given = getattr(args, "config", None)
    if given is not None:
        return Path(given)
    from_env = env.get(CONFIG_PATH_ENV, "").strip()
    return Path(from_env) if from_env else None


def print_config_error(error: ConfigError, stream: TextIO) -> None:
    for line in error.lines():
        print(redact(line), file=stream)


def load_settings_or_exit(path: Path | None, overrides: Mapping[str, Any], io: Io) -> Settings:
    """Load settings or print one line per problem and raise `CliExit(2)`: a bad config starts nothing."""
    try:
        return load_settings(path, overrides, io.env)
    except ConfigError as error:
        print_config_error(error, io.err)
        raise CliExit(EXIT_USAGE) from None


def add_config_actions(parser: argparse.ArgumentParser) -> None:
    """The actions under `<prog> config`: `check [FILE]` and `show`."""
    actions = parser.add_subparsers(dest="config_action", metavar="{check,show}", required=True)
    check = actions.add_parser("check", help="validate a config file (exit 0 ok, 2 bad)")
    check.add_argument(
        "file", nargs="?", type=Path, help="file to check (default: --config or $OPENSQT_CONFIG)"
    )
    add_config_arguments(check)
    show = actions.add_parser("show", help="print the effective configuration as YAML, secrets masked")
    add_config_arguments(show)


def run_config_command(args: argparse.Namespace, io: Io, forced: Mapping[str, Any] | None = None) -> int:
    path = getattr(args, "file", None) or config_path(args, io.env)
    overrides = {**overrides_from_args(args, {}), **(forced or {})}
    settings = load_settings_or_exit(path, overrides, io)
    if args.config_action == "check":
        venues = ", ".join(settings.app.active_exchanges)
        source = str(path) if path is not None else "defaults"
        print(f"config ok: {source} (strategy {settings.app.strategy}, exchanges {venues})", file=io.out)
    else:
        io.out.write(settings_yaml(settings))
    return EXIT_OK


# -------------------------------------------------------------------------------------------- dispatch


def find_command_module(package: str, command: Command) -> ModuleType | None:
    """Import `<package>.<module>` if it exists in this build; None when it does not (yet)."""
    name = f"{package}.{command.module}"
    try:
        spec = importlib.util.find_spec(name)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return None
    # An import error *inside* an existing module is a real bug and propagates.
    return importlib.import_module(name)


def not_available(prog: str, command: str, io: Io) -> int:
    print(f"{prog} {command}: not available in this build yet", file=io.err)
    return EXIT_FAILURE


def run_with_settings(
    prog: str,
    module: ModuleType,
    args: argparse.Namespace,
    overrides: Mapping[str, Any],
    io: Io,
    file_log: bool = True,
) -> int:
    """Load settings (exit 2 when bad), set up logging, run `module.main(args, settings)`."""
    if not file_log:
        overrides = {**overrides, "logging.json_file": False}
    settings = load_settings_or_exit(config_path(args, io.env), overrides, io)
    logs = setup_logging(settings, console=io.err)
    try:
        code = module.main(args, settings)
        return int(code) if code is not None else EXIT_OK
    except ConfigError as error:  # a setting only the running machine can refuse (concurrency.cpu_affinity)
        print_config_error(error, io.err)
        return EXIT_USAGE
    except KeyboardInterrupt:
        logger.warning("{} interrupted", prog)
        return 130
    except Exception:
        # Logged through the redactor: the traceback may carry a venue's answer with a key in it.
        logger.exception("{} failed", prog)
        return EXIT_FAILURE
    finally:
        logs.close()


def guard(prog: str, body: Callable[[], int], io: Io) -> int:
    """Run a program body and turn every way out into an exit code; nothing unredacted reaches stderr."""
    try:
        return body()
    except CliExit as stop:
        return stop.code
    except SystemExit as stop:  # argparse: --help/--version (0) and usage errors (2)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        print(redact(f"{prog}: error: {type(error).__name__}: {error}"), file=io.err)
        return EXIT_FAILURE


def with_default_command(argv: Sequence[str], commands: Sequence[str], default: str = "run") -> list[str]:
    """`prog --config x.yaml` means `prog run --config x.yaml`; help and version stay top-level."""
    argv = list(argv)
    if not argv or (argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version")):
        return [default, *argv]
    if argv[0] not in commands and not argv[0].startswith("-"):
        return argv  # argparse reports the unknown command with the list of valid ones
    return argv


# ---------------------------------------------------------------------------------------------- programs


@dataclass(frozen=True)
class Program:
    """One entry point: its commands (lazily imported), its `run` flags and the settings it always forces."""

    prog: str
    package: str
    description: str
    examples: str
    commands: tuple[Command, ...]
    add_run_flags: Callable[[argparse.ArgumentParser], None]
    run_overrides: Callable[[argparse.Namespace], dict[str, Any]]
    forced: Mapping[str, Any] = field(default_factory=dict)
    add_config: Callable[[argparse.ArgumentParser], None] = add_config_actions
    run_config: Callable[[argparse.Namespace, Io, Mapping[str, Any]], int] | None = None


def run_program(program: Program, argv: Sequence[str] | None, io: Io | None = None) -> int:
    """Parse `argv`, then run `config` here or dispatch to `<package>.<command module>`.
    Exit code: 0 ok, 1 runtime failure (or a command not in this build), 2 bad usage or bad config."""
    io = io or Io.system()
    args_in = list(sys.argv[1:] if argv is None else argv)
    return guard(program.prog, lambda: _run(program, args_in, io), io)


def _run(program: Program, argv: list[str], io: Io) -> int:
    names = [c.name for c in program.commands]
    argv = with_default_command(argv, [*names, "config"])
    parser = argparse.ArgumentParser(
        prog=program.prog,
        description=program.description,
        epilog="examples:\n" + program.examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_text(program.prog))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parsers: dict[str, argparse.ArgumentParser] = {}
    for command in program.commands:
        parsers[command.name] = child = sub.add_parser(
            command.name, help=command.help, description=command.help
        )
        add_config_arguments(child)
        if command.name == "run":
            program.add_run_flags(child)
    config = sub.add_parser(
        "config",
        help="check a config file or show the effective configuration",
        description="Check a config file, or print the effective configuration with secrets masked.",
    )
    program.add_config(config)

    chosen = next((c for c in program.commands if argv and argv[0] == c.name), None)
    module: ModuleType | None = None
    if chosen is not None:
        module = find_command_module(program.package, chosen)
        if module is None:
            return not_available(program.prog, chosen.name, io)
        module.add_arguments(parsers[chosen.name])
        add_config_to_subcommands(parsers[chosen.name])
    args = parser.parse_args(argv)
    if args.command == "config":
        run_config = program.run_config or run_config_command
        return run_config(args, io, program.forced)
    if chosen is None or module is None:
        parser.print_usage(io.err)
        return EXIT_USAGE
    overrides = {**overrides_from_args(args, {}), **program.run_overrides(args), **program.forced}
    return run_with_settings(program.prog, module, args, overrides, io, chosen.file_log)
