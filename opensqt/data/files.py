"""`load_market_file`: pick the loader for a recorded market file by its name (what `--data FILE` takes)."""

from __future__ import annotations

from pathlib import Path

from opensqt.data.bars import load_binance_klines_csv, load_ohlcv_csv
from opensqt.data.binance_capture import load_binance_capture
from opensqt.data.market_data import DataError, MarketData
from opensqt.data.trades import load_trades
from opensqt.model import Instrument

FORMATS = "a Binance capture (.gz), OHLCV CSV (timestamp,open,...), Binance kline CSV, or trades CSV/Parquet"


def load_market_file(path: str | Path, instrument: Instrument, *, strict: bool = True) -> MarketData:
    """Load `path` for `instrument`, choosing the loader from the suffix and, for CSV, the header line."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file (expected {FORMATS})")
    name = path.name.lower()
    if name.endswith(".gz") and not name.endswith(".csv.gz"):
        return load_binance_capture(path, instrument, strict=strict)
    if name.endswith(".parquet"):
        return load_trades(path, instrument, strict=strict)
    if name.endswith((".csv", ".csv.gz")):
        header = _first_line(path).lower()
        if "open" in header and "close" in header:
            return load_ohlcv_csv(path, instrument, strict=strict)
        if "price" in header:
            return load_trades(path, instrument, strict=strict)
        if header[:1].isdigit():  # headerless: Binance's 12-column kline files
            return load_binance_klines_csv(path, instrument, strict=strict)
        raise DataError(f"{path.name}: line 1: field header: cannot tell the format (expected {FORMATS})")
    raise DataError(f"{path.name}: unknown file type (expected {FORMATS})")


def _first_line(path: Path) -> str:
    import gzip

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as handle:
        return handle.readline().strip()
