"""Compensating multi-leg execution on the simulated venue: entry, abort, unwind, exit, replay, faults."""

from __future__ import annotations

from decimal import Decimal as D

from opensqt.exchanges.errors import InsufficientFunds
from opensqt.exchanges.sim import FaultPlan, SimExchange
from opensqt.trading.execution.legs import (
    DirectOps,
    EntryOutcome,
    EntryPlan,
    ExitOutcome,
    ExitPlan,
    LegSpec,
    VenueCalls,
    leg_client_order_id,
    run_entry,
    run_exit,
)
from opensqt.trading.state.legs import LegRole
from tests.arbitrage.world import PERP, SPOT, venue

KEY = PERP.symbol


async def _nosleep(_: float) -> None:
    return None


def calls(**exchanges: SimExchange) -> VenueCalls:
    return VenueCalls(exchanges, sleep=_nosleep)


def spot_perp_plan(wid: str = "w1", qty: str = "0.010") -> EntryPlan:
    return EntryPlan(
        wid, KEY, LegSpec(LegRole.LONG, "sim", SPOT), LegSpec(LegRole.SHORT, "sim", PERP), D(qty)
    )


def test_client_order_ids_are_deterministic_short_and_alphanumeric() -> None:
    cid = leg_client_order_id("bot|BTC/USDT:USDT|entry|1700000000000|1", "XL2")
    assert cid == leg_client_order_id("bot|BTC/USDT:USDT|entry|1700000000000|1", "XL2")
    assert cid.isalnum() and len(cid) <= 28 and cid.endswith("XL2")
    assert cid != leg_client_order_id("bot|BTC/USDT:USDT|entry|1700000000000|2", "XL2")


async def test_entry_opens_both_legs_with_the_same_quantity() -> None:
    v = venue()
    r = await run_entry(spot_perp_plan(), DirectOps(calls(sim=SimExchange(v)), "w1"))
    assert r.outcome is EntryOutcome.OPENED and (r.long_qty, r.short_qty) == (D("0.010"), D("0.010"))
    assert v.balances()["BTC"].total == D("0.010")
    assert [p.size for p in v.positions([KEY])] == [D("-0.010")]
    assert [e.step for e in r.executions] == ["A", "B"]
    a = r.executions[0]
    assert a.average_price is not None and a.fee == a.filled * a.average_price * D("0.001")


async def test_replayed_entry_finds_its_orders_and_places_nothing_new() -> None:
    v = venue()
    ops = DirectOps(calls(sim=SimExchange(v)), "w1")
    first = await run_entry(spot_perp_plan(), ops)
    again = await run_entry(spot_perp_plan(), ops)
    assert again == first
    assert len(v.orders) == 2 and v.balances()["BTC"].total == D("0.010")


async def test_leg_a_failure_aborts_with_nothing_placed() -> None:
    v = venue()
    ex = SimExchange(v, faults=FaultPlan().fail_next("create_order", InsufficientFunds("no margin")))
    r = await run_entry(spot_perp_plan(), DirectOps(calls(sim=ex), "w1"))
    assert r.outcome is EntryOutcome.ABORTED and r.long_qty == r.short_qty == 0
    assert len(v.orders) == 0


async def test_leg_b_failure_unwinds_leg_a() -> None:
    a, b = venue("a", (PERP,)), venue("b", (PERP,))
    ex_b = SimExchange(b, faults=FaultPlan().fail_next("create_order", InsufficientFunds("no margin")))
    plan = EntryPlan(
        "w2", KEY, LegSpec(LegRole.LONG, "a", PERP), LegSpec(LegRole.SHORT, "b", PERP), D("0.010")
    )
    r = await run_entry(plan, DirectOps(calls(a=SimExchange(a), b=ex_b), "w2"))
    assert r.outcome is EntryOutcome.COMPENSATED
    assert [(e.step, e.status) for e in r.executions] == [
        ("A", "filled"),
        ("B", "rejected"),
        ("U0", "filled"),
    ]
    assert r.long_qty == 0 and r.short_qty == 0
    assert [p.size for p in a.positions([KEY])] == [D("0.000")]
    assert a.orders[leg_client_order_id("w2", "U0")].reduce_only


async def test_timeout_that_took_effect_places_no_second_order() -> None:
    v = venue()
    ex = SimExchange(v, faults=FaultPlan().timeout_next("create_order", executed=True))
    r = await run_entry(spot_perp_plan(), DirectOps(calls(sim=ex), "w1"))
    assert r.outcome is EntryOutcome.OPENED
    assert len(v.orders) == 2 and v.balances()["BTC"].total == D("0.010")


async def test_exit_closes_both_legs_and_verifies_flat() -> None:
    v = venue()
    c = calls(sim=SimExchange(v))
    await run_entry(spot_perp_plan(), DirectOps(c, "w1"))
    plan = ExitPlan(
        "x1",
        KEY,
        LegSpec(LegRole.LONG, "sim", SPOT),
        LegSpec(LegRole.SHORT, "sim", PERP),
        D("0.010"),
        D("0.010"),
    )
    r = await run_exit(plan, DirectOps(c, "x1"))
    assert r.outcome is ExitOutcome.CLOSED
    assert [e.step for e in r.executions] == ["XS0", "XL0"]  # perp first on one venue
    assert v.balances()["BTC"].total == 0 and [p.size for p in v.positions([KEY])] == [0]


async def test_exit_closes_a_residual_found_by_verification() -> None:
    v = venue()
    c = calls(sim=SimExchange(v))
    await run_entry(spot_perp_plan(qty="0.012"), DirectOps(c, "w1"))
    # The book says 0.010 each (stale); the verify step finds 0.002 more on each venue and closes it.
    plan = ExitPlan(
        "x1",
        KEY,
        LegSpec(LegRole.LONG, "sim", SPOT),
        LegSpec(LegRole.SHORT, "sim", PERP),
        D("0.010"),
        D("0.010"),
    )
    r = await run_exit(plan, DirectOps(c, "x1"))
    assert r.outcome is ExitOutcome.CLOSED
    assert [(e.step, e.filled) for e in r.executions] == [
        ("XS0", D("0.010")),
        ("XL0", D("0.010")),
        ("XS1", D("0.002")),
        ("XL1", D("0.002")),
    ]


async def test_cross_exit_runs_both_venues_in_parallel() -> None:
    a, b = venue("a", (PERP,)), venue("b", (PERP,))
    c = calls(a=SimExchange(a), b=SimExchange(b))
    long, short = LegSpec(LegRole.LONG, "a", PERP), LegSpec(LegRole.SHORT, "b", PERP)
    r = await run_entry(EntryPlan("w", KEY, short, long, D("0.005")), DirectOps(c, "w"))
    assert r.outcome is EntryOutcome.OPENED and [e.venue for e in r.executions] == ["b", "a"]
    x = await run_exit(ExitPlan("x", KEY, long, short, D("0.005"), D("0.005")), DirectOps(c, "x"))
    assert x.outcome is ExitOutcome.CLOSED
    assert {e.step for e in x.executions} == {"XL0", "XS0"}
    assert [p.size for p in a.positions([KEY])] == [0] and [p.size for p in b.positions([KEY])] == [0]
