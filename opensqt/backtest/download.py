"""Market data download for backtests through ccxt (`opensqt.exchanges.factory.build_exchange`): klines,
public trades and funding history, paged by time, paced, with backoff on rate limits, cached per UTC day
as Parquet (a day is cached once it is complete)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
from loguru import logger

from opensqt.exchanges.errors import NetworkError, RateLimited, VenueError
from opensqt.model import timeframe_ms

DAY_MS = 86_400_000
KLINE_COLUMNS = ("timestamp", "open", "high", "low", "close", "volume")


class Downloader:
    def __init__(
        self,
        venue: str,
        symbol: str,
        directory: Path,
        *,
        page: int = 1000,
        pause: float = 0.2,
        base_url: str | None = None,
        retries: int = 5,
        now_ms: int | None = None,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.directory = directory / venue / symbol.replace("/", "-").replace(":", "_")
        self.page = page
        self.pause = pause
        self.base_url = base_url
        self.retries = retries
        self.now_ms = now_ms
        self.requests = 0
        self.cache_hits = 0
        self.notes: list[str] = []
        self._exchange: Any = None

    async def run(self, what: list[str], timeframe: str, since: int, until: int) -> list[tuple[Path, int]]:
        from opensqt.exchanges.factory import build_exchange

        options: dict[str, Any] = {"timeout_ms": 10_000}
        if self.base_url:
            options["base_url"] = self.base_url
        self._exchange = build_exchange(self.venue, "ccxt", None, options)
        written: list[tuple[Path, int]] = []
        try:
            for kind in what:
                rows = await self._range(kind, timeframe, since, until)
                path = self._write_combined(kind, timeframe, since, until, rows)
                written.append((path, len(rows)))
        finally:
            await self._exchange.close()
        return written

    # --- paging and caching ------------------------------------------------------------------------

    async def _range(self, kind: str, timeframe: str, since: int, until: int) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        day = since - since % DAY_MS
        while day < until:
            lo, hi = max(since, day), min(until, day + DAY_MS)
            whole_day = lo == day and hi == day + DAY_MS
            cached = self._day_file(kind, timeframe, day)
            if whole_day and cached.exists():
                part = self._read(cached)
                self.cache_hits += 1
            else:
                part = await self._fetch(kind, timeframe, lo, hi)
                # only a complete past day is cached: a partial or running day would hide later rows
                if whole_day and (self.now_ms is None or hi <= self.now_ms):
                    self._write(cached, kind, part)
            rows += part
            day += DAY_MS
        return rows

    async def _fetch(self, kind: str, timeframe: str, lo: int, hi: int) -> list[tuple[Any, ...]]:
        out: list[tuple[Any, ...]] = []
        cursor = lo
        step = timeframe_ms(timeframe)
        while cursor < hi:
            batch = await self._request(kind, timeframe, cursor)
            batch = [r for r in batch if lo <= r[0] < hi]
            fresh = [r for r in batch if r[0] >= cursor]
            if not fresh:
                break
            out += fresh
            last = fresh[-1][0]
            cursor = last + (step if kind == "klines" else 1)
            if len(batch) < self.page and kind != "trades":
                break
            await anyio.sleep(self.pause)
        # trades pages overlap at a shared millisecond: keep each trade once
        if kind == "trades":
            seen: set[Any] = set()
            unique = []
            for r in out:
                if r[4] not in seen:
                    seen.add(r[4])
                    unique.append(r)
            out = unique
        return out

    async def _request(self, kind: str, timeframe: str, since: int) -> list[tuple[Any, ...]]:
        delay = 1.0
        for attempt in range(self.retries + 1):
            try:
                self.requests += 1
                return await self._one(kind, timeframe, since)
            except RateLimited as exc:
                wait = getattr(exc, "retry_after", None) or delay
                logger.warning("download: rate limited; waiting {:.1f} s", wait)
                await anyio.sleep(float(wait))
            except NetworkError as exc:
                if attempt == self.retries:
                    raise
                logger.warning("download: {}; retrying in {:.1f} s", exc, delay)
                await anyio.sleep(delay)
            delay = min(delay * 2, 30.0)
        raise VenueError(f"download {kind}: rate limited {self.retries + 1} times in a row")

    async def _one(self, kind: str, timeframe: str, since: int) -> list[tuple[Any, ...]]:
        ex = self._exchange
        if kind == "klines":
            klines = await ex.fetch_ohlcv(self.symbol, timeframe, since, self.page)
            return [
                (k.open_time, str(k.open), str(k.high), str(k.low), str(k.close), str(k.volume))
                for k in klines
                if k.closed
            ]
        client = ex.client
        try:
            if kind == "trades":
                raw = await ex._call(client.fetch_trades(self.symbol, since, self.page))
                return [
                    (
                        int(t["timestamp"]),
                        str(t["price"]),
                        str(t["amount"]),
                        t.get("side") or "buy",
                        str(t.get("id") or ""),
                    )
                    for t in raw
                ]
            raw = await ex._call(client.fetch_funding_rate_history(self.symbol, since, self.page))
            return [(int(f["timestamp"]), str(f["fundingRate"])) for f in raw]
        except VenueError as exc:
            if isinstance(exc, NetworkError | RateLimited):
                raise
            note = f"{self.venue} did not serve {kind} for {self.symbol}: {exc}"
            if note not in self.notes:
                self.notes.append(note)
            return []

    # --- files ---------------------------------------------------------------------------------------

    def _day_file(self, kind: str, timeframe: str, day: int) -> Path:
        suffix = f"-{timeframe}" if kind == "klines" else ""
        return self.directory / "cache" / f"{kind}{suffix}-{day // DAY_MS}.parquet"

    @staticmethod
    def _columns(kind: str) -> tuple[str, ...]:
        if kind == "klines":
            return KLINE_COLUMNS
        if kind == "trades":
            return ("timestamp", "price", "quantity", "side", "id")
        return ("timestamp", "funding_rate")

    def _write(self, path: Path, kind: str, rows: list[tuple[Any, ...]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path.parent.mkdir(parents=True, exist_ok=True)
        cols = self._columns(kind)
        table = pa.table(
            {c: [r[i] for r in rows] for i, c in enumerate(cols)},
            schema=pa.schema([(c, pa.int64() if c == "timestamp" else pa.string()) for c in cols]),
        )
        tmp = path.with_suffix(".tmp")
        pq.write_table(table, tmp)
        tmp.replace(path)

    @staticmethod
    def _read(path: Path) -> list[tuple[Any, ...]]:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        return list(zip(*(table.column(i).to_pylist() for i in range(table.num_columns)), strict=True))

    def _write_combined(
        self, kind: str, timeframe: str, since: int, until: int, rows: list[tuple[Any, ...]]
    ) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        if kind == "klines":
            path = self.directory / f"klines-{timeframe}-{since}-{until}.csv"
            lines = [",".join(KLINE_COLUMNS)] + [",".join(str(v) for v in r) for r in rows]
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            return path
        path = self.directory / f"{kind}-{since}-{until}.parquet"
        self._write(path, kind, rows)
        return path
