"""Executor: ambiguous submits never produce a second order; each error family is handled as documented."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.exchanges.errors import (
    DuplicateClientOrderId,
    InsufficientFunds,
    NetworkError,
    OrderNotFound,
    OrderWouldCross,
    RateLimited,
    RequestTimeout,
)
from opensqt.model import CancelOrder, Order, OrderStatus, OrderType, PlaceOrder, Side, TimeInForce
from opensqt.trading.execution.executor import ExecutionParams, Executor
from opensqt.trading.execution.outcomes import (
    CancelAcknowledged,
    CancelFailed,
    OrderAcknowledged,
    OrderOutcomeUnknown,
    OrderRejected,
    Outcome,
)

SYMBOL = "BTC/USDT:USDT"


class ScriptedVenue:
    """A venue whose calls fail as scripted. `lost_ack`: the order is made but the answer is lost."""

    def __init__(self, *, batch: bool = False) -> None:
        self.orders: dict[str, Order] = {}
        self.has = {"create_orders": batch}
        self.create_script: list[
            str
        ] = []  # "ok" | "timeout_lost" | "timeout_none" | "cross" | "margin" | "429"
        self.fetch_script: list[str] = []  # "ok" | "network"
        self.creates = 0

    def _make(self, c: PlaceOrder) -> Order:
        if c.client_order_id in self.orders:
            raise DuplicateClientOrderId(f"duplicate {c.client_order_id}")
        order = Order(
            c.client_order_id,
            c.symbol,
            c.side,
            c.type,
            c.quantity,
            c.price,
            venue_order_id=str(len(self.orders) + 1),
            time_in_force=c.time_in_force,
        )
        self.orders[c.client_order_id] = order
        return order

    async def create_order(self, command: PlaceOrder) -> Order:
        self.creates += 1
        step = self.create_script.pop(0) if self.create_script else "ok"
        if step == "timeout_lost":
            self._make(command)
            raise RequestTimeout("no answer")
        if step == "timeout_none":
            raise RequestTimeout("no answer")
        if step == "cross":
            raise OrderWouldCross("would cross")
        if step == "margin":
            raise InsufficientFunds("margin")
        if step == "429":
            raise RateLimited("slow down", retry_after=0.0)
        return self._make(command)

    async def create_orders(self, commands: Sequence[PlaceOrder]) -> list[Order | Exception]:
        results: list[Order | Exception] = []
        for command in commands:
            try:
                results.append(await self.create_order(command))
            except Exception as exc:
                results.append(exc)
        return results

    async def fetch_order(self, symbol: str, client_order_id: str) -> Order:
        step = self.fetch_script.pop(0) if self.fetch_script else "ok"
        if step == "network":
            raise NetworkError("down")
        if client_order_id not in self.orders:
            raise OrderNotFound(client_order_id)
        return self.orders[client_order_id]

    async def cancel_order(self, symbol: str, client_order_id: str) -> Order:
        order = self.orders.get(client_order_id)
        if order is None or order.status.is_final:
            raise OrderNotFound(client_order_id)
        cancelled = order.with_status(OrderStatus.CANCELED)
        self.orders[client_order_id] = cancelled
        return cancelled


def _cmd(cid: str = "c1") -> PlaceOrder:
    return PlaceOrder(
        cid, SYMBOL, Side.BUY, Decimal("0.010"), Decimal("60000.0"), OrderType.LIMIT, TimeInForce.POST_ONLY
    )


def _executor(venue: ScriptedVenue, retries: int = 4) -> tuple[Executor, list[Outcome]]:
    seen: list[Outcome] = []
    ex = Executor(
        venue,
        seen.append,
        params=ExecutionParams(max_retries=retries),  # type: ignore[arg-type]
        backoff=lambda n: 0.0,
    )
    return ex, seen


async def test_timeout_whose_order_reached_the_venue_is_found_not_resent() -> None:
    venue = ScriptedVenue()
    venue.create_script = ["timeout_lost"]
    ex, seen = _executor(venue)
    await ex.place([_cmd()])
    assert venue.creates == 1 and len(venue.orders) == 1
    assert seen == [OrderAcknowledged(_cmd(), venue.orders["c1"])]


async def test_timeout_whose_order_never_arrived_is_resent_with_the_same_id() -> None:
    venue = ScriptedVenue()
    venue.create_script = ["timeout_none"]
    ex, seen = _executor(venue)
    await ex.place([_cmd()])
    assert venue.creates == 2 and list(venue.orders) == ["c1"]
    assert isinstance(seen[0], OrderAcknowledged)


async def test_unknown_outcome_when_the_venue_cannot_be_asked() -> None:
    venue = ScriptedVenue()
    venue.create_script = ["timeout_lost"]
    venue.fetch_script = ["network"] * 10
    ex, seen = _executor(venue, retries=3)
    await ex.place([_cmd()])
    assert venue.creates == 1
    assert len(seen) == 1 and isinstance(seen[0], OrderOutcomeUnknown)


async def test_exchange_errors_are_final_and_not_retried() -> None:
    venue = ScriptedVenue()
    venue.create_script = ["cross", "margin"]
    ex, seen = _executor(venue)
    await ex.place([_cmd("a")])
    await ex.place([_cmd("b")])
    assert venue.creates == 2 and venue.orders == {}
    assert [type(o.error) for o in seen if isinstance(o, OrderRejected)] == [
        OrderWouldCross,
        InsufficientFunds,
    ]


async def test_rate_limited_waits_then_succeeds() -> None:
    venue = ScriptedVenue()
    venue.create_script = ["429", "429"]
    ex, seen = _executor(venue)
    await ex.place([_cmd()])
    assert venue.creates == 3 and isinstance(seen[0], OrderAcknowledged)


async def test_batches_report_each_item_and_resolve_ambiguous_ones() -> None:
    venue = ScriptedVenue(batch=True)
    venue.create_script = ["ok", "cross", "timeout_lost", "ok", "ok", "ok", "margin"]
    ex, seen = _executor(venue)
    await ex.place([_cmd(f"c{i}") for i in range(7)])
    kinds = {o.command.client_order_id: type(o).__name__ for o in seen}  # type: ignore[union-attr]
    assert kinds == {
        "c0": "OrderAcknowledged",
        "c1": "OrderRejected",
        "c2": "OrderAcknowledged",
        "c3": "OrderAcknowledged",
        "c4": "OrderAcknowledged",
        "c5": "OrderAcknowledged",
        "c6": "OrderRejected",
    }
    assert sorted(venue.orders) == ["c0", "c2", "c3", "c4", "c5"]


async def test_cancel_of_a_vanished_order_reports_what_the_venue_knows() -> None:
    venue = ScriptedVenue()
    ex, seen = _executor(venue)
    await ex.place([_cmd("a"), _cmd("b")])
    venue.orders["b"] = venue.orders["b"].with_status(OrderStatus.FILLED)
    seen.clear()
    await ex.cancel([CancelOrder("a", SYMBOL), CancelOrder("b", SYMBOL), CancelOrder("zz", SYMBOL)])
    by_id = {o.command.client_order_id: o for o in seen}  # type: ignore[union-attr]
    assert isinstance(by_id["a"], CancelAcknowledged) and by_id["a"].order.status is OrderStatus.CANCELED
    assert isinstance(by_id["b"], CancelFailed) and by_id["b"].order is not None
    assert by_id["b"].order.status is OrderStatus.FILLED
    assert isinstance(by_id["zz"], CancelFailed) and by_id["zz"].order is None


@settings(max_examples=60)
@given(
    st.lists(st.sampled_from(["ok", "timeout_lost", "timeout_none", "429"]), max_size=8),
    st.lists(st.sampled_from(["ok", "network"]), max_size=8),
)
def test_never_two_orders_and_always_one_outcome(create: list[str], fetch: list[str]) -> None:
    import anyio

    venue = ScriptedVenue()
    venue.create_script = list(create)
    venue.fetch_script = list(fetch)
    ex, seen = _executor(venue, retries=3)
    anyio.run(ex.place, [_cmd()])
    assert len(venue.orders) <= 1
    assert len(seen) == 1
    if isinstance(seen[0], OrderAcknowledged):
        assert list(venue.orders) == ["c1"]
    if isinstance(seen[0], OrderRejected):
        assert venue.orders == {}
