"""`FundingCollector`: on real venues, books on each perp leg the funding its venue actually paid or charged,
read from the venue's income history (`fetch_funding_history`) after each funding time.

Why read it rather than compute it: the venue's figure is the money (its mark price, its rounding, its own
rate), and the only one that reconciles with the account. Each booking is counted once, keyed on the venue's
id of it (Binance `tranId`): the id becomes the PnL row's ref (`income:<id>`), the store refuses a second
row with it, and on restart the ids already in the store are loaded so nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from loguru import logger

from opensqt.engines.arbitrage_engine import ArbitrageEngine
from opensqt.exchanges.base import Exchange, FundingHistorySource
from opensqt.exchanges.errors import VenueError
from opensqt.model import ZERO, FundingPaid
from opensqt.store import PnlKind, Store
from opensqt.trading.state.legs import ArbPosition, Phase

REF_PREFIX = "income:"
_RECENTLY_CLOSED = 8  # closed positions looked at for a late booking (the newest)


@dataclass
class FundingCollector:
    """Call `load()` once at start, then `poll(now_ms)` every decision round (`force` reads every leg now,
    e.g. at start to catch up on what was paid while the bot was down)."""

    engine: ArbitrageEngine
    venues: Mapping[str, Exchange]
    store: Store | None = None
    # The venue books funding shortly after the funding time: first read then, and keep reading each round
    # until that time's booking shows up or `give_up_ms` has passed (a flat leg at that time gets none).
    delay_ms: int = 10_000
    give_up_ms: int = 600_000
    _counted: set[tuple[str, str, str]] = field(default_factory=set)  # (venue, symbol, income id)
    _cursor: dict[tuple[str, str], int] = field(default_factory=dict)  # newest booking counted, per leg
    _waiting: dict[tuple[str, str], int] = field(default_factory=dict)  # funding time awaiting its booking
    _handled: dict[tuple[str, str], int] = field(default_factory=dict)  # last funding time settled

    def load(self) -> int:
        """The bookings already counted (the store's funding rows with a venue id). Returns how many."""
        if self.store is None:
            return 0
        for row in self.store.pnl.history(self.engine.config.bot):
            if row.kind is PnlKind.FUNDING and row.ref_id.startswith(REF_PREFIX):
                self._counted.add((row.venue, row.symbol, row.ref_id.removeprefix(REF_PREFIX)))
                key = (row.venue, row.symbol)
                self._cursor[key] = max(self._cursor.get(key, 0), row.ts_event)
        return len(self._counted)

    async def poll(self, now_ms: int, *, force: bool = False) -> int:
        """Read the income history of every perp leg whose funding time has come; book what is new.
        Returns how many bookings were added."""
        added = 0
        for pos in self._positions():
            closed_at = pos.updated_at if pos.phase is Phase.CLOSED else None
            for leg in (pos.long, pos.short):
                exchange = self.venues.get(leg.venue)
                if leg.product != "perp" or not isinstance(exchange, FundingHistorySource):
                    continue
                if not exchange.has.get("fetch_funding_history", True):
                    continue
                key = (leg.venue, leg.symbol)
                if closed_at is not None and not self._owed(key, pos.opened_at, closed_at):
                    continue
                due = self._due(key, now_ms)
                if not force and (due is None or now_ms < due + self.delay_ms):
                    continue
                since = max(pos.opened_at, self._cursor.get(key, 0))
                try:
                    incomes = await exchange.fetch_funding_history(leg.symbol, since)
                except VenueError as exc:  # read again next round
                    logger.warning("{}: funding history of {} unavailable ({})", leg.venue, leg.symbol, exc)
                    continue
                arrived = False
                for income in incomes:
                    if income.ts_event < pos.opened_at:
                        continue  # paid to an earlier position on this market
                    if closed_at is not None and income.ts_event > closed_at:
                        continue  # paid to a later position on this market
                    arrived = arrived or (due is not None and income.ts_event >= due)
                    if (leg.venue, leg.symbol, income.income_id) in self._counted:
                        continue
                    self._counted.add((leg.venue, leg.symbol, income.income_id))
                    self._cursor[key] = max(self._cursor.get(key, 0), income.ts_event)
                    paid = FundingPaid(leg.symbol, income.amount, ZERO, income.ts_event)  # no rate on the row
                    self.engine.on_funding(
                        leg.venue, paid, ref=f"{REF_PREFIX}{income.income_id}", position_id=pos.position_id
                    )
                    added += 1
                if due is not None and (arrived or now_ms >= due + self.give_up_ms):
                    if not arrived:
                        logger.warning("{}: no funding booked on {} for {}", leg.venue, leg.symbol, due)
                    self._handled[key] = due
                    self._waiting.pop(key, None)
        return added

    def _positions(self) -> list[ArbPosition]:
        """Positions held, then closed ones that may still be owed a booking (see `_owed`)."""
        closed = [p for p in self.engine.legs.closed() if p.phase is Phase.CLOSED]
        return [*self.engine.legs.active(), *closed[-_RECENTLY_CLOSED:]]

    def _owed(self, key: tuple[str, str], opened_at: int, closed_at: int) -> bool:
        """A closed position is read for the funding time it was waiting on when it closed: the venue books a
        payment shortly after the funding time, and an exit in that delay must not lose it."""
        waiting = self._waiting.get(key)
        return waiting is not None and opened_at <= waiting <= closed_at

    def _due(self, key: tuple[str, str], now_ms: int) -> int | None:
        """The funding time this leg waits on: one that has passed and whose booking is awaited, else the
        venue's next one not yet settled (re-read each round: a venue may move it, e.g. a new interval)."""
        waiting = self._waiting.get(key)
        if waiting is not None and waiting <= now_ms:
            return waiting
        quote = self.engine.quotes.get(key)
        upcoming = quote.next_funding_time if quote is not None else 0
        if upcoming and upcoming > self._handled.get(key, 0):
            self._waiting[key] = upcoming
            return upcoming
        return waiting
