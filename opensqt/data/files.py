"""Which loader reads a recorded market file: chosen by its name and, for CSV, its first line.

`load_market_file` is what `market_maker --data FILE` uses; the backtest's cache uses the same loader names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from opensqt.data.bars import load_binance_klines_csv, load_ohlcv_csv
from opensqt.data.binance_capture import load_binance_capture
from opensqt.data.market_data import DataError, MarketData
from opensqt.data.trades import load_trades
from opensqt.model import Instrument

LOADERS: dict[str, Callable[..., MarketData]] = {
    "capture": load_binance_capture,
    "ohlcv": load_ohlcv_csv,
    "klines": load_binance_klines_csv,
    "trades": load_trades,
}


def guess_loader(path: Path) -> str:
    """The loader for a file: capture for `.gz`, trades for `.parquet`, else by the CSV's first line."""
    name = path.name.lower()
    if name.endswith(".gz") or name.endswith(".jsonl"):
        return "capture"
    if name.endswith(".parquet"):
        return "trades"
    try:
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            first = fh.readline().strip().lower()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}", field="path") from None
    header = [h.strip() for h in first.split(",")]
    if header[:6] == ["timestamp", "open", "high", "low", "close", "volume"]:
        return "ohlcv"
    if "price" in header or "quantity" in header:
        return "trades"
    if len(header) == 12:
        return "klines"
    raise DataError(
        f"{path.name}: line 1: field header: cannot tell the format; expected a capture (.gz), an OHLCV CSV "
        "(timestamp,open,high,low,close,volume), a 12-column Binance kline CSV or a trade tape "
        "(timestamp,price,quantity,side)",
        line=1,
        field="header",
    )


def load_market_file(path: str | Path, instrument: Instrument, **loader_args: Any) -> MarketData:
    """Load `path` for `instrument` with the loader `guess_loader` picks."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file", field="path")
    return LOADERS[guess_loader(path)](path, instrument, **loader_args)
