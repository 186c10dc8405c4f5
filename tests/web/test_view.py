"""LiveView and CandleBuilder: exact messages and totals; Hypothesis invariants for candles and fills."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from opensqt.api.ports import SlotUpdate
from opensqt.model import Fill, LiquiditySide, Side, Slot, SlotStatus
from opensqt.web.klines import CandleBuilder
from opensqt.web.view import Connection, LiveView

T0 = 1_767_225_600_000


def fill(n: int, price: str, qty: str, fee: str, pnl: str | None, ts: int, side: Side = Side.BUY) -> Fill:
    return Fill(
        trade_id=f"t{n}",
        client_order_id=f"c{n}",
        symbol="BTCUSDT",
        side=side,
        price=Decimal(price),
        quantity=Decimal(qty),
        fee=Decimal(fee),
        fee_asset="USDT",
        liquidity=LiquiditySide.MAKER,
        realized_pnl=None if pnl is None else Decimal(pnl),
        ts_event=ts,
    )


def update(
    version: int, slots: tuple[Slot, ...], snapshot: bool, last: str | None, removed: tuple[str, ...] = ()
) -> SlotUpdate:
    return SlotUpdate(
        symbol="BTCUSDT",
        version=version,
        epoch="e1",
        snapshot=snapshot,
        slots=slots,
        removed_prices=tuple(Decimal(p) for p in removed),
        centre_price=Decimal("27000"),
        last_price=None if last is None else Decimal(last),
        ts_ms=T0 + version * 1000,
    )


def test_slot_snapshot_then_changes_give_exact_messages() -> None:
    view = LiveView("BTCUSDT")
    a, b = Slot(Decimal("26990")), Slot(Decimal("27010"))
    out = view.apply_slots(update(1, (b, a), True, "27000.5"))
    assert [m["type"] for m in out] == ["slots", "price", "kline"]
    assert out[0]["full"] is True and [s["price"] for s in out[0]["slots"]] == ["26990", "27010"]
    assert out[2]["bar"] == {
        "t": T0,
        "o": "27000.5",
        "h": "27000.5",
        "l": "27000.5",
        "c": "27000.5",
        "v": "0",
    }
    locked = Slot(
        Decimal("26990"),
        slot_status=SlotStatus.LOCKED,
        order_side=Side.BUY,
        order_price=Decimal("26990"),
        order_qty=Decimal("0.010"),
    )
    out = view.apply_slots(update(2, (locked,), False, "26995", removed=("27010",)))
    assert out[0] == {
        "type": "slots",
        "full": False,
        "epoch": "e1",
        "version": 2,
        "slots": [
            {
                "price": "26990",
                "status": "LOCKED",
                "pos": "EMPTY",
                "qty": "0",
                "pside": None,
                "side": "buy",
                "oprice": "26990",
                "oqty": "0.010",
                "ostatus": None,
                "filled": "0",
                "coid": None,
                "pof": 0,
            }
        ],
        "removed": ["27010"],
        "centre": "27000",
    }
    assert list(view.slots) == [Decimal("26990")]
    assert out[2]["bar"] == {"t": T0, "o": "27000.5", "h": "27000.5", "l": "26995", "c": "26995", "v": "0"}


def test_fills_counted_once_with_exact_totals() -> None:
    view = LiveView("BTCUSDT")
    f1 = fill(1, "26990", "0.010", "0.05398", None, T0 + 5_000)
    f2 = fill(2, "27000", "0.010", "0.054", "0.1", T0 + 65_000, Side.SELL)
    view.apply_fills([f2, f1])
    assert view.apply_fills([f1, f2]) == []  # the next poll returns the same page
    t = view.totals()
    assert (t.fees, t.realized, t.fills) == (Decimal("0.10798"), Decimal("0.1"), 2)
    # Our fills' quantity is the volume of the API-built candles.
    assert [(k.open_time, k.volume) for k in view.candles.bars()] == [
        (T0, Decimal("0.010")),
        (T0 + 60_000, Decimal("0.010")),
    ]


def test_connection_changes_only_when_different() -> None:
    view = LiveView()
    assert view.apply_connection(Connection(False, T0, "UNAVAILABLE")) == [
        {"type": "conn", "conn": {"up": False, "since": T0, "error": "UNAVAILABLE", "reconnects": 0}}
    ]
    assert view.apply_connection(Connection(False, T0, "UNAVAILABLE")) == []


prices = st.decimals(min_value=Decimal("1"), max_value=Decimal("100000"), places=2)


@given(st.lists(st.tuples(prices, st.integers(0, 10 * 60_000)), min_size=1, max_size=60))
def test_candles_hold_every_price_they_saw(points: list[tuple[Decimal, int]]) -> None:
    builder = CandleBuilder("X", 60_000, max_bars=1000)
    points = sorted(points, key=lambda p: p[1])
    for price, ts in points:
        builder.add_price(price, T0 + ts)
    for bar in builder.bars():
        inside = [p for p, ts in points if bar.open_time <= T0 + ts < bar.open_time + 60_000]
        assert (bar.open, bar.close) == (inside[0], inside[-1])
        assert (bar.high, bar.low) == (max(inside), min(inside))
    assert len(builder.bars()) == len({(T0 + ts) // 60_000 for _, ts in points})


@given(
    st.lists(
        st.tuples(st.integers(0, 30), st.decimals(min_value=Decimal("0"), max_value=Decimal("5"), places=4)),
        min_size=1,
        max_size=40,
    ),
    st.randoms(use_true_random=False),
)
def test_fill_totals_ignore_order_and_repeats(items: list[tuple[int, Decimal]], rnd: object) -> None:
    fills = {n: fill(n, "100", "1", str(fee), str(-fee), T0 + n * 1000) for n, fee in items}
    expected = sum((f.fee for f in fills.values()), Decimal(0))
    replay = list(fills.values()) * 2
    rnd.shuffle(replay)  # type: ignore[attr-defined]
    view = LiveView("BTCUSDT")
    for chunk in range(0, len(replay), 3):
        view.apply_fills(replay[chunk : chunk + 3])
    assert view.totals().fees == expected
    assert view.totals().realized == -expected
    assert view.totals().fills == len(fills)


def test_candle_builder_keeps_at_most_max_bars() -> None:
    builder = CandleBuilder("X", 60_000, max_bars=3)
    for i in range(5):
        builder.add_price(Decimal(100 + i), T0 + i * 60_000)
    assert [b.open_time for b in builder.bars()] == [T0 + 120_000, T0 + 180_000, T0 + 240_000]
    assert builder.add_volume(Decimal(1), Decimal(1), T0) is None  # older than anything kept
