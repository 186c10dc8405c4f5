"""Simulated venues for the arbitrage tests: a perp and its spot twin on one venue, or one perp on two."""

from __future__ import annotations

from decimal import Decimal

from opensqt.data.synthetic import Regime, SyntheticMarket
from opensqt.exchanges.sim import BTC_USDT_PERP, SimVenue
from opensqt.model import Instrument, InstrumentKind

START = 1_700_000_000_000
PERP = BTC_USDT_PERP
SPOT = Instrument(
    symbol="BTC/USDT",
    venue_symbol="BTCUSDT",
    kind=InstrumentKind.SPOT,
    base="BTC",
    quote="USDT",
    tick_size=PERP.tick_size,
    lot_size=PERP.lot_size,
    min_qty=PERP.lot_size,
    min_notional=Decimal(5),
    maker_fee=Decimal("0.001"),
    taker_fee=Decimal("0.001"),
    max_leverage=1,
    venue="sim",
)


def venue(
    name: str = "sim", instruments: tuple[Instrument, ...] = (PERP, SPOT), minutes: int = 30
) -> SimVenue:
    """A venue with `minutes` of synthetic book and trades attached and advanced 10 s (a book exists)."""
    v = SimVenue(list(instruments), name=name, balances={"USDT": Decimal(1_000_000)})
    regimes = [Regime("calm", minutes * 60_000, 0.0, 0.0002, 1.0, funding_rate=0.0005)]
    v.attach(SyntheticMarket(list(instruments), seed=3, regimes=regimes, step_ms=1_000).generate(START))
    v.advance(until_ms=START + 10_000, stop_on_event=False)
    return v
