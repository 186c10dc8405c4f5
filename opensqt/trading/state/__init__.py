"""State managers fed by events (`apply(event)`), idempotent: slots for the grid, legs for arbitrage."""

from opensqt.trading.state.book import RejectReason, SlotBookSnapshot, SlotChange, SlotPnl, SlotStateError
from opensqt.trading.state.restore import restore_slots_from_position
from opensqt.trading.state.slots import SlotManager

__all__ = [
    "RejectReason",
    "SlotBookSnapshot",
    "SlotChange",
    "SlotManager",
    "SlotPnl",
    "SlotStateError",
    "restore_slots_from_position",
]
