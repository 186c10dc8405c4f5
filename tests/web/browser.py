"""Debian's chromium driven by Playwright (never `playwright install`): launch helper and page probes."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield b
        finally:
            await b.close()


async def live_stats(page: Any) -> dict[str, Any]:
    stats: dict[str, Any] = await page.evaluate(
        "() => ({...window.__live, lags: window.__live.lags.slice()})"
    )
    return stats


async def new_page(b: Any, **kwargs: Any) -> Any:
    """A page whose CSP does not stop Playwright's own `wait_for_function` (it evaluates strings); the
    page's scripts are ours and need no eval, so the policy still holds for them."""
    return await b.new_page(bypass_csp=True, **kwargs)
