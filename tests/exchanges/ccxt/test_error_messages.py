"""A venue code that covers several causes is refined by the venue's message: Binance spot's -2010."""

from __future__ import annotations

import json

import pytest

from opensqt.exchanges import errors
from opensqt.exchanges.ccxt import map_ccxt_error


@pytest.mark.parametrize(
    ("msg", "ours"),
    [
        ("Account has insufficient balance for requested action.", errors.InsufficientFunds),
        ("Order would immediately match and take.", errors.OrderWouldCross),
        ("Market is closed.", errors.InvalidOrder),
    ],
)
def test_binance_spot_new_order_rejected_is_read_by_its_message(
    msg: str, ours: type[errors.VenueError]
) -> None:
    from ccxt.base import errors as cx

    body = {"code": -2010, "msg": msg}
    mapped = map_ccxt_error(cx.InvalidOrder(f"binance {json.dumps(body)}"), "binance")
    assert (type(mapped), mapped.code, mapped.venue) == (ours, "-2010", "binance")
