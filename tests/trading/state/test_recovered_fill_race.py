"""An execution booked from an order query (the engine's id "<venue order id>@<cumulative>", flagged
`recovered`) and later reported by the stream under the venue's trade id counts once, also while the order is
incomplete. It happens when a fill lands between the order stream going live and restore's (or
reconciliation's) query of the order: the stream's report is held until the slots are restored, and the query
has already booked it."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import Fill, LiquiditySide, Order, OrderStatus, OrderType, OrderUpdated, PlaceOrder, Side
from opensqt.trading.state import SlotManager

D = Decimal
LOT = D("0.001")


def _order(filled: Decimal, quantity: Decimal = D("0.002")) -> Order:
    status = OrderStatus.FILLED if filled == quantity else OrderStatus.PARTIALLY_FILLED
    if not filled:
        status = OrderStatus.NEW
    return Order("tBaN1", "S", Side.BUY, OrderType.LIMIT, quantity, D(100), "7", filled, None, status)


def _fill(trade_id: str, quantity: Decimal) -> Fill:
    return Fill(trade_id, "tBaN1", "S", Side.BUY, D(100), quantity, D(0), "USDT", LiquiditySide.MAKER, "7")


def _book(quantity: Decimal) -> SlotManager:
    book = SlotManager()
    book.reserve(D(100), PlaceOrder("tBaN1", "S", Side.BUY, quantity, D(100)))
    book.apply(OrderUpdated(_order(D(0), quantity)))
    return book


def test_a_recovered_partial_fill_reported_again_by_the_stream_counts_once() -> None:
    book = _book(D("0.002"))
    # the query finds 0.001 of 0.002 filled and books it under the engine's own id
    book.apply(OrderUpdated(_order(D("0.001")), _fill("7@0.001", D("0.001")), recovered=True))
    assert book.inventory == D("0.001")
    # the stream's report of that same execution (cumulative still 0.001), under the venue's trade id
    assert book.apply(OrderUpdated(_order(D("0.001")), _fill("55", D("0.001")))) == []
    assert book.inventory == D("0.001")
    # the next execution is new
    book.apply(OrderUpdated(_order(D("0.002")), _fill("56", D("0.001"))))
    assert book.inventory == D("0.002")


def test_a_fill_reported_before_any_query_still_counts_with_a_stale_cumulative() -> None:
    # no query has booked anything: a fill whose order snapshot lags (cumulative 0) is not dropped
    book = _book(D("0.002"))
    book.apply(OrderUpdated(_order(D(0)), _fill("55", D("0.001"))))
    assert book.inventory == D("0.001")


@given(
    lots=st.lists(st.integers(1, 3), min_size=1, max_size=6),
    data=st.data(),
)
def test_any_interleaving_of_query_and_stream_books_exactly_what_the_venue_filled(
    lots: list[int], data: st.DataObject
) -> None:
    """Executions e1..ek; the stream reports each (some twice, in any order) with the order's cumulative at
    that execution; one query, at any moment, books the gap between what the slot shows and the venue's
    cumulative then, as `GridRecovery` does. The slot ends holding exactly the cumulative of everything
    reported or queried, never more."""
    sizes = [LOT * n for n in lots]
    cums = [sum(sizes[: i + 1], D(0)) for i in range(len(sizes))]
    quantity = cums[-1] + LOT * data.draw(st.integers(0, 2), label="unfilled lots")
    book = _book(quantity)
    reports = data.draw(
        st.lists(st.integers(0, len(sizes) - 1), max_size=2 * len(sizes)), label="stream reports"
    )
    query_at = data.draw(st.integers(0, len(reports)), label="query after report #")
    executed = data.draw(st.integers(0, len(sizes)), label="executions before the query")
    # the query sees at least the executions reported before it, and maybe some not reported yet
    seen = D(0)
    for n, i in enumerate([*reports[:query_at], None, *reports[query_at:]]):
        if i is None:
            before = [cums[j] for j in reports[:query_at]]
            venue_cum = max([*before, cums[executed - 1] if executed else D(0)])
            known = book.slot(D(100)).filled_qty  # type: ignore[union-attr]
            if venue_cum > known:
                fill = _fill(f"7@{venue_cum}", venue_cum - known)
                book.apply(OrderUpdated(_order(venue_cum, quantity), fill, recovered=True))
            seen = max(seen, venue_cum)
            continue
        book.apply(OrderUpdated(_order(cums[i], quantity), _fill(f"t{i}", sizes[i])))
        seen = max(seen, cums[i])
        assert book.inventory <= seen, f"step {n}: booked {book.inventory} > the venue's {seen}"
    assert book.inventory == seen
