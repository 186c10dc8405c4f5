"""Prometheus metrics for every OpenSQT program: snapshot sources read at scrape time, the tick-to-order
latency histogram, and the `/metrics` endpoint (docs/OPERATIONS.md lists every metric and its alerts).

```python
metrics = Metrics(settings.app.bot_name)
metrics.register("grid", grid_source(engine))
if settings.telemetry.metrics_enabled:
    port = await tg.start(MetricsServer.from_config(metrics, settings.telemetry).serve)
```
"""

from opensqt.telemetry.arbitrage import arbitrage_snapshot, arbitrage_source
from opensqt.telemetry.grid import grid_snapshot, grid_source
from opensqt.telemetry.metrics import LATENCY_BUCKETS, SPECS, Metrics, MetricSpec, SnapshotCollector
from opensqt.telemetry.server import METRICS_PATH, MetricsBindError, MetricsServer
from opensqt.telemetry.snapshots import (
    ArbitrageSnapshot,
    BotSnapshot,
    BreakerSnapshot,
    RiskSnapshot,
    StreamSnapshot,
    TradingSnapshot,
)

__all__ = [
    "LATENCY_BUCKETS",
    "METRICS_PATH",
    "SPECS",
    "ArbitrageSnapshot",
    "BotSnapshot",
    "BreakerSnapshot",
    "MetricSpec",
    "Metrics",
    "MetricsBindError",
    "MetricsServer",
    "RiskSnapshot",
    "SnapshotCollector",
    "StreamSnapshot",
    "TradingSnapshot",
    "arbitrage_snapshot",
    "arbitrage_source",
    "grid_snapshot",
    "grid_source",
]
