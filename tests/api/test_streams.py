"""Subscriptions over a real TLS channel: fan-out order to many subscribers, and resuming across a restart."""

from __future__ import annotations

from contextlib import aclosing
from decimal import Decimal

import anyio

from opensqt.api.client import ApiClient
from opensqt.api.ports import SlotUpdate
from opensqt.model import Position, SlotStatus
from opensqt.model import Slot as ModelSlot
from tests.api.harness import Api, make_server

UPDATES = 200
SUBSCRIBERS = 50


def _slot(i: int) -> ModelSlot:
    return ModelSlot(price=Decimal(100 + i % 7), slot_status=SlotStatus.PENDING, attempt=i)


async def test_fifty_subscribers_each_receive_every_slot_update_in_order(api: Api) -> None:
    clients = [api.client() for _ in range(5)]  # ten streams per channel
    received: list[list[SlotUpdate]] = [[] for _ in range(SUBSCRIBERS)]
    hub = api.engine.grid("BTCUSDT")

    async def subscriber(n: int) -> None:
        async with aclosing(clients[n % 5].subscribe_slots("BTCUSDT")) as stream:  # type: ignore[type-var]
            async for update in stream:
                received[n].append(update)
                if update.version == UPDATES:
                    return

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            for n in range(SUBSCRIBERS):
                tg.start_soon(subscriber, n)
            while hub.subscribers < SUBSCRIBERS or not all(received):
                await anyio.sleep(0.01)
            for i in range(1, UPDATES + 1):
                api.engine.publish_slots([_slot(i)], last_price=Decimal(i))

    for updates in received:
        snapshot, *changes = updates
        assert (snapshot.snapshot, snapshot.version, snapshot.slots) == (True, 0, ())
        assert [u.version for u in changes] == list(range(1, UPDATES + 1))
        assert [u.slots for u in changes] == [(_slot(i),) for i in range(1, UPDATES + 1)]
        assert [u.last_price for u in changes] == [Decimal(i) for i in range(1, UPDATES + 1)]
        assert not any(u.snapshot for u in changes)
    # Closed subscriptions leave nothing behind on the server.
    with anyio.fail_after(10):
        while hub.subscribers:
            await anyio.sleep(0.01)


async def test_a_subscriber_resumes_from_a_snapshot_after_a_server_restart(api: Api) -> None:
    port = api.server.port
    client = api.client()
    stream = client.subscribe_slots()
    with anyio.fail_after(20):
        first = await stream.__anext__()
        api.engine.publish_slots([_slot(1)])
        second = await stream.__anext__()
        await api.server.stop(grace=None)
        # The engine keeps running while its API is down: this change is not streamed to anyone.
        api.engine.publish_slots([_slot(2)])
        restarted = make_server(
            api.data_dir, api.engine, api.audits, api.rate_clock, listen=f"127.0.0.1:{port}"
        )
        await restarted.start()
        api.server = restarted
        resumed = await stream.__anext__()
        api.engine.publish_slots([_slot(3)])
        flowing = await stream.__anext__()
    await stream.aclose()  # type: ignore[attr-defined]
    assert (first.snapshot, first.version, second.version, second.snapshot) == (True, 0, 1, False)
    assert (resumed.snapshot, resumed.version) == (True, 2)
    assert resumed.slots == (_slot(1), _slot(2))
    assert (flowing.snapshot, flowing.version, flowing.slots) == (False, 3, (_slot(3),))
    assert client.reconnects >= 1


async def test_position_and_alert_streams_deliver_typed_values(api: Api) -> None:
    client = api.client(api.read_key)
    api.engine.publish_positions(
        [Position(symbol="BTCUSDT", size=Decimal("0.010"), entry_price=Decimal("27000"))]
    )
    positions = client.subscribe_positions("BTCUSDT")
    alerts = client.subscribe_risk_alerts()
    with anyio.fail_after(10):
        snapshot = await positions.__anext__()
        alert_task_result: list[object] = []

        async def first_alert() -> None:
            alert_task_result.append(await alerts.__anext__())

        async with anyio.create_task_group() as tg:
            tg.start_soon(first_alert)
            while api.engine.alerts._fan.__len__() == 0:  # wait until subscribed
                await anyio.sleep(0.01)
            api.engine.publish_alert("risk_triggered", "BTCUSDT volume spike", symbol="BTCUSDT")
        api.engine.publish_positions(
            [
                Position(symbol="ETHUSDT", size=Decimal("1")),
                Position(symbol="BTCUSDT", size=Decimal("-0.005"), entry_price=Decimal("27100.5")),
            ]
        )
        change = await positions.__anext__()
    await positions.aclose()  # type: ignore[attr-defined]
    await alerts.aclose()  # type: ignore[attr-defined]
    assert snapshot.snapshot and snapshot.positions == (
        Position(symbol="BTCUSDT", size=Decimal("0.010"), entry_price=Decimal("27000")),
    )
    assert (change.snapshot, change.version) == (False, 2)
    assert change.positions == (
        Position(symbol="BTCUSDT", size=Decimal("-0.005"), entry_price=Decimal("27100.5")),
    )
    [alert] = alert_task_result
    assert (alert.kind, alert.symbol, alert.message, alert.sequence) == (  # type: ignore[attr-defined]
        "risk_triggered",
        "BTCUSDT",
        "BTCUSDT volume spike",
        1,
    )


async def test_a_subscription_with_a_read_only_key_that_is_wrong_ends_with_an_error(api: Api) -> None:
    from opensqt.api.client import ApiError

    client: ApiClient = api.client("osk_wrong")
    try:
        with anyio.fail_after(10):
            async for _ in client.subscribe_slots():
                raise AssertionError("a wrong key must not receive data")
    except ApiError as exc:
        assert (exc.code, exc.details) == ("UNAUTHENTICATED", "invalid API key")
    else:
        raise AssertionError("expected ApiError")
    assert client.reconnects == 0
