"""Named constructors between stored rows and model objects; the only place that knows both shapes.

Reading is strict: a value that does not parse raises CorruptRowError naming table, row key, column and
what was expected, so a damaged database stops the program instead of trading on a wrong number.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

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
)
from opensqt.store.errors import CorruptRowError
from opensqt.store.records import ArbitrageLeg, AuditRecord, BotRecord, PnlKind, PnlRecord, WorkflowStep
from opensqt.store.types import canonical_decimal, text_to_decimal

E = TypeVar("E", bound=Enum)


class RowReader:
    """Typed access to one row, turning every bad value into a CorruptRowError with full context."""

    def __init__(self, table: str, row: Mapping[Any, Any], key: tuple[str, ...]) -> None:
        self._table = table
        self._row = row
        self._key = ", ".join(f"{k}={row.get(k)!r}" for k in key)

    def fail(self, column: str, expected: str) -> CorruptRowError:
        value = self._row.get(column)
        return CorruptRowError(
            f"table {self._table} row ({self._key}): column {column}: expected {expected}, got {value!r}"
        )

    def text(self, column: str) -> str:
        value = self._row.get(column)
        if not isinstance(value, str):
            raise self.fail(column, "text")
        return value

    def opt_text(self, column: str) -> str | None:
        return None if self._row.get(column) is None else self.text(column)

    def int(self, column: str) -> int:
        value = self._row.get(column)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(column, "an integer")
        return value

    def bool(self, column: str) -> bool:
        value = self._row.get(column)
        if value in (0, 1, True, False) and not isinstance(value, str):
            return bool(value)
        raise self.fail(column, "a boolean")

    def dec(self, column: str) -> Decimal:
        value = self._row.get(column)
        if isinstance(value, str):
            try:
                return text_to_decimal(value)
            except ValueError:
                pass
        raise self.fail(column, "exact decimal text")

    def opt_dec(self, column: str) -> Decimal | None:
        return None if self._row.get(column) is None else self.dec(column)

    def enum(self, column: str, kind: type[E]) -> E:
        value = self._row.get(column)
        try:
            return kind(value)
        except ValueError:
            raise self.fail(column, f"one of {', '.join(str(m.value) for m in kind)}") from None

    def opt_enum(self, column: str, kind: type[E]) -> E | None:
        return None if self._row.get(column) is None else self.enum(column, kind)

    def json(self, column: str) -> dict[str, Any]:
        try:
            value = json.loads(self.text(column))
        except json.JSONDecodeError:
            raise self.fail(column, "a JSON object") from None
        if not isinstance(value, dict):
            raise self.fail(column, "a JSON object")
        return value

    def build(self, what: str, factory: Any, **kwargs: Any) -> Any:
        """Call a model constructor; its own validation failures become CorruptRowError too."""
        try:
            return factory(**kwargs)
        except ValueError as exc:
            raise CorruptRowError(
                f"table {self._table} row ({self._key}): not a valid {what}: {exc}"
            ) from None


# --- orders -------------------------------------------------------------------------------------------


def order_to_row(bot: str, venue: str, order: Order, ts_ms: int) -> dict[str, Any]:
    return {
        "venue": venue,
        "client_order_id": order.client_order_id,
        "bot": bot,
        "venue_order_id": order.venue_order_id,
        "symbol": order.symbol,
        "side": order.side.value,
        "type": order.type.value,
        "time_in_force": order.time_in_force.value,
        "price": order.price,
        "quantity": order.quantity,
        "filled": order.filled,
        "average_price": order.average_price,
        "status": order.status.value,
        "reduce_only": order.reduce_only,
        "post_only": order.post_only,
        "ts_event": order.ts_event,
        "ts_init": order.ts_init,
        "updated": ts_ms,
    }


def order_from_row(row: Mapping[Any, Any]) -> Order:
    r = RowReader("orders", row, ("venue", "client_order_id"))
    order: Order = r.build(
        "order",
        Order,
        client_order_id=r.text("client_order_id"),
        symbol=r.text("symbol"),
        side=r.enum("side", Side),
        type=r.enum("type", OrderType),
        quantity=r.dec("quantity"),
        price=r.opt_dec("price"),
        venue_order_id=r.opt_text("venue_order_id"),
        filled=r.dec("filled"),
        average_price=r.opt_dec("average_price"),
        status=r.enum("status", OrderStatus),
        time_in_force=r.enum("time_in_force", TimeInForce),
        reduce_only=r.bool("reduce_only"),
        ts_event=r.int("ts_event"),
        ts_init=r.int("ts_init"),
    )
    return order


def order_update_key(venue: str, order: Order) -> tuple[str, str, str, str, str]:
    """The idempotency key of an order update: venue order id + cumulative filled + status.

    `filled` is canonical (1.0 and 1.00 are the same progress). Before the venue assigned an id, the
    client order id stands in, prefixed so it cannot collide with a venue id.
    """
    ref = order.venue_order_id if order.venue_order_id else f"cid:{order.client_order_id}"
    return (venue, order.symbol, ref, canonical_decimal(order.filled), order.status.value)


def order_progress(order: Order) -> tuple[Decimal, int, str]:
    """Total order of an order's reports: more filled wins, then a later status; status value breaks ties."""
    return (order.filled, order.status.rank, order.status.value)


# --- fills --------------------------------------------------------------------------------------------


def fill_to_row(bot: str, venue: str, fill: Fill) -> dict[str, Any]:
    return {
        "venue": venue,
        "symbol": fill.symbol,
        "trade_id": fill.trade_id,
        "bot": bot,
        "client_order_id": fill.client_order_id,
        "venue_order_id": fill.venue_order_id,
        "side": fill.side.value,
        "price": fill.price,
        "quantity": fill.quantity,
        "fee": fill.fee,
        "fee_asset": fill.fee_asset,
        "liquidity": fill.liquidity.value,
        "realized_pnl": fill.realized_pnl,
        "ts_event": fill.ts_event,
    }


def fill_from_row(row: Mapping[Any, Any]) -> Fill:
    r = RowReader("fills", row, ("venue", "symbol", "trade_id"))
    fill: Fill = r.build(
        "fill",
        Fill,
        trade_id=r.text("trade_id"),
        client_order_id=r.text("client_order_id"),
        symbol=r.text("symbol"),
        side=r.enum("side", Side),
        price=r.dec("price"),
        quantity=r.dec("quantity"),
        fee=r.dec("fee"),
        fee_asset=r.text("fee_asset"),
        liquidity=r.enum("liquidity", LiquiditySide),
        venue_order_id=r.opt_text("venue_order_id"),
        realized_pnl=r.opt_dec("realized_pnl"),
        ts_event=r.int("ts_event"),
    )
    return fill


# --- slots --------------------------------------------------------------------------------------------


def slot_to_row(bot: str, symbol: str, slot: Slot) -> dict[str, Any]:
    return {
        "bot": bot,
        "symbol": symbol,
        "price": slot.price,
        "slot_status": slot.slot_status.value,
        "position_status": slot.position_status.value,
        "position_qty": slot.position_qty,
        "client_order_id": slot.client_order_id,
        "venue_order_id": slot.venue_order_id,
        "order_side": None if slot.order_side is None else slot.order_side.value,
        "order_price": slot.order_price,
        "order_qty": slot.order_qty,
        "order_status": None if slot.order_status is None else slot.order_status.value,
        "filled_qty": slot.filled_qty,
        "post_only_failures": slot.post_only_failures,
        "attempt": slot.attempt,
        "ts_update": slot.ts_update,
        "position_side": None if slot.position_side is None else slot.position_side.value,
    }


def slot_from_row(row: Mapping[Any, Any]) -> Slot:
    r = RowReader("slots", row, ("bot", "symbol", "price"))
    slot: Slot = r.build(
        "slot",
        Slot,
        price=r.dec("price"),
        slot_status=r.enum("slot_status", SlotStatus),
        position_status=r.enum("position_status", PositionStatus),
        position_qty=r.dec("position_qty"),
        client_order_id=r.opt_text("client_order_id"),
        venue_order_id=r.opt_text("venue_order_id"),
        order_side=r.opt_enum("order_side", Side),
        order_price=r.opt_dec("order_price"),
        order_qty=r.dec("order_qty"),
        order_status=r.opt_enum("order_status", OrderStatus),
        filled_qty=r.dec("filled_qty"),
        post_only_failures=r.int("post_only_failures"),
        attempt=r.int("attempt"),
        ts_update=r.int("ts_update"),
        position_side=r.opt_enum("position_side", Side),
    )
    return slot


# --- positions, PnL -----------------------------------------------------------------------------------


def position_to_row(bot: str, venue: str, p: Position) -> dict[str, Any]:
    return {
        "bot": bot,
        "venue": venue,
        "symbol": p.symbol,
        "size": p.size,
        "entry_price": p.entry_price,
        "unrealized_pnl": p.unrealized_pnl,
        "liquidation_price": p.liquidation_price,
        "leverage": p.leverage,
        "mark_price": p.mark_price,
        "ts_event": p.ts_event,
    }


def position_from_row(row: Mapping[Any, Any]) -> Position:
    r = RowReader("positions", row, ("bot", "venue", "symbol"))
    position: Position = r.build(
        "position",
        Position,
        symbol=r.text("symbol"),
        size=r.dec("size"),
        entry_price=r.dec("entry_price"),
        unrealized_pnl=r.dec("unrealized_pnl"),
        liquidation_price=r.opt_dec("liquidation_price"),
        leverage=r.int("leverage"),
        mark_price=r.opt_dec("mark_price"),
        ts_event=r.int("ts_event"),
    )
    return position


def pnl_to_row(p: PnlRecord) -> dict[str, Any]:
    return {
        "bot": p.bot,
        "venue": p.venue,
        "symbol": p.symbol,
        "kind": p.kind.value,
        "ref_id": p.ref_id,
        "amount": p.amount,
        "asset": p.asset,
        "quantity": p.quantity,
        "entry_price": p.entry_price,
        "exit_price": p.exit_price,
        "ts_event": p.ts_event,
    }


def pnl_from_row(row: Mapping[Any, Any]) -> PnlRecord:
    r = RowReader("pnl_history", row, ("bot", "venue", "symbol", "kind", "ref_id"))
    record: PnlRecord = r.build(
        "PnL entry",
        PnlRecord,
        bot=r.text("bot"),
        venue=r.text("venue"),
        symbol=r.text("symbol"),
        kind=r.enum("kind", PnlKind),
        ref_id=r.text("ref_id"),
        amount=r.dec("amount"),
        asset=r.text("asset"),
        ts_event=r.int("ts_event"),
        quantity=r.opt_dec("quantity"),
        entry_price=r.opt_dec("entry_price"),
        exit_price=r.opt_dec("exit_price"),
    )
    return record


# --- bots, audit, arbitrage, workflows ----------------------------------------------------------------


def bot_from_row(row: Mapping[Any, Any]) -> BotRecord:
    r = RowReader("bots", row, ("name",))
    return BotRecord(
        name=r.text("name"),
        strategy=r.text("strategy"),
        venue=r.text("venue"),
        config_hash=r.text("config_hash"),
        created_at=r.int("created_at"),
        updated_at=r.int("updated_at"),
    )


def audit_to_row(a: AuditRecord) -> dict[str, Any]:
    return {
        "id": a.id,
        "ts": a.ts,
        "who": a.who,
        "action": a.action,
        "target": a.target,
        "result": a.result,
        "details": json.dumps(a.details, sort_keys=True, default=str),
        "bot": a.bot,
    }


def audit_from_row(row: Mapping[Any, Any]) -> AuditRecord:
    r = RowReader("audit_log", row, ("id",))
    return AuditRecord(
        id=r.text("id"),
        ts=r.int("ts"),
        who=r.text("who"),
        action=r.text("action"),
        target=r.text("target"),
        result=r.text("result"),
        details=r.json("details"),
        bot=r.opt_text("bot"),
    )


def leg_to_row(leg: ArbitrageLeg) -> dict[str, Any]:
    return {
        "bot": leg.bot,
        "position_id": leg.position_id,
        "leg": leg.leg,
        "symbol": leg.symbol,
        "venue": leg.venue,
        "product": leg.product,
        "side": leg.side,
        "size": leg.size,
        "entry_price": leg.entry_price,
        "funding_collected": leg.funding_collected,
        "fees": leg.fees,
        "status": leg.status,
        "opened_at": leg.opened_at,
        "updated_at": leg.updated_at,
    }


def leg_from_row(row: Mapping[Any, Any]) -> ArbitrageLeg:
    r = RowReader("arbitrage_legs", row, ("bot", "position_id", "leg"))
    return ArbitrageLeg(
        bot=r.text("bot"),
        position_id=r.text("position_id"),
        leg=r.text("leg"),
        symbol=r.text("symbol"),
        venue=r.text("venue"),
        product=r.text("product"),
        side=r.text("side"),
        size=r.dec("size"),
        entry_price=r.opt_dec("entry_price"),
        funding_collected=r.dec("funding_collected"),
        fees=r.dec("fees"),
        status=r.text("status"),
        opened_at=r.int("opened_at"),
        updated_at=r.int("updated_at"),
    )


def step_to_row(s: WorkflowStep) -> dict[str, Any]:
    return {
        "workflow_id": s.workflow_id,
        "step": s.step,
        "bot": s.bot,
        "kind": s.kind,
        "status": s.status,
        "details": json.dumps(s.details, sort_keys=True, default=str),
        "started_at": s.started_at,
        "updated_at": s.updated_at,
    }


def step_from_row(row: Mapping[Any, Any]) -> WorkflowStep:
    r = RowReader("workflows", row, ("workflow_id", "step"))
    return WorkflowStep(
        workflow_id=r.text("workflow_id"),
        step=r.text("step"),
        bot=r.text("bot"),
        kind=r.text("kind"),
        status=r.text("status"),
        started_at=r.int("started_at"),
        updated_at=r.int("updated_at"),
        details=r.json("details"),
    )
