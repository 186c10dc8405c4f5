"""market_maker through the real ccxt client against the loopback Binance venue (issue 7's figures):
tick-to-trade (the venue publishes the trade that fills a grid buy -> it receives the follow-up sell), the
resident memory of market_maker with ccxt loaded, and market discovery over 300 symbols.

    python bench/bench_e2e.py [--events 1000] [--seconds 0] [--rate-limit 100] [--order-entry rest|websocket]
                              [--pace S] [--profile DIR]

The venue process (`opensqt.testing.loopback_market --mode scripted`) plays only what this script pushes:
each cycle prints a trade through the highest grid buy (timed: the venue stamps the row, then the follow-up
sell's arrival), waits for the sell to rest, then prints through the lowest sell to flatten the grid again.
Cycles run until `--events` buys have filled and at least `--seconds` of wall time have passed (the memory
figure is read at the end), each taking at least `--pace` seconds (default 20 / rate limit: a cycle spends
~15 units of ccxt's request cost, so the account's budget refills between fills). Back-to-back runs
(`--pace 0`) must stay under the simulated venue's 2,400 request weight a minute: ~300 cycles.
`--order-entry websocket` has market_maker place and cancel single orders over the venue's websocket API
(`exchanges.<name>.order_entry`); the follow-up sell is then timed to its ws API frame reaching the server.
`--profile DIR` runs both processes under cProfile and writes their stats there.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.harness import (  # noqa: E402
    MarketMaker,
    Venue,
    loopback_venue,
    market_maker,
    run_until_trading,
    stop,
    write_config,
)

TICK = Decimal("0.1")
WINDOW = 3  # buys (and sells) the grid keeps
OPENING = (["book", "60009.9", "1", "60010.0", "1"], ["trade", "60010.0", "0.5", "buy"])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def open_orders(venue: Venue) -> dict[str, list[Decimal]]:
    state = venue.call("/state?since=1000000000")  # the timeline is long: skip it
    out: dict[str, list[Decimal]] = {"buy": [], "sell": []}
    for o in state["open_orders"]:
        out[o["side"]].append(Decimal(o["price"]))
    return out


def wait_orders(venue: Venue, want: str, timeout: float = 10.0) -> dict[str, list[Decimal]]:
    """Poll (every 20 ms, out of the timed path) until an order of side `want` rests."""
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(0.02)
        orders = open_orders(venue)
        if orders[want]:
            return orders
        if time.monotonic() > deadline:
            raise AssertionError(f"no {want} order rested within {timeout} s: {orders}")


def print_through(venue: Venue, price: Decimal, side: str) -> None:
    """A print at `price` with the book around it; `side` is the aggressor (sell hits our buys)."""
    if side == "sell":
        book = ["book", str(price - TICK), "1", str(price), "1"]
    else:
        book = ["book", str(price), "1", str(price + TICK), "1"]
    venue.tape(book, ["trade", str(price), "0.5", side])


def cycle(
    venue: Venue, orders: dict[str, list[Decimal]], interval: Decimal, window: int
) -> dict[str, list[Decimal]]:
    """One timed event: fill the highest buy, wait for its sell; then fill the lowest sell, wait for a buy."""
    print_through(venue, max(orders["buy"]) - interval / 5, "sell")
    orders = wait_orders(venue, "sell")
    print_through(venue, min(orders["sell"]) + interval / 5, "buy")
    deadline = time.monotonic() + 10
    while True:  # flat again, the full grid of buys re-placed
        orders = wait_orders(venue, "buy")
        if not orders["sell"] and len(orders["buy"]) == window:
            return orders
        if time.monotonic() > deadline:
            raise AssertionError(f"the grid did not settle after the sell filled: {orders}")


@contextlib.contextmanager
def profiled_venue(log: Path, out: Path, *args: str) -> Iterator[Venue]:
    """Like `loopback_venue`, under cProfile (stats written to `out` when it exits on SIGINT)."""
    import json

    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "opensqt.testing.loopback_market"]
    err = log.open("ab")
    proc = subprocess.Popen([*cmd, "--port", "0", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
    try:
        assert proc.stdout is not None
        ready = json.loads(proc.stdout.readline())
        yield Venue(proc, int(ready["port"]), int(ready["control_port"]))
    finally:
        proc.send_signal(signal.SIGINT)  # KeyboardInterrupt unwinds main(): cProfile writes its stats
        proc.wait(30)
        err.close()


@contextlib.contextmanager
def _spawned_mm(prefix: list[str], config: Path, log: Path) -> Iterator[MarketMaker]:
    """`market_maker run` started with `prefix` (an interpreter and its wrapper), killed on exit."""
    env = {**os.environ, "OPENSQT_LOGGING__JSON_FILE": "false"}
    with log.open("ab") as sink:
        proc = subprocess.Popen(
            [*prefix, "run", "--config", str(config), "--log-level", "WARNING"],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        yield MarketMaker(proc, log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def profiled_mm(config: Path, log: Path, out: Path) -> contextlib.AbstractContextManager[MarketMaker]:
    return _spawned_mm([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "market_maker"], config, log)


def traced_mm(config: Path, log: Path, out: Path) -> contextlib.AbstractContextManager[MarketMaker]:
    """market_maker under bench/trace_mm.py: per-hop timestamps written to `out` when it exits."""
    return _spawned_mm([sys.executable, str(ROOT / "bench" / "trace_mm.py"), str(out)], config, log)


def discovery(symbols: int, rate_limit: int) -> tuple[float, int, int, int]:
    """Wall seconds for load_markets + fetch_tickers + fetch_funding_rates over `symbols` perpetuals served by
    the loopback server, through the adapter as market_maker builds it (its rate limit included)."""
    import anyio

    from opensqt.testing.binance_server import MemoryVenue, default_instruments
    from opensqt.testing.binance_server.harness import loopback_binance

    async def run() -> tuple[float, int, int, int]:
        venue = MemoryVenue(default_instruments(symbols), balance=Decimal(10_000_000))
        async with loopback_binance(venue, options={"rate_limit": 1000 / rate_limit}) as (_, ex):
            t0 = time.perf_counter()
            markets = await ex.load_markets()
            tickers = await ex.fetch_tickers()
            funding = await ex.fetch_funding_rates()
            return time.perf_counter() - t0, len(markets), len(tickers), len(funding)

    return anyio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1000, help="timed buy fills (at least)")
    parser.add_argument("--seconds", type=float, default=0.0, help="keep cycling at least this long (RSS)")
    parser.add_argument("--rate-limit", type=int, default=100, help="requests/s of the venue account")
    parser.add_argument("--interval", type=int, default=25, help="grid interval, USDT")
    parser.add_argument(
        "--amount", type=int, default=300, help="USDT a level (each cycle lifts the price one interval)"
    )
    parser.add_argument("--pace", type=float, help="seconds a cycle at least (default 20 / rate limit)")
    parser.add_argument("--symbols", type=int, default=300, help="markets for the discovery figure")
    parser.add_argument(
        "--order-entry", choices=("rest", "websocket"), default="rest", help="how market_maker places orders"
    )
    parser.add_argument("--skip-discovery", action="store_true", help="skip the market discovery figure")
    parser.add_argument(
        "--trace", action="store_true", help="per-hop timestamps of market_maker (bench/trace_mm.py)"
    )
    parser.add_argument("--profile", type=Path, help="run both processes under cProfile, stats here")
    parser.add_argument(
        "--no-pin",
        dest="pin",
        action="store_false",
        help="let the OS place the venue and market_maker (default: venue on CPU 0, market_maker on CPU 1)",
    )
    parser.add_argument(
        "--busy-poll",
        action="store_true",
        help="market_maker (concurrency.busy_poll) and the venue poll their sockets without sleeping",
    )
    args = parser.parse_args()
    # The venue stands for a remote exchange: on this machine it must not take market_maker's CPU. Left to
    # the scheduler, a small VM packs both on one CPU and a fill's frame then waits out the venue's slice.
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    pins = (cpus[0], cpus[1]) if args.pin and len(cpus) >= 2 else None
    if pins:
        os.sched_setaffinity(0, {pins[0]})  # this script's polls too stay off market_maker's CPU

    if not args.skip_discovery:
        took, n_markets, n_tickers, n_funding = discovery(args.symbols, args.rate_limit)
        print(
            f"market discovery over loopback: {n_markets} markets, {n_tickers} tickers, {n_funding} funding "
            f"rates "
            f"in {took * 1000:.0f} ms at {args.rate_limit} req/s (target < 1000 ms)",
            flush=True,
        )

    work = Path(tempfile.mkdtemp(prefix="osqt-e2e-"))
    prof = args.profile
    if prof is not None:
        prof.mkdir(parents=True, exist_ok=True)
    venue_args = ["--mode", "scripted", *(("--cpu", str(pins[0])) if pins else ())]
    if args.busy_poll:
        venue_args.append("--busy-poll")
    venue_cm = (
        profiled_venue(work / "venue.log", prof / "venue.prof", *venue_args)
        if prof
        else loopback_venue(work / "venue.log", *venue_args)
    )
    with venue_cm as venue:
        config = write_config(
            work / "mm.yaml",
            venue,
            work / "data",
            price_interval=args.interval,
            buy_window=WINDOW,
            sell_window=WINDOW,
            order_amount=args.amount,
            post_only_fallback="limit",
        )
        cfg: dict[str, Any] = __import__("json").loads(config.read_text())
        cfg["exchanges"]["binance"]["rate_limit"] = args.rate_limit
        cfg["exchanges"]["binance"]["order_entry"] = args.order_entry
        if pins:
            cfg.setdefault("concurrency", {})["cpu_affinity"] = [pins[1]]
        if args.busy_poll:
            cfg.setdefault("concurrency", {})["busy_poll"] = True
        config.write_text(__import__("json").dumps(cfg))
        trace_out = work / "trace.json"
        mm_cm = (
            profiled_mm(config, work / "mm.log", prof / "mm.prof")
            if prof
            else traced_mm(config, work / "mm.log", trace_out)
            if args.trace
            else market_maker(config, work / "mm.log", "--log-level", "WARNING")
        )
        with mm_cm as mm:
            run_until_trading(venue, mm, OPENING, 60)  # prices are websocket-only: print until one lands
            orders = wait_orders(venue, "buy")
            started = time.monotonic()
            rss_start = rss_mb(mm.proc.pid)
            interval = Decimal(args.interval)
            done = 0
            # A cycle spends ~15 units of ccxt's request cost (an order costs 4, a batch 5, a cancel 1): pace
            # cycles so the account's budget refills between fills, as a real market's pace would, and the
            # figure measures the path, not the queue of a saturated limiter.
            pace = args.pace if args.pace is not None else 20 / args.rate_limit
            minutes: list[float] = []  # resident memory at each wall minute: growth or a plateau
            while done < args.events or time.monotonic() - started < args.seconds:
                t0 = time.monotonic()
                if t0 - started >= 60 * (len(minutes) + 1):
                    minutes.append(rss_mb(mm.proc.pid))
                orders = cycle(venue, orders, interval, WINDOW)
                done += 1
                time.sleep(max(0.0, t0 + pace - time.monotonic()))
            rss_end = rss_mb(mm.proc.pid)
            elapsed = time.monotonic() - started
            samples = venue.call("/latency")["tick_to_trade_s"]
            sells = [
                e["t"]
                for e in venue.call("/state")["timeline"]
                if e["kind"] in ("rest", "ws-api")
                and any(o.get("side") == "SELL" for o in e.get("orders", ()))
            ]
            if prof:
                mm.proc.send_signal(signal.SIGTERM)
                mm.proc.wait(30)
            else:
                stop(mm)
    ms = [s * 1000 for s in samples]
    print(
        f"tick-to-trade over loopback (ccxt, order entry {args.order_entry}, rate limit {args.rate_limit}/s, "
        f"pace {pace:g} s, {f'venue on CPU {pins[0]}, market_maker on CPU {pins[1]}' if pins else 'unpinned'}"
        f"{', busy poll' if args.busy_poll else ''}): "
        f"{len(ms)} buy fills, "
        f"p50 {statistics.median(ms):.2f} ms, p90 {pct(ms, 0.9):.2f} ms, p99 {pct(ms, 0.99):.2f} ms, "
        f"max {max(ms):.2f} ms (fill #{ms.index(max(ms)) + 1})  (target p50 < 2 ms, p99 < 5 ms)"
    )
    print(
        f"market_maker with ccxt: resident memory {rss_start:.1f} MB once trading, {rss_end:.1f} MB after "
        f"{elapsed / 60:.1f} min and {done} round trips (target < 200 MB after 10 min)"
    )
    if minutes:
        print("resident memory each minute (MB): " + ", ".join(f"{m:.1f}" for m in minutes))
    if prof:
        print(f"profiles: {prof / 'venue.prof'}, {prof / 'mm.prof'}")
    if args.trace:
        print_hops(json.loads(trace_out.read_text()), samples, sells)


HOPS = ("frame", "handled", "updates", "parsed", "create", "send")


def print_hops(stamps: list[tuple[str, float]], samples: list[float], sells: list[float]) -> None:
    """Median and p90 of each hop, per buy fill: the venue's publish -> ccxt has the frame -> ... -> the sell
    reaches the server. Cycles are paired in order (each cycle: one buy fill, one follow-up sell)."""
    cycles: list[dict[str, float]] = []
    for label, t in stamps:
        if label == "frame":
            cycles.append({"frame": t})
        elif cycles and label not in cycles[-1]:
            cycles[-1][label] = t
    if not (len(cycles) == len(samples) == len(sells)):
        print(f"trace: {len(cycles)} traced fills, {len(samples)} timed, {len(sells)} sells: not paired")
        return
    rows: dict[str, list[float]] = {}
    slowest = max(range(len(samples)), key=samples.__getitem__)
    for n, (c, ttt, recv) in enumerate(zip(cycles, samples, sells, strict=True)):
        if not all(h in c for h in HOPS):
            continue
        published = recv - ttt
        points = [("venue publish", published), *((h, c[h]) for h in HOPS), ("server receives", recv)]
        for (a, ta), (b, tb) in itertools.pairwise(points):
            rows.setdefault(f"{a} -> {b}", []).append((tb - ta) * 1000)
        if n == slowest:
            pairs = itertools.pairwise(points)
            hops = ", ".join(f"{b} +{(tb - ta) * 1000:.2f}" for (_, ta), (b, tb) in pairs)
            print(f"slowest fill (#{n + 1}, {ttt * 1000:.2f} ms): {hops}")
    print(f"per hop over {len(next(iter(rows.values()), []))} fills (ms): hop, p50, p90")
    for name, values in rows.items():
        print(f"  {name:<28} {statistics.median(values):6.3f} {pct(values, 0.9):6.3f}")


if __name__ == "__main__":
    main()
