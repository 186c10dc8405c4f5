"""Simulated venues for the arbitrage tests: a perp and its spot twin on one venue, or one perp on two, or
several perps with their spot twins and a funding schedule each (`funding_world`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from opensqt.data.market_data import merge
from opensqt.data.synthetic import Regime, SyntheticMarket, spot_twin, with_spot_twin
from opensqt.engines.arbitrage_engine import Pair
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


# --- two symbols, spot and perp each, with their own funding regimes ------------------------------------

HOUR = 3_600_000


#: perp -> its funding schedule: (hours, funding rate per 8 h) in turn.
Schedule = Mapping[Instrument, Sequence[tuple[float, float]]]


def funding_world(
    funding: Schedule, balance: Decimal = Decimal(1_000_000), seed: int = 3
) -> tuple[SimVenue, list[Pair]]:
    """One venue trading each perp of `funding` and its spot twin. `funding[perp]` is that perp's schedule,
    (hours, funding rate per 8 h) in turn; prices drift little (calm regimes, mean-reverting)."""
    insts: list[Instrument] = []
    parts = []
    pairs = []
    for k, (perp, schedule) in enumerate(funding.items()):
        spot = spot_twin(perp)
        insts += [perp, spot]
        regimes = [
            Regime(f"f{i}", int(hours * HOUR), 0.0, 0.0002, 1.0, mean_reversion=0.2, funding_rate=rate)
            for i, (hours, rate) in enumerate(schedule)
        ]
        data = SyntheticMarket(
            [perp], seed=seed + k, regimes=regimes, step_ms=5_000, funding_interval_ms=8 * HOUR
        ).generate(START)
        parts.append(with_spot_twin(data, spot))
        pairs.append(Pair(perp.symbol, "sim", spot, "sim", perp))
    v = SimVenue(insts, name="sim", balances={"USDT": balance})
    v.attach(merge(parts))
    return v, pairs
