"""End to end with `order_entry: websocket`: `market_maker run` trades through the real ccxt binanceusdm
client against the loopback venue process, placing and cancelling single orders over the venue's websocket
API (batches stay on REST's batchOrders). Mirrors tests/e2e/test_market_maker_loopback.py's round trip."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

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

OPENING = (["book", "60009.9", "1", "60010.0", "1"], ["trade", "60010.0", "0.5", "buy"])
GRID = {"59950.0", "59900.0", "59850.0"}


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[Venue]:
    with loopback_venue(tmp_path / "venue.log", "--mode", "scripted") as v:
        yield v


def _config(venue: Venue, tmp_path: Path) -> Path:
    path = write_config(tmp_path / "mm.yaml", venue, tmp_path / "data")
    config = json.loads(path.read_text())
    config["exchanges"]["binance"]["order_entry"] = "websocket"
    path.write_text(json.dumps(config))
    return path


def _open(venue: Venue) -> dict[str, tuple[str, str]]:
    return {o["price"]: (o["side"], o["amount"]) for o in venue.state()["open_orders"]}


def _order_entries(venue: Venue) -> list[dict[str, Any]]:
    """Order submits in arrival order: (kind, side, price, code) for every order of every request."""
    out = []
    for e in venue.state()["timeline"]:
        if "orders" not in e:
            continue
        codes = e.get("codes") or [0] * len(e["orders"])
        for order, code in zip(e["orders"], codes, strict=False):
            out.append({"kind": e["kind"], "path": e.get("path"), **order, "code": code})
    return out


def test_round_trip_with_single_orders_over_the_ws_api(venue: Venue, tmp_path: Path) -> None:
    with market_maker(_config(venue, tmp_path), tmp_path / "mm.log") as mm:
        run_until_trading(venue, mm, OPENING)
        wait_for(lambda: set(_open(venue)) == GRID, 10, "the three grid buys")
        assert _open(venue) == {p: ("buy", "0.002") for p in GRID}

        # A print through 59,950 fills that buy; the follow-up sell rests at 60,050 (as in the REST test).
        venue.tape(["book", "59939.9", "1", "59940.0", "1"], ["trade", "59940.0", "0.5", "sell"])
        wait_for(lambda: "60050.0" in _open(venue), 10, "the follow-up sell at 60,050")
        wait_for(
            lambda: set(_open(venue)) == {"60050.0", "59900.0", "59850.0", "59800.0"}, 10, "the new grid"
        )
        assert _open(venue)["60050.0"] == ("sell", "0.002")

        venue.tape(["book", "60059.9", "1", "60060.0", "1"], ["trade", "60060.0", "0.5", "buy"])
        wait_for(lambda: Decimal(venue.state()["position"]) == 0, 10, "the sell to fill")
        wait_for(lambda: "realized 0.2000" in mm.output() and "round trips 1" in mm.output(), 5, "the status")

        entries = _order_entries(venue)
        sells = [e for e in entries if e["side"] == "SELL"]
        # the follow-up sell went over the ws API, post-only, accepted; exactly one, never doubled
        assert [(e["kind"], e["price"], e["timeInForce"], e["code"]) for e in sells] == [
            ("ws-api", "60050", "GTX", 0)
        ]
        # no single order went over REST: REST carried only batches (the grid's opening buys)
        assert [e for e in entries if e["kind"] == "rest" and e["path"] == "/fapi/v1/order"] == []
        assert stop(mm) == 0
    slots, fills = store_view(tmp_path / "data")
    assert [(f.side.value, f.price, f.quantity) for f in fills] == [
        ("buy", Decimal("59950.0"), Decimal("0.002")),
        ("sell", Decimal("60050.0"), Decimal("0.002")),
    ]
    assert local_position(slots) == 0
    assert venue.state()["open_orders"] == []  # cancel_on_exit
