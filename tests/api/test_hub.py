"""Hubs: snapshot-then-changes, version order, and a slow subscriber resynced from a fresh snapshot."""

from __future__ import annotations

from decimal import Decimal

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.api.hub import AlertHub, SlotHub
from opensqt.api.ports import SlotUpdate
from opensqt.model import Slot, SlotStatus


def _apply(view: dict[Decimal, Slot], update: SlotUpdate) -> None:
    if update.snapshot:
        view.clear()
    for slot in update.slots:
        view[slot.price] = slot
    for price in update.removed_prices:
        view.pop(price, None)


ops = st.lists(
    st.tuples(st.integers(0, 9), st.sampled_from(list(SlotStatus)), st.booleans()), min_size=1, max_size=60
)


@settings(max_examples=50)
@given(ops, st.integers(1, 8))
def test_a_subscriber_view_always_ends_equal_to_the_hub_even_when_it_overflows(
    changes: list[tuple[int, SlotStatus, bool]], buffer: int
) -> None:
    async def run() -> None:
        hub = SlotHub("BTCUSDT", buffer=buffer)
        stream = hub.subscribe()
        view: dict[Decimal, Slot] = {}
        versions: list[int] = []
        first = await stream.__anext__()
        _apply(view, first)
        for price, status, remove in changes:
            p = Decimal(100 + price)
            if remove:
                hub.publish([], [p], ts_ms=1)
            else:
                hub.publish([Slot(price=p, slot_status=status)], ts_ms=1)
        hub.close()
        async for update in stream:
            versions.append(update.version)
            _apply(view, update)
        assert view == {s.price: s for s in hub.snapshot().slots}
        assert versions == sorted(versions)
        assert versions[-1] == len(changes)

    anyio.run(run)


async def test_a_slow_subscriber_gets_a_fresh_snapshot_instead_of_blocking_the_engine() -> None:
    hub = SlotHub("BTCUSDT", epoch="e1", buffer=2)
    stream = hub.subscribe()
    assert (await stream.__anext__()).version == 0
    for i in range(5):
        hub.publish([Slot(price=Decimal(i))], ts_ms=i)
    got = [await stream.__anext__() for _ in range(3)]
    assert [(u.version, u.snapshot) for u in got] == [(1, False), (2, False), (5, True)]
    assert got[2].slots == tuple(Slot(price=Decimal(i)) for i in range(5))
    assert got[2].epoch == "e1"
    await stream.aclose()  # type: ignore[attr-defined]
    assert hub.subscribers == 0


async def test_alert_subscriber_that_falls_behind_is_told_what_it_missed() -> None:
    hub = AlertHub(buffer=1)
    stream = hub.subscribe()
    first_task: list[object] = []
    async with anyio.create_task_group() as tg:

        async def take() -> None:
            first_task.append(await stream.__anext__())

        tg.start_soon(take)
        await anyio.sleep(0)
        hub.publish("a", "one", ts_ms=1)
    hub.publish("a", "two", ts_ms=2)
    hub.publish("a", "three", ts_ms=3)  # overflows the one-slot buffer
    hub.publish("a", "four", ts_ms=4)
    rest = [await stream.__anext__() for _ in range(2)]
    await stream.aclose()  # type: ignore[attr-defined]
    assert [a.message for a in (*first_task, *rest)] == [  # type: ignore[attr-defined]
        "one",
        "two",
        "subscriber fell behind; alerts 3..4 were dropped",
    ]
