"""Client order ids: compact, venue-safe, deterministic, and parsed back to their slot."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import Side
from opensqt.trading.logic import (
    MAX_CLIENT_ID_LENGTH,
    ClientOrderRef,
    client_order_id,
    encode_client_order_id,
    parse_client_order_id,
)
from opensqt.trading.logic.client_ids import to_base36

D = Decimal
# the largest slot that still fits with an 8-char tag and a 4-digit attempt: 12 base36 digits of ticks
MAX_TICKS = 36**12 - 1


def test_known_ids() -> None:
    assert client_order_id("osqt", Side.BUY, D("99.0"), 1, D("0.1")) == "osqtBriN1"
    # 600000 ticks = 12·36³ + 30·36² + 34·36 + 24 -> "cuyo"; attempt 35 -> "z"
    assert client_order_id("osqt", Side.SELL, D(60000), 35, D("0.1")) == "osqtScuyoNz"
    assert parse_client_order_id("osqtScuyoNz", D("0.1")) == ClientOrderRef(
        "osqt", Side.SELL, 600000, D(60000), 35
    )


def test_same_slot_and_attempt_give_the_same_id_and_attempts_differ() -> None:
    a = client_order_id("bot1", Side.BUY, D("0.00012345"), 3, D("0.00000001"))
    assert a == client_order_id("bot1", Side.BUY, D("0.000123450"), 3, D("0.00000001"))
    assert a != client_order_id("bot1", Side.BUY, D("0.00012345"), 4, D("0.00000001"))


@given(
    tag=st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
    side=st.sampled_from(list(Side)),
    ticks=st.integers(0, MAX_TICKS),
    attempt=st.integers(0, 36**4 - 1),
    tick_exp=st.integers(-8, 2),
)
def test_round_trip(tag: str, side: Side, ticks: int, attempt: int, tick_exp: int) -> None:
    tick = D(1).scaleb(tick_exp)
    cid = client_order_id(tag, side, ticks * tick, attempt, tick)
    assert len(cid) <= MAX_CLIENT_ID_LENGTH
    assert len("t-" + cid) <= 30 and len(cid) <= 36  # Gate with its prefix; Binance
    assert re.fullmatch(r"[A-Za-z0-9]+", cid)  # OKX accepts letters and digits only
    ref = parse_client_order_id(cid, tick)
    assert (ref.tag, ref.side, ref.slot_ticks, ref.attempt) == (tag, side, ticks, attempt)
    assert ref.slot_price == ticks * tick
    assert encode_client_order_id(tag, side, ticks, attempt) == cid


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: encode_client_order_id("Bad", Side.BUY, 1, 1), "tag must be 1-8 characters"),
        (lambda: encode_client_order_id("abcdefgh", Side.BUY, 36**13, 36**5), "longer than 26"),
        (lambda: client_order_id("osqt", Side.BUY, D("99.05"), 1, D("0.1")), "not a multiple of tick 0.1"),
        (lambda: parse_client_order_id("x-123", D("0.1")), "'x-123' is not of the form"),
        (lambda: parse_client_order_id("osqtXriN1", D("0.1")), "is not of the form"),
        (lambda: to_base36(-1), "expected an integer >= 0"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]
