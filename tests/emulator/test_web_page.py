"""The web chat page as served, without a browser: texts, language, direction, assets, nothing from the internet."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from babel.messages.pofile import read_po

from desk.i18n import LOCALES_DIR
from emulator.web import STATIC_DIR, TEMPLATES_DIR, setup_web

KEY = re.compile(r"web\.[a-z_]+(?:\.[a-z_]+)*")


def _po_keys(lang: str) -> dict[str, str]:
    with (LOCALES_DIR / lang / "LC_MESSAGES" / "web.po").open("rb") as fh:
        catalog = read_po(fh, locale=lang, domain="web")
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and isinstance(m.string, str)}


def _keys_used() -> set[str]:
    sources = [TEMPLATES_DIR / "chat.html", STATIC_DIR / "chat.js"]
    used = {key for path in sources for key in KEY.findall(path.read_text(encoding="utf-8"))}
    # Keys built from a dialect name ("web.dialect." + dialect) are listed by hand.
    used.discard("web.dialect")
    return used | {"web.dialect.bale", "web.dialect.telegram"}


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    setup_web(app)
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


@pytest.mark.parametrize("lang", ["fa", "en"])
def test_every_text_the_page_shows_is_translated(lang: str) -> None:
    texts = _po_keys(lang)
    missing = sorted(key for key in _keys_used() if not texts.get(key))
    assert missing == [], f"web.po ({lang}) lacks {missing}"


def test_persian_and_english_catalogs_have_the_same_keys() -> None:
    assert set(_po_keys("fa")) == set(_po_keys("en"))


async def test_page_is_persian_right_to_left_by_default(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/")
    assert response.status == 200
    html = await response.text()
    assert '<html lang="fa" dir="rtl">' in html
    assert "شما چه کسی هستید؟" in html
    assert 'data-dialect="bale"' in html
    assert "web." not in re.sub(
        r'<script type="application/json" id="texts">.*?</script>', "", html, flags=re.S
    )


async def test_english_page_reads_left_to_right(client: TestClient[web.Request, web.Application]) -> None:
    html = await (await client.get("/?lang=en&dialect=telegram")).text()
    assert '<html lang="en" dir="ltr">' in html
    assert "Who are you?" in html
    assert 'data-dialect="telegram"' in html


@pytest.mark.parametrize(("lang", "word"), [("fa", "استیکر"), ("en", "Sticker")])
async def test_the_script_gets_the_word_for_a_sticker_in_the_page_language(
    client: TestClient[web.Request, web.Application], lang: str, word: str
) -> None:
    """The script labels a sticker (its image's alt text, a reply's quote) with this text, never a hard-coded one."""
    html = await (await client.get(f"/?lang={lang}")).text()
    match = re.search(r'<script type="application/json" id="texts">(.*?)</script>', html, flags=re.S)
    assert match is not None
    assert json.loads(match.group(1))["web.sticker"] == word
    script = (STATIC_DIR / "chat.js").read_text(encoding="utf-8")
    assert 't("web.sticker")' in script


async def test_unknown_language_and_dialect_fall_back_to_persian_bale(
    client: TestClient[web.Request, web.Application],
) -> None:
    html = await (await client.get("/?lang=xx&dialect=<script>")).text()
    assert '<html lang="fa" dir="rtl">' in html
    assert 'data-dialect="bale"' in html
    assert '<script>"' not in html


async def test_assets_are_served(client: TestClient[web.Request, web.Application]) -> None:
    script = await client.get("/static/chat.js")
    assert script.status == 200
    assert "javascript" in script.headers["Content-Type"]
    style = await client.get("/static/chat.css")
    assert style.status == 200
    assert "text/css" in style.headers["Content-Type"]


def test_nothing_is_fetched_from_the_internet() -> None:
    template = (TEMPLATES_DIR / "chat.html").read_text(encoding="utf-8")
    style = (STATIC_DIR / "chat.css").read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', template)
    assert "@import" not in style
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", style)
