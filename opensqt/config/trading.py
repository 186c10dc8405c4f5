"""The grid's settings (`trading:`), with the dynamic interval and inventory skew sub-sections.

Defaults are the legacy system's (GRID.md: windows 10/10, reconcile every 60 s), except the interval and the
amount per level: the legacy 1 USDT and 30 USDT cannot trade the default BTC/USDT:USDT (a 1 USDT step loses
the fees, and 30 USDT buys less than Binance's 0.001 BTC lot), so the defaults are 50 USDT and 100 USDT.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from opensqt.config.types import SYMBOL_RE, Dec, Int, OptDec, Section, Timeframe, setting


def cross_field_error(field: str, message: str, value: object) -> PydanticCustomError:
    """An error about one field (`value` is its value) that depends on another; reported under `field`."""
    return PydanticCustomError(
        "cross_field", "{message}", {"field": field, "message": message, "value": value}
    )


Symbol = Annotated[str, Field(pattern=SYMBOL_RE)]
SYMBOL_EXPECTS = "a ccxt unified symbol such as BTC/USDT:USDT (perpetual) or BTC/USDT (spot)"


class DynamicIntervalConfig(Section):
    """ATR-scaled grid interval (REQUIREMENTS §9): wider in volatile markets, never outside [min, max]."""

    enabled: bool = setting(False, "Scale the grid interval with the Average True Range.")
    atr_period: Int = setting(14, "Number of closed candles in the ATR average.", ge=2, le=500)
    timeframe: Timeframe = setting("1m", "Candle timeframe the ATR is computed on.")
    scale: Dec = setting(
        Decimal("1"), "Interval = price_interval x scale x (ATR / baseline_atr), then clamped.", gt=0, le=100
    )
    baseline_atr: Annotated[Decimal, Field(gt=0)] | Literal["auto"] = setting(
        "auto",
        "ATR at which the interval equals price_interval; `auto` takes the ATR measured at start-up.",
        expects="a decimal number > 0, or auto",
    )
    min_interval: OptDec = setting(
        None, "Smallest interval allowed; empty means price_interval itself.", gt=0
    )
    max_interval: OptDec = setting(None, "Largest interval allowed; empty means 5 x price_interval.", gt=0)

    @model_validator(mode="after")
    def _bounds_ordered(self) -> Self:
        low, high = self.min_interval, self.max_interval
        if low is not None and high is not None and low > high:
            raise cross_field_error("min_interval", f"expected at most max_interval ({high})", low)
        return self


class InventorySkewConfig(Section):
    """Shift the grid against the inventory (REQUIREMENTS §9): long inventory moves levels down."""

    enabled: bool = setting(False, "Shift grid levels according to the held inventory.")
    skew_factor: Dec = setting(
        Decimal("0.5"), "Fraction of max_shift_intervals applied at full inventory.", ge=0, le=1
    )
    max_inventory: Dec = setting(
        Decimal("300"), "Inventory (quote currency value) at which the skew is at its largest.", gt=0
    )
    max_shift_intervals: Dec = setting(
        Decimal("3"), "Largest shift of the grid centre, in grid intervals.", ge=0, le=50
    )


class TradingConfig(Section):
    """The trailing slot grid: what to trade, how wide, how much per level, and how orders are kept tidy."""

    symbol: Symbol = setting(
        "BTC/USDT:USDT", "Instrument to trade, in ccxt unified form.", expects=SYMBOL_EXPECTS
    )
    price_interval: Dec = setting(
        Decimal("50"),
        "Distance between grid levels, in quote currency; a multiple of the symbol's tick size (checked "
        "against the venue's market at start and at a reload).",
        gt=0,
    )
    order_amount: Dec = setting(
        Decimal("100"), "Quote amount per grid level (fixed amount: quantity = amount / price).", gt=0
    )
    min_order_value: Dec = setting(
        Decimal("6"), "Skip a level whose order value would fall below this (quote currency).", ge=0
    )
    buy_window: Int = setting(10, "Number of buy levels below the centre.", ge=1, le=200)
    sell_window: Int = setting(10, "Number of sell levels above the centre.", ge=1, le=200)
    grid_mode: Literal["long", "short", "neutral"] = setting("long", "Which side the grid accumulates.")
    post_only: bool = setting(True, "Quote post-only (maker) orders.")
    post_only_max_failures: Int = setting(
        3, "Post-only rejections of a slot before the fallback applies.", ge=1, le=100
    )
    post_only_fallback: Literal["limit", "pause"] = setting(
        "limit", "After max failures: `limit` places a plain limit order, `pause` pauses the slot."
    )
    reconcile_interval: Int = setting(60, "Seconds between reconciliations with the venue.", ge=5, le=86400)
    order_cleanup_threshold: Int = setting(
        50, "Open orders at which cleanup cancels a batch; also caps new orders per round.", ge=1, le=1000
    )
    cleanup_batch_size: Int = setting(10, "Orders cancelled per cleanup.", ge=1, le=1000)
    max_order_age_seconds: Int = setting(
        0, "Cancel orders older than this during cleanup; 0 disables the age check.", ge=0, le=30 * 86400
    )
    margin_lock_duration_seconds: Int = setting(
        10, "After insufficient margin: pause new buys this long.", ge=0, le=86400
    )
    position_safety_check: Int = setting(
        100, "Pre-flight: balance x leverage / order_amount must reach this many orders.", ge=0, le=100000
    )
    leverage: Int = setting(1, "Leverage to set on the venue at start-up.", ge=1, le=125)
    max_leverage: Int = setting(10, "Pre-flight refuses to trade above this leverage.", ge=1, le=125)
    cancel_on_exit: bool = setting(True, "Cancel the grid's open orders on a clean shutdown.")
    price_stale_seconds: Int = setting(
        10, "Stop placing orders when the last price is older than this.", ge=1, le=3600
    )
    dynamic_interval: DynamicIntervalConfig = setting(
        default_factory=DynamicIntervalConfig, description="ATR-based dynamic interval."
    )
    inventory_skew: InventorySkewConfig = setting(
        default_factory=InventorySkewConfig, description="Inventory skew of the grid."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.leverage > self.max_leverage:
            raise cross_field_error(
                "leverage", f"expected at most max_leverage ({self.max_leverage})", self.leverage
            )
        if self.cleanup_batch_size > self.order_cleanup_threshold:
            raise cross_field_error(
                "cleanup_batch_size",
                f"expected at most order_cleanup_threshold ({self.order_cleanup_threshold})",
                self.cleanup_batch_size,
            )
        if self.min_order_value > self.order_amount:
            raise cross_field_error(
                "min_order_value",
                f"expected at most order_amount ({self.order_amount})",
                self.min_order_value,
            )
        return self
