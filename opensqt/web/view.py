"""`LiveView`: what the page shows, kept up to date from the gRPC API (and the kline source), and turned into
the small JSON messages the browser applies. Only whitelisted fields leave this module: no key, token or
certificate can reach the browser through it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from opensqt.api import ports
from opensqt.model import Fill, Kline, Order, Position, Slot
from opensqt.web.klines import CandleBuilder

Message = dict[str, Any]

MAX_FILLS = 200  # newest fills kept for markers and the fills list
MAX_ALERTS = 50
MAX_SEEN_FILLS = 20_000
MAX_ORDERS = 500


def dec(value: Decimal | None) -> str | None:
    """Decimals travel as exact strings: the page shows them verbatim and parses only to draw."""
    return None if value is None else str(value)


def slot_json(slot: Slot) -> Message:
    return {
        "price": str(slot.price),
        "status": slot.slot_status.value,
        "pos": slot.position_status.value,
        "qty": str(slot.position_qty),
        "pside": slot.position_side.value if slot.position_side else None,
        "side": slot.order_side.value if slot.order_side else None,
        "oprice": dec(slot.order_price),
        "oqty": str(slot.order_qty),
        "ostatus": slot.order_status.value if slot.order_status else None,
        "filled": str(slot.filled_qty),
        "coid": slot.client_order_id,
        "pof": slot.post_only_failures,
    }


def position_json(p: Position) -> Message:
    return {
        "symbol": p.symbol,
        "size": str(p.size),
        "entry": str(p.entry_price),
        "upnl": str(p.unrealized_pnl),
        "liq": dec(p.liquidation_price),
        "mark": dec(p.mark_price),
        "lev": p.leverage,
        "notional": str(p.notional),
    }


def order_json(o: Order) -> Message:
    return {
        "coid": o.client_order_id,
        "symbol": o.symbol,
        "side": o.side.value,
        "price": dec(o.price),
        "qty": str(o.quantity),
        "filled": str(o.filled),
        "status": o.status.value,
    }


def fill_json(f: Fill) -> Message:
    return {
        "id": f.trade_id,
        "symbol": f.symbol,
        "side": f.side.value,
        "price": str(f.price),
        "qty": str(f.quantity),
        "fee": str(f.fee),
        "fee_asset": f.fee_asset,
        "rpnl": dec(f.realized_pnl),
        "ts": f.ts_event,
    }


def kline_json(k: Kline) -> Message:
    return {
        "t": k.open_time,
        "o": str(k.open),
        "h": str(k.high),
        "l": str(k.low),
        "c": str(k.close),
        "v": str(k.volume),
    }


def risk_json(status: ports.RiskStatus | None) -> Message | None:
    if status is None:
        return None
    return {
        "triggered": status.triggered,
        "since": status.since_ms,
        "strategy": status.strategy,
        "symbols": [
            {"symbol": s.symbol, "state": s.state, "reason": s.reason, "vol": dec(s.volatility)}
            for s in status.symbols
        ],
    }


def metrics_json(m: ports.RiskMetrics | None) -> Message | None:
    if m is None:
        return None
    return {
        "exposure": str(m.total_exposure),
        "equity": dec(m.equity),
        "peak": dec(m.peak_equity),
        "drawdown": dec(m.drawdown),
        "limits": [
            {
                "symbol": x.symbol,
                "size": str(x.position_size),
                "notional": str(x.position_notional),
                "max": dec(x.max_notional),
            }
            for x in m.limits
        ],
    }


def breaker_json(b: ports.BreakerStatus | None) -> Message | None:
    if b is None:
        return None
    # `actor` is an API key *id* (never a key): shown so an operator sees who tripped it.
    return {"open": b.is_open, "reason": b.reason, "detail": b.detail, "actor": b.actor, "since": b.since_ms}


def engine_json(e: ports.EngineStatus | None) -> Message | None:
    if e is None:
        return None
    return {
        "running": e.running,
        "paused": list(e.paused_reasons),
        "symbol": e.symbol,
        "last": dec(e.last_price),
        "centre": dec(e.centre_price),
        "interval": dec(e.interval),
        "ts": e.ts_ms,
    }


@dataclass(frozen=True, slots=True)
class Connection:
    """The link to market_maker. `since_ms`: when it came up (connected) or went down (disconnected)."""

    connected: bool
    since_ms: int
    error: str = ""  # a gRPC status name only, never server text
    reconnects: int = 0


@dataclass(frozen=True, slots=True)
class Totals:
    """Money summed over the fills seen (the API gives no running totals)."""

    fees: Decimal
    realized: Decimal
    fills: int


class LiveView:
    """The page's state. Every `apply_*` returns the messages to broadcast (empty when nothing changed)."""

    def __init__(self, symbol: str = "", *, timeframe_ms: int = 60_000, max_candles: int = 500) -> None:
        self.symbol = symbol
        self.epoch = ""
        self.version = 0
        self.slots: dict[Decimal, Slot] = {}
        self.centre: Decimal | None = None
        self.last_price: Decimal | None = None
        self.engine: ports.EngineStatus | None = None
        self.positions: dict[str, Position] = {}
        self.risk: ports.RiskStatus | None = None
        self.metrics: ports.RiskMetrics | None = None
        self.breaker: ports.BreakerStatus | None = None
        self.orders: tuple[Order, ...] = ()
        self.fills: deque[Fill] = deque(maxlen=MAX_FILLS)
        # Trade ids already counted, oldest first; bounded, and far more than one poll's page of fills.
        self._fill_ids: dict[str, None] = {}
        self.fees = Decimal(0)
        self.fill_count = 0
        self.realized = Decimal(0)
        self.alerts: deque[ports.RiskAlert] = deque(maxlen=MAX_ALERTS)
        self.connection = Connection(connected=False, since_ms=0)
        self.kline_source = "api"
        # Candles from the API's prices (and our fills' volume) unless a venue feed replaces them.
        self.candles = CandleBuilder(symbol, timeframe_ms, max_candles)

    # --- snapshot -----------------------------------------------------------------------------------------

    def snapshot(self) -> Message:
        return {
            "type": "snapshot",
            "symbol": self.symbol,
            "epoch": self.epoch,
            "version": self.version,
            "centre": dec(self.centre),
            "last": dec(self.last_price),
            "slots": [slot_json(self.slots[p]) for p in sorted(self.slots)],
            "engine": engine_json(self.engine),
            "positions": [position_json(p) for p in self.positions.values()],
            "totals": self._totals_json(),
            "risk": risk_json(self.risk),
            "metrics": metrics_json(self.metrics),
            "breaker": breaker_json(self.breaker),
            "orders": [order_json(o) for o in self.orders[:MAX_ORDERS]],
            "fills": [fill_json(f) for f in self.fills],
            "alerts": [self._alert_json(a) for a in self.alerts],
            "conn": self._conn_json(),
            "klines": {"source": self.kline_source, "bars": [kline_json(k) for k in self.candles.bars()]},
        }

    # --- from the API -------------------------------------------------------------------------------------

    def apply_slots(self, update: ports.SlotUpdate) -> list[Message]:
        if update.snapshot:
            self.slots = {s.price: s for s in update.slots}
        else:
            for slot in update.slots:
                self.slots[slot.price] = slot
            for price in update.removed_prices:
                self.slots.pop(price, None)
        self.symbol = self.symbol or update.symbol
        self.epoch, self.version = update.epoch, update.version
        self.centre = update.centre_price
        out: list[Message] = []
        if update.snapshot:
            out.append(
                {
                    "type": "slots",
                    "full": True,
                    "epoch": update.epoch,
                    "version": update.version,
                    "slots": [slot_json(self.slots[p]) for p in sorted(self.slots)],
                    "removed": [],
                    "centre": dec(self.centre),
                }
            )
        else:
            out.append(
                {
                    "type": "slots",
                    "full": False,
                    "epoch": update.epoch,
                    "version": update.version,
                    "slots": [slot_json(s) for s in update.slots],
                    "removed": [str(p) for p in update.removed_prices],
                    "centre": dec(self.centre),
                }
            )
        if update.last_price is not None:
            out.extend(self.apply_price(update.last_price, update.ts_ms))
        return out

    def apply_price(self, price: Decimal, ts_ms: int) -> list[Message]:
        self.last_price = price
        out: list[Message] = [{"type": "price", "last": str(price), "ts": ts_ms}]
        if self.kline_source == "api" and ts_ms > 0:
            bar = self.candles.add_price(price, ts_ms)
            out.append({"type": "kline", "bar": kline_json(bar)})
        return out

    def apply_engine(self, status: ports.EngineStatus) -> list[Message]:
        if status == self.engine:
            return []
        self.engine = status
        return [{"type": "engine", "engine": engine_json(status)}]

    def apply_positions(self, update: ports.PositionUpdate) -> list[Message]:
        if update.snapshot:
            self.positions = {p.symbol: p for p in update.positions}
        else:
            for p in update.positions:
                self.positions[p.symbol] = p
        return [{"type": "positions", "positions": [position_json(p) for p in self.positions.values()]}]

    def apply_risk(
        self,
        status: ports.RiskStatus,
        metrics: ports.RiskMetrics | None,
        breaker: ports.BreakerStatus | None,
    ) -> list[Message]:
        if (status, metrics, breaker) == (self.risk, self.metrics, self.breaker):
            return []
        self.risk, self.metrics, self.breaker = status, metrics, breaker
        return [
            {
                "type": "risk",
                "risk": risk_json(status),
                "metrics": metrics_json(metrics),
                "breaker": breaker_json(breaker),
            }
        ]

    def apply_orders(self, orders: Iterable[Order]) -> list[Message]:
        fresh = tuple(orders)
        if fresh == self.orders:
            return []
        self.orders = fresh
        return [{"type": "orders", "orders": [order_json(o) for o in fresh[:MAX_ORDERS]]}]

    def apply_fills(self, fills: Iterable[Fill]) -> list[Message]:
        """Fills in any order, repeats ignored (keyed on trade id): each adds its fee, PnL and volume once."""
        fresh = {f.trade_id: f for f in fills if f.trade_id not in self._fill_ids}  # repeats in one batch too
        new = sorted(fresh.values(), key=lambda f: f.ts_event)
        if not new:
            return []
        out: list[Message] = []
        for fill in new:
            self.fills.append(fill)
            self._fill_ids[fill.trade_id] = None
            if len(self._fill_ids) > MAX_SEEN_FILLS:
                del self._fill_ids[next(iter(self._fill_ids))]
            self.fill_count += 1
            self.fees += fill.fee
            self.realized += fill.realized_pnl or 0
            if self.kline_source == "api" and fill.symbol == self.symbol:
                bar = self.candles.add_volume(fill.price, fill.quantity, fill.ts_event)
                if bar is not None:
                    out.append({"type": "kline", "bar": kline_json(bar)})
        out.append({"type": "fills", "fills": [fill_json(f) for f in new], "totals": self._totals_json()})
        return out

    def apply_alert(self, alert: ports.RiskAlert) -> list[Message]:
        self.alerts.append(alert)
        return [{"type": "alert", "alert": self._alert_json(alert)}]

    def apply_connection(self, connection: Connection) -> list[Message]:
        if connection == self.connection:
            return []
        self.connection = connection
        return [{"type": "conn", "conn": self._conn_json()}]

    # --- from a venue kline feed ----------------------------------------------------------------------------

    def use_venue_klines(self) -> None:
        self.kline_source = "venue"
        self.candles.clear()

    def apply_kline(self, kline: Kline) -> list[Message]:
        self.candles.put(kline)
        return [{"type": "kline", "bar": kline_json(kline)}]

    # --- helpers --------------------------------------------------------------------------------------------

    def totals(self) -> Totals:
        return Totals(fees=self.fees, realized=self.realized, fills=self.fill_count)

    def _totals_json(self) -> Message:
        return {"fees": str(self.fees), "realized": str(self.realized), "fills": self.fill_count}

    def _conn_json(self) -> Message:
        c = self.connection
        return {"up": c.connected, "since": c.since_ms, "error": c.error, "reconnects": c.reconnects}

    @staticmethod
    def _alert_json(a: ports.RiskAlert) -> Message:
        return {"seq": a.sequence, "kind": a.kind, "symbol": a.symbol, "message": a.message, "ts": a.ts_ms}
