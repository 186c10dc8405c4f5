"""Deterministic client order ids: bot tag, side, slot price in ticks and the slot's attempt, compactly.

Layout `{tag}{B|S}{ticks:base36}N{attempt:base36}`, e.g. `osqtB2n9cN3`: letters and digits only, so it is
valid on every venue (OKX allows nothing else), at most 26 characters (Gate's `text` takes `t-` plus the
id, and ccxt refuses more than 28 in all).
The tag is lowercase and the two markers uppercase, which makes the id parse without a length table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from opensqt.model import Side

MAX_CLIENT_ID_LENGTH = 26
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_SIDE_CODE = {Side.BUY: "B", Side.SELL: "S"}
_CODE_SIDE = {"B": Side.BUY, "S": Side.SELL}
_TAG = re.compile(r"[a-z0-9]{1,8}")
_ID = re.compile(r"([a-z0-9]{1,8})([BS])([0-9a-z]+)N([0-9a-z]+)")
_TAGS_SEEN: set[str] = set()  # tags that passed `_TAG` (a bot has one)


@dataclass(frozen=True, slots=True)
class ClientOrderRef:
    """What a client order id says: whose bot, which side, which slot (price and ticks) and which attempt."""

    tag: str
    side: Side
    slot_ticks: int
    slot_price: Decimal
    attempt: int


def to_base36(value: int) -> str:
    if value < 0:
        raise ValueError(f"base36: expected an integer >= 0, got {value}")
    if value == 0:
        return "0"
    out: list[str] = []
    while value:
        value, digit = divmod(value, 36)
        out.append(_DIGITS[digit])
    return "".join(reversed(out))


#: memoised for ids: a grid writes the same few slot prices and attempt numbers into id after id
_base36 = lru_cache(maxsize=8_192)(to_base36)


def encode_client_order_id(tag: str, side: Side, slot_ticks: int, attempt: int) -> str:
    """The id of attempt `attempt` on the slot `slot_ticks` ticks above zero; ValueError if too long."""
    if tag not in _TAGS_SEEN:
        if not _TAG.fullmatch(tag):
            raise ValueError(f"client order id: tag must be 1-8 characters of [a-z0-9], got {tag!r}")
        _TAGS_SEEN.add(tag)
    cid = f"{tag}{_SIDE_CODE[side]}{_base36(slot_ticks)}N{_base36(attempt)}"
    if len(cid) > MAX_CLIENT_ID_LENGTH:
        raise ValueError(f"client order id: {cid!r} is longer than {MAX_CLIENT_ID_LENGTH} characters")
    return cid


@lru_cache(maxsize=4096)
def client_order_id(tag: str, side: Side, slot_price: Decimal, attempt: int, tick_size: Decimal) -> str:
    """The id for an order of slot `slot_price` (a multiple of `tick_size`). Memoised: it is pure, and
    the grid asks for the same few ids tick after tick while a level waits for quota or price."""
    ticks = slot_price / tick_size
    if ticks != ticks.to_integral_value():
        raise ValueError(f"client order id: slot price {slot_price} is not a multiple of tick {tick_size}")
    cid = encode_client_order_id(tag, side, int(ticks), attempt)
    # the engine parses each id it dispatches right back to its slot: remember the answer (a memo: the
    # parse below gives the same, only slower)
    if len(_MADE) >= 8_192:
        _MADE.clear()
    _MADE[(cid, tick_size)] = ClientOrderRef(tag, side, int(ticks), int(ticks) * tick_size, attempt)
    return cid


_MADE: dict[tuple[str, Decimal], ClientOrderRef] = {}


def parse_client_order_id(cid: str, tick_size: Decimal) -> ClientOrderRef:
    """Map an id back to its slot. Raises ValueError naming the id when it is not one of ours."""
    made = _MADE.get((cid, tick_size))
    if made is not None:
        return made
    match = _ID.fullmatch(cid)
    if match is None:
        raise ValueError(
            f"client order id: {cid!r} is not of the form <tag [a-z0-9]{{1,8}}><B|S><ticks base36>N<attempt>"
        )
    tag, code, ticks36, attempt36 = match.groups()
    ticks = int(ticks36, 36)
    return ClientOrderRef(
        tag=tag,
        side=_CODE_SIDE[code],
        slot_ticks=ticks,
        slot_price=ticks * tick_size,
        attempt=int(attempt36, 36),
    )
