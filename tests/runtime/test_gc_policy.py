"""The trading process collects garbage on its own timer: automatic collection off while it runs, young
generations each tick, all of them every `full_every` ticks, automatic collection back on exit."""

from __future__ import annotations

import gc

import anyio
import pytest

from opensqt.runtime.gc_policy import collect_on_a_timer


async def test_collects_on_the_timer_and_restores_automatic_collection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    collected: list[int] = []
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or 0)
    monkeypatch.setattr(gc, "freeze", lambda: None)
    ticks = anyio.Event()

    async def sleep(_: float) -> None:
        if len(collected) == 7:
            ticks.set()
            await anyio.sleep_forever()

    assert gc.isenabled()
    async with anyio.create_task_group() as tg:
        tg.start_soon(collect_on_a_timer, sleep, 1.0, 3)
        await ticks.wait()
        assert not gc.isenabled()
        tg.cancel_scope.cancel()
    assert gc.isenabled()
    assert collected == [1, 1, 2, 1, 1, 2, 1]


async def test_bad_settings_are_refused() -> None:
    async def sleep(_: float) -> None:
        return None

    with pytest.raises(ValueError, match="every_seconds must be > 0 and full_every >= 1, got 0, 60"):
        await collect_on_a_timer(sleep, 0)
