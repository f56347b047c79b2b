"""The public site and its posters in headless Chromium, on a phone and a desktop: no sideways scrolling, images
with alt texts, language and direction, readable contrast, and a poster that prints on one A4 page. Screenshots
are left in /tmp (``site-*.png``) for a person to look at."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, PHONE, SCREENSHOTS, require_chromium

if TYPE_CHECKING:
    from playwright.async_api import Browser, ViewportSize

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PAGES = [
    "index.html",
    "falavarjan/index.html",
    "falavarjan/building_permit.html",
    "oshtorjan/village_building_permit.html",
    "en/falavarjan/building_permit.html",
]

# Every element with text of its own: its colour, the first opaque background behind it, and the WCAG contrast
# ratio between them (4.5:1 for body text, 3:1 for large text: 24px, or 18.66px bold).
CONTRAST = """
() => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const poor = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const style = getComputedStyle(el);
    if (!own || style.visibility === "hidden" || el.getClientRects().length === 0) continue;
    if (el.closest(".visually-hidden, .skip")) continue;
    const fg = lum(rgb(style.color).slice(0, 3)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const size = parseFloat(style.fontSize), bold = parseInt(style.fontWeight, 10) >= 700;
    const needed = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < needed) poor.push(`${el.tagName} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return poor;
}
"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    require_chromium()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


def _shot_name(path: str, size: str) -> Path:
    return SCREENSHOTS / f"site-{size}-{path.replace('/', '-').removesuffix('.html')}.png"


@pytest.mark.parametrize(("size", "viewport"), [("phone", PHONE), ("desktop", DESKTOP)])
async def test_pages_fit_the_screen_and_pass_the_accessibility_basics(
    browser: Browser, site: Path, size: str, viewport: ViewportSize
) -> None:
    tab = await browser.new_page(viewport=viewport)
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    for path in PAGES:
        await tab.goto((site / path).as_uri())
        await tab.evaluate("document.fonts.ready")
        facts: dict[str, Any] = await tab.evaluate(
            """() => ({
              overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
              lang: document.documentElement.lang,
              dir: document.documentElement.dir,
              h1: document.querySelectorAll("h1").length,
              noAlt: [...document.images].filter((img) => !img.alt).length,
              brokenImages: [...document.images].filter((img) => !img.complete || img.naturalWidth === 0).length,
              font: document.fonts.check("16px Vazirmatn"),
            })"""
        )
        assert facts["overflow"] <= 0, f"{path} scrolls sideways on a {size} by {facts['overflow']}px"
        english = path.startswith("en/")
        assert (facts["lang"], facts["dir"]) == (("en", "ltr") if english else ("fa", "rtl")), path
        assert facts["h1"] == 1, path
        assert facts["noAlt"] == 0, path
        assert facts["brokenImages"] == 0, path
        assert facts["font"], f"{path}: the shipped Persian font did not load"
        assert await tab.evaluate(CONTRAST) == [], path
        await tab.screenshot(path=str(_shot_name(path, size)), full_page=True)
    assert errors == []


@pytest.mark.parametrize("path", ["falavarjan/poster.html", "falavarjan/building_permit-poster.html"])
async def test_a_poster_prints_on_one_a4_page_with_its_qr_codes(
    browser: Browser, site: Path, path: str
) -> None:
    tab = await browser.new_page(viewport=DESKTOP)
    await tab.goto((site / path).as_uri())
    await tab.evaluate("document.fonts.ready")
    await tab.screenshot(path=str(_shot_name(path, "screen")), full_page=True)
    await tab.emulate_media(media="print")
    hidden = await tab.evaluate("getComputedStyle(document.querySelector('header')).display")
    assert hidden == "none", "the site's header is not printed on a poster"
    qr = await tab.evaluate("[...document.querySelectorAll('img.qr')].map((img) => img.alt)")
    assert len(qr) == 2
    assert all(qr)
    pdf = await tab.pdf(format="A4", print_background=True)
    pages = re.search(rb"/Type\s*/Pages\b.*?/Count (\d+)", pdf, re.S) or re.search(rb"/Count (\d+)", pdf)
    assert pages is not None
    assert int(pages[1]) == 1, f"the poster prints on {int(pages[1])} A4 pages"
    await tab.screenshot(path=str(_shot_name(path, "print")), full_page=True)
