"""Seeded synthetic markets: several instruments through regimes (range, trend, crash with a volume spike,
recovery), as trades, top of book and funding rates in `MarketData` form.

The random walk runs in float log-price space and is rounded to whole ticks once, so every emitted price and
size is an exact integer of ticks or lots; the same seed always gives the same table.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import numpy as np

from opensqt.data.market_data import FUNDING_SCALE, EventKind, MarketData, Scale, concat, merge
from opensqt.model import Instrument, InstrumentKind


@dataclass(frozen=True, slots=True)
class Regime:
    """One stretch of market behaviour. Rates are per minute; `volume` multiplies trade frequency and size."""

    kind: str
    duration_ms: int
    drift_per_min: float = 0.0
    vol_per_min: float = 0.0008
    volume: float = 1.0
    mean_reversion: float = 0.0
    spread_ticks: int = 1
    funding_rate: float = 0.0001

    def __post_init__(self) -> None:
        if self.duration_ms <= 0:
            raise ValueError(f"regime {self.kind}: duration_ms must be > 0, got {self.duration_ms}")
        if self.volume <= 0 or self.vol_per_min < 0 or self.spread_ticks < 1:
            raise ValueError(
                f"regime {self.kind}: volume > 0, vol_per_min >= 0 and spread_ticks >= 1 expected"
            )


def range_bound(minutes: float = 10) -> Regime:
    return Regime("range", int(minutes * 60_000), 0.0, 0.0008, 1.0, mean_reversion=0.2)


def trend(minutes: float = 10, drift_per_min: float = 0.0006) -> Regime:
    return Regime("trend", int(minutes * 60_000), drift_per_min, 0.0008, 1.3, funding_rate=0.0003)


def crash(minutes: float = 3, drift_per_min: float = -0.012) -> Regime:
    """A fast fall with a volume spike (x8) and a wider spread: what the risk monitor must catch."""
    return Regime(
        "crash", int(minutes * 60_000), drift_per_min, 0.003, 8.0, spread_ticks=3, funding_rate=-0.0005
    )


def recovery(minutes: float = 7, drift_per_min: float = 0.004) -> Regime:
    return Regime("recovery", int(minutes * 60_000), drift_per_min, 0.0015, 2.0, funding_rate=0.00005)


#: What `market_maker` runs on with no arguments: 30 minutes of range, trend, crash, recovery.
DEFAULT_REGIMES: tuple[Regime, ...] = (range_bound(), trend(), crash(), recovery())

_DEFAULT_PRICES = {
    "BTC": Decimal("60000"),
    "ETH": Decimal("3000"),
    "SOL": Decimal("150"),
    "XRP": Decimal("0.6"),
    "DOGE": Decimal("0.12"),
}


class SyntheticMarket:
    """A seeded generator over several instruments. Every `step_ms` each instrument publishes its top of
    book; trades print with a probability scaled by the regime's volume; funding every `funding_every_ms`."""

    def __init__(
        self,
        instruments: Sequence[Instrument],
        *,
        seed: int = 0,
        regimes: Sequence[Regime] = DEFAULT_REGIMES,
        start_prices: Mapping[str, Decimal] | None = None,
        step_ms: int = 250,
        trade_probability: float = 0.35,
        funding_every_ms: int = 60_000,
        funding_interval_ms: int = 8 * 3_600_000,
    ) -> None:
        if not instruments:
            raise ValueError("instruments: expected at least one instrument")
        if not regimes:
            raise ValueError("regimes: expected at least one regime")
        if step_ms <= 0 or funding_every_ms <= 0 or funding_interval_ms <= 0:
            raise ValueError("step_ms, funding_every_ms and funding_interval_ms must be > 0")
        if not 0 < trade_probability <= 1:
            raise ValueError(f"trade_probability: expected in (0, 1], got {trade_probability}")
        self.instruments = tuple(instruments)
        self.seed = seed
        self.regimes = tuple(regimes)
        self.step_ms = step_ms
        self.trade_probability = trade_probability
        self.funding_every_ms = funding_every_ms
        self.funding_interval_ms = funding_interval_ms
        prices = dict(start_prices or {})
        self._last_ticks: dict[str, int] = {}
        for inst in self.instruments:
            price = prices.get(inst.symbol, _DEFAULT_PRICES.get(inst.base, Decimal(100)))
            if price <= 0:
                raise ValueError(f"start_prices[{inst.symbol}]: expected > 0, got {price}")
            self._last_ticks[inst.symbol] = max(1, int(price / inst.tick_size))

    @property
    def duration_ms(self) -> int:
        return sum(r.duration_ms for r in self.regimes)

    def generate(self, start_ms: int = 1_700_000_000_000, cycle: int = 0) -> MarketData:
        """One pass over the regimes starting at `start_ms` (`cycle` selects the random stream)."""
        parts = [self._one(k, inst, start_ms, cycle) for k, inst in enumerate(self.instruments)]
        return merge(parts) if len(parts) > 1 else parts[0]

    def chunks(self, start_ms: int) -> Iterator[MarketData]:
        """Endless passes over the regimes, back to back, continuing from the last prices (paper mode)."""
        cycle = 0
        while True:
            yield self.generate(start_ms + cycle * self.duration_ms, cycle)
            cycle += 1

    def _one(self, k: int, inst: Instrument, start_ms: int, cycle: int) -> MarketData:
        rng = np.random.default_rng([self.seed, k, cycle])
        scale = Scale(inst.tick_size, inst.lot_size)
        n_parts = []
        for regime in self.regimes:
            n_parts.append(max(1, regime.duration_ms // self.step_ms))
        n = sum(n_parts)
        idx = np.repeat(np.arange(len(self.regimes)), n_parts)
        drift = np.array([r.drift_per_min for r in self.regimes])[idx]
        vol = np.array([r.vol_per_min for r in self.regimes])[idx]
        volume = np.array([r.volume for r in self.regimes])[idx]
        revert = np.array([r.mean_reversion for r in self.regimes])[idx]
        spread = np.array([r.spread_ticks for r in self.regimes], dtype=np.int64)[idx]
        dt = self.step_ms / 60_000.0
        shocks = rng.standard_normal(n) * vol * np.sqrt(dt)
        log_p0 = np.log(float(self._last_ticks[inst.symbol]))
        # Mean reversion pulls towards the price at the start of each range regime (a sequential recurrence).
        log_p = np.empty(n)
        level = log_p0
        anchor = log_p0
        prev_regime = -1
        for i in range(n):
            if idx[i] != prev_regime:
                anchor, prev_regime = level, int(idx[i])
            level += drift[i] * dt + shocks[i] - revert[i] * dt * (level - anchor)
            log_p[i] = level
        bid = np.maximum(1, np.rint(np.exp(log_p)).astype(np.int64))
        ask = bid + spread + (rng.random(n) < 0.2 * (spread > 1)).astype(np.int64)
        self._last_ticks[inst.symbol] = int(bid[-1])
        notional_lots = max(1, int(Decimal(10_000) / (inst.lot_size * inst.tick_size * int(bid[0]))))
        base = np.maximum(1, (rng.lognormal(0.0, 0.6, (2, n)) * notional_lots).astype(np.int64))
        ts = start_ms + np.arange(n, dtype=np.int64) * self.step_ms
        trade = rng.random(n) < np.minimum(1.0, self.trade_probability * volume)
        # Aggressors lean with the drift: more buyers in an up move, more sellers in a crash.
        buy_prob = np.clip(0.5 + drift * 40, 0.1, 0.9)
        side = np.where(rng.random(n) < buy_prob, 1, -1).astype(np.int8)
        t_qty = np.maximum(1, (rng.lognormal(-1.5, 0.8, n) * notional_lots * volume).astype(np.int64))
        t_px = np.where(side > 0, ask, bid)
        nt = int(trade.sum())
        f_ts = np.arange(start_ms, start_ms + n * self.step_ms, self.funding_every_ms, dtype=np.int64)
        f_idx = ((f_ts - start_ms) // self.step_ms).clip(0, n - 1)
        rates = np.array([r.funding_rate for r in self.regimes])[idx[f_idx]]
        rates = rates + rng.normal(0.0, 0.00002, len(f_ts))
        f_rate = np.rint(rates * FUNDING_SCALE).astype(np.int64)
        f_next = (f_ts // self.funding_interval_ms + 1) * self.funding_interval_ms
        nf = len(f_ts)
        order = np.argsort(np.concatenate([ts, ts[trade], f_ts]), kind="stable")
        cols = [
            np.concatenate([ts, ts[trade], f_ts]),
            np.concatenate(
                [
                    np.full(n, EventKind.BOOK, np.int8),
                    np.full(nt, EventKind.TRADE, np.int8),
                    np.full(nf, EventKind.FUNDING, np.int8),
                ]
            ),
            np.zeros(n + nt + nf, np.int16),
            np.concatenate([bid, t_px[trade], f_rate]),
            np.concatenate([base[0], t_qty[trade], f_next]),
            np.concatenate([ask, np.zeros(nt, np.int64), bid[f_idx]]),
            np.concatenate(
                [base[1], np.zeros(nt, np.int64), np.full(nf, self.funding_interval_ms, np.int64)]
            ),
            np.concatenate([np.zeros(n, np.int8), side[trade], np.zeros(nf, np.int8)]),
        ]
        c = [col[order] for col in cols]
        return MarketData(
            (inst.symbol,),
            (scale,),
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            c[6],
            c[7],
            source=f"synthetic(seed={self.seed})",
        )


def generate(
    instruments: Sequence[Instrument],
    seed: int = 0,
    passes: int = 1,
    start_ms: int = 1_700_000_000_000,
    **kwargs: object,
) -> MarketData:
    """Convenience: `passes` back-to-back passes of a `SyntheticMarket` as one table."""
    market = SyntheticMarket(instruments, seed=seed, **kwargs)  # type: ignore[arg-type]
    chunks = market.chunks(start_ms)
    return concat([next(chunks) for _ in range(passes)]) if passes > 1 else next(chunks)


def spot_twin(perp: Instrument) -> Instrument:
    """A spot market on the perp's tick and lot (spot taker fee 0.1 %), so both legs of a spot-perp world can
    replay one synthetic price path (`with_spot_twin`)."""
    return replace(
        perp,
        symbol=perp.symbol.split(":")[0],
        kind=InstrumentKind.SPOT,
        maker_fee=Decimal("0.001"),
        taker_fee=Decimal("0.001"),
        max_leverage=1,
    )


def with_spot_twin(data: MarketData, spot: Instrument) -> MarketData:
    """`data` plus its perp's book and trades replayed as the spot twin `spot`'s (no funding rows): a spot
    market at zero basis by design, for spot-perp worlds (the arbitrage program's and its tests')."""
    rows = data.kind != int(EventKind.FUNDING)
    twin = MarketData(
        (spot.symbol,),
        data.scales,
        data.ts[rows],
        data.kind[rows],
        np.zeros(int(rows.sum()), np.int16),
        data.px[rows],
        data.qty[rows],
        data.px2[rows],
        data.qty2[rows],
        data.side[rows],
        source=data.source,
    )
    return merge([data, twin])
