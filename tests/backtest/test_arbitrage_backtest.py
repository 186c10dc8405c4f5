"""The arbitrage engine in the backtest (`run_arbitrage_backtest`): a flat-priced spot-perp world whose
funding schedule is known, so funding, fees, PnL and entry/exit times are exact; a switch; bad input;
determinism.

Prices never move (bid P, ask P + 1 tick, trades at P): a market buy fills at the ask, a sell at the bid, and
every funding payment is size x P x rate, quantised to 1e-8 as the venue books it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import numpy as np
import pytest

from opensqt.backtest import ArbitrageSummary, run_arbitrage_backtest
from opensqt.data.market_data import FUNDING_SCALE, DataError, EventKind, MarketData, Scale, merge
from opensqt.data.synthetic import spot_twin
from opensqt.engines.arbitrage_engine import ArbitrageEngineConfig, Pair
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP
from opensqt.model import Instrument
from opensqt.risk import StaticExitPolicy, StaticRiskGate
from opensqt.trading.logic.funding import FundingParams, Shape
from opensqt.trading.logic.universe import UniverseParams

HOUR = 3_600_000
T0 = 1_699_977_600_000  # on an 8 h funding boundary
BTC, ETH = BTC_USDT_PERP, ETH_USDT_PERP


def flat(inst: Instrument, price: D, hours: int, schedule: Sequence[tuple[int, float]] = ()) -> MarketData:
    """`hours` of one market at `price`: book and a trade every minute; for a perp, a funding row every 10
    minutes with the rate of `schedule` ((from hour, rate per 8 h), ...) in force then."""
    scale = Scale(inst.tick_size, inst.lot_size)
    ticks = int(price / inst.tick_size)
    minutes = np.arange(0, hours * 60 + 1, dtype=np.int64)
    ts_m = T0 + minutes * 60_000
    n = len(ts_m)
    big = 100_000_000
    cols: list[list[np.ndarray]] = [[ts_m, ts_m], [np.full(n, 2), np.full(n, 1)]]
    px = [np.full(n, ticks), np.full(n, ticks)]
    qty = [np.full(n, big), np.full(n, 1_000)]
    px2 = [np.full(n, ticks + 1), np.zeros(n, np.int64)]
    qty2 = [np.full(n, big), np.zeros(n, np.int64)]
    side = [np.zeros(n, np.int8), np.full(n, -1, np.int8)]
    if schedule:
        ts_f = ts_m[::10]
        hour = (ts_f - T0) // HOUR
        rate = np.zeros(len(ts_f))
        for start, r in schedule:
            rate[hour >= start] = r
        cols[0].append(ts_f)
        cols[1].append(np.full(len(ts_f), int(EventKind.FUNDING)))
        px.append(np.rint(rate * FUNDING_SCALE).astype(np.int64))
        qty.append((ts_f // (8 * HOUR) + 1) * 8 * HOUR)
        px2.append(np.full(len(ts_f), ticks))
        qty2.append(np.full(len(ts_f), 8 * HOUR))
        side.append(np.zeros(len(ts_f), np.int8))
    ts = np.concatenate(cols[0])
    order = np.argsort(ts, kind="stable")
    return MarketData(
        (inst.symbol,),
        (scale,),
        ts[order],
        np.concatenate(cols[1]).astype(np.int8)[order],
        np.zeros(len(ts), np.int16),
        np.concatenate(px)[order],
        np.concatenate(qty)[order],
        np.concatenate(px2)[order],
        np.concatenate(qty2)[order],
        np.concatenate(side)[order],
        source="flat",
    )


def spot_perp(perp: Instrument, price: D, hours: int, schedule: Sequence[tuple[int, float]]) -> MarketData:
    return merge([flat(perp, price, hours, schedule), flat(spot_twin(perp), price, hours)])


def pair(perp: Instrument, venue: str = "sim") -> Pair:
    return Pair(perp.symbol, venue, spot_twin(perp), venue, perp)


def config(slots: int = 3, hold_hours: int = 24) -> ArbitrageEngineConfig:
    return ArbitrageEngineConfig(
        Shape.SPOT_PERP,
        D(1000),
        slots,
        params=FundingParams(switch_min_hold_ms=hold_hours * HOUR),
        universe=UniverseParams(min_volume_24h=D(0), min_history=0),
    )


# --- one position: funding, fees and times to the last digit ---------------------------------------------


def test_spot_perp_funding_fees_and_times_are_exact() -> None:
    # 0.1 %/8 h until 20 h (paid at 8 h and 16 h), then -0.02 %: the sign flips and the engine leaves.
    data = spot_perp(BTC, D(60_000), 30, [(0, 0.001), (20, -0.0002)])
    result = run_arbitrage_backtest(config(), {"sim": data}, [pair(BTC)])
    s = result.summary()
    # 1000 USDT at 60000 -> 0.016 BTC. Funding: 0.016 x 60000 x 0.001 = 0.96, twice, on the short perp.
    assert list(result.funding["amount"]) == [D("0.96000000"), D("0.96000000")]
    assert list(result.funding["ts"]) == [T0 + 8 * HOUR, T0 + 16 * HOUR]
    assert set(result.funding["leg"]) == {"short"}
    # Spot buy at the ask 60000.1 (0.1 %), perp sell at the bid 60000.0 (0.05 %); the exit the other way.
    fills = result.fills
    assert [(r.symbol, r.side, r.price, r.fee, r.leg) for r in fills.itertuples()] == [
        ("BTC/USDT", "buy", D("60000.1"), D("0.9600016"), "long"),
        ("BTC/USDT:USDT", "sell", D("60000.0"), D("0.48000000"), "short"),
        ("BTC/USDT:USDT", "buy", D("60000.1"), D("0.48000080"), "short"),
        ("BTC/USDT", "sell", D("60000.0"), D("0.9600000"), "long"),
    ]
    assert list(fills["ts"]) == [T0, T0, T0 + 20 * HOUR, T0 + 20 * HOUR]
    assert s.funding_received == D("1.92") and s.funding_paid == 0 and s.funding == D("1.92")
    assert s.fees == D("2.8800024")
    assert s.realized_pnl == D("-0.0032")  # both legs lose one tick of 0.016
    assert s.net_pnl == D("1.92") - D("2.8800024") - D("0.0032") == D("-0.9632024")
    assert s.final_equity - s.initial_equity == s.net_pnl and s.unrealized_pnl == 0
    assert (s.entries, s.exits, s.switches, s.emergency_exits, s.open_positions) == (1, 1, 0, 0, 0)
    assert s.time_in_market == D("0.6667")  # 20 h of 30
    assert s.steps == 30 * 12 + 1 and s.warnings == 0 and s.liquidations == 0
    pos = result.positions
    assert len(pos) == 1
    row = pos.iloc[0]
    assert (row.opened_ts, row.closed_ts) == (T0, T0 + 20 * HOUR)
    assert (row.long_size, row.short_size) == (D("0.016"), D("0.016"))
    assert (row.long_entry, row.short_entry) == (D("60000.1"), D("60000.0"))
    assert (row.long_funding, row.short_funding, row.fees) == (0, D("1.92"), D("2.8800024"))
    assert row.net_pnl == s.net_pnl
    exits = [e.detail for e in result.engine.events if e.kind == "exit"]
    assert exits == ["funding_sign_flip"]
    eq = result.equity
    assert len(eq) == s.steps and eq["equity"].iloc[-1] == s.final_equity


def test_open_position_at_the_end_is_marked_to_market_or_closed_on_request() -> None:
    data = spot_perp(BTC, D(60_000), 10, [(0, 0.001)])
    held = run_arbitrage_backtest(config(), {"sim": data}, [pair(BTC)]).summary()
    # held through 8 h: one payment, two opening fees; the spot is valued at the last trade (60000.0)
    assert (held.open_positions, held.exits, held.funding) == (1, 0, D("0.96"))
    assert held.fees == D("0.9600016") + D("0.48")
    assert held.unrealized_pnl == D("-0.0016")  # spot bought at 60000.1, marked at 60000.0
    assert held.net_pnl == D("0.96") - held.fees + D("-0.0016")
    closed = run_arbitrage_backtest(config(), {"sim": data}, [pair(BTC)], close_at_end=True).summary()
    assert (closed.open_positions, closed.exits) == (0, 1) and closed.unrealized_pnl == 0
    assert closed.net_pnl == D("0.96") - D("2.8800024") - D("0.0032")


def test_risk_gate_blocks_entries_and_the_exit_policy_is_an_emergency_exit() -> None:
    data = spot_perp(BTC, D(60_000), 10, [(0, 0.001)])
    gated = run_arbitrage_backtest(
        config(), {"sim": data}, [pair(BTC)], risk_gate=StaticRiskGate(triggered=True)
    )
    assert gated.summary().entries == 0 and len(gated.fills) == 0
    urgent = run_arbitrage_backtest(
        config(), {"sim": data}, [pair(BTC)], exit_policy=StaticExitPolicy(exit=True)
    ).summary()
    # enters at T0, leaves at the next round by the policy, re-enters the round after: 10 h of rounds
    assert (urgent.entries, urgent.exits, urgent.emergency_exits, urgent.open_positions) == (61, 60, 60, 1)


# --- switching ---------------------------------------------------------------------------------------


def test_switch_to_the_richer_symbol_at_the_first_round_after_the_turn() -> None:
    # BTC pays 0.12 % then 0.05 % from 10 h; ETH 0.09 % then 0.15 %. One slot, 2 h minimum hold.
    markets = {
        "sim": merge(
            [
                spot_perp(BTC, D(60_000), 26, [(0, 0.0012), (10, 0.0005)]),
                spot_perp(ETH, D(3_000), 26, [(0, 0.0009), (10, 0.0015)]),
            ]
        )
    }
    result = run_arbitrage_backtest(config(1, hold_hours=2), markets, [pair(BTC), pair(ETH)])
    s = result.summary()
    assert (s.entries, s.exits, s.switches, s.open_positions) == (2, 1, 1, 1)
    events = [(e.kind, e.key, e.ts_ms) for e in result.engine.events if e.kind in ("entry", "exit", "switch")]
    assert events == [
        ("entry", BTC.symbol, T0),
        ("switch", BTC.symbol, T0 + 10 * HOUR),
        ("exit", BTC.symbol, T0 + 10 * HOUR),
        ("entry", ETH.symbol, T0 + 10 * HOUR + 5 * 60_000),
    ]
    # BTC 0.016 x 60000 x 0.0012 at 8 h; ETH 0.333 x 3000 x 0.0015 at 16 h and 24 h
    funding = [(r.symbol, r.amount) for r in result.funding.itertuples()]
    assert funding == [
        (BTC.symbol, D("1.15200000")),
        (ETH.symbol, D("1.49850000")),
        (ETH.symbol, D("1.49850000")),
    ]
    pos = result.positions
    assert list(pos["symbol"]) == [BTC.symbol, ETH.symbol]
    assert list(pos["phase"]) == ["closed", "open"]
    assert list(pos["funding"]) == [D("1.152"), D("2.997")]


# --- determinism and bad input ------------------------------------------------------------------------


def test_same_input_gives_the_identical_result() -> None:
    markets = {"sim": spot_perp(BTC, D(60_000), 30, [(0, 0.001), (20, -0.0002)])}
    a = run_arbitrage_backtest(config(), markets, [pair(BTC)])
    b = run_arbitrage_backtest(config(), markets, [pair(BTC)])
    assert a.summary() == b.summary()
    assert a.record.fills == b.record.fills and a.record.funding == b.record.funding
    assert a.record.equity == b.record.equity
    assert a.positions.equals(b.positions)


def test_symbol_missing_from_its_venue_data_is_named() -> None:
    with pytest.raises(DataError, match=r"pair ETH/USDT:USDT: symbol 'ETH/USDT' is not in the market data"):
        run_arbitrage_backtest(
            config(), {"sim": spot_perp(BTC, D(60_000), 2, [(0, 0.001)])}, [pair(BTC), pair(ETH)]
        )


def test_venue_without_data_is_named() -> None:
    with pytest.raises(DataError, match=r"venue 'other' has no market data \(markets has \['sim'\]\)"):
        run_arbitrage_backtest(
            config(), {"sim": spot_perp(BTC, D(60_000), 2, [(0, 0.001)])}, [pair(BTC, "other")]
        )


def test_unsorted_data_is_refused_at_its_row() -> None:
    bad = spot_perp(BTC, D(60_000), 2, [(0, 0.001)])
    # MarketData refuses unsorted columns when built; arrays edited in place afterwards are caught here
    bad.ts[6] = bad.ts[5] - 60_000
    with pytest.raises(DataError, match=r"markets\['sim'\]: timestamps go backwards at row 6"):
        run_arbitrage_backtest(config(), {"sim": bad}, [pair(BTC)])


def test_no_funding_in_the_data_is_a_warning_with_the_count() -> None:
    data = merge([flat(BTC, D(60_000), 2), flat(spot_twin(BTC), D(60_000), 2)])
    result = run_arbitrage_backtest(config(), {"sim": data}, [pair(BTC)])
    assert result.warnings == (
        "1 perp market(s) have no funding rows in the data (sim:BTC/USDT:USDT): the engine sees no funding "
        "rate there, so it enters nothing on them and no funding is paid",
    )
    assert result.summary().entries == 0 and result.summary().warnings == 1


def test_shape_tick_and_argument_errors() -> None:
    data = {"sim": spot_perp(BTC, D(60_000), 2, [(0, 0.001)])}
    cross = replace(config(), shape=Shape.CROSS)
    with pytest.raises(ValueError, match="shape cross needs perps"):
        run_arbitrage_backtest(cross, data, [pair(BTC)])
    coarse = replace(BTC, tick_size=D("0.5"))
    with pytest.raises(DataError, match=r"tick/lot 0\.5/0\.001 differ from the data's 0\.1/0\.001"):
        run_arbitrage_backtest(config(), data, [Pair(BTC.symbol, "sim", spot_twin(BTC), "sim", coarse)])
    with pytest.raises(ValueError, match="step_ms"):
        run_arbitrage_backtest(config(), data, [pair(BTC)], step_ms=0)
    with pytest.raises(ValueError, match="initial_balance"):
        run_arbitrage_backtest(config(), data, [pair(BTC)], initial_balance=D(0))


def test_summary_table_lists_every_field() -> None:
    s = run_arbitrage_backtest(config(), {"sim": spot_perp(BTC, D(60_000), 1, [(0, 0.001)])}, [pair(BTC)])
    lines = s.summary().table().splitlines()
    assert [ln.split()[0] for ln in lines] == list(ArbitrageSummary.__dataclass_fields__)
    assert lines[0].endswith("2023-11-14 16:00:00.000Z")


def test_plot_shows_equity_with_the_held_time_and_the_funding_collected(tmp_path: Path) -> None:
    data = spot_perp(BTC, D(60_000), 30, [(0, 0.001), (20, -0.0002)])
    result = run_arbitrage_backtest(config(), {"sim": data}, [pair(BTC)])
    fig = result.plot(str(tmp_path / "arb.png"))
    top, bottom = fig.axes
    (equity,) = top.get_lines()
    assert len(equity.get_xdata()) == result.summary().steps
    assert len(top.patches) == 1  # one position held, shaded
    (funding,) = bottom.get_lines()
    assert [float(y) for y in funding.get_ydata()] == [0.96, 1.92]
    assert (tmp_path / "arb.png").stat().st_size > 10_000
