"""Venue instances from the config: the one place a configured exchange becomes an `Exchange`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from opensqt.exchanges.base import Exchange

if TYPE_CHECKING:
    from opensqt.config.sections import ExchangeConfig

#: config `kind` -> ccxt exchange id, where they differ
CCXT_NAMES = {"binance": "binanceusdm", "binance_spot": "binance"}


def build_real_exchange(name: str, config: ExchangeConfig) -> Exchange:
    """A ccxt.pro adapter for a configured real venue: its own credentials and rate limiter."""
    from opensqt.exchanges.factory import Credentials, build_exchange

    credentials = Credentials(
        api_key=config.api_key.get_secret_value() if config.api_key else "",
        secret=config.api_secret.get_secret_value() if config.api_secret else "",
        password=config.passphrase.get_secret_value() if config.passphrase else "",
    )
    options: dict[str, Any] = {
        "testnet": config.testnet,
        "label": name,
        "rate_limit": 1000 / config.rate_limit,  # ccxt wants milliseconds between requests
    }
    if config.base_url:
        options["base_url"] = config.base_url
    if config.order_entry != "rest":
        options["order_entry"] = config.order_entry
    return build_exchange(CCXT_NAMES.get(config.kind, config.kind), "ccxt", credentials, options)
