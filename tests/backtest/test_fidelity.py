"""The fast path must equal stepping every row and deciding on every trade and tick: same orders, same
fills, same money to the last digit, on the recorded capture and on Hypothesis-chosen synthetic markets."""

from __future__ import annotations

from decimal import Decimal as D
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opensqt.backtest import BacktestConfig, BacktestResult, run_backtest
from opensqt.data import (
    MarketData,
    SyntheticMarket,
    crash,
    load_binance_capture,
    range_bound,
    recovery,
    trend,
)
from opensqt.engines.grid_config import GridEngineConfig, SkewSettings
from opensqt.exchanges.sim import BTC_USDT_PERP, ETH_USDT_PERP
from opensqt.model import GridMode
from opensqt.risk import RiskMonitorConfig
from opensqt.trading.logic import GridParams
from tests.conftest import SHARED_DATA

CAPTURE = SHARED_DATA / "binance-usdm" / "btcusdt_20240808.gz"
BTC = BTC_USDT_PERP.symbol


@cache
def capture() -> MarketData:
    return load_binance_capture(CAPTURE, BTC_USDT_PERP)


def assert_same(fast: BacktestResult, step: BacktestResult) -> None:
    assert fast.fast and not step.fast
    assert fast.record.orders == step.record.orders
    assert fast.record.fills == step.record.fills
    assert fast.record.positions == step.record.positions
    assert fast.record.funding == step.record.funding
    assert fast.record.risk_events == step.record.risk_events
    assert fast.summary() == step.summary()


def both(config: BacktestConfig, data: MarketData) -> tuple[BacktestResult, BacktestResult]:
    return run_backtest(config, data, fast=True), run_backtest(config, data, fast=False)


def test_capture_plain_long_grid_fast_equals_every_event() -> None:
    engine = GridEngineConfig(
        symbol=BTC,
        params=GridParams(interval=D(10), order_amount=D(300), buy_window=5, sell_window=5),
        risk_monitor=RiskMonitorConfig(monitor_symbols=(BTC,), recovery_threshold=1),
    )
    fast, step = both(BacktestConfig(engine), capture())
    assert_same(fast, step)
    s = fast.summary()
    # exact outcomes of this capture (a falling market: the long grid ends holding 0.068 BTC)
    assert (s.fills, s.orders_placed, s.cancels, s.round_trips) == (107, 370, 240, 37)
    assert s.fees == D("4.49063200")
    assert s.realized_pnl == D("-3.47114669")
    assert s.final_position == D("0.068")
    assert s.net_pnl == s.realized_pnl - s.fees + s.funding + s.unrealized_pnl
    assert s.net_pnl == D("-8.86423201")


def test_capture_neutral_grid_with_skew_and_atr_interval() -> None:
    from opensqt.engines.grid_config import DynamicIntervalSettings

    engine = GridEngineConfig(
        symbol=BTC,
        params=GridParams(
            interval=D(5), order_amount=D(200), buy_window=4, sell_window=4, grid_mode=GridMode.NEUTRAL
        ),
        skew=SkewSettings(skew_factor=D("0.5"), max_inventory=D(2000)),
        dynamic=DynamicIntervalSettings(atr_period=3, timeframe="1m"),
    )
    fast, step = both(BacktestConfig(engine), capture())
    assert_same(fast, step)
    assert fast.summary().fills > 50


regimes = st.lists(
    st.sampled_from([range_bound(2), trend(2), trend(2, -0.0008), crash(1), recovery(2)]),
    min_size=1,
    max_size=4,
)


@settings(max_examples=12)
@given(
    seed=st.integers(0, 10_000),
    regs=regimes,
    interval=st.sampled_from([D("0.5"), D(1), D("2.5"), D(4)]),
    windows=st.tuples(st.integers(1, 6), st.integers(1, 6)),
    mode=st.sampled_from(list(GridMode)),
    post_only=st.booleans(),
    skew=st.booleans(),
    threshold=st.integers(2, 50),
)
def test_synthetic_markets_fast_equals_every_event(
    seed: int,
    regs: list,
    interval: D,
    windows: tuple[int, int],
    mode: GridMode,
    post_only: bool,
    skew: bool,
    threshold: int,
) -> None:
    data = SyntheticMarket([ETH_USDT_PERP], seed=seed, regimes=regs, step_ms=500).generate()
    engine = GridEngineConfig(
        symbol=ETH_USDT_PERP.symbol,
        params=GridParams(
            interval=interval,
            order_amount=D(50),
            buy_window=windows[0],
            sell_window=windows[1],
            grid_mode=mode,
            post_only=post_only,
            order_cleanup_threshold=threshold,
        ),
        skew=SkewSettings(D(1), D(500)) if skew else None,
        risk_monitor=RiskMonitorConfig(
            monitor_symbols=(ETH_USDT_PERP.symbol,), recovery_threshold=1, average_window=3
        ),
    )
    fast, step = both(BacktestConfig(engine, initial_balance=D(2000)), data)
    assert_same(fast, step)


@pytest.mark.parametrize("interval", [D(2), D(10)])
def test_the_fast_path_skips_most_decisions(interval: D) -> None:
    engine = GridEngineConfig(
        symbol=BTC, params=GridParams(interval=interval, order_amount=D(300), buy_window=5, sell_window=5)
    )
    result = run_backtest(BacktestConfig(engine), capture())
    decisions = result.record.stats.get("decisions", 0)
    assert 0 < decisions < capture().n_trades // 5
