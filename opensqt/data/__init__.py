"""Market data for replay and backtests: loaders (Binance capture, OHLCV/kline CSV, trade tapes) and
the seeded synthetic generator, all producing the columnar, integer-tick `MarketData` table.

Public API: `MarketData`, `EventKind`, `Scale`, `DataError`, `LineError`, `merge`, `concat`,
`load_binance_capture`, `load_ohlcv_csv`, `load_binance_klines_csv`, `load_trades`, `bar_path`,
`SyntheticMarket`, `Regime` (`range_bound`, `trend`, `crash`, `recovery`, `DEFAULT_REGIMES`), `generate`.
"""

from opensqt.data.bars import bar_path, load_binance_klines_csv, load_ohlcv_csv
from opensqt.data.binance_capture import load_binance_capture
from opensqt.data.market_data import (
    FUNDING_SCALE,
    DataError,
    EventKind,
    LineError,
    MarketData,
    Scale,
    concat,
    merge,
)
from opensqt.data.synthetic import (
    DEFAULT_REGIMES,
    Regime,
    SyntheticMarket,
    crash,
    generate,
    range_bound,
    recovery,
    trend,
)
from opensqt.data.trades import load_trades

__all__ = [
    "DEFAULT_REGIMES",
    "FUNDING_SCALE",
    "DataError",
    "EventKind",
    "LineError",
    "MarketData",
    "Regime",
    "Scale",
    "SyntheticMarket",
    "bar_path",
    "concat",
    "crash",
    "generate",
    "load_binance_capture",
    "load_binance_klines_csv",
    "load_ohlcv_csv",
    "load_trades",
    "merge",
    "range_bound",
    "recovery",
    "trend",
]
