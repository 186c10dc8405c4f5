"""`Executor`: turns commands into venue calls, safely (REQUIREMENTS §3.1-3.2).

- One token bucket per venue instance; `RateLimited` empties it for the venue's retry-after.
- `NetworkError` (timeouts included) on a submit is *ambiguous*: the order may exist. The executor asks the
  venue for the order by its client id and re-submits with the *same* client id only when the venue says it
  does not know it; a venue that did get the first request rejects the second as a duplicate, so no second
  order can ever rest for one slot. When retries run out the outcome stays unknown and the slot PENDING.
- `ExchangeError`s are final for the command (post-only cross, margin, invalid): reported, never retried here;
  the engine decides (post-only retry and fallback, margin lock).
- Batches go through `create_orders`/`cancel_orders` (5 per call) where the venue has them, else bounded
  concurrent single calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
from loguru import logger

from opensqt.exchanges.base import Exchange
from opensqt.exchanges.errors import (
    DuplicateClientOrderId,
    ExchangeError,
    NetworkError,
    OrderNotFound,
    RateLimited,
    VenueError,
)
from opensqt.model import CancelOrder, Order, PlaceOrder
from opensqt.runtime.limits import TokenBucket, backoff_delays
from opensqt.trading.execution.outcomes import (
    CancelAcknowledged,
    CancelFailed,
    OrderAcknowledged,
    OrderOutcomeUnknown,
    OrderRejected,
    Outcome,
)

BATCH_LIMIT = 5


@dataclass(frozen=True, slots=True)
class ExecutionParams:
    max_retries: int = 4
    rate_limit_retry_delay: float = 1.0
    max_concurrency: int = 8
    use_batches: bool = True


class _RequestSlot:
    """One of `max_concurrency` request slots; taken without yielding to the loop when one is free (the
    common case: a fill's closing order must not queue behind every other ready task). A class rather than
    an `asynccontextmanager`: no generator to build per request on the tick-to-order path."""

    __slots__ = ("_limiter",)

    def __init__(self, limiter: anyio.CapacityLimiter) -> None:
        self._limiter = limiter

    async def __aenter__(self) -> None:
        try:
            self._limiter.acquire_nowait()
        except anyio.WouldBlock:
            await self._limiter.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._limiter.release()


class Executor:
    def __init__(
        self,
        exchange: Exchange,
        on_outcome: Callable[[Outcome], None],
        *,
        params: ExecutionParams | None = None,
        bucket: TokenBucket | None = None,
        backoff: Callable[[int], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.exchange = exchange
        self.on_outcome = on_outcome
        self.params = params or ExecutionParams()
        self.bucket = bucket
        self._backoff = backoff or backoff_delays()
        self._sleep = sleep or anyio.sleep
        self._limiter = anyio.CapacityLimiter(self.params.max_concurrency)
        self._request_slot = _RequestSlot(self._limiter)
        self.calls = 0

    # --- public -----------------------------------------------------------------------------

    async def place(self, commands: Sequence[PlaceOrder]) -> None:
        """Submit orders; every command ends in exactly one outcome callback."""
        if not commands:
            return
        if len(commands) == 1:
            # the common case (a fill's closing order): no task group, no extra task hop
            await self._place_one(commands[0])
            return
        if self.params.use_batches and self.exchange.has.get("create_orders"):
            if len(commands) <= BATCH_LIMIT:
                await self._place_batch(list(commands))  # one call: no task group, no task hop
                return
            async with anyio.create_task_group() as tg:
                for start in range(0, len(commands), BATCH_LIMIT):
                    tg.start_soon(self._place_batch, list(commands[start : start + BATCH_LIMIT]))
            return
        async with anyio.create_task_group() as tg:
            for command in commands:
                tg.start_soon(self._place_one, command)

    async def cancel(self, commands: Sequence[CancelOrder]) -> None:
        if not commands:
            return
        if len(commands) == 1:
            await self._cancel_one(commands[0])
            return
        async with anyio.create_task_group() as tg:
            for command in commands:
                tg.start_soon(self._cancel_one, command)

    # --- internals --------------------------------------------------------------------------

    async def _throttle(self) -> None:
        if self.bucket is not None:
            await self.bucket.acquire()
        self.calls += 1

    def _rate_limited(self, exc: RateLimited) -> float:
        delay = exc.retry_after if exc.retry_after is not None else self.params.rate_limit_retry_delay
        if self.bucket is not None:
            self.bucket.penalise(delay)
        return delay

    async def _place_batch(self, batch: list[PlaceOrder]) -> None:
        async with self._request_slot:
            await self._throttle()
            try:
                results = await self.exchange.create_orders(batch)
            except VenueError as exc:
                # the whole batch failed alike: each item takes the path its error calls for
                if isinstance(exc, RateLimited):
                    await self._sleep(self._rate_limited(exc))
                results = [exc] * len(batch)
        for command, result in zip(batch, results, strict=True):
            if isinstance(result, Order):
                self.on_outcome(OrderAcknowledged(command, result))
            elif isinstance(result, (NetworkError, RateLimited, DuplicateClientOrderId)):
                # Unknown or retryable for this item: fall back to the careful single path.
                await self._place_one(command, first_error=result)
            elif isinstance(result, VenueError):
                self.on_outcome(OrderRejected(command, result))
            else:
                self.on_outcome(OrderRejected(command, ExchangeError(f"unexpected batch result: {result!r}")))

    async def _place_one(self, command: PlaceOrder, first_error: VenueError | None = None) -> None:
        async with self._request_slot:
            await self._place_with_retries(command, first_error)

    async def _place_with_retries(self, command: PlaceOrder, first_error: VenueError | None) -> None:
        error: VenueError | None = first_error
        # `may_exist`: a previous attempt may have reached the venue, so look before submitting again.
        may_exist = isinstance(first_error, (NetworkError, DuplicateClientOrderId))
        for attempt in range(self.params.max_retries + 1):
            if may_exist:
                found = await self._lookup(command)
                if isinstance(found, Order):
                    self.on_outcome(OrderAcknowledged(command, found))
                    return
                if found is None:
                    # Still unknown: wait and look again rather than risk a second order.
                    await self._sleep(self._backoff(attempt))
                    continue
                may_exist = False  # the venue says it has no such order: safe to submit again
            elif error is not None:
                await self._sleep(self._backoff(attempt))
            await self._throttle()
            try:
                order = await self.exchange.create_order(command)
            except RateLimited as exc:
                error = exc
                await self._sleep(self._rate_limited(exc))
                continue
            except DuplicateClientOrderId as exc:
                error, may_exist = exc, True
                continue
            except NetworkError as exc:
                logger.warning("submit {} uncertain ({}); checking the venue", command.client_order_id, exc)
                error, may_exist = exc, True
                continue
            except ExchangeError as exc:
                self.on_outcome(OrderRejected(command, exc))
                return
            self.on_outcome(OrderAcknowledged(command, order))
            return
        assert error is not None
        if may_exist:
            self.on_outcome(OrderOutcomeUnknown(command, error))
        else:
            self.on_outcome(OrderRejected(command, error))

    async def _lookup(self, command: PlaceOrder) -> Order | OrderNotFound | None:
        """The venue's view of the order: the order, proof of absence, or None when it cannot tell now."""
        await self._throttle()
        try:
            return await self.exchange.fetch_order(command.symbol, command.client_order_id)
        except OrderNotFound as exc:
            return exc
        except RateLimited as exc:
            await self._sleep(self._rate_limited(exc))
            return None
        except (NetworkError, ExchangeError):
            return None

    async def _cancel_one(self, command: CancelOrder) -> None:
        async with self._request_slot:
            error: VenueError | None = None
            for attempt in range(self.params.max_retries + 1):
                if error is not None:
                    await self._sleep(self._backoff(attempt))
                await self._throttle()
                try:
                    order = await self.exchange.cancel_order(command.symbol, command.client_order_id)
                except OrderNotFound as exc:
                    # Already gone: filled, cancelled, or never placed. Tell the engine what the venue knows.
                    known: Order | None = None
                    try:
                        known = await self.exchange.fetch_order(command.symbol, command.client_order_id)
                    except VenueError:
                        known = None
                    self.on_outcome(CancelFailed(command, exc, known))
                    return
                except RateLimited as exc:
                    error = exc
                    await self._sleep(self._rate_limited(exc))
                    continue
                except NetworkError as exc:
                    error = exc
                    continue
                except ExchangeError as exc:
                    self.on_outcome(CancelFailed(command, exc))
                    return
                self.on_outcome(CancelAcknowledged(command, order))
                return
            assert error is not None
            self.on_outcome(CancelFailed(command, error))
