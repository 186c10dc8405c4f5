"""The two error families every venue maps its failures into.

`NetworkError`: the request may not have reached the venue, or its answer was lost: retry with backoff,
and treat a submit as *ambiguous* (the order may exist). `ExchangeError`: the venue answered no: do not
retry blindly; each subclass says what to do instead.
"""

from __future__ import annotations


class VenueError(Exception):
    """Base of every error raised through the `Exchange` port. Messages never carry secrets."""

    def __init__(self, message: str, *, venue: str = "", code: str | None = None) -> None:
        super().__init__(message)
        self.venue = venue
        self.code = code


class NetworkError(VenueError):
    """Transport failure or 5xx: retry with backoff."""


class RequestTimeout(NetworkError):
    """No answer in time. For a submit the outcome is ambiguous: the order may or may not exist."""


class ExchangeError(VenueError):
    """The venue refused the request."""


class InsufficientFunds(ExchangeError):
    """Not enough margin or balance. Do not retry at once: lock margin for a while."""


class OrderWouldCross(ExchangeError):
    """A post-only order would have taken liquidity and was rejected."""


class RateLimited(ExchangeError):
    """Too many requests: wait `retry_after` seconds (or the configured delay) before the next call."""

    def __init__(
        self, message: str, *, venue: str = "", code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, venue=venue, code=code)
        self.retry_after = retry_after


class InvalidOrder(ExchangeError):
    """Off-tick price, quantity below minimum, reduce-only that would increase, unknown symbol..."""


class OrderNotFound(ExchangeError):
    """The venue does not know the order (never existed, or already gone)."""


class AuthenticationError(ExchangeError):
    """Bad key, signature, permissions or timestamp outside the receive window."""


class DuplicateClientOrderId(InvalidOrder):
    """The client order id is already in use on this account."""


class PositionModeError(ExchangeError):
    """The account is in hedge mode where one-way is required (or the reverse)."""
