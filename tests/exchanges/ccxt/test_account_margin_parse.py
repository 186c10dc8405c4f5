"""Per-venue account margin parsing (`parse.account_margin_from_balance`) on recorded answers and on the
documented account modes the recordings do not cover; and the venues that cannot report it say so."""

from __future__ import annotations

import copy
from decimal import Decimal as D
from typing import Any

import pytest

from opensqt.exchanges import errors
from opensqt.exchanges.base import AccountMargin
from opensqt.exchanges.ccxt import parse
from opensqt.exchanges.factory import build_exchange
from opensqt.testing.fixture_transport import load_json
from tests.exchanges.contract.venue_cases import PAYLOADS, VENUES

NOW = 1_700_000_000_000


def _margin(venue: str, info: Any) -> AccountMargin:
    return parse.account_margin_from_balance(venue, {"info": info}, "USDT", NOW)


def test_binance_recorded_account_answer() -> None:
    body = load_json(VENUES / "binance-usdm/more/http_json/account_info_v2.json")
    # `updateTime` is 0 ("reserved, ignore" in Binance's docs): stamped with the caller's clock
    assert _margin("binanceusdm", body) == AccountMargin(D("23.72469206"), D("0.00000000"), NOW)
    body = {**body, "totalMarginBalance": "1000.5", "totalMaintMargin": "12.25"}
    assert _margin("binanceusdm", body) == AccountMargin(D("1000.5"), D("12.25"), NOW)


def test_bybit_recorded_wallet_balances() -> None:
    body = load_json(VENUES / "bybit/http_get_wallet_balance_with_spot_borrow.json")
    assert _margin("bybit", body) == AccountMargin(D("2500.00"), D("0"), 1234567890)


def test_bybit_classic_account_is_unreadable_not_guessed() -> None:
    body = copy.deepcopy(load_json(VENUES / "bybit/http_get_wallet_balance.json"))
    account = body["result"]["list"][0]
    account.update(accountType="CONTRACT", totalMarginBalance="", totalMaintenanceMargin="")
    with pytest.raises(ValueError, match="totalMarginBalance"):
        _margin("bybit", body)


def test_okx_multi_currency_margin_reads_adjusted_equity_not_total_equity() -> None:
    body = copy.deepcopy(load_json(VENUES / "okx/http_get_account_balance.json"))
    # multi-currency / portfolio margin fill the account-level figures (documented shape, our values)
    body["data"][0].update(adjEq="95.1234", totalEq="99.88870288820581", mmr="3.5")
    assert _margin("okx", body) == AccountMargin(D("95.1234"), D("3.5"), 1744499648556)


def test_okx_single_currency_margin_without_the_settle_currency() -> None:
    body = load_json(VENUES / "okx/ws_account_empty.json")  # no details at all
    with pytest.raises(ValueError, match="no USDT entry"):
        _margin("okx", body)


def test_bitget_multi_asset_mode_reads_union_figures() -> None:
    body = copy.deepcopy(load_json(PAYLOADS / "bitget/accounts_usdt_futures.json"))
    body["data"][0].update(assetMode="union", unionTotalMargin="1900.5", unionMm="20.25")
    assert _margin("bitget", body["data"]) == AccountMargin(D("1900.5"), D("20.25"), NOW)


def test_bitget_single_asset_health_is_the_venue_risk_rate() -> None:
    body = load_json(PAYLOADS / "bitget/accounts_usdt_futures.json")
    m = _margin("bitget", body["data"])
    assert 1 - m.maintenance_margin / m.margin_balance == 1 - D("0.004417")


def test_negative_maintenance_is_unreadable() -> None:
    body = {"totalMarginBalance": "10", "totalMaintMargin": "-1"}
    with pytest.raises(ValueError, match="maintenance margin must be >= 0"):
        _margin("binanceusdm", body)


def test_gate_needs_the_cross_figures() -> None:
    body = dict(load_json(PAYLOADS / "gate/futures_usdt_accounts.json"))
    body["cross_margin_balance"] = "not a number"
    with pytest.raises(ValueError, match="cross_margin_balance"):
        _margin("gate", body)


@pytest.mark.anyio
async def test_spot_account_has_no_margin_health() -> None:
    ex = build_exchange("binance", "ccxt", {"api_key": "k", "secret": "s"}, {"rate_limit": 0})
    try:
        assert ex.has["fetch_account_margin"] is False
        with pytest.raises(errors.ExchangeError, match="not supported"):
            await ex.fetch_account_margin()  # type: ignore[attr-defined]
    finally:
        await ex.close()
