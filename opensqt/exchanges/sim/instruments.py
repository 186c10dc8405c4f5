"""Default markets of the simulated venue, Binance-like tick, lot, min notional, fees, leverage caps."""

from __future__ import annotations

from decimal import Decimal as D

from opensqt.model import Instrument, InstrumentKind

PERP = InstrumentKind.LINEAR_PERPETUAL
SPOT = InstrumentKind.SPOT


def _perp(base: str, tick: str, lot: str, max_leverage: int) -> Instrument:
    return Instrument(
        symbol=f"{base}/USDT:USDT",
        venue_symbol=f"{base}USDT",
        kind=PERP,
        base=base,
        quote="USDT",
        tick_size=D(tick),
        lot_size=D(lot),
        min_qty=D(lot),
        min_notional=D("5"),
        maker_fee=D("0.0002"),
        taker_fee=D("0.0005"),
        max_leverage=max_leverage,
        venue="sim",
    )


def _spot(base: str, tick: str, lot: str) -> Instrument:
    return Instrument(
        symbol=f"{base}/USDT",
        venue_symbol=f"{base}USDT",
        kind=SPOT,
        base=base,
        quote="USDT",
        tick_size=D(tick),
        lot_size=D(lot),
        min_qty=D(lot),
        min_notional=D("5"),
        maker_fee=D("0.001"),
        taker_fee=D("0.001"),
        max_leverage=1,
        venue="sim",
    )


BTC_USDT_PERP = _perp("BTC", "0.1", "0.001", 125)
ETH_USDT_PERP = _perp("ETH", "0.01", "0.001", 100)
SOL_USDT_PERP = _perp("SOL", "0.01", "1", 50)
XRP_USDT_PERP = _perp("XRP", "0.0001", "0.1", 50)
DOGE_USDT_PERP = _perp("DOGE", "0.00001", "1", 50)
BTC_USDT_SPOT = _spot("BTC", "0.01", "0.00001")
ETH_USDT_SPOT = _spot("ETH", "0.01", "0.0001")

#: Every default market by unified symbol.
DEFAULT_INSTRUMENTS: dict[str, Instrument] = {
    i.symbol: i
    for i in (
        BTC_USDT_PERP,
        ETH_USDT_PERP,
        SOL_USDT_PERP,
        XRP_USDT_PERP,
        DOGE_USDT_PERP,
        BTC_USDT_SPOT,
        ETH_USDT_SPOT,
    )
}
