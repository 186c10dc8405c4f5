"""`concurrency.busy_poll`: the polling selector answers what is ready at once, waits out the loop's timeout
without sleeping in the kernel, and runs an anyio program like the default loop."""

from __future__ import annotations

import selectors
import socket
import time

import anyio

from opensqt.runtime.busy_poll import BusyPollSelector, loop_options


def test_ready_sockets_are_answered_and_an_idle_timeout_runs_out() -> None:
    a, b = socket.socketpair()
    selector = BusyPollSelector()
    try:
        selector.register(b, selectors.EVENT_READ, "b")
        assert selector.select(0) == []
        started = time.monotonic()
        assert selector.select(0.02) == []  # nothing lands: the loop's timeout is honoured
        assert time.monotonic() - started >= 0.02
        a.send(b"x")
        ready = selector.select(None)  # no timeout at all: returns as soon as the byte is there
        assert [(key.data, events) for key, events in ready] == [("b", selectors.EVENT_READ)]
    finally:
        selector.close()
        a.close()
        b.close()


def test_an_anyio_program_runs_on_the_polling_loop() -> None:
    async def echo_once() -> tuple[str, bytes]:
        import asyncio

        name = type(asyncio.get_running_loop()._selector).__name__  # type: ignore[attr-defined]
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        got: list[bytes] = []

        async def serve(stream: anyio.abc.SocketStream) -> None:
            got.append(await stream.receive())
            await stream.aclose()

        async with listener, anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, serve)
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                await client.send(b"fill")
            with anyio.fail_after(5):
                while not got:
                    await anyio.sleep(0.001)
            tg.cancel_scope.cancel()
        return name, got[0]

    assert anyio.run(echo_once, backend_options=loop_options(True)) == ("BusyPollSelector", b"fill")
    assert loop_options(False) == {}
