"""A funding payment changes a leg's total and adds a (unique) PnL row: both land in one transaction, so a
failure between them keeps neither and a restart cannot count the payment twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from opensqt.store import ArbitrageLeg, PnlKind, PnlRecord, Store
from opensqt.store import store as store_module
from tests.store.conftest import BOT  # registered by the `store` fixture


def _leg(funding: str, ts: int) -> ArbitrageLeg:
    return ArbitrageLeg(
        BOT, "p1", "short", "BTC/USDT:USDT", "binance", "perp", "sell", Decimal("0.5"), Decimal("60000.1"),
        Decimal(funding), Decimal("-2.5"), "open", 1_000, ts,
    )  # fmt: skip


def _payment() -> PnlRecord:
    return PnlRecord(
        BOT, "binance", "BTC/USDT:USDT", PnlKind.FUNDING, "income:42", Decimal("0.06"), "USDT", 2_000
    )


def test_legs_and_their_funding_row_are_written_together(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.arbitrage.save_legs([_leg("0", 1_000)])

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store_module, "insert_ignore", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.arbitrage.save_legs([_leg("0.06", 2_000)], [_payment()])
    assert [leg.funding_collected for leg in store.arbitrage.load_legs(BOT)] == [Decimal("0")]
    assert store.pnl.history(BOT) == []

    monkeypatch.undo()
    store.arbitrage.save_legs([_leg("0.06", 2_000)], [_payment()])
    assert [leg.funding_collected for leg in store.arbitrage.load_legs(BOT)] == [Decimal("0.06")]
    assert [(e.ref_id, e.amount) for e in store.pnl.history(BOT)] == [("income:42", Decimal("0.06"))]
