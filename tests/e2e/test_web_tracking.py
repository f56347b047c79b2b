"""The web tracking page (``/track``) beside the bots: a request filed in Bale or Telegram is followed on the web with
its code and the last four digits of the national ID, behind the bots' own guessing limits, and nothing private
is shown."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.platforms import Platform
from bot.serve import create_web_app
from desk.throttle import CODE_FAILURE_LIMIT, TRACK_FAILURE_LIMIT
from public.track import TRACK_PATH

from .test_desk import file_request  # type: ignore[import-not-found]

PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
OWNERS_TAIL = "0899"  # file_request's national ID is 0499370899
PRIVATE = (
    "0499370899",
    "۰۴۹۹۳۷۰۸۹۹",
    "10380284790",
    "09123456789",
    "۰۹۱۲۳۴۵۶۷۸۹",
    "8491753981",
    "زهرا",
    "رضا",
    "scan.pdf",
)


@contextlib.asynccontextmanager
async def tracking_page(world: Any) -> AsyncIterator[TestClient[Any, Any]]:
    """The page as ``miz serve`` mounts it on the running Miz: the same database, catalog and limiters."""
    app = web.Application()
    for setup in world.miz.public_routes():
        setup(app)
    async with TestClient(TestServer(app)) as client:
        yield client


async def look_up(
    page: TestClient[Any, Any], code: str, tail: str, client: str = "203.0.113.7"
) -> tuple[int, str]:
    """Post the form as a browser at address ``client`` behind the local reverse proxy."""
    response = await page.post(
        TRACK_PATH, data={"code": code, "tail": tail, "lang": "fa"}, headers={"X-Forwarded-For": client}
    )
    return response.status, await response.text()


async def test_a_request_filed_in_the_bot_is_followed_on_the_web_with_persian_digits_and_nothing_private(
    world: Any, platform: Platform
) -> None:
    _zahra, code = await file_request(world, platform)
    typed = f"{code[:4]}-{code[4:8]}-{code[8:]}".translate(PERSIAN)  # as a person copies it from the chat
    async with tracking_page(world) as page:
        form = await page.get(TRACK_PATH)
        html = await form.text()
        assert 'method="post"' in html, "the national ID's digits never go in a URL"
        assert 'lang="fa" dir="rtl"' in html
        status, html = await look_up(page, typed, OWNERS_TAIL.translate(PERSIAN))
        response = await page.post(TRACK_PATH, data={"code": code, "tail": OWNERS_TAIL})
        assert response.headers["Cache-Control"] == "no-store"
    assert status == 200
    assert "آزمون همه پرسش‌ها" in html
    assert "شهرداری فلاورجان" in html
    assert "ثبت‌شده" in html, "the status"
    assert code.translate(PERSIAN)[:4] in html, "the tracking code, grouped, in Persian digits"
    for private in PRIVATE:
        assert private not in html, private


async def test_wrong_guesses_on_the_web_count_like_the_bots_and_against_the_code(
    world: Any, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    async with tracking_page(world) as page:
        for tail in range(1000, 1000 + TRACK_FAILURE_LIMIT):
            _status, html = await look_up(page, code, str(tail))
            assert "پیدا نشد" in html
        _status, html = await look_up(page, code, OWNERS_TAIL)
        assert "دقیقه دیگر" in html, "the guesser's limit: 5 wrong tries per 10 minutes, as in the bot"
        assert "آزمون همه پرسش‌ها" not in html
        _status, html = await look_up(page, code, OWNERS_TAIL, client="198.51.100.9")
        assert "آزمون همه پرسش‌ها" in html, "another address has its own limit"
        for tail in range(2000, 2000 + CODE_FAILURE_LIMIT - TRACK_FAILURE_LIMIT):
            await look_up(page, code, str(tail), client="198.51.100.9")

    stranger = await world.citizen(platform, name="مهدی")
    await stranger.send(f"/track {code} {OWNERS_TAIL}")
    await stranger.expect("ساعت دیگر با کد ملی نشان داده نمی‌شود")  # the code's limit, shared with the web
    await zahra.send(f"/track {code}")
    await zahra.expect("آزمون همه پرسش‌ها")  # the owner still sees their request


async def test_a_code_alone_or_a_typo_is_refused_politely_and_not_counted(world: Any) -> None:
    _zahra, code = await file_request(world, Platform.BALE)
    wrong_check_digit = code[:-1] + str((int(code[-1]) + 1) % 10)
    async with tracking_page(world) as page:
        for _ in range(TRACK_FAILURE_LIMIT + 1):
            status, html = await look_up(page, code, "")
            assert status == 200
            assert "هر دو لازم است" in html
            _status, html = await look_up(page, wrong_check_digit, OWNERS_TAIL)
            assert "آزمون همه پرسش‌ها" not in html
        _status, html = await look_up(page, code, "12")
        assert "دقیقاً چهار رقم" in html
        _status, html = await look_up(page, code, OWNERS_TAIL)
    assert "آزمون همه پرسش‌ها" in html, "none of those was counted as a guess"


async def test_miz_serve_answers_the_tracking_page(world: Any) -> None:
    app, _receiver = create_web_app(world.miz)
    paths = {resource.canonical for resource in app.router.resources()}
    assert TRACK_PATH in paths
