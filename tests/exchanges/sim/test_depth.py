"""DepthSide: the dense book gives exactly what a dictionary updated level by level gives, in both its array
and its sparse (too wide a range) modes."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.exchanges.sim import depth
from opensqt.exchanges.sim.depth import DepthSide

updates = st.lists(
    st.lists(st.tuples(st.integers(1, 400), st.sampled_from([0, 0, 1, 5, 9])), max_size=30), max_size=8
)


def _reference(batches: list[list[tuple[int, int]]], clear_at: int | None) -> dict[int, int]:
    book: dict[int, int] = {}
    for i, batch in enumerate(batches):
        if i == clear_at:
            book.clear()
        for p, q in batch:
            if q:
                book[p] = q
            else:
                book.pop(p, None)
    return book


@settings(max_examples=200, deadline=None)
@given(updates, st.one_of(st.none(), st.integers(0, 7)), st.booleans(), st.integers(1, 400))
def test_same_levels_as_a_dictionary(
    batches: list[list[tuple[int, int]]], clear_at: int | None, sparse: bool, top: int
) -> None:
    side = DepthSide()
    saved = depth.MAX_DENSE
    depth.MAX_DENSE = 1 if sparse else saved
    try:
        for i, batch in enumerate(batches):
            if i == clear_at:
                side.clear()
            side.apply(np.array([p for p, _ in batch], np.int64), np.array([q for _, q in batch], np.int64))
    finally:
        depth.MAX_DENSE = saved
    book = _reference(batches, clear_at)
    assert [side.get(p) for p in range(0, 402)] == [book.get(p, 0) for p in range(0, 402)]
    assert side.above(top, None) == sorted((p, q) for p, q in book.items() if p > top)
    assert side.above(top, top + 50) == sorted((p, q) for p, q in book.items() if top < p <= top + 50)
    assert side.below(top, None) == sorted(((p, q) for p, q in book.items() if p < top), reverse=True)
    assert side.below(top, top - 50) == sorted(
        ((p, q) for p, q in book.items() if top - 50 <= p < top), reverse=True
    )


def test_a_far_level_switches_to_the_sparse_book_and_keeps_every_level() -> None:
    side = DepthSide()
    side.apply(np.array([600_000, 600_001]), np.array([3, 4]))
    side.apply(np.array([10 * depth.MAX_DENSE]), np.array([7]))
    assert side.above(599_999, None) == [(600_000, 3), (600_001, 4), (10 * depth.MAX_DENSE, 7)]
    assert side.get(600_001) == 4


def test_clear_after_the_array_grew_empties_every_level() -> None:
    side = DepthSide()
    side.apply(np.array([600_000]), np.array([3]))
    side.apply(np.array([500_000, 700_000]), np.array([4, 5]))  # grows the array on both ends
    assert side.above(0, None) == [(500_000, 4), (600_000, 3), (700_000, 5)]
    side.clear()
    assert side.above(0, None) == [] and side.get(600_000) == 0
    side.apply(np.array([650_000]), np.array([6]))
    side.clear()
    side.apply(np.array([640_000]), np.array([7]))
    assert side.above(0, None) == [(640_000, 7)]
