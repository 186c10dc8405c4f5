"""RiskMonitor: exact kline sequences for trigger and recovery, both strategies, and Hypothesis invariants."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opensqt.model import Kline
from opensqt.risk import (
    DEFAULT_MONITOR_SYMBOLS,
    GlobalStrategy,
    RiskGate,
    RiskMonitor,
    RiskMonitorConfig,
    RiskRecovered,
    RiskTriggered,
    SymbolState,
)

D = Decimal
MIN = 60_000
SYMBOLS = DEFAULT_MONITOR_SYMBOLS
BTC = SYMBOLS[0]


def k(symbol: str, minute: int, close: str, volume: str, closed: bool = True, spread: str = "1") -> Kline:
    c = D(close)
    s = D(spread)
    return Kline(symbol, "1m", minute * MIN, c, c + s, c - s, c, D(volume), closed)


def calm(symbol: str, minutes: int = 20, close: str = "100", volume: str = "10") -> list[Kline]:
    return [k(symbol, m, close, volume) for m in range(minutes)]


def loaded(strategy: GlobalStrategy = GlobalStrategy.ALL, **kw: object) -> RiskMonitor:
    monitor = RiskMonitor(RiskMonitorConfig(global_strategy=strategy, **kw))  # type: ignore[arg-type]
    for symbol in SYMBOLS:
        assert monitor.preload(symbol, calm(symbol, minutes=21)) is None
    return monitor


def test_crash_across_five_symbols_triggers_on_the_first_crash_kline_of_the_last_symbol() -> None:
    monitor = loaded()
    crash = [k(s, 21, "90", "50", closed=False) for s in SYMBOLS]
    assert [monitor.on_kline(kl, now_ms=21 * MIN + 5_000) for kl in crash[:4]] == [None] * 4
    assert not monitor.is_triggered()
    assert monitor.on_kline(crash[4], now_ms=21 * MIN + 5_000) == RiskTriggered(
        at_ms=21 * MIN + 5_000,
        strategy=GlobalStrategy.ALL,
        panicking=SYMBOLS,
        reasons=tuple(
            f"{s}: panic: close 90 < average close 100, volume 50 > 3 × average volume 10" for s in SYMBOLS
        ),
    )
    assert monitor.is_triggered()
    status = monitor.status()
    assert status.triggered and status.since_ms == 21 * MIN + 5_000
    assert {s.state for s in status.symbols} == {SymbolState.PANIC}
    assert {s.closed_state for s in status.symbols} == {SymbolState.NORMAL}
    # ATR 2 (every calm candle spans 99..101) over the forming close 90.
    assert status.volatility[BTC] == D(2) / D(90)


def test_volatility_is_atr_over_price() -> None:
    monitor = RiskMonitor(RiskMonitorConfig(monitor_symbols=(BTC,), recovery_threshold=1))
    monitor.preload(BTC, calm(BTC, minutes=14))
    assert monitor.status().volatility[BTC] is None  # 14 closed candles: one short of atr_window + 1
    monitor.on_kline(k(BTC, 14, "100", "10"))
    assert monitor.status().volatility[BTC] == D("0.02")  # TR 2 each, ATR 2, price 100
    monitor.on_kline(k(BTC, 15, "90", "10", closed=False))
    assert monitor.status().volatility[BTC] == D(2) / D(90)
    # A gap down widens the true range to the previous close: 100 -> candle 79..81 gives TR 21.
    monitor.on_kline(k(BTC, 15, "80", "10"))
    assert monitor.status().volatility[BTC] == (D(2) * 13 + D(21)) / 14 / D(80)


def test_recovery_needs_recovery_threshold_symbols_normal_on_closed_candles() -> None:
    monitor = loaded()
    for s in SYMBOLS:
        monitor.on_kline(k(s, 21, "90", "50", closed=False), now_ms=1)
    assert monitor.is_triggered()
    # The crash candles close: still panic, nothing changes.
    assert [monitor.on_kline(k(s, 21, "90", "50"), now_ms=2) for s in SYMBOLS] == [None] * 5
    # Forming calm candles never count towards recovery.
    assert [monitor.on_kline(k(s, 22, "100", "10", closed=False), now_ms=3) for s in SYMBOLS] == [None] * 5
    assert monitor.is_triggered()
    # Closed calm candles: averages now 99.5 and 12; the third normal symbol recovers the monitor.
    events = [monitor.on_kline(k(s, 22, "100", "10"), now_ms=4) for s in SYMBOLS[:3]]
    assert events[:2] == [None, None]
    assert events[2] == RiskRecovered(
        at_ms=4,
        triggered_since_ms=1,
        normal=SYMBOLS[:3],
        reasons=tuple(
            f"{s}: normal: close 100 >= average close 99.5, volume 10 <= 3 × average volume 12"
            for s in SYMBOLS[:3]
        ),
    )
    assert not monitor.is_triggered()
    assert monitor.status().since_ms is None


def test_a_symbol_still_below_its_average_is_not_back_to_normal() -> None:
    monitor = loaded()
    for s in SYMBOLS:
        monitor.on_kline(k(s, 21, "90", "50"))
    assert monitor.is_triggered()
    # Calm volume but close 95 < average 99.5: weak, not normal.
    for s in SYMBOLS:
        assert monitor.on_kline(k(s, 22, "95", "10")) is None
    assert monitor.is_triggered()
    assert monitor.status().symbols[0].state is SymbolState.WEAK
    assert monitor.status().reasons[BTC] == (
        "weak: close 95 < average close 99.5, volume 10 <= 3 × average volume 12"
    )


def test_a_forming_panic_candle_vetoes_a_symbols_recovery() -> None:
    monitor = loaded()
    for s in SYMBOLS:
        monitor.on_kline(k(s, 21, "90", "50"))
    for s in SYMBOLS[:2]:
        monitor.on_kline(k(s, 22, "100", "10"))
    # The third symbol's closed candle is normal, but its next candle is already crashing again.
    monitor.on_kline(k(SYMBOLS[2], 23, "80", "500", closed=False))
    assert monitor.on_kline(k(SYMBOLS[2], 22, "100", "10")) is None
    assert monitor.is_triggered()
    third = monitor.status().symbols[2]
    assert (third.closed_state, third.state, third.forming) == (SymbolState.NORMAL, SymbolState.PANIC, True)
    # Once that candle closes calm instead, the third symbol counts and the monitor recovers.
    assert isinstance(monitor.on_kline(k(SYMBOLS[2], 23, "100", "10")), RiskRecovered)


def test_all_strategy_needs_every_symbol_and_any_strategy_one() -> None:
    all_monitor = loaded(GlobalStrategy.ALL)
    any_monitor = loaded(GlobalStrategy.ANY, recovery_threshold=5)
    crash = k(SYMBOLS[3], 21, "90", "50")
    assert all_monitor.on_kline(crash) is None
    event = any_monitor.on_kline(crash, now_ms=7)
    assert event == RiskTriggered(
        at_ms=7,
        strategy=GlobalStrategy.ANY,
        panicking=(SYMBOLS[3],),
        reasons=(f"{SYMBOLS[3]}: panic: close 90 < average close 100, volume 50 > 3 × average volume 10",),
    )
    # With `any`, recovery also waits until no symbol panics, even when enough others are normal.
    for s in SYMBOLS:
        if s != SYMBOLS[3]:
            assert any_monitor.on_kline(k(s, 21, "100", "10")) is None
    assert any_monitor.is_triggered()
    recovered = any_monitor.on_kline(k(SYMBOLS[3], 22, "100", "10"), now_ms=9)
    assert isinstance(recovered, RiskRecovered) and recovered.triggered_since_ms == 7
    assert recovered.normal == SYMBOLS


def test_price_drop_without_volume_spike_or_spike_without_drop_is_no_panic() -> None:
    monitor = RiskMonitor(
        RiskMonitorConfig(monitor_symbols=(BTC,), global_strategy=GlobalStrategy.ANY, recovery_threshold=1)
    )
    monitor.preload(BTC, calm(BTC))
    assert monitor.on_kline(k(BTC, 20, "90", "30", closed=False)) is None  # volume 30 = 3 × 10: not above
    assert monitor.status().symbols[0].state is SymbolState.WEAK
    assert monitor.on_kline(k(BTC, 20, "100", "31", closed=False)) is None  # close = average: not below
    assert monitor.on_kline(k(BTC, 20, "99.99", "30.01", closed=False)) is not None


def test_warming_up_until_average_window_closed_candles() -> None:
    monitor = RiskMonitor(
        RiskMonitorConfig(monitor_symbols=(BTC,), global_strategy=GlobalStrategy.ANY, recovery_threshold=1)
    )
    assert monitor.status().symbols[0].state is SymbolState.WARMING_UP
    assert monitor.status().reasons[BTC] == "no candle yet"
    monitor.preload(BTC, calm(BTC, minutes=19))
    assert monitor.on_kline(k(BTC, 19, "1", "1000", closed=False)) is None
    assert monitor.status().reasons[BTC] == "19 of 20 closed candles before the latest"


def test_stale_and_repeated_klines_change_nothing() -> None:
    monitor = loaded()
    before = monitor.status()
    assert monitor.on_kline(k(BTC, 20, "1", "999")) is None  # a replay of a closed candle
    assert monitor.on_kline(k(BTC, 6, "1", "999", closed=False)) is None  # an old forming update
    assert monitor.status() == before
    monitor.on_kline(k(BTC, 22, "100", "10", closed=False))
    after_forming = monitor.status()
    assert monitor.on_kline(k(BTC, 21, "1", "999", closed=False)) is None  # older than the forming candle
    assert monitor.on_kline(k(BTC, 22, "100", "10", closed=False)) is None  # same update again
    assert monitor.status() == after_forming


def test_bad_input_raises_one_clear_error_and_changes_nothing() -> None:
    monitor = loaded()
    before = monitor.status()
    with pytest.raises(ValueError, match=r"kline.symbol: 'ADA/USDT:USDT' is not monitored"):
        monitor.on_kline(k("ADA/USDT:USDT", 22, "1", "1"))
    with pytest.raises(ValueError, match=r"timeframe '5m', expected '1m'"):
        monitor.on_kline(Kline(BTC, "5m", 22 * MIN, D(1), D(1), D(1), D(1), D(1)))
    bad_order = [*calm(BTC, 2)[::-1]]
    with pytest.raises(ValueError, match=r"klines\[1\].open_time 0 is not after 60000"):
        monitor.preload(BTC, bad_order)
    with pytest.raises(ValueError, match=r"klines\[0\].symbol is 'ETH/USDT:USDT'"):
        monitor.preload(BTC, calm(SYMBOLS[1], 1))
    with pytest.raises(ValueError, match=r"klines\[0\] is forming; only the last"):
        monitor.preload(BTC, [k(BTC, 31, "1", "1", closed=False), k(BTC, 32, "1", "1")])
    assert monitor.status() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"monitor_symbols": ()}, "monitor_symbols: expected at least one symbol"),
        ({"monitor_symbols": (BTC, BTC)}, "monitor_symbols: expected distinct symbols"),
        ({"timeframe": "7m"}, "timeframe: expected one of"),
        ({"average_window": 0}, "average_window: expected >= 1, got 0"),
        ({"volume_multiplier": D(0)}, "volume_multiplier: expected a Decimal > 0"),
        ({"global_strategy": "most"}, "global_strategy: expected 'all' or 'any'"),
        ({"recovery_threshold": 6}, r"recovery_threshold: expected 1..5 .* got 6"),
        ({"atr_window": 0}, "atr_window: expected >= 1, got 0"),
    ],
)
def test_config_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RiskMonitorConfig(**kwargs)  # type: ignore[arg-type]


def test_preload_of_a_crashing_history_returns_the_trigger() -> None:
    monitor = RiskMonitor(
        RiskMonitorConfig(monitor_symbols=(BTC,), global_strategy=GlobalStrategy.ANY, recovery_threshold=1)
    )
    event = monitor.preload(BTC, [*calm(BTC), k(BTC, 20, "90", "50", closed=False)])
    assert isinstance(event, RiskTriggered) and event.at_ms == 20 * MIN
    assert monitor.preload(BTC, []) is None


def test_monitor_is_a_risk_gate_and_keeps_its_config() -> None:
    assert isinstance(RiskMonitor(), RiskGate)
    assert RiskMonitor().config == RiskMonitorConfig()


# --- Hypothesis ------------------------------------------------------------------------------

candles = st.lists(
    st.tuples(
        st.sampled_from(SYMBOLS[:3]),
        st.integers(min_value=90, max_value=110),  # close
        st.integers(min_value=1, max_value=60),  # volume
        st.booleans(),  # closed
        st.integers(min_value=0, max_value=2),  # minutes ahead of that symbol's last candle
    ),
    max_size=120,
)


def _sequence(raw: list[tuple[str, int, int, bool, int]]) -> list[Kline]:
    minute = dict.fromkeys(SYMBOLS[:3], 0)
    out: list[Kline] = []
    for symbol, close, volume, closed, step in raw:
        minute[symbol] += step
        out.append(k(symbol, minute[symbol], str(close), str(volume), closed))
        if closed:
            minute[symbol] += 1
    return out


def _small(strategy: GlobalStrategy) -> RiskMonitor:
    return RiskMonitor(
        RiskMonitorConfig(
            monitor_symbols=SYMBOLS[:3],
            average_window=3,
            atr_window=2,
            global_strategy=strategy,
            recovery_threshold=2,
        )
    )


@given(candles, st.sampled_from(list(GlobalStrategy)))
def test_events_alternate_and_match_the_per_symbol_states(
    raw: list[tuple[str, int, int, bool, int]], strategy: GlobalStrategy
) -> None:
    monitor = _small(strategy)
    expected_next: type = RiskTriggered
    for kline in _sequence(raw):
        event = monitor.on_kline(kline)
        states = [s.state for s in monitor.status().symbols]
        if event is None:
            continue
        assert isinstance(event, expected_next)
        if isinstance(event, RiskTriggered):
            panics = states.count(SymbolState.PANIC)
            assert panics == 3 if strategy is GlobalStrategy.ALL else panics >= 1
            expected_next = RiskRecovered
        else:
            closed_normal = [s for s in monitor.status().symbols if s.closed_state is SymbolState.NORMAL]
            assert len(closed_normal) >= 2
            assert SymbolState.PANIC not in states or strategy is GlobalStrategy.ALL
            expected_next = RiskTriggered
        assert monitor.is_triggered() is isinstance(event, RiskTriggered)


@given(candles, st.sampled_from(list(GlobalStrategy)))
def test_replayed_klines_are_idempotent(
    raw: list[tuple[str, int, int, bool, int]], strategy: GlobalStrategy
) -> None:
    sequence = _sequence(raw)
    once, twice = _small(strategy), _small(strategy)
    events_once = [once.on_kline(kl) for kl in sequence]
    events_twice = []
    for i, kline in enumerate(sequence):
        events_twice.append(twice.on_kline(kline))
        assert twice.on_kline(kline) is None  # the same update again
        # Every closed candle seen so far replays as stale.
        assert [twice.on_kline(old) for old in sequence[:i] if old.closed] == [None] * sum(
            1 for old in sequence[:i] if old.closed
        )
    assert events_twice == events_once
    assert twice.status() == once.status()


def test_any_strategy_does_not_recover_while_one_symbol_still_panics() -> None:
    monitor = loaded(GlobalStrategy.ANY)  # recovery_threshold 3
    monitor.on_kline(k(BTC, 21, "90", "50"))
    assert monitor.is_triggered()
    # Four symbols are normal on closed candles (>= 3), but BTC's next candle crashes again.
    for s in SYMBOLS[1:]:
        assert monitor.on_kline(k(s, 21, "100", "10")) is None
    assert monitor.on_kline(k(BTC, 22, "80", "100")) is None
    assert monitor.is_triggered()
    assert isinstance(monitor.on_kline(k(BTC, 23, "100", "10")), RiskRecovered)
