"""Prometheus metrics of one program: a custom collector reading registered snapshot sources at scrape
time, plus the tick-to-order latency histogram the engine observes. Own registry, never the global one.

The trading path never touches a metric: sources are read only when Prometheus scrapes, on the event loop
that owns the engine state, so a scrape sees one consistent moment and costs the engine nothing in between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from loguru import logger
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from opensqt.telemetry.snapshots import BotSnapshot

#: Tick-to-order latency buckets (seconds): the decision itself is tens of microseconds, a venue round trip
#: tens of milliseconds; the buckets resolve both ends.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
PREFIX = "opensqt_"

Source = Callable[[], BotSnapshot]


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One exported metric family: name without prefix, kind, help text and label names (after `bot`)."""

    name: str
    kind: str  # "counter" or "gauge"
    help: str
    labels: tuple[str, ...] = ()


SPECS: tuple[MetricSpec, ...] = (
    MetricSpec("orders_placed", "counter", "Orders sent to the venue.", ("symbol",)),
    MetricSpec("orders_cancelled", "counter", "Cancels the venue acknowledged.", ("symbol",)),
    MetricSpec("orders_rejected", "counter", "Submits the venue refused, by reason.", ("symbol", "reason")),
    MetricSpec("fills", "counter", "Fills received (partial fills count each).", ("symbol",)),
    MetricSpec("slots", "gauge", "Grid slots by status (FREE, PENDING, LOCKED).", ("symbol", "status")),
    MetricSpec("position", "gauge", "Position in base units (negative: short).", ("symbol",)),
    MetricSpec("realized_pnl", "gauge", "Realized PnL in quote currency, gross of fees.", ("symbol",)),
    MetricSpec("fees", "gauge", "Trading fees paid in quote currency (negative: rebates).", ("symbol",)),
    MetricSpec("funding", "gauge", "Funding received (+) or paid (-) in quote currency.", ("symbol",)),
    MetricSpec("price_stale", "gauge", "1 when no fresh price: new orders are paused.", ("symbol",)),
    MetricSpec("stream_reconnects", "counter", "Venue stream reconnects.", ("stream",)),
    MetricSpec("stream_gaps_recovered", "counter", "Stream gaps closed by a re-sync.", ("stream",)),
    MetricSpec("queue_dropped", "counter", "Updates dropped by a full queue (prices only).", ("stream",)),
    MetricSpec("risk_triggered", "gauge", "1 while the market risk monitor halts buying."),
    MetricSpec("risk_symbols", "gauge", "Watched symbols by risk state.", ("state",)),
    MetricSpec("circuit_breaker_open", "gauge", "1 while the circuit breaker halts trading.", ("reason",)),
    MetricSpec("circuit_breaker_consecutive_losses", "gauge", "Losing round trips in a row."),
    MetricSpec("circuit_breaker_venue_errors", "gauge", "Venue errors within the breaker's window."),
    MetricSpec("arbitrage_legs", "gauge", "Arbitrage legs by status.", ("status",)),
    MetricSpec("arbitrage_positions_opened", "counter", "Arbitrage positions entered."),
    MetricSpec("arbitrage_positions_closed", "counter", "Arbitrage positions exited."),
    MetricSpec("arbitrage_apr", "gauge", "Annualised net funding spread (fraction).", ("symbol",)),
    MetricSpec("trading", "gauge", "1 while the engine is in its trading phase."),
    MetricSpec(
        "metrics_source_errors", "counter", "Snapshot sources that raised during a scrape.", ("source",)
    ),
)
_SPEC = {s.name: s for s in SPECS}

Samples = dict[str, dict[tuple[str, ...], float]]


def _num(value: Decimal | int | bool) -> float:
    # Prometheus values are float64: the one place money leaves Decimal, for display only (exact figures
    # live in the store and the API).
    return float(value)


@dataclass
class _Gather:
    """Samples of one scrape, summed when two sources report the same series."""

    samples: Samples = field(default_factory=dict)

    def add(self, name: str, labels: tuple[str, ...], value: float) -> None:
        series = self.samples.setdefault(name, {})
        series[labels] = series.get(labels, 0.0) + value

    def snapshot(self, snap: BotSnapshot) -> None:
        for t in snap.trading:
            s = (t.symbol,)
            self.add("orders_placed", s, t.orders_placed)
            self.add("orders_cancelled", s, t.orders_cancelled)
            self.add("fills", s, t.fills)
            for reason, n in t.rejected.items():
                self.add("orders_rejected", (t.symbol, reason), n)
            for status, n in t.slots.items():
                self.add("slots", (t.symbol, status), n)
            self.add("position", s, _num(t.position))
            self.add("realized_pnl", s, _num(t.realized_pnl))
            self.add("fees", s, _num(t.fees))
            if t.funding is not None:
                self.add("funding", s, _num(t.funding))
            if t.price_stale is not None:
                self.add("price_stale", s, _num(t.price_stale))
        for st in snap.streams:
            self.add("stream_reconnects", (st.stream,), st.reconnects)
            self.add("stream_gaps_recovered", (st.stream,), st.gaps_recovered)
            self.add("queue_dropped", (st.stream,), st.dropped)
        if snap.risk is not None:
            self.add("risk_triggered", (), _num(snap.risk.triggered))
            for state, n in snap.risk.symbols_by_state.items():
                self.add("risk_symbols", (state,), n)
        if snap.breaker is not None:
            b = snap.breaker
            self.add("circuit_breaker_open", (b.reason or "none",), _num(b.open))
            self.add("circuit_breaker_consecutive_losses", (), b.consecutive_losses)
            self.add("circuit_breaker_venue_errors", (), b.venue_errors_in_window)
        if snap.arbitrage is not None:
            a = snap.arbitrage
            for status, n in a.legs_by_status.items():
                self.add("arbitrage_legs", (status,), n)
            self.add("arbitrage_positions_opened", (), a.positions_opened)
            self.add("arbitrage_positions_closed", (), a.positions_closed)
            for symbol, apr in a.apr.items():
                self.add("arbitrage_apr", (symbol,), _num(apr))
        if snap.phase is not None:
            self.add("trading", (), _num(snap.phase == "trading"))


class SnapshotCollector(Collector):
    """Reads every registered source at scrape time; a source that raises is skipped and counted, so one
    broken source never takes the whole endpoint down."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def describe(self) -> list[Metric]:
        return []  # families depend on what the sources report; nothing to pre-check

    def collect(self) -> Iterator[Metric]:
        gather = _Gather()
        for name, source in list(self._metrics.sources.items()):
            try:
                snapshot = source()
            except Exception:
                self._metrics.source_failed(name)
                continue
            self._metrics.source_ok(name)
            gather.snapshot(snapshot)
        for name, n in self._metrics.source_errors.items():
            gather.add("metrics_source_errors", (name,), n)
        bot = self._metrics.bot
        for spec in SPECS:
            series = gather.samples.get(spec.name)
            if not series:
                continue
            labels = ["bot", *spec.labels]
            family: CounterMetricFamily | GaugeMetricFamily
            if spec.kind == "counter":
                family = CounterMetricFamily(PREFIX + spec.name, spec.help, labels=labels)
            else:
                family = GaugeMetricFamily(PREFIX + spec.name, spec.help, labels=labels)
            for values, value in sorted(series.items()):
                family.add_metric([bot, *values], value)
            yield family


class Metrics:
    """The metrics of one program (`bot` labels every series).

    - `register(name, source)`: a callable returning a `BotSnapshot`, read at every scrape;
    - `tick_to_order.observe(seconds)`: the engine's latency from a price tick to the order it caused;
    - `exposition()`: the Prometheus text format (what `/metrics` serves).
    """

    def __init__(self, bot: str, *, buckets: tuple[float, ...] = LATENCY_BUCKETS) -> None:
        self.bot = bot
        self.registry = CollectorRegistry(auto_describe=False)
        self.sources: dict[str, Source] = {}
        self.source_errors: Counter[str] = Counter()
        self._failing: set[str] = set()
        histogram = Histogram(
            PREFIX + "tick_to_order_seconds",
            "Time from a price tick (or fill) to the orders it caused being sent.",
            labelnames=("bot",),
            buckets=buckets,
            registry=self.registry,
        )
        self.tick_to_order = histogram.labels(bot=bot)
        self.registry.register(SnapshotCollector(self))

    def register(self, name: str, source: Source) -> None:
        """Add a snapshot source under a unique name (`grid`, `arbitrage`, `api`...)."""
        if name in self.sources:
            raise ValueError(f"metrics source {name!r}: already registered")
        self.sources[name] = source

    def unregister(self, name: str) -> None:
        self.sources.pop(name, None)
        self._failing.discard(name)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def source_failed(self, name: str) -> None:
        self.source_errors[name] += 1
        if name not in self._failing:
            # Logged once per failure streak: Prometheus scrapes every few seconds.
            self._failing.add(name)
            logger.exception("metrics source {} failed; its metrics are left out until it recovers", name)

    def source_ok(self, name: str) -> None:
        if name in self._failing:
            self._failing.discard(name)
            logger.info("metrics source {} recovered", name)


def spec(name: str) -> MetricSpec:
    """The spec of an exported family by its short name (docs and tests use it)."""
    return _SPEC[name]
