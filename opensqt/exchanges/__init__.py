"""Venues behind one port: the `Exchange` protocol, its error families, the simulated venue, ccxt adapters."""

from opensqt.exchanges.base import CAPABILITIES, Exchange
from opensqt.exchanges.errors import (
    AuthenticationError,
    DuplicateClientOrderId,
    ExchangeError,
    InsufficientFunds,
    InvalidOrder,
    NetworkError,
    OrderNotFound,
    OrderWouldCross,
    PositionModeError,
    RateLimited,
    RequestTimeout,
    VenueError,
)

__all__ = [
    "CAPABILITIES",
    "AuthenticationError",
    "DuplicateClientOrderId",
    "Exchange",
    "ExchangeError",
    "InsufficientFunds",
    "InvalidOrder",
    "NetworkError",
    "OrderNotFound",
    "OrderWouldCross",
    "PositionModeError",
    "RateLimited",
    "RequestTimeout",
    "VenueError",
]
