"""`Broadcaster`: fans the view's messages out to browser connections. Each message is encoded once; each
browser has a bounded queue, and one that falls behind is resynced with a fresh snapshot instead of
buffering without bound (the same policy as the API's hubs), so memory and lag stay bounded."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable

import anyio
import orjson

from opensqt.web.view import LiveView, Message

DEFAULT_QUEUE_LIMIT = 512  # encoded messages waiting per browser before it is resynced


class BrowserClient:
    """One browser connection's pending messages; starts with a snapshot."""

    def __init__(self, number: int, limit: int) -> None:
        self.number = number
        self._limit = limit
        self._queue: deque[bytes] = deque()
        self._ready = anyio.Event()
        self.resync = True
        self.resyncs = 0
        self.frames = 0
        self.closed = False

    def push(self, encoded: list[bytes]) -> None:
        if self.resync:
            return  # the snapshot about to be sent already contains these changes
        if len(self._queue) + len(encoded) > self._limit:
            self._queue.clear()
            self.resync = True
            self.resyncs += 1
        else:
            self._queue.extend(encoded)
        self._ready.set()

    def request_resync(self) -> None:
        self._queue.clear()
        self.resync = True
        self._ready.set()

    def close(self) -> None:
        self.closed = True
        self._ready.set()

    def pending(self) -> int:
        return len(self._queue)

    async def wait_frame(self, view: LiveView, now_ms: Callable[[], int]) -> str | None:
        """The next frame to send (every pending message in one), or None once closed."""
        while not self.closed and not self.resync and not self._queue:
            await self._ready.wait()
            self._ready = anyio.Event()
        if self.closed:
            return None
        if self.resync:
            self.resync = False
            self._queue.clear()
            parts = [orjson.dumps(view.snapshot())]
        else:
            parts = list(self._queue)
            self._queue.clear()
        self.frames += 1
        # `ts` is when the frame left the server: the page measures its lag against it.
        head = b'{"ts":%d,"msgs":[' % now_ms()
        return (head + b",".join(parts) + b"]}").decode()


class Broadcaster:
    """At most `max_clients` browsers at a time; `publish` never waits."""

    def __init__(self, view: LiveView, max_clients: int, queue_limit: int = DEFAULT_QUEUE_LIMIT) -> None:
        self.view = view
        self.max_clients = max_clients
        self.queue_limit = queue_limit
        self.clients: dict[int, BrowserClient] = {}
        self._numbers = 0
        self.published = 0
        self.refused = 0

    def add(self) -> BrowserClient | None:
        if len(self.clients) >= self.max_clients:
            self.refused += 1
            return None
        self._numbers += 1
        client = BrowserClient(self._numbers, self.queue_limit)
        self.clients[client.number] = client
        return client

    def remove(self, client: BrowserClient) -> None:
        client.close()
        self.clients.pop(client.number, None)

    def publish(self, messages: list[Message]) -> None:
        if not messages:
            return
        self.published += len(messages)
        if not self.clients:
            return
        encoded = [orjson.dumps(m) for m in messages]
        for client in self.clients.values():
            client.push(encoded)

    def resyncs(self) -> int:
        return sum(c.resyncs for c in self.clients.values())


async def pump(
    client: BrowserClient, view: LiveView, send: Callable[[str], Awaitable[None]], now_ms: Callable[[], int]
) -> None:
    """Send frames to one browser until the client is closed."""
    while True:
        frame = await client.wait_frame(view, now_ms)
        if frame is None:
            return
        await send(frame)
