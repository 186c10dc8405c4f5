"""The `fetch_account_margin` capability under contract: every venue that advertises it reports the account's
margin balance and maintenance margin exactly as its account endpoint states them (`venue_cases.CASES`), and a
venue answer missing a figure is one clear `ExchangeError`, never a guessed number."""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from opensqt.exchanges import errors
from opensqt.exchanges.base import MarginSource
from opensqt.testing.fixture_transport import Canned, load_json
from tests.exchanges.contract.venue_cases import CASES, PAYLOADS, VENUES, Case

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # ccxt runs on asyncio


params = pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])

# (margin balance, maintenance margin, venue timestamp or None when the answer carries none); None: the venue
# does not advertise the capability. A case missing here fails: every venue must say what it reports.
EXPECTED: dict[str, tuple[Decimal, Decimal, int | None] | None] = {
    "sim": (Decimal(1000), Decimal(0), 0),
    "binanceusdm-loopback-sim": (Decimal(1000), Decimal(0), None),
    "memory": None,  # the loopback server's small backend keeps no margin ledger
    "binanceusdm-loopback": (Decimal(1000), Decimal(0), None),
    "binanceusdm-loopback-ws": (Decimal(1000), Decimal(0), None),  # order entry changes nothing here
    # single-currency margin mode (account-level adjEq/mmr empty): USDT eq 99.89469657000001 - isoEq
    # 5.468566666666667 against USDT cross mmr 0; stamped with the answer's uTime
    "okx-fixture": (Decimal("94.426129903333343"), Decimal("0"), 1744499648556),
    # unified account totals; stamped with the answer's `time`
    "bybit-fixture": (Decimal("3.00326056"), Decimal("0"), 1234567890),
    # single-asset mode: accountEquity, and crossedRiskRate 0.004417 x accountEquity
    "bitget-fixture": (Decimal("1843.75162201"), Decimal("8.14385091441817"), None),
    # cross_margin_balance and cross_maintenance_margin (the sample's only position is isolated)
    "gate-fixture": (Decimal("2509.07940127"), Decimal("0"), None),
}


@params
async def test_account_margin(case: Case) -> None:
    expected = EXPECTED[case.name]
    async with case.build() as (ex, _):
        if expected is None:
            assert not ex.has.get("fetch_account_margin")
            return
        assert ex.has["fetch_account_margin"] is True and isinstance(ex, MarginSource)
        got = await ex.fetch_account_margin()
        balance, maintenance, ts = expected
        assert (got.margin_balance, got.maintenance_margin) == (balance, maintenance)
        assert all(isinstance(x, Decimal) for x in (got.margin_balance, got.maintenance_margin))
        if ts is not None:
            assert got.ts_ms == ts
        else:
            assert got.ts_ms > 1_700_000_000_000  # no venue time in the answer: read when it arrived


def _without(path: Callable[[Any], dict[str, Any]], key: str) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        body = copy.deepcopy(body)
        del path(body)[key]
        return body

    return edit


def _okx_no_cross_mmr(body: Any) -> Any:
    body = copy.deepcopy(body)
    body["data"][0]["details"][0]["mmr"] = ""
    return body


# case -> (method, path, recorded or documented answer, the edit that removes the figure the venue must state)
BROKEN: dict[str, tuple[str, str, Any, Callable[[Any], Any]]] = {
    "okx-fixture": (
        "GET",
        "/api/v5/account/balance",
        load_json(VENUES / "okx/http_get_account_balance.json"),
        _okx_no_cross_mmr,
    ),
    "bybit-fixture": (
        "GET",
        "/v5/account/wallet-balance",
        load_json(VENUES / "bybit/http_get_wallet_balance.json"),
        _without(lambda b: b["result"]["list"][0], "totalMaintenanceMargin"),
    ),
    "bitget-fixture": (
        "GET",
        "/api/v2/mix/account/accounts",
        load_json(PAYLOADS / "bitget/accounts_usdt_futures.json"),
        _without(lambda b: b["data"][0], "crossedRiskRate"),
    ),
    "gate-fixture": (
        "GET",
        "/api/v4/futures/usdt/accounts",
        load_json(PAYLOADS / "gate/futures_usdt_accounts.json"),
        _without(lambda b: b, "cross_maintenance_margin"),
    ),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
async def test_account_margin_missing_figure_is_one_clear_error(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    method, path, body, edit = BROKEN[name]
    async with case.build() as (ex, hooks):
        hooks["transport"].add(method, path, Canned(edit(body)))
        with pytest.raises(errors.ExchangeError, match="unreadable venue answer") as info:
            await ex.fetch_account_margin()
        assert type(info.value) is errors.ExchangeError and info.value.venue == ex.name
