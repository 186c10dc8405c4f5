"""End to end: `market_maker run` trades through the real ccxt binanceusdm client against a loopback venue
process whose market the test scripts: start-up order, fills and follow-ups, post-only rejections and the
fallback, insufficient margin and the margin lock, a user-stream drop with a fill in the gap, and 429s."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.e2e.harness import (
    Venue,
    local_position,
    loopback_venue,
    market_maker,
    run_until_trading,
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


def _start(
    venue: Venue, tmp_path: Path, *, opening: tuple[list[str], ...] = OPENING, **trading: object
) -> tuple[Path, tuple[list[str], ...]]:
    config = write_config(tmp_path / "mm.yaml", venue, tmp_path / "data", **trading)
    return config, opening


def _open(venue: Venue) -> dict[str, tuple[str, str]]:
    """Open orders on the venue: price -> (side, amount)."""
    return {o["price"]: (o["side"], o["amount"]) for o in venue.state()["open_orders"]}


def test_start_up_order_fill_and_follow_up_sell(venue: Venue, tmp_path: Path) -> None:
    config, opening = _start(venue, tmp_path)
    with market_maker(config, tmp_path / "mm.log") as mm:
        run_until_trading(venue, mm, opening)
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


def _sells(venue: Venue) -> list[tuple[str, str]]:
    return [(p, amount) for p, (side, amount) in _open(venue).items() if side == "sell"]


def _by_price(venue: Venue, price: str) -> list[tuple[str, str, int]]:
    """(side, timeInForce, code) of every order request at `price`, in arrival order."""
    return [
        (o["side"], o.get("timeInForce", ""), o["code"])
        for o in venue.order_requests()
        if o["price"] == price
    ]


def test_post_only_rejected_three_times_then_limit(venue: Venue, tmp_path: Path) -> None:
    # The book's ask (59,940) is under the 59,950 level: a post-only buy there would take liquidity.
    opening = (["book", "59939.9", "1", "59940.0", "1"], ["trade", "60010.0", "0.5", "buy"])
    config, _ = _start(venue, tmp_path)
    with market_maker(config, tmp_path / "mm.log") as mm:
        run_until_trading(venue, mm, opening)
        wait_for(lambda: len(_by_price(venue, "59950")) >= 4, 15, "three rejections and the fallback")
        assert _by_price(venue, "59950")[:4] == [
            ("BUY", "GTX", -5022),
            ("BUY", "GTX", -5022),
            ("BUY", "GTX", -5022),
            ("BUY", "GTC", 0),
        ]
        # the fallback took the ask: 0.002 bought at 59,940
        wait_for(lambda: venue.state()["fills"], 10, "the taker fill")
        fills = venue.state()["fills"]
        assert [(f["side"], f["price"], f["qty"]) for f in fills] == [("buy", "59940.0", "0.002")]
        # the levels that never crossed rest post-only, accepted first time
        assert _by_price(venue, "59900")[0] == ("BUY", "GTX", 0)
        assert stop(mm) == 0


def test_insufficient_margin_locks_buys(tmp_path: Path) -> None:
    # 130 USDT at leverage 1 carries one 120 USDT buy: the second and third are refused with -2019.
    with loopback_venue(tmp_path / "venue.log", "--mode", "scripted", "--balance", "130") as venue:
        config, opening = _start(venue, tmp_path, margin_lock_duration_seconds=3)
        with market_maker(config, tmp_path / "mm.log") as mm:
            run_until_trading(venue, mm, opening)
            wait_for(lambda: any(o["code"] == -2019 for o in venue.order_requests()), 15, "a -2019 answer")
            requests = venue.order_requests()
            refused = next(o for o in requests if o["code"] == -2019)
            assert [(o["price"], o["code"]) for o in requests[:3]] == [
                ("59950", 0),
                ("59900", -2019),
                ("59850", -2019),
            ]
            # the lock cancels the resting buy at once and places no buy for its 3 s
            wait_for(lambda: venue.state()["open_orders"] == [], 5, "the resting buy to be cancelled")
            wait_for(lambda: len(venue.order_requests()) > 3, 15, "buys after the lock")
            after = venue.order_requests()[3]
            assert after["side"] == "BUY"
            assert after["t"] - refused["t"] >= 2.9
            assert stop(mm) == 0


def test_rate_limit_answer_is_waited_out(venue: Venue, tmp_path: Path) -> None:
    config, opening = _start(venue, tmp_path)
    with market_maker(config, tmp_path / "mm.log") as mm:
        run_until_trading(venue, mm, opening)
        wait_for(lambda: set(_open(venue)) == GRID, 10, "the three grid buys")
        venue.call("/faults", {"rate_limit_next": 1, "retry_after_s": 1})
        venue.tape(["book", "59939.9", "1", "59940.0", "1"], ["trade", "59940.0", "0.5", "sell"])
        wait_for(lambda: "60050.0" in _open(venue), 15, "the follow-up sell after the 429")
        assert mm.proc.poll() is None
        timeline = venue.state()["timeline"]
        limited = [e for e in timeline if e.get("codes") == [-1003] or e.get("status") == 429]
        assert len(limited) == 1
        sells = [o for o in venue.order_requests() if o["side"] == "SELL" and o["code"] == 0]
        assert sells[0]["t"] - limited[0]["t"] >= 0.95  # waited as Retry-After asked
        assert _open(venue)["60050.0"] == ("sell", "0.002")
        assert stop(mm) == 0


def test_user_stream_drop_loses_no_fill(venue: Venue, tmp_path: Path) -> None:
    config, opening = _start(venue, tmp_path)
    with market_maker(config, tmp_path / "mm.log") as mm:
        run_until_trading(venue, mm, opening)
        wait_for(lambda: set(_open(venue)) == GRID, 10, "the three grid buys")
        # Drop the user stream and fill the 59,950 buy before market_maker can reconnect.
        answer = venue.call(
            "/drop",
            {
                "user_only": True,
                "rows": [["book", "59939.9", "1", "59940.0", "1"], ["trade", "59940.0", "0.5", "sell"]],
            },
        )
        assert answer == {"dropped": 1, "rows": 2}
        state = venue.state()
        assert state["user_connections"] == 0
        fill_t = state["fills"][0]["t"]
        wait_for(lambda: _sells(venue), 15, "the follow-up sell after gap recovery")
        reconnects = [e["t"] for e in venue.state()["timeline"] if e["kind"] == "ws" and e["user"]]
        assert reconnects[-1] > fill_t  # the fill happened while no user stream was connected
        # its close level depends on the price when the recovered fill arrives (60,000 or 60,050)
        assert _sells(venue) in ([("60000.0", "0.002")], [("60050.0", "0.002")])
        assert stop(mm) == 0
    _, fills = store_view(tmp_path / "data")
    assert [(f.side.value, f.price, f.quantity) for f in fills] == [
        ("buy", Decimal("59950.0"), Decimal("0.002"))
    ]
