"""End to end: `market_maker run` trades through the real ccxt binanceusdm client against a loopback venue
process whose market the test scripts: start-up order, fills and follow-ups, post-only rejections and the
fallback, insufficient margin and the margin lock, a user-stream drop with a fill in the gap, and 429s."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.harness import (
    MarketMaker,
    Venue,
    local_position,
    loopback_venue,
    market_maker,
    stop,
    store_view,
    wait_for,
    write_config,
)

# The market the grid starts on: last trade 60,010 (centre 60,000), book 60,009.9 / 60,010.0.
OPENING = (["book", "60009.9", "1", "60010.0", "1"], ["trade", "60010.0", "0.5", "buy"])
GRID = {"59950.0", "59900.0", "59850.0"}  # interval 50, buy window 3


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    with loopback_venue(tmp_path / "venue.log", "--mode", "scripted") as v:
        yield v


def _start(venue: Venue, tmp_path: Path, *, opening: tuple[list[str], ...] = OPENING, **trading: object):
    config = write_config(tmp_path / "mm.yaml", venue, tmp_path / "data", **trading)
    return config, opening


def _open(venue: Venue) -> dict[str, tuple[str, str]]:
    """Open orders on the venue: price -> (side, amount)."""
    return {o["price"]: (o["side"], o["amount"]) for o in venue.state()["open_orders"]}


def _run_until_priced(venue: Venue, mm: MarketMaker, opening: tuple[list[str], ...]) -> None:
    """Prices are websocket-only: publish the opening prints until market_maker has its first price and
    trades (its trade subscription may land between two pushes)."""

    def trading() -> bool:
        assert mm.proc.poll() is None, mm.output()[-3000:]
        if "[trading]" in mm.output():
            return True
        venue.tape(*opening)
        time.sleep(0.1)
        return False

    wait_for(trading, 40, "market_maker to trade")


def test_start_up_order_fill_and_follow_up_sell(venue: Venue, tmp_path: Path) -> None:
    config, opening = _start(venue, tmp_path)
    with market_maker(config, tmp_path / "mm.log") as mm:
        _run_until_priced(venue, mm, opening)
        wait_for(lambda: set(_open(venue)) == GRID, 10, "the three grid buys")
        assert _open(venue) == {p: ("buy", "0.002") for p in GRID}

        # The order stream comes first: the listenKey and the user-stream socket precede the first order.
        timeline = venue.state()["timeline"]
        kinds = [
            "listenKey"
            if e.get("path") == "/fapi/v1/listenKey"
            else "user"
            if e["kind"] == "ws" and e["path"].startswith("/private")
            else "order"
            if "orders" in e
            else "other"
            for e in timeline
        ]
        first_order = kinds.index("order")
        assert "listenKey" in kinds[:first_order] and "user" in kinds[:first_order]

        # A print through 59,950 fills that buy. Its close would be 60,000, but that is nearer the last
        # price (59,940) than the engine's minimum distance, so the follow-up sell rests at 60,050.
        venue.tape(["book", "59939.9", "1", "59940.0", "1"], ["trade", "59940.0", "0.5", "sell"])
        wait_for(lambda: "60050.0" in _open(venue), 10, "the follow-up sell at 60,050")
        wait_for(
            lambda: set(_open(venue)) == {"60050.0", "59900.0", "59850.0", "59800.0"}, 10, "the new grid"
        )
        state = venue.state()
        assert _open(venue)["60050.0"] == ("sell", "0.002")
        assert Decimal(state["position"]) == Decimal("0.002")
        assert [(f["side"], f["price"], f["qty"]) for f in state["fills"]] == [("buy", "59950.0", "0.002")]

        # The sell fills on a print through 60,050: flat again.
        venue.tape(["book", "60059.9", "1", "60060.0", "1"], ["trade", "60060.0", "0.5", "buy"])
        wait_for(lambda: Decimal(venue.state()["position"]) == 0, 10, "the sell to fill")
        # one round trip: 0.002 × (60,050 - 59,950) = 0.2 USDT before fees
        wait_for(lambda: "realized 0.2000" in mm.output() and "round trips 1" in mm.output(), 5, "the status")
        assert stop(mm) == 0
    slots, fills = store_view(tmp_path / "data")
    assert [(f.side.value, f.price, f.quantity) for f in fills] == [
        ("buy", Decimal("59950.0"), Decimal("0.002")),
        ("sell", Decimal("60050.0"), Decimal("0.002")),
    ]
    assert local_position(slots) == 0
    assert venue.state()["open_orders"] == []  # cancel_on_exit
