"""Headless Chromium for the web chat page's tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download is never used (``playwright install`` needs the internet); a machine without
``/usr/bin/chromium`` skips these tests, and CI fails them (``tests.conftest.skip_or_fail``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import skip_or_fail

if TYPE_CHECKING:
    from playwright.async_api import Page, ViewportSize

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "PHONE", "SCREENSHOTS", "phone_page", "require_chromium"]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 390, "height": 844}
SCREENSHOTS = Path("/tmp")
"""Where the tests leave screenshots for a person to look at."""


def require_chromium() -> None:
    """Skip (fail in CI) when Debian's Chromium is not installed."""
    if not CHROMIUM.exists():
        skip_or_fail("Debian's chromium is not installed at /usr/bin/chromium (apt-get install -y chromium)")


@contextlib.asynccontextmanager
async def phone_page() -> AsyncIterator[Page]:
    """A phone-sized page in headless Chromium; fails when the page's script throws."""
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = await browser.new_page(
                viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
            )
            tab.set_default_timeout(8000)
            errors: list[str] = []
            tab.on("pageerror", lambda error: errors.append(str(error)))
            yield tab
            assert errors == [], f"the page's script failed: {errors}"
        finally:
            await browser.close()
