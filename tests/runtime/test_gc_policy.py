"""The trading process collects garbage on its own timer: automatic collection off while it runs, young
generations each tick, the old generation every `full_every` ticks (its survivors then frozen out of later
walks), everything every `complete_every` ticks, automatic collection back and nothing left frozen on exit."""

from __future__ import annotations

import gc
import weakref

import anyio
import pytest

from opensqt.runtime.gc_policy import collect_on_a_timer


async def test_collects_on_the_timer_and_restores_automatic_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: calls.append(f"c{generation}") or 0)
    monkeypatch.setattr(gc, "freeze", lambda: calls.append("f"))
    monkeypatch.setattr(gc, "unfreeze", lambda: calls.append("u"))
    ticks = anyio.Event()

    async def sleep(_: float) -> None:
        if calls.count("c1") + calls.count("c2") == 7:
            ticks.set()
            await anyio.sleep_forever()

    assert gc.isenabled()
    async with anyio.create_task_group() as tg:
        tg.start_soon(collect_on_a_timer, sleep, 1.0, 2, 6)
        await ticks.wait()
        assert not gc.isenabled()
        tg.cancel_scope.cancel()
    assert gc.isenabled()
    # start-up frozen; ticks 1..7: young, full, young, full, young, complete, young; thawed on exit
    assert calls == ["f", "c1", "c2", "f", "c1", "c2", "f", "c1", "u", "c2", "f", "c1", "u"]


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref[_Node]:
    a, b = _Node(), _Node()
    a.other, b.other = b, a
    return weakref.ref(a)


async def test_cycles_go_at_the_full_tick_and_long_lived_cycles_at_the_complete_one() -> None:
    """Real collections: a cycle made after start-up is reclaimed by the timer's collections; a cycle whose
    objects survived a full collection (and were frozen) only by the complete one, not before."""
    tick = 0
    young: weakref.ref[_Node] | None = None
    old: weakref.ref[_Node] | None = None
    old_members: list[_Node] = []
    seen: dict[str, tuple[int, bool]] = {}
    done = anyio.Event()

    async def sleep(_: float) -> None:
        nonlocal tick, young, old
        tick += 1  # this call returns into tick number `tick` of the policy; observe what the last one did
        if tick == 1:
            # made now, held by old_members across the first full collection (tick 2), then dropped
            a, b = _Node(), _Node()
            a.other, b.other = b, a
            old_members.extend((a, b))
            old = weakref.ref(a)
        if tick == 3:
            old_members.clear()  # garbage now, but frozen since tick 2's full collection
            young = _cycle()
        if tick == 5:  # ticks 3 and 4 ran: young collection, then full collection (full_every=2)
            assert young is not None and old is not None
            seen["after full"] = (tick, young() is None and old() is not None)
        if tick == 7:  # tick 6 was the complete collection (complete_every=6)
            assert old is not None
            seen["after complete"] = (tick, old() is None)
            done.set()
            await anyio.sleep_forever()

    async with anyio.create_task_group() as tg:
        tg.start_soon(collect_on_a_timer, sleep, 1.0, 2, 6)
        await done.wait()
        tg.cancel_scope.cancel()
    assert seen == {"after full": (5, True), "after complete": (7, True)}
    assert gc.get_freeze_count() == 0


async def test_bad_settings_are_refused() -> None:
    async def sleep(_: float) -> None:
        return None

    with pytest.raises(
        ValueError,
        match=r"every_seconds must be > 0, full_every >= 1 and complete_every >= full_every, got 0, 60, 3600",
    ):
        await collect_on_a_timer(sleep, 0)
    with pytest.raises(ValueError, match=r"got 1\.0, 60, 10"):
        await collect_on_a_timer(sleep, 1.0, 60, 10)
