"""Backtesting and the research API: the grid's own logic, slot state and risk code replayed on the simulated
venue over recorded or synthetic market data, fast, with results as pandas DataFrames.

Public API: `run_backtest`, `BacktestConfig`, `BacktestResult`, `Summary`, `sweep`, `GridCore`,
`load_cached` (a Parquet cache of parsed market data); for the funding-rate arbitrage engine
`run_arbitrage_backtest`, `ArbitrageBacktestResult`, `ArbitrageSummary`. See docs/BACKTEST.md.
"""

from opensqt.backtest.arbitrage import ArbitrageBacktestResult, ArbitrageSummary, run_arbitrage_backtest
from opensqt.backtest.cache import load_cached
from opensqt.backtest.driver import BacktestConfig, as_backtest_config, run_backtest
from opensqt.backtest.result import BacktestResult, Summary
from opensqt.backtest.sweep import sweep
from opensqt.engines.grid_core import GridCore

__all__ = [
    "ArbitrageBacktestResult",
    "ArbitrageSummary",
    "BacktestConfig",
    "BacktestResult",
    "GridCore",
    "Summary",
    "as_backtest_config",
    "load_cached",
    "run_arbitrage_backtest",
    "run_backtest",
    "sweep",
]
