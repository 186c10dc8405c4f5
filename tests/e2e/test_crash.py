"""Crash (issue 13): kill -9 market_maker at random moments while it trades through ccxt on the loopback
venue; after each restart and reconciliation no orphan order, no two orders for one slot, the local position
equals the venue's, and every venue fill is in the store exactly once. `OPENSQT_SOAK=1` kills 100 times.
One moment the random kills rarely hit is scripted: a kill while an order is partially filled."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from opensqt.trading.logic import parse_client_order_id
from tests.e2e.harness import (
    TICK,
    Venue,
    local_position,
    loopback_venue,
    market_maker,
    run_until_trading,
    store_view,
    wait_for,
    write_config,
)

KILLS = 100 if os.environ.get("OPENSQT_SOAK") == "1" else 20


def _quiet(venue: Venue, still: float = 1.5) -> None:
    """Wait until the venue has received no request for `still` seconds (market paused)."""

    def settled() -> bool:
        timeline = venue.state()["timeline"]
        return not timeline or time.monotonic() - timeline[-1]["t"] > still

    wait_for(settled, 20, "the venue to go quiet")


def _dump(state: dict[str, Any], slots: list[Any], fills: list[Any], path: Path) -> None:
    """What the venue and the store held when a check failed (the test's tmp dir keeps it)."""
    venue = {k: state[k] for k in ("position", "open_orders", "fills") if k in state}
    store = {"slots": [repr(s) for s in slots], "fills": [repr(f) for f in fills]}
    path.write_text(json.dumps({"venue": venue, "store": store}, indent=1, default=str))


def _check(venue: Venue, data: Path, kill: int) -> None:
    state = venue.state()
    slots, fills = store_view(data)
    try:
        _assert_consistent(state, slots, fills, kill)
    except AssertionError:
        _dump(state, slots, fills, data.parent / f"failure-kill{kill}.json")
        raise


def _assert_consistent(state: dict[str, Any], slots: list[Any], fills: list[Any], kill: int) -> None:
    where = f"after kill {kill}"
    # no two orders for one slot
    levels = [parse_client_order_id(o["client_order_id"], TICK).slot_price for o in state["open_orders"]]
    assert [p for p, n in Counter(levels).items() if n > 1] == [], where
    # no orphan: every venue order is the order of its slot in the store
    by_id = {s.client_order_id for s in slots if s.client_order_id}
    assert [o["client_order_id"] for o in state["open_orders"] if o["client_order_id"] not in by_id] == [], (
        where
    )
    # local position equals the venue's
    assert local_position(slots) == Decimal(state["position"]), where
    # every fill recorded exactly once: per order, the store's filled quantity is the venue's. (Fills made
    # while market_maker was down are recovered from the order's state at restart and stored under a
    # synthetic id "<venue order id>@<cumulative filled>", not the venue's trade id: compared by quantity.)
    venue_qty: Counter[str] = Counter()
    for f in state["fills"]:
        venue_qty[f["client_order_id"]] += Decimal(f["qty"])  # type: ignore[assignment]
    store_qty: Counter[str] = Counter()
    for fill in fills:
        store_qty[fill.client_order_id] += fill.quantity
    assert store_qty == venue_qty, where
    assert len({f.trade_id for f in fills}) == len(fills), where


def test_kill_9_at_random_moments(tmp_path: Path) -> None:
    rng = random.Random(13)
    data = tmp_path / "data"
    with loopback_venue(tmp_path / "venue.log", "--seed", "3", "--speed", "20") as venue:
        config = write_config(tmp_path / "mm.yaml", venue, data, price_interval=50)
        kills = 0
        fills_seen = 0
        while kills < KILLS:
            with market_maker(config, tmp_path / f"mm{kills}.log") as mm:
                if rng.random() < 0.25:  # now and then, die during start-up, before trading
                    time.sleep(rng.uniform(0.3, 2.5))
                    mm.proc.send_signal(signal.SIGKILL)
                    mm.proc.wait(10)
                    kills += 1
                    continue
                mm.wait_trading(40)
                venue.call("/market", {"paused": True})
                _quiet(venue)
                _check(venue, data, kills)
                fills_seen = len(venue.state()["fills"])
                venue.call("/market", {"paused": False})
                time.sleep(rng.uniform(0.2, 3.0))
                mm.proc.send_signal(signal.SIGKILL)
                mm.proc.wait(10)
                kills += 1
        # a last restart settles the final kill
        with market_maker(config, tmp_path / "mm-final.log") as mm:
            mm.wait_trading(40)
            venue.call("/market", {"paused": True})
            _quiet(venue)
            _check(venue, data, kills)
            fills_seen = len(venue.state()["fills"])
    assert fills_seen > 0  # the market did trade through the kills


OPENING = (["book", "60009.9", "1", "60010.0", "1"], ["trade", "60010.0", "0.5", "buy"])


def _held_at(data: Path, price: str) -> Decimal:
    slots, _ = store_view(data)
    return sum((s.position_qty for s in slots if s.price == Decimal(price)), Decimal(0))


def test_kill_9_while_an_order_is_partially_filled(tmp_path: Path) -> None:
    # The random test above once ended "local 0.001, venue 0.002". One way there: killed while a 0.002 buy
    # had filled 0.001, its rest filled while market_maker was down, and the restart did not re-attach it.
    data = tmp_path / "data"
    # after the restart, prints under the 60,000 level the held 0.002 closes at, so they cannot fill it
    reopening = (["book", "59959.9", "1", "59960.0", "1"], ["trade", "59960.0", "0.5", "buy"])
    with loopback_venue(tmp_path / "venue.log", "--mode", "scripted") as venue:
        config = write_config(tmp_path / "mm.yaml", venue, data, price_interval=50)
        with market_maker(config, tmp_path / "mm0.log") as mm:
            run_until_trading(venue, mm, OPENING)
            wait_for(lambda: any(o["price"] == "59950.0" for o in venue.state()["open_orders"]), 10, "buys")
            # a print of 0.001 at the 59,950 buy's own price fills half of its 0.002
            venue.tape(["trade", "59950.0", "0.001", "sell"])
            wait_for(lambda: _held_at(data, "59950.0") == Decimal("0.001"), 10, "the partial fill stored")
            mm.proc.send_signal(signal.SIGKILL)
            mm.proc.wait(10)
        # down: a print through 59,950 fills the rest
        venue.tape(["trade", "59940.0", "0.5", "sell"])
        assert Decimal(venue.state()["position"]) == Decimal("0.002")
        with market_maker(config, tmp_path / "mm1.log") as mm:
            run_until_trading(venue, mm, reopening)
            _quiet(venue)
            _check(venue, data, 1)
            assert _held_at(data, "59950.0") == Decimal("0.002")
            assert "not re-attached" not in mm.output() and "BreakerTripped" not in mm.output()


def _kill_with_the_store_locked(
    venue: Venue,
    config: Path,
    data: Path,
    log: Path,
    rows: tuple[list[str], ...],
    sent: Callable[[], bool],
    what: str,
) -> None:
    """Start trading, let the three grid buys rest, lock the database (market_maker's commits wait from then
    on), play `rows`, wait until `sent` (an order that reached the venue, unrecorded), kill -9."""
    with market_maker(config, log) as mm:
        run_until_trading(venue, mm, OPENING)
        wait_for(lambda: len(venue.state()["open_orders"]) == 3, 10, "the three grid buys")
        _quiet(venue)
        lock = sqlite3.connect(data / "opensqt.sqlite", timeout=5)
        lock.execute("BEGIN IMMEDIATE")
        try:
            venue.tape(*rows)
            wait_for(sent, 10, what)
            mm.proc.send_signal(signal.SIGKILL)
            mm.proc.wait(10)
        finally:
            lock.rollback()
            lock.close()


def test_kill_9_before_an_order_is_recorded(tmp_path: Path) -> None:
    # The follow-up order of a fill reaches the venue, the kill lands before the store committed it (held
    # here by a write lock on the database), and it fills while market_maker is down. Restore asks the
    # venue for the holding slot's next id, finds the close and books its fill (CI saw this as "after kill
    # 10: local 0.001 vs venue 0.000" in the random test).
    data = tmp_path / "data"
    with loopback_venue(tmp_path / "venue.log", "--mode", "scripted") as venue:
        config = write_config(tmp_path / "mm.yaml", venue, data, price_interval=50)
        # the 59,950 buy fills; its follow-up sell reaches the venue, unrecorded
        _kill_with_the_store_locked(
            venue,
            config,
            data,
            tmp_path / "mm0.log",
            (["book", "59939.9", "1", "59940.0", "1"], ["trade", "59940.0", "0.5", "sell"]),
            lambda: any(o["side"] == "sell" for o in venue.state()["open_orders"]),
            "a sell",
        )
        # down: the sell fills, the venue is flat
        closing = (["book", "60069.9", "1", "60070.0", "1"], ["trade", "60070.0", "0.5", "buy"])
        venue.tape(*closing)
        assert Decimal(venue.state()["position"]) == 0
        with market_maker(config, tmp_path / "mm1.log") as mm:
            run_until_trading(venue, mm, closing)
            _quiet(venue)
            _check(venue, data, 1)


def test_kill_9_before_an_opening_order_is_recorded(tmp_path: Path) -> None:
    # As above, for an opening order: the price rises, the grid trails up and places a buy at 60,000 that
    # reaches the venue but not the store; killed; the buy fills while down. Its slot comes back empty, so no
    # holding slot points at it: restore sees the venue's position exceed the slots', asks for the next id
    # of the empty levels near the price, finds the buy and books its fill.
    data = tmp_path / "data"
    with loopback_venue(tmp_path / "venue.log", "--mode", "scripted") as venue:
        config = write_config(tmp_path / "mm.yaml", venue, data, price_interval=50)
        _kill_with_the_store_locked(
            venue,
            config,
            data,
            tmp_path / "mm0.log",
            (["book", "60059.9", "1", "60060.0", "1"], ["trade", "60060.0", "0.5", "buy"]),
            lambda: any(o["price"] == "60000.0" for o in venue.state()["open_orders"]),
            "the trailing buy at 60,000",
        )
        # down: a print through 60,000 fills that buy only
        venue.tape(["book", "59989.9", "1", "59990.0", "1"], ["trade", "59990.0", "0.5", "sell"])
        assert Decimal(venue.state()["position"]) > 0
        reopening = (["book", "60009.9", "1", "60010.0", "1"], ["trade", "60010.0", "0.5", "buy"])
        with market_maker(config, tmp_path / "mm1.log") as mm:
            run_until_trading(venue, mm, reopening)
            _quiet(venue)
            _check(venue, data, 1)
            assert _held_at(data, "60000.0") == Decimal(venue.state()["position"])
            assert "taken back" in mm.output()
            assert "BreakerTripped" not in mm.output() and "breaker" not in mm.output().lower()
