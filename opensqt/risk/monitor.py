"""The risk monitor: a pure state machine fed klines of the monitored symbols that decides when the market is
in panic (price below average on a volume spike) and when it has recovered. See docs/RISK.md."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from opensqt.model import TIMEFRAME_MS, Kline
from opensqt.trading.logic import true_ranges

DEFAULT_MONITOR_SYMBOLS: tuple[str, ...] = (
    "BTC/USDT:USDT",
    "ETH/USDT:USDT",
    "SOL/USDT:USDT",
    "XRP/USDT:USDT",
    "DOGE/USDT:USDT",
)


class GlobalStrategy(StrEnum):
    """How per-symbol panics combine: every monitored symbol must panic, or any one is enough."""

    ALL = "all"
    ANY = "any"


class SymbolState(StrEnum):
    """One symbol's condition on one candle.

    PANIC: close < average close AND volume > average volume × multiplier. NORMAL: close ≥ average close
    AND volume ≤ average volume × multiplier. WEAK: exactly one of the two panic conditions holds.
    WARMING_UP: fewer than `average_window` closed candles precede it.
    """

    WARMING_UP = "warming_up"
    NORMAL = "normal"
    WEAK = "weak"
    PANIC = "panic"


@dataclass(frozen=True, slots=True)
class RiskMonitorConfig:
    """Legacy defaults: five majors on 1m candles, 20-candle averages, volume × 3, all panic, 3 recover."""

    monitor_symbols: tuple[str, ...] = DEFAULT_MONITOR_SYMBOLS
    timeframe: str = "1m"
    average_window: int = 20
    volume_multiplier: Decimal = Decimal(3)
    global_strategy: GlobalStrategy = GlobalStrategy.ALL
    recovery_threshold: int = 3
    atr_window: int = 14

    def __post_init__(self) -> None:
        if not self.monitor_symbols:
            raise ValueError("risk monitor_symbols: expected at least one symbol, got none")
        if len(set(self.monitor_symbols)) != len(self.monitor_symbols):
            raise ValueError(
                f"risk monitor_symbols: expected distinct symbols, got {list(self.monitor_symbols)}"
            )
        if self.timeframe not in TIMEFRAME_MS:
            raise ValueError(
                f"risk timeframe: expected one of {', '.join(TIMEFRAME_MS)}, got {self.timeframe!r}"
            )
        if self.average_window < 1:
            raise ValueError(f"risk average_window: expected >= 1, got {self.average_window}")
        if not isinstance(self.volume_multiplier, Decimal) or not self.volume_multiplier > 0:
            raise ValueError(
                f"risk volume_multiplier: expected a Decimal > 0, got {self.volume_multiplier!r}"
            )
        if not isinstance(self.global_strategy, GlobalStrategy):
            raise ValueError(f"risk global_strategy: expected 'all' or 'any', got {self.global_strategy!r}")
        if not 1 <= self.recovery_threshold <= len(self.monitor_symbols):
            raise ValueError(
                f"risk recovery_threshold: expected 1..{len(self.monitor_symbols)} (the number of monitored "
                f"symbols), got {self.recovery_threshold}"
            )
        if self.atr_window < 1:
            raise ValueError(f"risk atr_window: expected >= 1, got {self.atr_window}")


@dataclass(frozen=True, slots=True)
class SymbolRisk:
    """One symbol as the monitor last saw it. `state` judges the latest candle (forming or closed);
    `closed_state` the latest closed candle, which alone counts towards recovery. `volatility` = ATR / price.
    """

    symbol: str
    state: SymbolState
    closed_state: SymbolState
    reason: str
    open_time: int | None = None
    forming: bool = False
    close: Decimal | None = None
    average_close: Decimal | None = None
    volume: Decimal | None = None
    average_volume: Decimal | None = None
    volatility: Decimal | None = None


@dataclass(frozen=True, slots=True)
class RiskStatus:
    triggered: bool
    since_ms: int | None
    strategy: GlobalStrategy
    symbols: tuple[SymbolRisk, ...]

    @property
    def reasons(self) -> dict[str, str]:
        return {s.symbol: s.reason for s in self.symbols}

    @property
    def volatility(self) -> dict[str, Decimal | None]:
        return {s.symbol: s.volatility for s in self.symbols}


@dataclass(frozen=True, slots=True)
class RiskTriggered:
    """The monitor went from normal to triggered: halt new orders and cancel all buys."""

    at_ms: int
    strategy: GlobalStrategy
    panicking: tuple[str, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RiskRecovered:
    """The monitor went from triggered back to normal: new orders may resume."""

    at_ms: int
    triggered_since_ms: int
    normal: tuple[str, ...]
    reasons: tuple[str, ...]


RiskEvent = RiskTriggered | RiskRecovered


@dataclass(frozen=True, slots=True)
class _Judgement:
    state: SymbolState
    reason: str
    close: Decimal | None = None
    average_close: Decimal | None = None
    volume: Decimal | None = None
    average_volume: Decimal | None = None


_NO_DATA = _Judgement(SymbolState.WARMING_UP, "no candle yet")


class _Track:
    """One symbol's candles: the latest closed ones (enough for averages and ATR) and a forming one."""

    __slots__ = ("closed", "forming", "judged", "judged_closed")

    def __init__(self, keep: int) -> None:
        self.closed: deque[Kline] = deque(maxlen=keep)
        self.forming: Kline | None = None
        self.judged: _Judgement = _NO_DATA
        self.judged_closed: _Judgement = _NO_DATA

    def ingest(self, kline: Kline) -> bool:
        """Take one kline; False when it is stale or a repeat of a closed candle (then nothing changes)."""
        last = self.closed[-1].open_time if self.closed else None
        if last is not None and kline.open_time <= last:
            return False
        if kline.closed:
            self.closed.append(kline)
            if self.forming is not None and self.forming.open_time <= kline.open_time:
                self.forming = None
            return True
        if self.forming is not None and kline.open_time < self.forming.open_time:
            return False
        if self.forming == kline:
            return False
        self.forming = kline
        return True


class RiskMonitor:
    """Feed it klines; ask `is_triggered()`. Every transition is returned as an event for the audit log.

    A forming candle counts for triggering (so a crash is caught within the candle, as the legacy monitor did
    with its latest candle) but never for recovery: a symbol is back to normal only on a closed candle.
    """

    def __init__(self, config: RiskMonitorConfig | None = None) -> None:
        self._config = config or RiskMonitorConfig()
        keep = max(self._config.average_window, self._config.atr_window) + 1
        self._tracks: dict[str, _Track] = {s: _Track(keep) for s in self._config.monitor_symbols}
        self._triggered = False
        self._since_ms: int | None = None

    @property
    def config(self) -> RiskMonitorConfig:
        return self._config

    def is_triggered(self) -> bool:
        return self._triggered

    def preload(self, symbol: str, klines: Iterable[Kline], now_ms: int | None = None) -> RiskEvent | None:
        """Load history for `symbol` (ascending open times; only the last may be forming), then evaluate.

        The whole batch is checked first: one bad kline raises ValueError and nothing is loaded.
        """
        track = self._track(symbol, "preload symbol")
        batch = list(klines)
        previous: Kline | None = None
        for i, kline in enumerate(batch):
            if kline.symbol != symbol:
                raise ValueError(
                    f"preload {symbol}: klines[{i}].symbol is {kline.symbol!r}, expected {symbol!r}"
                )
            self._check_timeframe(kline, f"preload {symbol}: klines[{i}]")
            if previous is not None and kline.open_time <= previous.open_time:
                raise ValueError(
                    f"preload {symbol}: klines[{i}].open_time {kline.open_time} is not after "
                    f"{previous.open_time}; expected ascending open times"
                )
            if not kline.closed and i != len(batch) - 1:
                raise ValueError(
                    f"preload {symbol}: klines[{i}] is forming; only the last kline may be forming"
                )
            previous = kline
        changed = False
        for kline in batch:
            changed = track.ingest(kline) or changed
        if not changed:
            return None
        assert previous is not None
        self._judge(track)
        return self._decide(previous.open_time if now_ms is None else now_ms)

    def on_kline(self, kline: Kline, now_ms: int | None = None) -> RiskEvent | None:
        """Take one closed or forming kline. Stale and repeated klines change nothing and return None.

        `now_ms` stamps a transition (defaults to the kline's open time).
        """
        track = self._track(kline.symbol, "kline.symbol")
        self._check_timeframe(kline, f"kline {kline.symbol} {kline.open_time}")
        if not track.ingest(kline):
            return None
        self._judge(track)
        return self._decide(kline.open_time if now_ms is None else now_ms)

    def status(self) -> RiskStatus:
        return RiskStatus(
            triggered=self._triggered,
            since_ms=self._since_ms,
            strategy=self._config.global_strategy,
            symbols=tuple(self._symbol_risk(s, t) for s, t in self._tracks.items()),
        )

    # --- internals ----------------------------------------------------------------------------

    def _track(self, symbol: str, field: str) -> _Track:
        try:
            return self._tracks[symbol]
        except KeyError:
            raise ValueError(
                f"{field}: {symbol!r} is not monitored; expected one of {', '.join(self._tracks)}"
            ) from None

    def _check_timeframe(self, kline: Kline, where: str) -> None:
        if kline.timeframe != self._config.timeframe:
            raise ValueError(f"{where}: timeframe {kline.timeframe!r}, expected {self._config.timeframe!r}")

    def _judge(self, track: _Track) -> None:
        window = self._config.average_window
        closed = list(track.closed)
        if closed:
            track.judged_closed = self._judge_candle(closed[-1], closed[:-1][-window:])
        if track.forming is not None:
            track.judged = self._judge_candle(track.forming, closed[-window:])
        else:
            track.judged = track.judged_closed

    def _judge_candle(self, candle: Kline, previous: Sequence[Kline]) -> _Judgement:
        n = self._config.average_window
        if len(previous) < n:
            return _Judgement(
                SymbolState.WARMING_UP,
                f"{len(previous)} of {n} closed candles before the latest",
                close=candle.close,
                volume=candle.volume,
            )
        sum_close = sum((k.close for k in previous), Decimal(0))
        sum_volume = sum((k.volume for k in previous), Decimal(0))
        avg_close = sum_close / n
        avg_volume = sum_volume / n
        mult = self._config.volume_multiplier
        # Compare the sums, not the rounded averages, so a boundary case is decided exactly.
        below = candle.close * n < sum_close
        spike = candle.volume * n > sum_volume * mult
        price_text = f"close {candle.close} {'<' if below else '>='} average close {avg_close}"
        volume_text = f"volume {candle.volume} {'>' if spike else '<='} {mult} × average volume {avg_volume}"
        if below and spike:
            state = SymbolState.PANIC
        elif not below and not spike:
            state = SymbolState.NORMAL
        else:
            state = SymbolState.WEAK
        return _Judgement(
            state,
            f"{state.value}: {price_text}, {volume_text}",
            close=candle.close,
            average_close=avg_close,
            volume=candle.volume,
            average_volume=avg_volume,
        )

    def _decide(self, now_ms: int) -> RiskEvent | None:
        tracks = self._tracks
        panicking = tuple(s for s, t in tracks.items() if t.judged.state is SymbolState.PANIC)
        if self._config.global_strategy is GlobalStrategy.ALL:
            condition = len(panicking) == len(tracks)
        else:
            condition = bool(panicking)
        if not self._triggered:
            if not condition:
                return None
            self._triggered = True
            self._since_ms = now_ms
            return RiskTriggered(
                at_ms=now_ms,
                strategy=self._config.global_strategy,
                panicking=panicking,
                reasons=tuple(f"{s}: {tracks[s].judged.reason}" for s in panicking),
            )
        # Recovery counts closed candles only, and a symbol panicking on its forming candle is not normal.
        normal = tuple(
            s
            for s, t in tracks.items()
            if t.judged_closed.state is SymbolState.NORMAL and t.judged.state is not SymbolState.PANIC
        )
        # Also require the trigger condition to be gone, so that with `any` the monitor cannot recover and
        # re-trigger on the same candle.
        if len(normal) < self._config.recovery_threshold or condition:
            return None
        since = self._since_ms if self._since_ms is not None else now_ms
        self._triggered = False
        self._since_ms = None
        return RiskRecovered(
            at_ms=now_ms,
            triggered_since_ms=since,
            normal=normal,
            reasons=tuple(f"{s}: {tracks[s].judged_closed.reason}" for s in normal),
        )

    def _symbol_risk(self, symbol: str, track: _Track) -> SymbolRisk:
        judged = track.judged
        latest = track.forming if track.forming is not None else (track.closed[-1] if track.closed else None)
        return SymbolRisk(
            symbol=symbol,
            state=judged.state,
            closed_state=track.judged_closed.state,
            reason=judged.reason,
            open_time=None if latest is None else latest.open_time,
            forming=track.forming is not None,
            close=judged.close,
            average_close=judged.average_close,
            volume=judged.volume,
            average_volume=judged.average_volume,
            volatility=self._volatility(track, latest),
        )

    def _volatility(self, track: _Track, latest: Kline | None) -> Decimal | None:
        """ATR / price: the simple mean of the last `atr_window` true ranges of closed candles, over the
        latest close (forming or closed). None until `atr_window + 1` closed candles are known."""
        n = self._config.atr_window
        closed = list(track.closed)
        if latest is None or len(closed) < n + 1 or latest.close <= 0:
            return None
        # The first candle only lends its close: its own range has no previous close to widen it.
        ranges = true_ranges(closed[-n - 1 :])[1:]
        atr = sum(ranges, Decimal(0)) / n
        return atr / latest.close
