"""Order cleanup decisions: which open orders to cancel when there are too many of them or they are too old,
so stale quotes do not pile up and eat the venue's order limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from opensqt.model import ZERO, CancelOrder, Order, Side


@dataclass(frozen=True, slots=True)
class CleanupConfig:
    """Legacy defaults: threshold 50, batch 10. `max_age_ms` None: no age limit. `client_id_prefix` limits
    cleanup to our own orders (empty: every order given)."""

    threshold: int = 50
    batch_size: int = 10
    max_age_ms: int | None = None
    client_id_prefix: str = ""

    def __post_init__(self) -> None:
        if self.threshold < 0:
            raise ValueError(f"order_cleanup_threshold: expected >= 0, got {self.threshold}")
        if self.batch_size < 1:
            raise ValueError(f"cleanup_batch_size: expected >= 1, got {self.batch_size}")
        if self.max_age_ms is not None and self.max_age_ms < 1:
            raise ValueError(f"cleanup max_age_ms: expected >= 1 or None, got {self.max_age_ms}")


def order_age_ms(order: Order, now_ms: int) -> int | None:
    """Age since we created the order (`ts_init`), else since the venue's time; None when neither is known."""
    born = order.ts_init or order.ts_event
    return None if born <= 0 else now_ms - born


def _distance(order: Order, price: Decimal) -> Decimal:
    return ZERO if order.price is None else abs(order.price - price)


def decide_cleanup(
    open_orders: Sequence[Order], price: Decimal, now_ms: int, params: CleanupConfig
) -> list[CancelOrder]:
    """Cancels, in order: every order older than `max_age_ms` (oldest first, partially filled ones included),
    then, while more than `threshold` orders would remain, up to `batch_size` of the larger side (buys on a
    tie), furthest from `price` first. A partially filled order is cancelled only when stale."""
    if price <= 0:
        raise ValueError(f"cleanup price: expected > 0, got {price}")
    ours = [o for o in open_orders if o.is_open and o.client_order_id.startswith(params.client_id_prefix)]
    cancels: list[CancelOrder] = []
    stale_ids: set[str] = set()
    if params.max_age_ms is not None:
        limit = params.max_age_ms
        aged = [(age, o) for o in ours if (age := order_age_ms(o, now_ms)) is not None and age > limit]
        aged.sort(key=lambda pair: (-pair[0], pair[1].client_order_id))
        for age, order in aged:
            stale_ids.add(order.client_order_id)
            cancels.append(_cancel(order, f"cleanup: age {age} ms > max age {limit} ms"))

    remaining = [o for o in ours if o.client_order_id not in stale_ids]
    if len(remaining) <= params.threshold:
        return cancels
    buys = [o for o in remaining if o.side is Side.BUY]
    sells = [o for o in remaining if o.side is Side.SELL]
    side, pool = (Side.BUY, buys) if len(buys) >= len(sells) else (Side.SELL, sells)
    eligible = [o for o in pool if o.filled == 0]
    # Furthest first; among equals the oldest, then by id, so the choice is deterministic.
    eligible.sort(key=lambda o: (-_distance(o, price), o.ts_init or o.ts_event, o.client_order_id))
    reason = (
        f"cleanup: {len(remaining)} open orders > threshold {params.threshold}; "
        f"{len(pool)} {side.value}s is the larger side, furthest from {price} first"
    )
    cancels.extend(_cancel(o, reason) for o in eligible[: params.batch_size])
    return cancels


def _cancel(order: Order, reason: str) -> CancelOrder:
    return CancelOrder(
        client_order_id=order.client_order_id,
        symbol=order.symbol,
        venue_order_id=order.venue_order_id,
        reason=reason,
    )
