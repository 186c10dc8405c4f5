"""The crash scenario on the simulated venue: a price drop with a volume spike across the five default monitor
symbols (the real RiskMonitor, default config) triggers on the first kline update that shows it, every grid
buy is cancelled at once, no buy is placed while triggered, and trading resumes after recovery."""

from __future__ import annotations

from decimal import Decimal

import anyio

from tests.risk_scenarios.world import MINUTE, PERPS, SYMBOL, T0, World, calm, crash, depressed

HISTORY = 25  # minutes played before the engine starts (more than average_window = 20 closed candles)
CRASH = 30  # minute of the crash
TRIGGER_MS = T0 + CRASH * MINUTE + 10_000  # its first trades
RECOVERY_MS = T0 + (CRASH + 3) * MINUTE + 10_000  # minute 32 (calm) closes when minute 33 starts
BUYS = [Decimal("59700.0"), Decimal("59800.0"), Decimal("59900.0")]


def script() -> list[dict[str, tuple[Decimal, Decimal]]]:
    # crash, then a minute still below the averages on calm volume (WEAK: keeps it triggered), then calm
    return [calm()] * CRASH + [crash(), depressed(), calm(), calm(), calm()]


async def test_crash_triggers_within_one_kline_cancels_every_buy_and_resumes_after_recovery() -> None:
    world = World.build(script())
    engine = world.engine
    assert engine.risk is not None
    checkpoints: dict[str, tuple[bool, list[Decimal], tuple[str, ...]]] = {}
    async with anyio.create_task_group() as tg:
        await world.start(tg, HISTORY)
        assert world.buy_prices() == BUYS and not engine.risk_triggered
        await world.step_until(TRIGGER_MS - 1)
        assert world.buy_prices() == BUYS and not engine.risk_triggered
        await world.step_until(TRIGGER_MS)
        for at in (TRIGGER_MS + 1000, T0 + 31 * MINUTE + 40_000, T0 + 32 * MINUTE + 40_000, RECOVERY_MS - 1):
            await world.step_until(at)
            checkpoints[str(at - T0)] = (engine.risk_triggered, world.buy_prices(), engine.paused_reasons())
        await world.step_until(RECOVERY_MS)
        after = (engine.risk_triggered, world.buy_prices())
        await world.step_until(T0 + 35 * MINUTE)
        tg.cancel_scope.cancel()

    # triggered on the crash candle's first update (the forming kline), not a candle later
    status_triggers = [n for n in world.notices("risk_monitor") if n.message.startswith("RiskTriggered")]
    assert [n.ts_ms for n in status_triggers] == [TRIGGER_MS]
    assert status_triggers[0].message.startswith(
        f"RiskTriggered(at_ms={TRIGGER_MS}, strategy=<GlobalStrategy.ALL: 'all'>, "
        f"panicking={tuple(i.symbol for i in PERPS)!r}, "
        "reasons=('BTC/USDT:USDT: panic: close 59950.0 < average close 60000.0, "
        "volume 10.000 > 3 × average volume 1.950'"  # the first streamed candle saw only its :40 trade
    )
    # every buy cancelled within 1 s of simulated time (here: in the same millisecond)
    cancelled = sorted(set(world.cancelled_buys()))
    assert [cid for _, cid in cancelled] == ["tBcsncN1", "tBctf4N1", "tBcu6wN1"]
    assert all(TRIGGER_MS <= t <= TRIGGER_MS + 1000 for t, _ in cancelled)
    # no buy at the venue and none placed while triggered; the status says why
    for triggered, buys, reasons in checkpoints.values():
        assert triggered and buys == [] and "risk monitor triggered" in reasons
    placed = world.placed_buys()
    assert not [p for p in placed if TRIGGER_MS <= p[0] < RECOVERY_MS]
    # recovery on the first closed NORMAL candles of three symbols; the grid quotes again at once
    recoveries = [n for n in world.notices("risk_monitor") if n.message.startswith("RiskRecovered")]
    assert [n.ts_ms for n in recoveries] == [RECOVERY_MS]
    assert recoveries[0].message.startswith(
        f"RiskRecovered(at_ms={RECOVERY_MS}, triggered_since_ms={TRIGGER_MS}, "
        "normal=('BTC/USDT:USDT', 'ETH/USDT:USDT', 'SOL/USDT:USDT')"
    )
    assert after == (False, BUYS)
    assert sorted((t, cid, price) for t, cid, price in placed if t >= RECOVERY_MS) == [
        (RECOVERY_MS, "tBcsncN2", Decimal("59700.0")),
        (RECOVERY_MS, "tBctf4N2", Decimal("59800.0")),
        (RECOVERY_MS, "tBcu6wN2", Decimal("59900.0")),
    ]
    # every transition is an event and an audit row, at the same instant, with the same text
    assert [(a[1], a[2], a[3]) for a in world.audits("risk_monitor")] == [
        (n.message, n.ts_ms, "system") for n in world.notices("risk_monitor")
    ]
    assert len(world.audits("risk_monitor")) == 2
    assert world.venue.positions([SYMBOL])[0].size == 0  # nothing bought in the crash
