"""Codes read the way they are typed (issue #14, items 1 and 2), shown in a real browser.

The emulator's web chat page lays messages out with Chromium's Unicode bidi algorithm, as the messengers' apps
do: the reference for what a person sees. Miz sends real messages to a citizen and a clerk, the page shows their
chats, and each code's parts must be drawn left to right in the order they are typed (the x-position of each
part, from ``Range.getBoundingClientRect``): a tracking code's groups, a masked national ID on a card, a USSD
code, a dues code, amounts. A code typed back in the order an app without isolates drew it finds the request.
Screenshots are left in ``/tmp`` (``miz-codes-*.png``) to look at.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.platforms import Platform
from desk.persian import to_persian_digits
from desk.tracking import format_tracking_code
from tests.browser import SCREENSHOTS, phone_page

from .test_desk import file_request  # type: ignore[import-not-found]
from .test_dues_certificates import ask_dues, seed_dues  # type: ignore[import-not-found]

pytestmark = [pytest.mark.slow, pytest.mark.browser]

# The x-positions (left edges) of each part of every occurrence of a run of text in the chat, as drawn.
_PARTS_DRAWN_AT = """
([whole, parts]) => {
  const walker = document.createTreeWalker(document.querySelector("#messages"), NodeFilter.SHOW_TEXT);
  const found = [];
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (let at = node.data.indexOf(whole); at >= 0; at = node.data.indexOf(whole, at + 1)) {
      let from = 0;
      const xs = [];
      for (const part of parts) {
        const i = whole.indexOf(part, from);
        from = i + part.length;
        const range = document.createRange();
        range.setStart(node, at + i);
        range.setEnd(node, at + i + part.length);
        xs.push(range.getBoundingClientRect().left);
      }
      found.push(xs);
    }
  }
  return found;
}
"""


def grouped(code: str) -> tuple[str, list[str]]:
    """A tracking code as a Persian reader is shown it, and its three groups in typing order."""
    persian = to_persian_digits(code)
    groups = [persian[:4], persian[4:8], persian[8:]]
    return "-".join(groups), groups


async def open_chat(page: Any, world: Any, platform: Platform, person: Any, role: str) -> None:
    """Open the web chat page as ``person`` (a citizen in their private chat, or a clerk in the group)."""
    saved = json.dumps({"role": role, "user_id": person.user["id"], "chat_id": person.chat_id})
    await page.goto(world.emu.base_url + "/")
    await page.evaluate("saved => localStorage.setItem('miz-web-chat', saved)", saved)
    await page.goto(f"{world.emu.base_url}/?dialect={platform.value}")
    await page.wait_for_selector("#messages .msg")


async def assert_drawn_in_typing_order(page: Any, whole: str, parts: list[str], what: str) -> None:
    found = await page.evaluate(_PARTS_DRAWN_AT, [whole, parts])
    assert found, f"{what} ({whole}) is not in the chat"
    for xs in found:
        assert xs == sorted(set(xs)), f"{what} {whole} is drawn out of order: {xs}"


async def test_codes_are_drawn_in_the_order_they_are_typed(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    await clerk.expect("آزمون همه پرسش‌ها")
    await zahra.press("📂 درخواست‌های من")
    await zahra.expect("درخواست‌های شما")
    await seed_dues(world)
    await ask_dues(zahra, "12-34-567")
    await zahra.send("۰۴۹۹۳۷۰۸۹۹")
    await zahra.expect("بدهی‌های پرداخت‌نشده")
    shown, groups = grouped(code)
    star = "∗" if platform is Platform.BALE else "*"  # Bale's Markdown marker, sent as a look-alike

    async with phone_page() as page:
        await open_chat(page, world, platform, zahra, "citizen")
        # The filing notice, the code alone to copy, "my requests": every code reads as it was typed.
        await assert_drawn_in_typing_order(page, shown, groups, "the tracking code")
        # The USSD code keeps its ASCII star on Bale too, in a code span (tapped, it copies a code that dials).
        await assert_drawn_in_typing_order(page, "*780#", ["*", "780", "#"], "the USSD code")
        assert await page.locator("#messages code", has_text="*780#").count(), "the USSD code is a code span"
        # The dues code as the citizen is asked for it (an example) and as the dues are listed under it.
        await assert_drawn_in_typing_order(page, "۱۲-۳۴-۵۶۷", ["۱۲", "۳۴", "۵۶۷"], "the dues code")
        await assert_drawn_in_typing_order(page, "۱٬۲۵۰٬۰۰۰", ["۱", "۲۵۰", "۰۰۰"], "an amount")
        await page.screenshot(path=str(SCREENSHOTS / f"miz-codes-citizen-{platform.value}.png"))

        await open_chat(page, world, platform, clerk, "clerk")
        masked = f"۰۴۹{star * 4}۸۹۹"
        await assert_drawn_in_typing_order(page, masked, ["۰۴۹", star * 4, "۸۹۹"], "the masked national ID")
        await assert_drawn_in_typing_order(page, shown, groups, "the tracking code on the card")
        await page.screenshot(path=str(SCREENSHOTS / f"miz-codes-clerk-{platform.value}.png"))


async def test_a_code_typed_back_as_it_was_drawn_finds_the_request(world: Any, platform: Platform) -> None:
    """An app without isolates drew '۸۱۶۴-۷۴۲۴-۹۲۵۹' as '۹۲۵۹-۷۴۲۴-۸۱۶۴'; typed back so, it is the citizen's code."""
    zahra, code = await file_request(world, platform)
    _shown, groups = grouped(code)
    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست را بفرستید")
    await zahra.send("-".join(reversed(groups)))
    status = await zahra.expect("وضعیت")
    assert "آزمون همه پرسش‌ها" in status["text"]
    assert grouped(code)[0] in status["text"]


async def test_one_format_for_a_tracking_code_wherever_a_person_reads_it(
    world: Any, platform: Platform
) -> None:
    """Grouped, in the reader's digits: the notice, "my requests", the clerk's message relayed to the citizen,
    the citizen's answer relayed under the card; the plain code is sent alone once, to copy."""
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    shown = format_tracking_code(code)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    assert shown in card["text"]
    notice = next(m for m in await zahra.transcript() if "ثبت شد" in m.get("text", ""))
    assert shown in notice["text"]

    await zahra.press("📂 درخواست‌های من")
    mine = await zahra.expect("درخواست‌های شما")
    assert shown in mine["text"]
    assert code not in mine["text"], "not the plain digits: one format"

    await clerk.reply_to(card, "لطفاً شماره پلاک را هم بفرستید")
    relayed = await zahra.expect("شماره پلاک")
    assert shown in relayed["text"]
    assert code not in relayed["text"]

    await clerk.press("❓ نقص مدارک/اطلاعات", message=card)
    await clerk.expect("چه مدرک یا اطلاعاتی کم است")
    await clerk.send("صفحه دوم سند را بفرستید")
    await zahra.expect("صفحه دوم سند")
    await zahra.send("پلاک ۱۲ است")
    answered = await clerk.expect("پلاک ۱۲ است")
    assert shown in answered["text"]
