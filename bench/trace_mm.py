"""market_maker with per-hop timestamps on the tick-to-trade path, for `bench_e2e.py --trace`.

    python bench/trace_mm.py OUT.json run --config FILE ...   (then market_maker's own arguments)

Wraps (never changes) the adapter's hot-path methods and writes `[label, monotonic seconds]` pairs to OUT.json
when the process exits. CLOCK_MONOTONIC is system-wide, so the stamps line up with the venue process's
timeline. Labels, per buy fill and its follow-up sell:
  frame    ccxt hands the ORDER_TRADE_UPDATE (a buy's TRADE) to its handler (the frame is read and decoded)
  handled  the message handler returned (ccxt's, or the adapter's direct order stream)
  updates  the adapter's `order_updates` starts on the batch (after ccxt's future wakes our task)
  parsed   `order_updates` returned
  create   the adapter's `create_order` starts on the sell
  send     the sell leaves the adapter (ws API: `send_str`; REST: ccxt's `fetch`)
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from pathlib import Path
from typing import Any

STAMPS: list[tuple[str, float]] = []


def _stamp(label: str) -> None:
    STAMPS.append((label, time.monotonic()))


def _is_buy_fill(raw: Any) -> bool:
    # the direct stream's own reads are (order, push) pairs; ccxt's are order dicts with the push as "info"
    if isinstance(raw, tuple):
        return raw[1].get("S") == "BUY" and raw[1].get("x") == "TRADE"  # type: ignore[no-any-return]
    return bool(raw.get("side") == "buy" and (raw.get("info") or {}).get("x") == "TRADE")


def install() -> None:
    from opensqt.exchanges.ccxt import adapter, user_stream, ws_orders
    from opensqt.model import Side

    guarded = adapter.CcxtExchange._guarded

    def traced_guarded(self: Any, handle: Any) -> Any:
        inner = guarded(self, handle)  # the adapter's own wrapper (its direct order stream included)

        def traced(ws_client: Any, message: Any) -> Any:
            o = message.get("o") if isinstance(message, dict) else None
            fill = isinstance(o, dict) and o.get("x") == "TRADE" and o.get("S") == "BUY"
            if fill:
                _stamp("frame")
            out = inner(ws_client, message)
            if fill:
                _stamp("handled")
            return out

        return traced

    adapter.CcxtExchange._guarded = traced_guarded  # type: ignore[method-assign]

    order_updates = user_stream.UserStreamMixin.order_updates

    def traced_updates(self: Any, raws: Any) -> Any:
        buy_fill = any(_is_buy_fill(r) for r in raws)
        if buy_fill:
            _stamp("updates")
        out = order_updates(self, raws)
        if buy_fill:
            _stamp("parsed")
        return out

    user_stream.UserStreamMixin.order_updates = traced_updates  # type: ignore[method-assign]

    create_order = adapter.CcxtExchange.create_order

    async def traced_create(self: Any, command: Any) -> Any:
        if command.side is Side.SELL:
            _stamp("create")
            if self._ws_orders is None:  # REST: stamp ccxt's fetch (after params, signing, throttle)
                client = self._client
                fetch = client.fetch

                async def traced_fetch(*args: Any, **kwargs: Any) -> Any:
                    client.fetch = fetch
                    _stamp("send")
                    return await fetch(*args, **kwargs)

                client.fetch = traced_fetch
        return await create_order(self, command)

    adapter.CcxtExchange.create_order = traced_create  # type: ignore[method-assign]

    request = ws_orders.WsOrderEntry.request

    async def traced_request(self: Any, method: str, params: dict[str, Any]) -> Any:
        ws = self._ws
        if ws is not None and method == "order.place" and params.get("side") == "SELL":
            send = ws.send_str

            async def traced_send(data: str, *args: Any) -> Any:
                ws.send_str = send
                _stamp("send")
                return await send(data, *args)

            ws.send_str = traced_send
        return await request(self, method, params)

    ws_orders.WsOrderEntry.request = traced_request  # type: ignore[method-assign]


def main() -> int:
    out = sys.argv[1]
    atexit.register(lambda: Path(out).write_text(json.dumps(STAMPS)))
    install()
    from market_maker.__main__ import main as mm_main

    return int(mm_main(sys.argv[2:]))


if __name__ == "__main__":
    sys.exit(main())
