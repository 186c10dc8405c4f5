"""Debian's chromium driven by Playwright (never `playwright install`): launch helper and page probes."""

from __future__ import annotations

import gc
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from tests.support.real_parts import require

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    try:
        import playwright  # noqa: F401
    except ImportError:
        require(False, "the playwright package is not installed")
    require(
        shutil.which(CHROMIUM) is not None, f"chromium not found at {CHROMIUM} (apt-get install chromium)"
    )


@asynccontextmanager
async def browser() -> AsyncIterator[Any]:
    require_browser()
    from playwright.async_api import async_playwright

    manager = async_playwright()
    p = await manager.__aenter__()
    # Playwright's node driver, an asyncio subprocess of this test's event loop: it must have exited before
    # the loop closes, or the child watcher and the transport's finaliser report "Event loop is closed" in
    # whichever test runs next. The teardown is shielded: a test may leave with its scope cancelled (one
    # that stops the page server by cancelling its task group), and then every await here would be skipped.
    driver = getattr(getattr(getattr(manager, "_connection", None), "_transport", None), "_proc", None)
    try:
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            with anyio.CancelScope(shield=True):
                await b.close()
    finally:
        with anyio.CancelScope(shield=True):
            await manager.__aexit__(None, None, None)
            if driver is not None and driver.returncode is None:
                with anyio.move_on_after(10):
                    await driver.wait()
    del manager, p, driver
    gc.collect()  # the transport goes now, while the loop runs


async def live_stats(page: Any) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate(
        "() => ({...window.__live, lags: window.__live.lags.slice()})"
    )
    return stats


async def new_page(b: Any, **kwargs: Any) -> Any:
    """A page whose CSP does not stop Playwright's own `wait_for_function` (it evaluates strings); the
    page's scripts are ours and need no eval, so the policy still holds for them."""
    return await b.new_page(bypass_csp=True, **kwargs)
