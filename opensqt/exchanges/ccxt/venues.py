"""Per-venue specifics of the ccxt adapters: ccxt id, market filter, client-order-id rules, default options.

Everything that differs between venues lives here as data, so the adapter itself stays venue-neutral.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """What the adapter must know about one venue product (e.g. Binance USDT-M vs Binance spot)."""

    name: str
    ccxt_id: str
    market_type: str  # ccxt market type we trade: "swap" (linear perpetual) or "spot"
    client_id_max_len: int
    client_id_pattern: str  # a full-match regex for ids the venue accepts
    client_id_prefix: str = ""  # added by ccxt itself (gate's "t-"); counts against nothing of ours
    native_batch_create: bool = True
    native_batch_cancel: bool = True
    max_batch: int = 5
    default_funding_hours: Decimal = Decimal(8)
    ccxt_options: dict[str, Any] = field(default_factory=dict)
    # ccxt `has` entries forced off, e.g. fetchCurrencies, which would call endpoints we do not need.
    has_off: tuple[str, ...] = ("fetchCurrencies",)
    needs_password: bool = False
    # order pushes taken off ccxt's socket before its handler (`UserStreamMixin.take_order_push`)
    direct_order_stream: bool = False

    def check_client_order_id(self, client_order_id: str) -> str | None:
        """None when the id is acceptable, else a one-line reason naming the limit."""
        if not client_order_id:
            return "client order id is empty"
        if len(client_order_id) > self.client_id_max_len:
            return (
                f"client order id {client_order_id!r} has {len(client_order_id)} characters; "
                f"{self.name} allows at most {self.client_id_max_len}"
            )
        if re.fullmatch(self.client_id_pattern, client_order_id) is None:
            return (
                f"client order id {client_order_id!r} has characters {self.name} refuses "
                f"(allowed: {self.client_id_pattern})"
            )
        return None


VENUES: dict[str, VenueSpec] = {
    spec.name: spec
    for spec in (
        VenueSpec(
            name="binanceusdm",
            ccxt_id="binanceusdm",
            market_type="swap",
            client_id_max_len=36,
            client_id_pattern=r"[.A-Z:/a-z0-9_-]+",
            max_batch=5,  # POST /fapi/v1/batchOrders takes at most 5 orders
            direct_order_stream=True,
            ccxt_options={
                "fetchCurrencies": False,
                "defaultType": "future",
                "warnOnFetchOpenOrdersWithoutSymbol": False,
                # ccxt's background position snapshot compares numbers, which our string mode breaks
                # (TypeError in a detached task); positions come from fetch_positions instead
                "watchPositions": {"fetchPositionsSnapshot": False},
            },
        ),
        VenueSpec(
            name="binance",
            ccxt_id="binance",
            market_type="spot",
            client_id_max_len=36,
            client_id_pattern=r"[.A-Z:/a-z0-9_-]+",
            native_batch_create=False,  # spot has no batch order endpoint: bounded concurrent single calls
            native_batch_cancel=False,
            ccxt_options={
                "fetchCurrencies": False,
                "defaultType": "spot",
                "warnOnFetchOpenOrdersWithoutSymbol": False,
                # not the futures exchangeInfos: this adapter trades spot
                "fetchMarkets": {"types": ["spot"]},
            },
        ),
        VenueSpec(
            name="bitget",
            ccxt_id="bitget",
            market_type="swap",
            client_id_max_len=50,  # clientOid: error 40305 "Client_oid length is not greater than 50"
            client_id_pattern=r"[A-Za-z0-9_-]+",
            max_batch=50,
            ccxt_options={"defaultType": "swap", "uta": False, "fetchMarkets": {"types": ["swap"]}},
            needs_password=True,
        ),
        VenueSpec(
            name="gate",
            ccxt_id="gate",
            market_type="swap",
            # Gate's `text`: "t-" then at most 28 bytes of [0-9A-Za-z_.-] (FuturesOrder.text in the API v4
            # docs). We send "t-" + id ourselves (ccxt would skip the prefix for an id starting with "t"), and
            # ccxt 4.5 refuses a `text` longer than 28 *including* that prefix: 26 is what gets through.
            client_id_max_len=26,
            client_id_pattern=r"[A-Za-z0-9_.-]+",
            client_id_prefix="t-",
            max_batch=10,
            ccxt_options={
                "defaultType": "swap",
                "unifiedAccount": False,
                "fetchMarkets": {"types": ["swap"]},
            },
        ),
        VenueSpec(
            name="okx",
            ccxt_id="okx",
            market_type="swap",
            client_id_max_len=32,
            client_id_pattern=r"[A-Za-z0-9]+",  # clOrdId: letters and digits only
            max_batch=20,
            ccxt_options={"defaultType": "swap", "fetchMarkets": {"types": ["swap"]}},
            needs_password=True,
        ),
        VenueSpec(
            name="bybit",
            ccxt_id="bybit",
            market_type="swap",
            client_id_max_len=36,
            client_id_pattern=r"[A-Za-z0-9_-]+",
            max_batch=10,
            ccxt_options={"defaultType": "swap", "fetchMarkets": {"types": ["linear"]}},
        ),
    )
}


def venue_spec(name: str) -> VenueSpec:
    try:
        return VENUES[name]
    except KeyError:
        raise ValueError(f"venue: expected one of {', '.join(sorted(VENUES))}, got {name!r}") from None
