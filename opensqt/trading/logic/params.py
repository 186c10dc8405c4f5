"""`GridParams`: the grid's tunables as the pure logic sees them (the engine maps its config into this)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from opensqt.model import ZERO, GridMode

_TAG = re.compile(r"[a-z0-9]{1,8}")


class PostOnlyFallback(StrEnum):
    """What a slot does after `post_only_max_failures` post-only rejections in a row."""

    LIMIT = "limit"  # quote a plain GTC limit order (may take liquidity)
    PAUSE = "pause"  # stop quoting the slot until the engine resets it (SlotManager.reset_post_only_failures)


@dataclass(frozen=True, slots=True)
class GridParams:
    """Grid settings. `interval` is the base interval; the snapshot carries the effective one (§9).

    `min_distance_ratio` × interval is the least distance a new buy rests below the price (sells mirrored),
    legacy 0.1. `bot_tag` ([a-z0-9], 1..8 chars) opens every client order id of this bot.
    """

    interval: Decimal
    order_amount: Decimal
    min_order_value: Decimal = ZERO
    buy_window: int = 10
    sell_window: int = 10
    grid_mode: GridMode = GridMode.LONG
    post_only: bool = True
    post_only_max_failures: int = 3
    post_only_fallback: PostOnlyFallback = PostOnlyFallback.LIMIT
    order_cleanup_threshold: int = 50
    min_distance_ratio: Decimal = Decimal("0.1")
    bot_tag: str = "osqt"

    def __post_init__(self) -> None:
        for name in ("interval", "order_amount"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise ValueError(f"grid params: {name} must be a positive Decimal, got {value!r}")
        for name in ("min_order_value", "min_distance_ratio"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"grid params: {name} must be a Decimal >= 0, got {value!r}")
        if self.min_distance_ratio >= 1:
            raise ValueError(f"grid params: min_distance_ratio must be < 1, got {self.min_distance_ratio}")
        for name in ("buy_window", "sell_window", "post_only_max_failures", "order_cleanup_threshold"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"grid params: {name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.grid_mode, GridMode):
            raise ValueError(f"grid params: grid_mode must be long, short or neutral, got {self.grid_mode!r}")
        if not isinstance(self.post_only_fallback, PostOnlyFallback):
            raise ValueError(
                f"grid params: post_only_fallback must be limit or pause, got {self.post_only_fallback!r}"
            )
        if not _TAG.fullmatch(self.bot_tag):
            raise ValueError(f"grid params: bot_tag must be 1-8 characters of [a-z0-9], got {self.bot_tag!r}")
