"""Processes for the end-to-end tests: a `loopback_market` venue process and `market_maker` runs against it
through the real ccxt client, with the venue's control port and market_maker's store to read the truth."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
SYMBOL = "BTC/USDT:USDT"
TICK = Decimal("0.1")


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `predicate()` (processes run in real time) until truthy; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Venue:
    """The loopback venue process: Binance on `port`, the control port on `control`."""

    proc: subprocess.Popen[bytes]
    port: int
    control: int

    def call(self, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.control}{path}", data=data, method="GET" if body is None else "POST"
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def state(self, since: int = 0) -> dict[str, Any]:
        return self.call(f"/state?since={since}")  # type: ignore[no-any-return]

    def tape(self, *rows: list[Any]) -> Any:
        return self.call("/tape", {"rows": list(rows)})

    def order_requests(self) -> list[dict[str, Any]]:
        """Every order POST the venue received: one entry per order (a batch counts each), with its code."""
        out = []
        for e in self.state()["timeline"]:
            if e["kind"] == "rest" and e["method"] == "POST" and "orders" in e:
                codes = e.get("codes") or [0] * len(e["orders"])
                for order, code in zip(e["orders"], codes + [0] * len(e["orders"]), strict=False):
                    out.append({**order, "code": code, "t": e["t"]})
        return out


@contextmanager
def loopback_venue(log: Path, *args: str) -> Iterator[Venue]:
    cmd = [sys.executable, "-m", "opensqt.testing.loopback_market", "--port", "0", *args]
    err = log.open("ab")
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"loopback_market did not start; see {log}")
        ready = json.loads(line)
        yield Venue(proc, int(ready["port"]), int(ready["control_port"]))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        err.close()


def write_config(path: Path, venue: Venue, data_dir: Path, **trading: Any) -> Path:
    """A market_maker config trading BTC on the loopback venue through ccxt (`kind: binance`)."""
    t: dict[str, Any] = {
        "symbol": SYMBOL,
        "price_interval": 50,
        "order_amount": 120,  # 0.002 BTC at 60,000 (lot 0.001)
        "buy_window": 3,
        "sell_window": 3,
        "leverage": 1,
        "position_safety_check": 1,
        "post_only": True,
        "post_only_max_failures": 3,
        "post_only_fallback": "limit",
        "margin_lock_duration_seconds": 10,
        "cancel_on_exit": True,
    }
    t.update(trading)
    config = {
        "app": {"bot_name": "e2e", "active_exchanges": ["binance"], "data_dir": str(data_dir)},
        "exchanges": {
            "binance": {
                "kind": "binance",
                "base_url": f"http://127.0.0.1:{venue.port}",
                "api_key": "loopback-key",
                "api_secret": "loopback-secret",
                "rate_limit": 100,
            }
        },
        "trading": t,
        "risk_control": {"enabled": False},
        "api": {"enabled": False},
        "timing": {"status_print_interval_seconds": 1},
    }
    path.write_text(json.dumps(config))  # YAML is a superset of JSON
    return path


@dataclass
class MarketMaker:
    proc: subprocess.Popen[bytes]
    out: Path
    lines_seen: list[str] = field(default_factory=list)

    def output(self) -> str:
        return self.out.read_text(errors="replace")

    def wait_trading(self, timeout: float = 30.0) -> None:
        def trading() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"market_maker exited with {self.proc.returncode}:\n{self.output()[-3000:]}"
                )
            return "[trading]" in self.output()

        wait_for(trading, timeout, "market_maker to trade")


@contextmanager
def market_maker(config: Path, log: Path, *extra: str) -> Iterator[MarketMaker]:
    env = {**os.environ, "OPENSQT_LOGGING__JSON_FILE": "false"}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [str(BIN / "market_maker"), "run", "--config", str(config), *extra],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    mm = MarketMaker(proc, log)
    try:
        yield mm
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def stop(mm: MarketMaker, timeout: float = 20.0) -> int:
    mm.proc.send_signal(signal.SIGTERM)
    return mm.proc.wait(timeout)


def store_view(data_dir: Path) -> tuple[list[Any], list[Any]]:
    """(slots, fills) of bot `e2e` on BTC as market_maker's store holds them."""
    from opensqt.store import open_store

    store = open_store(f"sqlite:///{data_dir / 'opensqt.sqlite'}")
    try:
        return store.slots.load("e2e", SYMBOL), store.fills.list("e2e", SYMBOL)
    finally:
        store.close()


def local_position(slots: list[Any]) -> Decimal:
    from opensqt.model import Side

    return sum(
        (s.position_qty if s.position_side is not Side.SELL else -s.position_qty for s in slots), Decimal(0)
    )


def run_until_trading(
    venue: Venue, mm: MarketMaker, opening: Sequence[list[Any]], timeout: float = 40
) -> None:
    """Prices are websocket-only: publish the `opening` prints until market_maker has its first price and
    trades (its trade subscription may land between two pushes)."""

    def trading() -> bool:
        assert mm.proc.poll() is None, mm.output()[-3000:]
        if "[trading]" in mm.output():
            return True
        venue.tape(*opening)
        time.sleep(0.1)
        return False

    wait_for(trading, timeout, "market_maker to trade")
