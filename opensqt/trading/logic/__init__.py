"""Pure decisions: grid levels, sizing, skew, ATR interval, client order ids. No I/O, no clock."""

from opensqt.trading.logic.client_ids import (
    MAX_CLIENT_ID_LENGTH,
    ClientOrderRef,
    client_order_id,
    encode_client_order_id,
    parse_client_order_id,
)
from opensqt.trading.logic.dynamic import atr, dynamic_interval, inventory_skew, true_ranges
from opensqt.trading.logic.grid import (
    GridSnapshot,
    GridWindow,
    buy_levels,
    decide_grid_orders,
    decide_slot_orders,
    grid_centre,
    grid_window,
    sell_levels,
)
from opensqt.trading.logic.params import GridParams, PostOnlyFallback

__all__ = [
    "MAX_CLIENT_ID_LENGTH",
    "ClientOrderRef",
    "GridParams",
    "GridSnapshot",
    "GridWindow",
    "PostOnlyFallback",
    "atr",
    "buy_levels",
    "client_order_id",
    "decide_grid_orders",
    "decide_slot_orders",
    "dynamic_interval",
    "encode_client_order_id",
    "grid_centre",
    "grid_window",
    "inventory_skew",
    "parse_client_order_id",
    "sell_levels",
    "true_ranges",
]
