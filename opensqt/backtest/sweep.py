"""`sweep`: run a parameter grid of backtests over a process pool and return a table sorted by a metric.

Parameter names are fields of `GridParams` (interval, order_amount, buy_window...), of `GridEngineConfig`
(leverage, margin_lock_seconds...) or of `BacktestConfig` (initial_balance, housekeeping_ms).
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from opensqt.backtest.driver import BacktestConfig, as_backtest_config, run_backtest
from opensqt.data import MarketData
from opensqt.engines.grid_config import GridEngineConfig
from opensqt.trading.logic import GridParams

if TYPE_CHECKING:
    import pandas as pd

    from opensqt.config import Settings

_PARAMS = {f.name: f for f in dataclasses.fields(GridParams)}
_ENGINE = {f.name: f for f in dataclasses.fields(GridEngineConfig)}
_BACKTEST = {f.name: f for f in dataclasses.fields(BacktestConfig)}

_shared: tuple[MarketData, BacktestConfig] | None = None


def _coerce(name: str, current: Any, value: Any) -> Any:
    if isinstance(current, Decimal) or name in (
        "interval",
        "order_amount",
        "min_order_value",
        "initial_balance",
    ):
        if isinstance(value, Decimal):
            return value
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"sweep {name}: expected a number, got {value!r}")
        return Decimal(str(value))  # a float's shortest repr: the digits the user typed
    return value


def apply_params(config: BacktestConfig, params: Mapping[str, Any]) -> BacktestConfig:
    """`config` with the named fields replaced; ValueError naming an unknown field."""
    grid: dict[str, Any] = {}
    engine: dict[str, Any] = {}
    top: dict[str, Any] = {}
    for name, value in params.items():
        if name in _PARAMS:
            grid[name] = _coerce(name, getattr(config.engine.params, name), value)
        elif name in _ENGINE and name not in ("params", "symbol"):
            engine[name] = _coerce(name, getattr(config.engine, name), value)
        elif name in _BACKTEST and name != "engine":
            top[name] = _coerce(name, getattr(config, name), value)
        else:
            known = sorted(
                set(_PARAMS) | (set(_ENGINE) - {"params", "symbol"}) | (set(_BACKTEST) - {"engine"})
            )
            raise ValueError(
                f"sweep parameter {name!r}: not a grid, engine or backtest field ({', '.join(known)})"
            )
    new_engine = dataclasses.replace(
        config.engine, params=dataclasses.replace(config.engine.params, **grid), **engine
    )
    return dataclasses.replace(config, engine=new_engine, **top)


def combinations(param_grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(param_grid)
    for name in names:
        if isinstance(param_grid[name], str | bytes) or not len(param_grid[name]):
            raise ValueError(f"sweep {name}: expected a non-empty list of values")
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*param_grid.values())]


def _init(data: MarketData, config: BacktestConfig) -> None:
    global _shared
    _shared = (data, config)


def _one(params: dict[str, Any]) -> dict[str, Any]:
    assert _shared is not None
    data, base = _shared
    try:
        summary = run_backtest(apply_params(base, params), data).summary().as_dict()
    except (ValueError, ArithmeticError) as exc:
        return {**params, "error": str(exc)}
    return {**params, **{k: float(v) if isinstance(v, Decimal) else v for k, v in summary.items()}}


def sweep(
    param_grid: Mapping[str, Sequence[Any]],
    data: MarketData,
    config: BacktestConfig | GridEngineConfig | Settings,
    *,
    processes: int | None = None,
    sort_by: str = "net_pnl",
    ascending: bool = False,
) -> pd.DataFrame:
    """Every combination of `param_grid` (e.g. `{"interval": [5, 10], "buy_window": [5, 10]}`), one
    backtest each on `processes` worker processes (default: CPU count), as a DataFrame sorted by `sort_by`
    (any `Summary` field; money columns as float). A combination the config refuses gets an `error` column."""
    import pandas as pd

    base = as_backtest_config(config)
    combos = combinations(param_grid)
    for combo in combos:
        apply_params(base, combo)  # refuse a bad name before any process starts
    workers = max(1, min(processes or os.cpu_count() or 1, len(combos)))
    if workers == 1:
        _init(data, base)
        rows = [_one(c) for c in combos]
    else:
        # fork: the workers inherit the market data instead of unpickling it each
        ctx = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init, initargs=(data, base)) as pool:
            rows = list(pool.map(_one, combos, chunksize=max(1, len(combos) // (workers * 4))))
    frame = pd.DataFrame(rows)
    if sort_by not in frame.columns:
        raise ValueError(f"sort_by: {sort_by!r} is not a summary column ({', '.join(frame.columns)})")
    return frame.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
