"""Order cleanup: exactly which orders are cancelled, and invariants over random books."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import CancelOrder, Order, OrderStatus, OrderType, Side
from opensqt.risk import CleanupConfig, decide_cleanup, order_age_ms

D = Decimal
SYM = "BTC/USDT:USDT"
PRICE = D(100)
NOW = 10_000_000


def o(cid: str, side: Side, price: str, ts: int = NOW - 1_000, filled: str = "0") -> Order:
    status = OrderStatus.PARTIALLY_FILLED if D(filled) > 0 else OrderStatus.NEW
    return Order(
        cid,
        SYM,
        side,
        OrderType.LIMIT,
        D(1),
        D(price),
        venue_order_id=f"v-{cid}",
        filled=D(filled),
        status=status,
        ts_init=ts,
    )


def book() -> list[Order]:
    buys = [o(f"b{p}", Side.BUY, str(p)) for p in range(99, 92, -1)]  # 7 buys 99..93
    sells = [o(f"s{p}", Side.SELL, str(p)) for p in range(101, 106)]  # 5 sells 101..105
    return buys + sells


def test_over_threshold_cancels_the_batch_from_the_larger_side_furthest_first() -> None:
    cancels = decide_cleanup(book(), PRICE, NOW, CleanupConfig(threshold=10, batch_size=3))
    reason = "cleanup: 12 open orders > threshold 10; 7 buys is the larger side, furthest from 100 first"
    assert cancels == [
        CancelOrder("b93", SYM, "v-b93", reason),
        CancelOrder("b94", SYM, "v-b94", reason),
        CancelOrder("b95", SYM, "v-b95", reason),
    ]


def test_at_the_threshold_nothing_is_cancelled() -> None:
    assert decide_cleanup(book(), PRICE, NOW, CleanupConfig(threshold=12, batch_size=3)) == []


def test_the_larger_side_can_be_the_sells_furthest_above() -> None:
    orders = [o("b99", Side.BUY, "99")] + [o(f"s{p}", Side.SELL, str(p)) for p in (101, 107, 103, 110)]
    cancels = decide_cleanup(orders, PRICE, NOW, CleanupConfig(threshold=3, batch_size=2))
    assert [c.client_order_id for c in cancels] == ["s110", "s107"]


def test_a_tie_cancels_buys() -> None:
    orders = [
        o("b99", Side.BUY, "99"),
        o("b98", Side.BUY, "98"),
        o("s101", Side.SELL, "101"),
        o("s150", Side.SELL, "150"),
    ]
    cancels = decide_cleanup(orders, PRICE, NOW, CleanupConfig(threshold=3, batch_size=1))
    assert [c.client_order_id for c in cancels] == ["b98"]


def test_partially_filled_orders_are_spared_unless_stale() -> None:
    orders = book()
    orders[5] = o("b94", Side.BUY, "94", filled="0.4")  # the second furthest buy is partly filled
    cancels = decide_cleanup(orders, PRICE, NOW, CleanupConfig(threshold=10, batch_size=3))
    assert [c.client_order_id for c in cancels] == ["b93", "b95", "b96"]


def test_stale_orders_go_first_oldest_first_partial_or_not() -> None:
    orders = book()
    orders[0] = o("b99", Side.BUY, "99", ts=NOW - 70_000, filled="0.5")
    orders[7] = o("s101", Side.SELL, "101", ts=NOW - 90_000)
    params = CleanupConfig(threshold=9, batch_size=2, max_age_ms=60_000)
    cancels = decide_cleanup(orders, PRICE, NOW, params)
    assert cancels[:2] == [
        CancelOrder("s101", SYM, "v-s101", "cleanup: age 90000 ms > max age 60000 ms"),
        CancelOrder("b99", SYM, "v-b99", "cleanup: age 70000 ms > max age 60000 ms"),
    ]
    # 10 remain (> 9): two of the six remaining buys, furthest first.
    assert [c.client_order_id for c in cancels[2:]] == ["b93", "b94"]
    assert cancels[2].reason == (
        "cleanup: 10 open orders > threshold 9; 6 buys is the larger side, furthest from 100 first"
    )


def test_age_exactly_at_the_limit_is_not_stale_and_unknown_age_never_is() -> None:
    params = CleanupConfig(threshold=50, max_age_ms=60_000)
    at_limit = o("b99", Side.BUY, "99", ts=NOW - 60_000)
    unknown = o("b98", Side.BUY, "98", ts=0)
    assert decide_cleanup([at_limit, unknown], PRICE, NOW, params) == []
    assert order_age_ms(unknown, NOW) is None
    venue_time = Order("b97", SYM, Side.BUY, OrderType.LIMIT, D(1), D(97), ts_event=NOW - 5)
    assert order_age_ms(venue_time, NOW) == 5


def test_only_our_prefix_and_open_orders_are_considered() -> None:
    orders = [
        *book(),
        o("manual-1", Side.BUY, "10"),
        o("b50", Side.BUY, "50").with_status(OrderStatus.FILLED),
    ]
    params = CleanupConfig(threshold=10, batch_size=1, client_id_prefix="b")
    # Ours: the 7 open buys only (sells start with "s", one is foreign, one is filled): 7 <= 10.
    assert decide_cleanup(orders, PRICE, NOW, params) == []
    assert [
        c.client_order_id for c in decide_cleanup(orders, PRICE, NOW, CleanupConfig(6, 1, None, "b"))
    ] == ["b93"]


def test_bad_input_names_the_field() -> None:
    with pytest.raises(ValueError, match="cleanup price: expected > 0, got 0"):
        decide_cleanup(book(), D(0), NOW, CleanupConfig())
    for kwargs, message in [
        ({"threshold": -1}, "order_cleanup_threshold: expected >= 0, got -1"),
        ({"batch_size": 0}, "cleanup_batch_size: expected >= 1, got 0"),
        ({"max_age_ms": 0}, "cleanup max_age_ms: expected >= 1 or None, got 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            CleanupConfig(**kwargs)  # type: ignore[arg-type]


orders_strategy = st.lists(
    st.tuples(
        st.sampled_from([Side.BUY, Side.SELL]),
        st.integers(50, 150),  # price
        st.integers(0, 200_000),  # age
        st.booleans(),  # partially filled
    ),
    max_size=40,
)


@given(orders_strategy, st.integers(0, 20), st.integers(1, 8), st.one_of(st.none(), st.integers(1, 150_000)))
def test_cleanup_invariants(
    raw: list[tuple[Side, int, int, bool]], threshold: int, batch: int, max_age: int | None
) -> None:
    orders = [
        o(f"c{i}", side, str(price), ts=NOW - age, filled="0.5" if partial else "0")
        for i, (side, price, age, partial) in enumerate(raw)
    ]
    params = CleanupConfig(threshold=threshold, batch_size=batch, max_age_ms=max_age)
    cancels = decide_cleanup(orders, PRICE, NOW, params)
    by_id = {x.client_order_id: x for x in orders}
    ids = [c.client_order_id for c in cancels]
    assert len(ids) == len(set(ids))
    stale = {x.client_order_id for x in orders if max_age is not None and NOW - x.ts_init > max_age}
    assert stale <= set(ids)
    rest = [by_id[i] for i in ids if i not in stale]
    assert len(rest) <= batch
    assert all(x.filled == 0 for x in rest)  # partial fills only when stale
    assert len({x.side for x in rest}) <= 1
    if len(orders) - len(stale) <= threshold:
        assert rest == []
    else:
        remaining = [x for x in orders if x.client_order_id not in stale]
        buys = sum(1 for x in remaining if x.side is Side.BUY)
        larger = Side.BUY if buys >= len(remaining) - buys else Side.SELL
        pool = [x for x in remaining if x.side is larger and x.filled == 0]
        assert len(rest) == min(batch, len(pool))
        assert all(x.side is larger for x in rest)
        kept = [x for x in pool if x not in rest]
        # Nothing kept is further from the price than anything cancelled.
        nearest_cancelled = min((_distance(r) for r in rest), default=None)
        assert nearest_cancelled is None or all(_distance(x) <= nearest_cancelled for x in kept)


def _distance(order: Order) -> Decimal:
    assert order.price is not None
    return abs(order.price - PRICE)
