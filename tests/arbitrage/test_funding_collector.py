"""`FundingCollector` timing and idempotence on its own: when it reads a leg's income history (only once the
funding time has passed by the delay, following a moved schedule), what it books (bookings of this position,
each id once, the ids already stored skipped), and that it gives up on a funding time that never gets paid."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D
from types import SimpleNamespace
from typing import Any

from opensqt.engines.arbitrage_funding import FundingCollector
from opensqt.exchanges.base import FundingIncome
from opensqt.model import FundingPaid
from opensqt.store import PnlKind, PnlRecord
from opensqt.trading.logic.funding import FundingQuote
from opensqt.trading.state.legs import ArbPosition, Leg, LegRole, Phase

PERP, SPOT = "BTC/USDT:USDT", "BTC/USDT"
OPENED = 1_000_000


class Engine:
    """The three things the collector uses: active positions, funding quotes, `on_funding`."""

    def __init__(self) -> None:
        long = Leg(LegRole.LONG, "spot", SPOT, "spot", D("0.00001"), D("0.001"))
        short = Leg(LegRole.SHORT, "perp", PERP, "perp", D("0.001"), D("0.001"))
        self.position = ArbPosition("pos-1", PERP, long, short, Phase.OPEN, OPENED, OPENED)
        self.closed: list[ArbPosition] = []
        self.legs = SimpleNamespace(
            active=lambda: [] if self.position.phase is Phase.CLOSED else [self.position],
            closed=lambda: list(self.closed),
        )
        self.quotes: dict[tuple[str, str], FundingQuote] = {}
        self.config = SimpleNamespace(bot="bot")
        self.booked: list[tuple[str, D, int, str | None]] = []

    def next_funding(self, ts: int) -> None:
        self.quotes[("perp", PERP)] = FundingQuote("perp", PERP, D("0.001"), D(8), 0, ts)

    def on_funding(
        self, venue: str, paid: FundingPaid, ref: str | None = None, position_id: str | None = None
    ) -> None:
        assert position_id == self.position.position_id
        self.booked.append((venue, paid.amount, paid.ts_event, ref))

    def close(self, ts: int) -> None:
        self.position = replace(self.position, phase=Phase.CLOSED, updated_at=ts)
        self.closed.append(self.position)


class Venue:
    def __init__(self) -> None:
        self.has = {"fetch_funding_history": True}
        self.incomes: list[FundingIncome] = []
        self.reads: list[int | None] = []

    async def fetch_funding_history(self, symbol: str, since_ms: int | None = None) -> list[FundingIncome]:
        self.reads.append(since_ms)
        return [f for f in self.incomes if f.ts_event >= (since_ms or 0)]


def _collector(engine: Engine, venue: Venue, store: Any = None) -> FundingCollector:
    # the spot venue has no income history: only the perp leg is read
    venues: Any = {"perp": venue, "spot": SimpleNamespace(has={})}
    return FundingCollector(engine, venues, store, delay_ms=5_000, give_up_ms=60_000)  # type: ignore[arg-type]


async def test_reads_after_each_funding_time_and_books_each_id_once() -> None:
    engine, venue = Engine(), Venue()
    collector = _collector(engine, venue)
    engine.next_funding(2_000_000)
    venue.incomes.append(FundingIncome("1", PERP, D("0.5"), "USDT", OPENED - 1))  # an earlier position's
    assert await collector.poll(1_990_000) == 0
    engine.next_funding(2_500_000)  # the venue moved its funding time while it was still ahead...
    assert await collector.poll(1_995_000) == 0
    assert await collector.poll(2_005_000) == 0 and venue.reads == []  # ...so 2_000_000 is not awaited
    assert await collector.poll(2_504_999) == 0 and venue.reads == []  # not yet: the delay
    venue.incomes.append(FundingIncome("2", PERP, D("0.06000000"), "USDT", 2_500_000))
    assert await collector.poll(2_505_000) == 1
    assert await collector.poll(2_505_300) == 0  # settled: nothing read until the next funding time
    assert venue.reads == [OPENED]
    assert engine.booked == [("perp", D("0.06000000"), 2_500_000, "income:2")]

    # The next time: the booking is late; read each round until it shows up, from the newest counted.
    engine.next_funding(3_000_000)
    assert await collector.poll(3_005_000) == 0
    venue.incomes.append(FundingIncome("3", PERP, D("-0.01500000"), "USDT", 3_000_000))
    assert await collector.poll(3_006_000) == 1
    assert venue.reads == [OPENED, 2_500_000, 2_500_000]
    assert [b[3] for b in engine.booked] == ["income:2", "income:3"]
    assert sum(b[1] for b in engine.booked) == D("0.045")


async def test_gives_up_on_an_unpaid_funding_time_and_moves_on() -> None:
    engine, venue = Engine(), Venue()
    collector = _collector(engine, venue)
    engine.next_funding(2_000_000)
    await collector.poll(2_005_000)
    engine.next_funding(2_100_000)  # the venue rolled on; the collector still waits on 2_000_000
    await collector.poll(2_059_999)
    assert len(venue.reads) == 2
    await collector.poll(2_060_000)  # give up on 2_000_000...
    await collector.poll(2_070_000)  # ...and wait for 2_100_000: not read before its time
    assert len(venue.reads) == 3 and engine.booked == []


async def test_ids_already_in_the_store_are_not_booked_again() -> None:
    engine, venue = Engine(), Venue()
    row = PnlRecord("bot", "perp", PERP, PnlKind.FUNDING, "income:2", D("0.06"), "USDT", 2_500_000)
    store = SimpleNamespace(pnl=SimpleNamespace(history=lambda bot: [row]))
    collector = _collector(engine, venue, store)
    assert collector.load() == 1
    venue.incomes += [
        FundingIncome("2", PERP, D("0.06000000"), "USDT", 2_500_000),
        FundingIncome("3", PERP, D("0.06000000"), "USDT", 3_000_000),
    ]
    assert await collector.poll(3_100_000, force=True) == 1  # start-up catch-up
    assert venue.reads == [2_500_000]
    assert engine.booked == [("perp", D("0.06000000"), 3_000_000, "income:3")]


async def test_a_booking_that_arrives_after_the_exit_is_still_booked_on_that_position() -> None:
    # The position holds through the 2_000_000 funding time and exits 3 s later, before the venue books the
    # payment (delay 5 s): the collector keeps reading for that funding time and books it, once.
    engine, venue = Engine(), Venue()
    collector = _collector(engine, venue)
    engine.next_funding(2_000_000)
    assert await collector.poll(1_999_000) == 0
    engine.close(2_003_000)
    assert await collector.poll(2_004_000) == 0 and venue.reads == []  # the delay has not passed
    assert await collector.poll(2_005_000) == 0  # read: not booked yet
    venue.incomes += [
        FundingIncome("7", PERP, D("0.06000000"), "USDT", 2_000_000),
        FundingIncome("8", PERP, D("0.05000000"), "USDT", 2_100_000),  # a later position's, not this one's
    ]
    assert await collector.poll(2_006_000) == 1
    assert engine.booked == [("perp", D("0.06000000"), 2_000_000, "income:7")]
    assert await collector.poll(2_200_000) == 0  # settled: the closed position is not read again
    assert venue.reads == [OPENED, OPENED]
