"""The web tracking page in headless Chromium on a phone: it fits the screen, says its language and direction,
labels its fields, keeps the national ID's digits out of the address bar, and answers a half-filled form politely.
Screenshots are left in /tmp (``track-*.png``)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from public.track import TRACK_PATH, Tracking, setup_tracking
from tests.browser import SCREENSHOTS, phone_page
from tests.public.test_site_browser import CONTRAST

pytestmark = pytest.mark.browser


async def test_the_tracking_form_on_a_phone() -> None:
    unused: Any = None  # the form and a refused half-filled form never reach the database or the limiters
    app = web.Application()
    setup_tracking(app, Tracking(unused, unused, unused, unused))
    server = TestServer(app)
    await server.start_server()
    try:
        async with phone_page() as tab:
            await tab.goto(str(server.make_url(TRACK_PATH)))
            await tab.evaluate("document.fonts.ready")
            facts: dict[str, Any] = await tab.evaluate(
                """() => ({
                  overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                  lang: document.documentElement.lang,
                  dir: document.documentElement.dir,
                  unlabelled: [...document.querySelectorAll("input:not([type=hidden])")]
                    .filter((input) => !input.labels || input.labels.length === 0).length,
                  font: document.fonts.check("16px Vazirmatn"),
                })"""
            )
            assert facts == {"overflow": 0, "lang": "fa", "dir": "rtl", "unlabelled": 0, "font": True}
            assert await tab.evaluate(CONTRAST) == []
            await tab.screenshot(path=str(SCREENSHOTS / "track-phone-form.png"), full_page=True)

            await tab.fill("#code", "۱۲۳۴-۵۶۷۸-۹۰۱۲")
            await tab.fill("#tail", "۱۲")
            await tab.click("button[type=submit]")
            await tab.wait_for_selector(".error")
            assert "دقیقاً چهار رقم" in await tab.inner_text(".error")
            assert "tail" not in tab.url, "the national ID's digits never go in the address"
            assert await tab.input_value("#code") == "۱۲۳۴-۵۶۷۸-۹۰۱۲", "the code typed is kept"
            assert await tab.input_value("#tail") == "", "the digits are not sent back"
            assert await tab.evaluate(CONTRAST) == []
            await tab.screenshot(path=str(SCREENSHOTS / "track-phone-error.png"), full_page=True)

            await tab.click("a.lang")
            assert await tab.evaluate("document.documentElement.dir") == "ltr"
            assert "Track a request" in await tab.inner_text("h1")
    finally:
        await server.close()
