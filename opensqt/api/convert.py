"""Conversions between opensqt.model / port values and the opensqt.api.v1 messages, both ways.

Decimals travel as strings (empty = None); `from_pb` side functions raise ValueError naming the field for
anything that is not what the API promises, so a bad message is one clear error, not a half-built value.
"""

from __future__ import annotations

from decimal import Decimal

from opensqt.api import ports
from opensqt.api.v1 import common_pb2 as c
from opensqt.api.v1 import grid_pb2 as g
from opensqt.api.v1 import position_pb2 as p
from opensqt.api.v1 import risk_pb2 as r
from opensqt.model import (
    Fill,
    LiquiditySide,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionStatus,
    Side,
    Slot,
    SlotStatus,
    TimeInForce,
    to_decimal,
)

_SIDE = {Side.BUY: c.SIDE_BUY, Side.SELL: c.SIDE_SELL}
_ORDER_TYPE = {OrderType.LIMIT: c.ORDER_TYPE_LIMIT, OrderType.MARKET: c.ORDER_TYPE_MARKET}
_TIF = {
    TimeInForce.GTC: c.TIME_IN_FORCE_GTC,
    TimeInForce.IOC: c.TIME_IN_FORCE_IOC,
    TimeInForce.FOK: c.TIME_IN_FORCE_FOK,
    TimeInForce.POST_ONLY: c.TIME_IN_FORCE_POST_ONLY,
}
_ORDER_STATUS = {
    OrderStatus.NEW: c.ORDER_STATUS_NEW,
    OrderStatus.PARTIALLY_FILLED: c.ORDER_STATUS_PARTIALLY_FILLED,
    OrderStatus.FILLED: c.ORDER_STATUS_FILLED,
    OrderStatus.CANCELED: c.ORDER_STATUS_CANCELED,
    OrderStatus.REJECTED: c.ORDER_STATUS_REJECTED,
    OrderStatus.EXPIRED: c.ORDER_STATUS_EXPIRED,
}
_LIQUIDITY = {LiquiditySide.MAKER: c.LIQUIDITY_MAKER, LiquiditySide.TAKER: c.LIQUIDITY_TAKER}
_SLOT_STATUS = {
    SlotStatus.FREE: g.SLOT_STATUS_FREE,
    SlotStatus.PENDING: g.SLOT_STATUS_PENDING,
    SlotStatus.LOCKED: g.SLOT_STATUS_LOCKED,
}
_POSITION_STATUS = {
    PositionStatus.EMPTY: g.POSITION_STATUS_EMPTY,
    PositionStatus.FILLED: g.POSITION_STATUS_FILLED,
}


def _rev(table: dict[object, int]) -> dict[int, object]:
    return {v: k for k, v in table.items()}


_SIDE_R = _rev(_SIDE)  # type: ignore[arg-type]
_ORDER_TYPE_R = _rev(_ORDER_TYPE)  # type: ignore[arg-type]
_TIF_R = _rev(_TIF)  # type: ignore[arg-type]
_ORDER_STATUS_R = _rev(_ORDER_STATUS)  # type: ignore[arg-type]
_LIQUIDITY_R = _rev(_LIQUIDITY)  # type: ignore[arg-type]
_SLOT_STATUS_R = _rev(_SLOT_STATUS)  # type: ignore[arg-type]
_POSITION_STATUS_R = _rev(_POSITION_STATUS)  # type: ignore[arg-type]


# --- small helpers ----------------------------------------------------------------------------------------


def dec(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def opt_dec(text: str, field: str) -> Decimal | None:
    return None if text == "" else to_decimal(text, field)


def req_dec(text: str, field: str) -> Decimal:
    if text == "":
        raise ValueError(f"{field}: expected a decimal number, got an empty string")
    return to_decimal(text, field)


def _enum(table: dict[int, object], value: int, field: str) -> object:
    try:
        return table[value]
    except KeyError:
        raise ValueError(f"{field}: unexpected enum value {value}") from None


def _opt_enum(table: dict[int, object], value: int, field: str) -> object:
    return None if value == 0 else _enum(table, value, field)


# --- model -> pb ------------------------------------------------------------------------------------------


def slot_to_pb(slot: Slot) -> g.Slot:
    return g.Slot(
        price=str(slot.price),
        slot_status=_SLOT_STATUS[slot.slot_status],
        position_status=_POSITION_STATUS[slot.position_status],
        position_qty=str(slot.position_qty),
        client_order_id=slot.client_order_id or "",
        venue_order_id=slot.venue_order_id or "",
        order_side=_SIDE[slot.order_side] if slot.order_side is not None else c.SIDE_UNSPECIFIED,
        order_price=dec(slot.order_price),
        order_qty=str(slot.order_qty),
        order_status=(
            _ORDER_STATUS[slot.order_status] if slot.order_status is not None else c.ORDER_STATUS_UNSPECIFIED
        ),
        filled_qty=str(slot.filled_qty),
        post_only_failures=slot.post_only_failures,
        attempt=slot.attempt,
        ts_update_ms=slot.ts_update,
        position_side=_SIDE[slot.position_side] if slot.position_side is not None else c.SIDE_UNSPECIFIED,
    )


def order_to_pb(order: Order) -> c.Order:
    return c.Order(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        side=_SIDE[order.side],
        type=_ORDER_TYPE[order.type],
        quantity=str(order.quantity),
        price=dec(order.price),
        venue_order_id=order.venue_order_id or "",
        filled=str(order.filled),
        average_price=dec(order.average_price),
        status=_ORDER_STATUS[order.status],
        time_in_force=_TIF[order.time_in_force],
        reduce_only=order.reduce_only,
        ts_event_ms=order.ts_event,
        ts_init_ms=order.ts_init,
    )


def fill_to_pb(fill: Fill) -> c.Fill:
    return c.Fill(
        trade_id=fill.trade_id,
        client_order_id=fill.client_order_id,
        symbol=fill.symbol,
        side=_SIDE[fill.side],
        price=str(fill.price),
        quantity=str(fill.quantity),
        fee=str(fill.fee),
        fee_asset=fill.fee_asset,
        liquidity=_LIQUIDITY[fill.liquidity],
        venue_order_id=fill.venue_order_id or "",
        realized_pnl=dec(fill.realized_pnl),
        ts_event_ms=fill.ts_event,
    )


def position_to_pb(position: Position) -> c.Position:
    return c.Position(
        symbol=position.symbol,
        size=str(position.size),
        entry_price=str(position.entry_price),
        unrealized_pnl=str(position.unrealized_pnl),
        liquidation_price=dec(position.liquidation_price),
        leverage=position.leverage,
        mark_price=dec(position.mark_price),
        ts_event_ms=position.ts_event,
    )


def slot_snapshot_to_pb(snap: ports.SlotSnapshot) -> g.SlotSnapshot:
    return g.SlotSnapshot(
        symbol=snap.symbol,
        version=snap.version,
        epoch=snap.epoch,
        centre_price=dec(snap.centre_price),
        last_price=dec(snap.last_price),
        slots=[slot_to_pb(s) for s in snap.slots],
        ts_ms=snap.ts_ms,
    )


def slot_update_to_pb(update: ports.SlotUpdate) -> g.SlotUpdate:
    return g.SlotUpdate(
        symbol=update.symbol,
        version=update.version,
        epoch=update.epoch,
        snapshot=update.snapshot,
        slots=[slot_to_pb(s) for s in update.slots],
        removed_prices=[str(x) for x in update.removed_prices],
        centre_price=dec(update.centre_price),
        last_price=dec(update.last_price),
        ts_ms=update.ts_ms,
    )


def engine_status_to_pb(status: ports.EngineStatus) -> g.EngineStatus:
    return g.EngineStatus(
        running=status.running,
        paused_reasons=list(status.paused_reasons),
        symbol=status.symbol,
        last_price=dec(status.last_price),
        centre_price=dec(status.centre_price),
        interval=dec(status.interval),
        ts_ms=status.ts_ms,
    )


def risk_status_to_pb(status: ports.RiskStatus) -> r.RiskStatus:
    return r.RiskStatus(
        triggered=status.triggered,
        since_ms=status.since_ms,
        strategy=status.strategy,
        symbols=[
            r.SymbolRisk(symbol=s.symbol, state=s.state, reason=s.reason, volatility=dec(s.volatility))
            for s in status.symbols
        ],
    )


def risk_metrics_to_pb(metrics: ports.RiskMetrics) -> r.RiskMetrics:
    return r.RiskMetrics(
        total_exposure=str(metrics.total_exposure),
        equity=dec(metrics.equity),
        peak_equity=dec(metrics.peak_equity),
        drawdown=dec(metrics.drawdown),
        limits=[
            r.PositionLimit(
                symbol=x.symbol,
                position_size=str(x.position_size),
                position_notional=str(x.position_notional),
                max_notional=dec(x.max_notional),
            )
            for x in metrics.limits
        ],
        ts_ms=metrics.ts_ms,
    )


def breaker_to_pb(status: ports.BreakerStatus) -> r.CircuitBreakerStatus:
    return r.CircuitBreakerStatus(
        open=status.is_open,
        reason=status.reason,
        detail=status.detail,
        actor=status.actor,
        since_ms=status.since_ms,
    )


def reconciliation_to_pb(status: ports.ReconciliationStatus) -> r.ReconciliationStatus:
    return r.ReconciliationStatus(
        state=status.state,
        run_id=status.run_id,
        started_ms=status.started_ms,
        finished_ms=status.finished_ms,
        in_sync=status.in_sync,
        message=status.message,
        divergences=[
            r.Divergence(
                symbol=d.symbol,
                local_size=str(d.local_size),
                venue_size=str(d.venue_size),
                divergence=str(d.divergence),
            )
            for d in status.divergences
        ],
    )


def alert_to_pb(alert: ports.RiskAlert) -> r.RiskAlert:
    return r.RiskAlert(
        sequence=alert.sequence,
        kind=alert.kind,
        symbol=alert.symbol,
        message=alert.message,
        ts_ms=alert.ts_ms,
    )


def position_update_to_pb(update: ports.PositionUpdate) -> p.PositionUpdate:
    return p.PositionUpdate(
        version=update.version,
        epoch=update.epoch,
        snapshot=update.snapshot,
        positions=[position_to_pb(x) for x in update.positions],
        ts_ms=update.ts_ms,
    )


def pnl_to_pb(point: ports.PnlPoint) -> p.PnlPoint:
    return p.PnlPoint(
        ts_ms=point.ts_ms, symbol=point.symbol, realized=str(point.realized), unrealized=str(point.unrealized)
    )


# --- pb -> model (client side) ----------------------------------------------------------------------------


def slot_from_pb(m: g.Slot, where: str = "slot") -> Slot:
    return Slot(
        price=req_dec(m.price, f"{where}.price"),
        slot_status=_enum(_SLOT_STATUS_R, m.slot_status, f"{where}.slot_status"),  # type: ignore[arg-type]
        position_status=_enum(  # type: ignore[arg-type]
            _POSITION_STATUS_R, m.position_status, f"{where}.position_status"
        ),
        position_qty=req_dec(m.position_qty, f"{where}.position_qty"),
        client_order_id=m.client_order_id or None,
        venue_order_id=m.venue_order_id or None,
        order_side=_opt_enum(_SIDE_R, m.order_side, f"{where}.order_side"),  # type: ignore[arg-type]
        order_price=opt_dec(m.order_price, f"{where}.order_price"),
        order_qty=req_dec(m.order_qty, f"{where}.order_qty"),
        order_status=_opt_enum(_ORDER_STATUS_R, m.order_status, f"{where}.order_status"),  # type: ignore[arg-type]
        filled_qty=req_dec(m.filled_qty, f"{where}.filled_qty"),
        post_only_failures=m.post_only_failures,
        attempt=m.attempt,
        ts_update=m.ts_update_ms,
        position_side=_opt_enum(_SIDE_R, m.position_side, f"{where}.position_side"),  # type: ignore[arg-type]
    )


def order_from_pb(m: c.Order, where: str = "order") -> Order:
    return Order(
        client_order_id=m.client_order_id,
        symbol=m.symbol,
        side=_enum(_SIDE_R, m.side, f"{where}.side"),  # type: ignore[arg-type]
        type=_enum(_ORDER_TYPE_R, m.type, f"{where}.type"),  # type: ignore[arg-type]
        quantity=req_dec(m.quantity, f"{where}.quantity"),
        price=opt_dec(m.price, f"{where}.price"),
        venue_order_id=m.venue_order_id or None,
        filled=req_dec(m.filled, f"{where}.filled"),
        average_price=opt_dec(m.average_price, f"{where}.average_price"),
        status=_enum(_ORDER_STATUS_R, m.status, f"{where}.status"),  # type: ignore[arg-type]
        time_in_force=_enum(_TIF_R, m.time_in_force, f"{where}.time_in_force"),  # type: ignore[arg-type]
        reduce_only=m.reduce_only,
        ts_event=m.ts_event_ms,
        ts_init=m.ts_init_ms,
    )


def fill_from_pb(m: c.Fill, where: str = "fill") -> Fill:
    return Fill(
        trade_id=m.trade_id,
        client_order_id=m.client_order_id,
        symbol=m.symbol,
        side=_enum(_SIDE_R, m.side, f"{where}.side"),  # type: ignore[arg-type]
        price=req_dec(m.price, f"{where}.price"),
        quantity=req_dec(m.quantity, f"{where}.quantity"),
        fee=req_dec(m.fee, f"{where}.fee"),
        fee_asset=m.fee_asset,
        liquidity=_enum(_LIQUIDITY_R, m.liquidity, f"{where}.liquidity"),  # type: ignore[arg-type]
        venue_order_id=m.venue_order_id or None,
        realized_pnl=opt_dec(m.realized_pnl, f"{where}.realized_pnl"),
        ts_event=m.ts_event_ms,
    )


def position_from_pb(m: c.Position, where: str = "position") -> Position:
    return Position(
        symbol=m.symbol,
        size=req_dec(m.size, f"{where}.size"),
        entry_price=req_dec(m.entry_price, f"{where}.entry_price"),
        unrealized_pnl=req_dec(m.unrealized_pnl, f"{where}.unrealized_pnl"),
        liquidation_price=opt_dec(m.liquidation_price, f"{where}.liquidation_price"),
        leverage=m.leverage,
        mark_price=opt_dec(m.mark_price, f"{where}.mark_price"),
        ts_event=m.ts_event_ms,
    )


def _opt_int(m: object, name: str) -> int | None:
    return getattr(m, name) if m.HasField(name) else None  # type: ignore[attr-defined]


def slot_snapshot_from_pb(m: g.SlotSnapshot) -> ports.SlotSnapshot:
    return ports.SlotSnapshot(
        symbol=m.symbol,
        version=m.version,
        epoch=m.epoch,
        centre_price=opt_dec(m.centre_price, "centre_price"),
        last_price=opt_dec(m.last_price, "last_price"),
        slots=tuple(slot_from_pb(s, f"slots[{i}]") for i, s in enumerate(m.slots)),
        ts_ms=m.ts_ms,
    )


def slot_update_from_pb(m: g.SlotUpdate) -> ports.SlotUpdate:
    return ports.SlotUpdate(
        symbol=m.symbol,
        version=m.version,
        epoch=m.epoch,
        snapshot=m.snapshot,
        slots=tuple(slot_from_pb(s, f"slots[{i}]") for i, s in enumerate(m.slots)),
        removed_prices=tuple(req_dec(x, f"removed_prices[{i}]") for i, x in enumerate(m.removed_prices)),
        centre_price=opt_dec(m.centre_price, "centre_price"),
        last_price=opt_dec(m.last_price, "last_price"),
        ts_ms=m.ts_ms,
    )


def engine_status_from_pb(m: g.EngineStatus) -> ports.EngineStatus:
    return ports.EngineStatus(
        running=m.running,
        paused_reasons=tuple(m.paused_reasons),
        symbol=m.symbol,
        last_price=opt_dec(m.last_price, "last_price"),
        centre_price=opt_dec(m.centre_price, "centre_price"),
        interval=opt_dec(m.interval, "interval"),
        ts_ms=m.ts_ms,
    )


def risk_status_from_pb(m: r.RiskStatus) -> ports.RiskStatus:
    return ports.RiskStatus(
        triggered=m.triggered,
        since_ms=_opt_int(m, "since_ms"),
        strategy=m.strategy,
        symbols=tuple(
            ports.SymbolRiskStatus(
                s.symbol, s.state, s.reason, opt_dec(s.volatility, f"symbols[{i}].volatility")
            )
            for i, s in enumerate(m.symbols)
        ),
    )


def risk_metrics_from_pb(m: r.RiskMetrics) -> ports.RiskMetrics:
    return ports.RiskMetrics(
        total_exposure=req_dec(m.total_exposure, "total_exposure"),
        equity=opt_dec(m.equity, "equity"),
        peak_equity=opt_dec(m.peak_equity, "peak_equity"),
        drawdown=opt_dec(m.drawdown, "drawdown"),
        limits=tuple(
            ports.PositionLimit(
                symbol=x.symbol,
                position_size=req_dec(x.position_size, f"limits[{i}].position_size"),
                position_notional=req_dec(x.position_notional, f"limits[{i}].position_notional"),
                max_notional=opt_dec(x.max_notional, f"limits[{i}].max_notional"),
            )
            for i, x in enumerate(m.limits)
        ),
        ts_ms=m.ts_ms,
    )


def breaker_from_pb(m: r.CircuitBreakerStatus) -> ports.BreakerStatus:
    return ports.BreakerStatus(
        is_open=m.open, reason=m.reason, detail=m.detail, actor=m.actor, since_ms=_opt_int(m, "since_ms")
    )


def reconciliation_from_pb(m: r.ReconciliationStatus) -> ports.ReconciliationStatus:
    return ports.ReconciliationStatus(
        state=m.state,
        run_id=m.run_id,
        started_ms=_opt_int(m, "started_ms"),
        finished_ms=_opt_int(m, "finished_ms"),
        in_sync=m.in_sync,
        message=m.message,
        divergences=tuple(
            ports.Divergence(
                symbol=d.symbol,
                local_size=req_dec(d.local_size, f"divergences[{i}].local_size"),
                venue_size=req_dec(d.venue_size, f"divergences[{i}].venue_size"),
                divergence=req_dec(d.divergence, f"divergences[{i}].divergence"),
            )
            for i, d in enumerate(m.divergences)
        ),
    )


def alert_from_pb(m: r.RiskAlert) -> ports.RiskAlert:
    return ports.RiskAlert(
        sequence=m.sequence, kind=m.kind, symbol=m.symbol, message=m.message, ts_ms=m.ts_ms
    )


def position_update_from_pb(m: p.PositionUpdate) -> ports.PositionUpdate:
    return ports.PositionUpdate(
        version=m.version,
        epoch=m.epoch,
        snapshot=m.snapshot,
        positions=tuple(position_from_pb(x, f"positions[{i}]") for i, x in enumerate(m.positions)),
        ts_ms=m.ts_ms,
    )


def pnl_from_pb(m: p.PnlPoint, where: str = "point") -> ports.PnlPoint:
    return ports.PnlPoint(
        ts_ms=m.ts_ms,
        symbol=m.symbol,
        realized=req_dec(m.realized, f"{where}.realized"),
        unrealized=req_dec(m.unrealized, f"{where}.unrealized"),
    )
