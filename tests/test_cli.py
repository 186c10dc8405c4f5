"""The programs' command lines: help, version, config check/show, dispatch to subcommands, exit codes."""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from opensqt.cli import Command, Io, Program, parse_duration, run_program

ROOT = Path(__file__).resolve().parent.parent
SECRET = "Zq8Fw2Lr9Tx4Vb7Nm1Kp6Hs3"


def _io(env: dict[str, str] | None = None) -> Io:
    return Io(env or {}, io.StringIO(), io.StringIO())


def _out(i: Io) -> str:
    assert isinstance(i.out, io.StringIO)
    return i.out.getvalue()


def _err(i: Io) -> str:
    assert isinstance(i.err, io.StringIO)
    return i.err.getvalue()


@pytest.mark.parametrize("prog", ["market_maker", "arbitrage_bot", "live_server"])
def test_help_and_version_as_real_programs(prog: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", prog, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {prog} [-h] [--version] COMMAND ...")
    assert "examples:" in result.stdout and f"{prog} config check" in result.stdout
    version = subprocess.run(
        [sys.executable, "-m", prog, "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert version.returncode == 0
    assert version.stdout.strip() == f"{prog} 0.1.0 (opensqt)"


def test_config_check_ok_and_bad(tmp_path: Path) -> None:
    from market_maker.__main__ import main

    good = tmp_path / "good.yaml"
    good.write_text("trading:\n  buy_window: 20\n")
    i = _io()
    assert main(["config", "check", str(good)], i) == 0
    assert _out(i) == f"config ok: {good} (strategy grid, exchanges sim)\n"

    bad = tmp_path / "bad.yaml"
    bad.write_text(f"trading:\n  buy_window: 500\nexchanges:\n  binance:\n    api_secret: {{a: {SECRET}}}\n")
    i = _io()
    assert main(["config", "check", str(bad)], i) == 2
    assert _err(i).splitlines() == [
        "config error: exchanges.binance.api_secret = ***: expected a secret string "
        "(or empty to leave unset)",
        "config error: trading.buy_window = 500: expected an integer from 1 to 200",
    ]
    assert _out(i) == ""


def test_config_check_uses_the_config_env_variable(tmp_path: Path) -> None:
    from market_maker.__main__ import main

    path = tmp_path / "c.toml"
    path.write_text('[trading]\ngrid_mode = "sideways"\n')
    i = _io({"OPENSQT_CONFIG": str(path)})
    assert main(["config", "check"], i) == 2
    assert _err(i) == "config error: trading.grid_mode = sideways: expected one of long, short, neutral\n"


def test_config_show_applies_precedence_and_masks(tmp_path: Path) -> None:
    from market_maker.__main__ import main

    path = tmp_path / "c.yaml"
    path.write_text(
        "exchanges:\n  binance:\n    api_key: ${K}\n    api_secret: ${K}\ntrading:\n  buy_window: 11\n"
    )
    i = _io({"K": SECRET, "OPENSQT_TRADING__BUY_WINDOW": "12", "OPENSQT_TRADING__SELL_WINDOW": "12"})
    code = main(["config", "show", "--config", str(path), "--set", "trading.sell_window=13"], i)
    assert code == 0, _err(i)
    shown = _out(i)
    assert SECRET not in shown
    assert "    api_key: '***'\n" in shown
    assert "  buy_window: 12\n  sell_window: 13\n" in shown


def test_arbitrage_bot_forces_its_strategy() -> None:
    from arbitrage_bot.__main__ import main

    i = _io()
    assert main(["config", "check"], i) == 0
    assert _out(i) == "config ok: defaults (strategy arbitrage, exchanges sim)\n"


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from market_maker.__main__ import main

    assert main(["no-such-command"], _io()) == 2
    assert main(["config", "show", "--set", "buy_window"], _io()) == 2
    assert "expected KEY.PATH=VALUE" in capsys.readouterr().err


def test_parse_duration() -> None:
    assert [parse_duration(t) for t in ("90", "90s", "5m", "2h", "1d", "0.5m")] == [
        Decimal(90),
        Decimal(90),
        Decimal(300),
        Decimal(7200),
        Decimal(86400),
        Decimal("30.0"),
    ]
    for bad in ("0", "5x", "-1m", ""):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_duration(bad)


# ------------------------------------------------------------------------------ dispatch with a fake program


def _calls() -> list[tuple[argparse.Namespace, Any]]:
    module = sys.modules.get("fakeprog.run_cmd")
    return list(module.CALLS) if module is not None else []


@pytest.fixture
def fake_program(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Program]:
    package = tmp_path / "fakeprog"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "run_cmd.py").write_text(
        textwrap.dedent(f"""
        CALLS = []

        def add_arguments(parser):
            parser.add_argument("--boom", action="store_true")
            actions = parser.add_subparsers(dest="action")
            actions.add_parser("inner")

        def main(args, settings):
            CALLS.append((args, settings))
            if args.boom:
                raise RuntimeError("venue rejected key {SECRET}")
            return 0
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT))

    def add_run_flags(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--symbol")

    def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
        return {"trading.symbol": args.symbol} if getattr(args, "symbol", None) else {}

    yield Program(
        prog="fakeprog",
        package="fakeprog",
        description="test",
        examples="  fakeprog\n",
        commands=(Command("run", "run_cmd", "run"), Command("later", "later_cmd", "not written yet")),
        add_run_flags=add_run_flags,
        run_overrides=run_overrides,
    )
    for name in [m for m in sys.modules if m.startswith("fakeprog")]:
        del sys.modules[name]


def test_run_is_the_default_and_gets_settings(fake_program: Program, tmp_path: Path) -> None:
    i = _io({"OPENSQT_TRADING__BUY_WINDOW": "15"})
    code = run_program(
        fake_program,
        ["--symbol", "ETH/USDT:USDT", "--log-level", "warning", "--set", f"app.data_dir={tmp_path}"],
        i,
    )
    assert code == 0, _err(i)
    ((args, settings),) = _calls()
    assert args.command == "run" and args.boom is False
    assert settings.trading.symbol == "ETH/USDT:USDT"
    assert settings.trading.buy_window == 15
    assert settings.logging.level == "WARNING"
    assert (tmp_path / "logs" / "opensqt.jsonl").exists()


def test_bad_config_starts_nothing(fake_program: Program) -> None:
    i = _io()
    assert run_program(fake_program, ["run", "--symbol", "nonsense"], i) == 2
    assert _calls() == []
    assert _err(i) == (
        "config error: trading.symbol = nonsense: expected a ccxt unified symbol such as BTC/USDT:USDT "
        "(perpetual) or BTC/USDT (spot)\n"
    )


def test_missing_module_prints_one_line_and_exits_1(fake_program: Program) -> None:
    i = _io()
    assert run_program(fake_program, ["later", "--anything"], i) == 1
    assert _err(i) == "fakeprog later: not available in this build yet\n"


def test_runtime_failure_exits_1_without_leaking(fake_program: Program, tmp_path: Path) -> None:
    i = _io()
    code = run_program(
        fake_program,
        [
            "run",
            "--boom",
            "--set",
            f"app.data_dir={tmp_path}",
            "--set",
            "exchanges.x.kind=sim",
            "--set",
            f"exchanges.x.api_key={SECRET}",
            "--set",
            "exchanges.x.api_secret=other-secret",
        ],
        i,
    )
    assert code == 1
    err = _err(i)
    assert "fakeprog failed" in err and "RuntimeError: venue rejected key ***" in err
    assert SECRET not in err
    assert SECRET not in (tmp_path / "logs" / "opensqt.jsonl").read_text()


def test_config_flags_also_work_after_a_nested_subcommand(fake_program: Program, tmp_path: Path) -> None:
    i = _io()
    code = run_program(
        fake_program,
        [
            "run",
            "--set",
            f"app.data_dir={tmp_path}",
            "inner",
            "--set",
            "trading.buy_window=7",
            "--log-level",
            "error",
        ],
        i,
    )
    assert code == 0, _err(i)
    ((args, settings),) = _calls()
    assert args.action == "inner"
    assert settings.trading.buy_window == 7
    assert settings.logging.level == "ERROR"
    assert settings.app.data_dir == tmp_path  # the outer --set still applies


def test_market_maker_pinned_and_polling_runs_and_a_foreign_cpu_is_refused(tmp_path: Path) -> None:
    """`concurrency.cpu_affinity` and `concurrency.busy_poll` on the real program: it trades pinned on the
    polling loop and exits 0; a CPU the process may not use starts nothing and exits 2 naming the key."""
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("Linux CPU affinity only")
    cpu = min(os.sched_getaffinity(0))
    common = [sys.executable, "-m", "market_maker", "run", "--set", f"app.data_dir={tmp_path}"]
    ok = subprocess.run(
        [
            *common,
            "--set",
            f"concurrency.cpu_affinity=[{cpu}]",
            "--set",
            "concurrency.busy_poll=true",
            "--set",
            "api.enabled=false",
            "--duration",
            "60",
            "--speed",
            "60",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr[-2000:]
    assert f"pinned to CPU(s) {cpu}" in ok.stderr
    assert "[trading]" in ok.stdout and "orders 10" in ok.stdout
    outside = os.cpu_count() or 1
    refused = subprocess.run(
        [*common, "--set", f"concurrency.cpu_affinity=[{outside}]", "--duration", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert refused.returncode == 2
    assert f"config error: concurrency.cpu_affinity = [{outside}]: expected CPUs of this machine" in (
        refused.stderr
    )
    assert "[trading]" not in refused.stdout
