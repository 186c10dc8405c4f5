"""Build venue instances from config: any number of them, each with its own client, rate limiter and keys.

`import ccxt.pro` (~0.8 s, ~113 MB) happens here, only when a real venue is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opensqt.exchanges.base import Exchange


@dataclass(frozen=True, slots=True)
class Credentials:
    """API credentials of one venue account. `repr` never shows them."""

    api_key: str = field(default="", repr=False)
    secret: str = field(default="", repr=False)
    password: str = field(default="", repr=False)  # okx / bitget passphrase

    def __bool__(self) -> bool:
        return bool(self.api_key and self.secret)


_OPTION_KEYS = {
    "base_url",
    "testnet",
    "label",
    "timeout_ms",
    "max_concurrency",
    "ccxt_options",
    "rate_limit",
    "order_entry",
}


def build_exchange(
    name: str,
    kind: str = "ccxt",
    credentials: Credentials | Mapping[str, str] | None = None,
    options: Mapping[str, Any] | None = None,
) -> Exchange:
    """One venue instance. `kind` "ccxt" builds a ccxt.pro adapter for `name` (binanceusdm, binance, bitget,
    gate, okx, bybit); "sim" builds the simulated venue (options passed to its constructor).

    ccxt options: `base_url` (send every REST and websocket call there, keeping paths: loopback servers,
    gateways), `testnet` (the venue's sandbox), `label` (instance name, to tell two accounts apart),
    `timeout_ms`, `rate_limit` (ms between requests; ccxt's own limiter), `max_concurrency` (bound for
    fallback batch calls), `ccxt_options` (merged into ccxt's options), `order_entry` ("rest", or "websocket":
    place and cancel single orders over the venue's websocket API, Binance USDT-M only).
    """
    opts = dict(options or {})
    if kind == "sim":
        import importlib

        # Imported by name: the simulated venue is another package's, and optional here.
        sim = importlib.import_module("opensqt.exchanges.sim")
        exchange: Exchange = sim.SimExchange(**opts)
        return exchange
    if kind != "ccxt":
        raise ValueError(f"exchange kind: expected 'ccxt' or 'sim', got {kind!r}")
    unknown = set(opts) - _OPTION_KEYS
    if unknown:
        raise ValueError(
            f"exchange {name} options: unknown keys {sorted(unknown)}; "
            f"expected some of {sorted(_OPTION_KEYS)}"
        )
    from opensqt.exchanges.ccxt import CcxtExchange, point_at, venue_spec

    spec = venue_spec(name)
    creds = credentials if isinstance(credentials, Credentials) else Credentials(**dict(credentials or {}))
    if spec.needs_password and creds and not creds.password:
        raise ValueError(f"exchange {name} credentials: password (API passphrase) is required for {name}")

    import ccxt.pro as ccxtpro  # heavy: only here

    config: dict[str, Any] = {
        "enableRateLimit": True,
        "options": {**spec.ccxt_options, **dict(opts.get("ccxt_options") or {})},
    }
    if creds:
        config.update(apiKey=creds.api_key, secret=creds.secret)
        if creds.password:
            config["password"] = creds.password
    if "timeout_ms" in opts:
        config["timeout"] = int(opts["timeout_ms"])
    if "rate_limit" in opts:
        config["rateLimit"] = float(opts["rate_limit"])
    client = getattr(ccxtpro, spec.ccxt_id)(config)
    client.number = str  # every amount as the venue's own string: no float anywhere on the money path
    for capability in spec.has_off:
        client.has[capability] = False
    if opts.get("testnet"):
        client.set_sandbox_mode(True)
    if opts.get("base_url"):
        point_at(client, str(opts["base_url"]))
    return CcxtExchange(
        spec,
        client,
        label=opts.get("label"),
        max_concurrency=int(opts.get("max_concurrency", 5)),
        order_entry=str(opts.get("order_entry", "rest")),
    )
