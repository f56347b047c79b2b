"""Commands and menus work from anywhere, and no answer is a dead end (issue #14, items 6 to 9 and 13)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.platforms import Platform
from desk.certificates import format_certificate_code, new_certificate_code
from desk.deeplinks import deep_link, organization_payload, service_payload, tracking_payload
from desk.tracking import format_tracking_code, new_tracking_code

from .conftest import TOKENS  # type: ignore[import-not-found]
from .test_desk import file_request  # type: ignore[import-not-found]
from .test_request import buttons, open_card  # type: ignore[import-not-found]
from .test_sms import file_with_own_number  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow


async def test_a_mistyped_tracking_code_can_be_corrected_where_the_national_id_is_asked(
    world: Any, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(new_tracking_code())  # a well-formed code, but not hers
    asked = await zahra.expect("این کد در درخواست‌های شما نیست")
    assert "کد درست را بفرستید" in asked["text"]
    await zahra.send(code)  # the corrected code, not a national ID
    tracked = await zahra.expect("وضعیت")
    assert "آزمون همه پرسش‌ها" in tracked["text"]


async def test_commands_work_in_the_middle_of_a_form_and_the_form_is_kept(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await open_card(zahra, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("پرسش ۱ از ۸")
    await zahra.send("0499370899")
    await zahra.expect("پرسش ۲ از ۸")

    # A certificate code is verified, not taken as the answer to question 2.
    await zahra.send(f"/verify {format_certificate_code(new_certificate_code())}")
    await zahra.expect("گواهی‌ای با کد")
    kept = await zahra.expect("نگه داشته شد")
    assert "آزمون همه پرسش‌ها" in kept["text"]
    assert "۱ از ۸" in kept["text"], "the answers given are kept"

    await zahra.send(f"/track {new_tracking_code()}")  # someone else's code: their national ID is asked
    await zahra.expect("کد ملی ثبت‌شده")
    await zahra.expect("نگه داشته شد")
    await zahra.send("/cancel")
    await zahra.expect("یکی از دکمه‌های پایین")

    await zahra.send("/start")
    await zahra.expect("خوش آمدید")
    await zahra.expect("نگه داشته شد")
    await zahra.press("▶️ ادامهٔ همین درخواست")
    await zahra.expect("پرسش ۲ از ۸")  # where she left it
    await zahra.send("10380284790")
    await zahra.expect("پرسش ۳ از ۸")

    await zahra.send("/help")
    await zahra.expect("راهنمای میز خدمت")
    await zahra.expect("۲ از ۸")
    # Starting another request asks about the one kept, as for a form left open.
    await open_card(zahra, "شهرداری فلاورجان", "پروانه", "صدور پروانه ساختمانی")
    await zahra.press("📝 ثبت درخواست")
    await zahra.expect("درخواست نیمه‌تمامی")
    await zahra.press("▶️ ادامهٔ همین درخواست")
    await zahra.expect("پرسش ۳ از ۸")


async def test_a_rejection_can_be_objected_to_at_once_by_its_citizen_alone(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("⛔️ رد درخواست", message=card)
    await clerk.expect("دلیل رد درخواست")
    await clerk.send("ملک خارج از محدوده شهر است")
    rejected = await zahra.expect("خارج از محدوده")
    assert "📣 به نتیجه اعتراض دارم" in buttons(rejected), "the rejection itself offers the objection"
    objection = next(b["callback_data"] for row in rejected["buttons"] for b in row if "اعتراض" in b["text"])

    # Someone else forging the button gets nothing: no form, no word of the request.
    stranger = await world.citizen(platform, name="غریبه")
    await stranger.send("/start")
    await stranger.expect("خوش آمدید")
    await stranger.press(data=objection, forged=True, wait_answer=20)
    assert stranger.last_answer is not None
    assert code not in str(stranger.last_answer)
    assert not any("پرسش" in (m.get("text") or "") for m in await stranger.transcript())

    # The poll's comment step takes a command as a command, not as the comment.
    poll = await zahra.expect("نمره")
    await zahra.press("۴", message=poll)
    await zahra.expect("امتیاز ۴ از ۵")
    await zahra.send(f"/verify {format_certificate_code(new_certificate_code())}")
    await zahra.expect("گواهی‌ای با کد")

    await zahra.press("📣 به نتیجه اعتراض دارم", message=rejected)
    intro = await zahra.expect("اعتراض به نتیجه")
    assert "موضوع شکایت: تصمیم یا پاسخ نادرست" in intro["text"], "what was filled in is shown"
    assert f"کد رهگیری درخواست مربوط: {format_tracking_code(code)}" in intro["text"], (
        "the code, as read everywhere"
    )
    assert "پرسش ۱ از ۴" in intro["text"], "the form starts at its first question (two of six are filled in)"
    await zahra.press("↩️ مرحله قبل")
    await zahra.expect(
        "از فرم خارج شدید"
    )  # back from the first question leaves the form, never into a prefilled one


async def menus_of(world: Any, platform: Platform, wait: float = 20) -> list[dict[str, Any]]:
    """The command menus the bot set on ``platform``: all six (two scopes, each by default, in Persian and in
    English) once set, or what there is after ``wait`` seconds."""
    for _ in range(int(wait * 10)):
        found = await world.client.request("GET", f"/sim/bots/{TOKENS[platform]}/commands")
        if len(found["menus"]) >= 6:
            break
        await asyncio.sleep(0.1)
    menus: list[dict[str, Any]] = found["menus"]
    return menus


def menu(menus: list[dict[str, Any]], scope: str, language: str) -> dict[str, str]:
    listed = next(
        m["commands"] for m in menus if m["scope"]["type"] == scope and m["language_code"] == language
    )
    return {c["command"]: c["description"] for c in listed}


async def test_telegram_shows_command_menus_and_bale_keeps_its_reply_keyboard(world: Any) -> None:
    menus = await menus_of(world, Platform.TELEGRAM)
    private = menu(menus, "all_private_chats", "fa")
    assert list(private) == ["start", "track", "verify", "sms", "help", "cancel"]
    assert private["track"] == "پیگیری درخواست با کد رهگیری"
    assert menu(menus, "all_private_chats", "") == private, "Persian is the menu of any other language"
    assert menu(menus, "all_private_chats", "en")["track"] == "Track a request by its tracking code"
    group = menu(menus, "all_group_chats", "fa")
    assert {"mine", "overdue", "find", "report", "help"} <= set(group)
    assert "track" not in group, "clerks get their own commands in groups"
    assert menu(menus, "all_group_chats", "en")["overdue"] == "Overdue requests"

    # Bale has no setMyCommands: Miz never calls it there, and its reply keyboard is the menu.
    assert await menus_of(world, Platform.BALE, wait=0.5) == []
    refused = await world.client.refused(TOKENS[Platform.BALE])
    assert not [call for call in refused if "command" in call["method"]], refused
    ali = await world.citizen(Platform.BALE, name="علی")
    await ali.send("/start")
    welcome = await ali.expect("خوش آمدید")
    keyboard = [b["text"] for row in welcome["reply_keyboard"]["keyboard"] for b in row]
    assert "🔎 پیگیری درخواست" in keyboard


async def test_links_open_a_service_an_organization_or_a_tracking(world: Any, platform: Platform) -> None:
    zahra, code = await file_request(world, platform)
    await zahra.send(f"/start {tracking_payload(code)}")  # the link of her SMS: her own request at once
    tracked = await zahra.expect("سابقه")
    assert "آزمون همه پرسش‌ها" in tracked["text"]

    reza = await world.citizen(platform, name="رضا")
    await reza.send(f"/start {tracking_payload(code)}")  # someone else's link is a code alone: no more
    await reza.expect("کد ملی ثبت‌شده")
    await reza.send("/start " + service_payload("falavarjan", "building_permit"))  # a poster's link
    card = await reza.expect("مدارک لازم")
    assert "صدور پروانه ساختمانی" in card["text"]
    assert "📝 ثبت درخواست" in buttons(card)
    await reza.send("/start " + organization_payload("oshtorjan"))
    await reza.expect("دهیاری اشترجان")
    await reza.send("گزارش")  # typing now searches Oshtorjan's services
    await reza.expect("پیدا شد")
    await reza.send("/start " + organization_payload("nowhere"))
    await reza.expect("این پیوند دیگر به جایی نمی‌رسد")


async def test_typing_a_service_at_the_main_menu_searches_every_organization(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("خوش آمدید")
    await zahra.send("پروانه ساختمانی")
    found = await zahra.expect("خدماتی که با")
    assert "صدور پروانه ساختمانی" in buttons(found)
    await zahra.press("صدور پروانه ساختمانی")
    orgs = await zahra.expect("شهر یا روستای خود")
    assert "شهرداری فلاورجان" in buttons(orgs)
    await zahra.press("شهرداری فلاورجان")
    card = await zahra.expect("مدارک لازم")
    assert "شهرداری فلاورجان" in card["text"]
    await zahra.send("گلابی پرنده")  # nothing of the kind: the menu, as before
    await zahra.expect("چه کاری برایتان انجام دهم")


async def test_the_rejection_sms_carries_the_link_to_the_request(world: Any, platform: Platform) -> None:
    clerk = await world.clerk(platform)
    zahra = await world.citizen(platform)
    code = await file_with_own_number(zahra)
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("⛔️ رد درخواست", message=card)
    await clerk.expect("دلیل رد درخواست")
    await clerk.send("ملک خارج از محدوده شهر است")
    username = "miz_e2e_bot" if platform is Platform.TELEGRAM else "miz_e2e_bale_bot"
    link = deep_link(platform, username, tracking_payload(code)).removeprefix("https://")
    sms = await world.client.expect_sms(zahra.user["phone_number"], link)
    assert "رد شد" in sms["text"]
    assert sms["text"].startswith("میز:")
    await zahra.send("/start " + link.split("?start=")[1])  # the link opens her request's tracking
    tracked = await zahra.expect("سابقه")
    assert "ردشده" in tracked["text"]
