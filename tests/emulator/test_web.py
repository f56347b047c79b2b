"""The web chat page in a real browser: a person chats with a tiny aiogram bot through the emulator.

Headless Chromium from Debian's ``chromium`` package, driven by Playwright (never ``playwright install``).
The emulator runs in-process on a free port; the bot polls it in both dialects from one Dispatcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import struct
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    ReplyKeyboardMarkup,
)

from tests.browser import SCREENSHOTS, phone_page

if TYPE_CHECKING:
    from playwright.async_api import Page


TELEGRAM_TOKEN = "111:telegram-web-test"
BALE_TOKEN = "222:bale-web-test"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class FeeAction(CallbackData, prefix="fee"):
    """The one inline button of the fake bot."""

    service: str


def fake_bot_router() -> Router:
    """A bot just big enough for the page: greets with both keyboards, edits on a press, echoes photos,
    and confirms a clerk's reply to a card in an operator group."""
    router = Router()

    @router.message(CommandStart())
    async def greet(message: Message) -> None:
        await message.answer(
            "سلام! به میز خدمت فلاورجان خوش آمدید.\nیک خدمت را انتخاب کنید:",
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text="عوارض نوسازی", callback_data=FeeAction(service="renewal").pack()
                        )
                    ]
                ]
            ),
        )
        await message.answer(
            "یا از دکمه‌های پایین استفاده کنید.",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[
                    [KeyboardButton(text="پیگیری درخواست"), KeyboardButton(text="خدمات")],
                    [KeyboardButton(text="ارسال شماره", request_contact=True)],
                ],
                resize_keyboard=True,
            ),
        )

    @router.callback_query(FeeAction.filter())
    async def fee(callback: CallbackQuery, callback_data: FeeAction) -> None:
        if isinstance(callback.message, Message):
            await callback.message.edit_text("عوارض نوسازی ملک شما: ۱۲۰٬۰۰۰ ریال")
        await callback.answer("محاسبه شد")

    @router.message(Command("pay"))
    async def invoice(message: Message) -> None:
        await message.answer_invoice(
            title="عوارض نوسازی",
            description="عوارض نوسازی سال ۱۴۰۵، ملک ۱۲۳",
            payload="renovation-123",
            provider_token="demo-wallet",
            currency="IRR",
            prices=[LabeledPrice(label="عوارض نوسازی", amount=1_250_000)],
        )

    @router.pre_checkout_query()
    async def checkout(query: PreCheckoutQuery) -> None:
        await query.answer(ok=True)

    @router.message(F.successful_payment)
    async def paid(message: Message) -> None:
        await message.answer("پرداخت شما رسید؛ سپاس.")

    @router.message(Command("long"))
    async def long_answers(message: Message) -> None:
        lines = "\n".join(f"بند {n}: توضیح این خدمت" for n in range(1, 13))
        await message.answer(f"بخش نخست\n{lines}")
        await message.answer(
            f"بخش پایانی\n{lines}\nپایان راهنما",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[
                    [KeyboardButton(text="خدمات")],
                    [KeyboardButton(text="درخواست‌های من"), KeyboardButton(text="پیگیری درخواست")],
                    [KeyboardButton(text="محاسبهٔ عوارض")],
                    [KeyboardButton(text="بدهی‌ها"), KeyboardButton(text="استعلام گواهی")],
                    [KeyboardButton(text="شکایت"), KeyboardButton(text="راهنما")],
                    [KeyboardButton(text="پیامک"), KeyboardButton(text="زبان")],
                ],
                resize_keyboard=True,
            ),
        )

    @router.message(F.chat.type.in_({"group", "supergroup"}), F.reply_to_message)
    async def clerk_reply(message: Message) -> None:
        await message.reply("پاسخ شما برای شهروند فرستاده شد.")

    @router.message(F.photo)
    async def echo_photo(message: Message) -> None:
        assert message.photo
        await message.answer_photo(message.photo[-1].file_id, caption="عکس شما رسید.")

    return router


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG (a teal square), made without an imaging library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes((0, 150, 136)) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass
class Emulator:
    """The running emulator and the fake bot's Telegram-dialect ``Bot`` (to post cards into groups)."""

    base_url: str
    telegram_bot: Bot


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulator in-process on a free port, with one Telegram and one Bale bot, and the fake bot polling."""
    from emulator.server import running_emulator

    async with running_emulator() as running:
        async with aiohttp.ClientSession(running.base_url) as http:
            for token, dialect, username in (
                (TELEGRAM_TOKEN, "telegram", "miz_falavarjan_bot"),
                (BALE_TOKEN, "bale", "miz_falavarjan_bale_bot"),
            ):
                body = {"token": token, "dialect": dialect, "username": username, "first_name": "میز خدمت"}
                response = await http.post("/sim/bots", json=body)
                assert response.status == 200, await response.text()

        api = TelegramAPIServer.from_base(running.base_url)
        bots = [Bot(token, session=AiohttpSession(api=api)) for token in (TELEGRAM_TOKEN, BALE_TOKEN)]
        dispatcher = Dispatcher()
        dispatcher.include_router(fake_bot_router())
        polling = asyncio.create_task(
            dispatcher.start_polling(*bots, handle_signals=False, polling_timeout=1)
        )
        try:
            yield Emulator(running.base_url, bots[0])
        finally:
            with contextlib.suppress(RuntimeError):
                await dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(polling, timeout=5)
            for bot in bots:
                await bot.session.close()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    """A phone-sized page in headless Chromium; the test fails if the page's script throws."""
    async with phone_page() as tab:
        yield tab


async def test_citizen_chats_with_the_bot_in_the_browser(page: Page, emulator: Emulator) -> None:
    from playwright.async_api import expect

    await page.goto(f"{emulator.base_url}/?dialect=telegram")
    assert await page.get_attribute("html", "dir") == "rtl"
    await expect(page.locator("#bot-line")).to_contain_text("@miz_falavarjan_bot")
    await expect(page.locator("#bot-line")).to_contain_text("تلگرام")

    # Who am I: a new citizen with a name.
    await page.get_by_label("کدام شهروند؟").select_option("new")
    await page.get_by_label("نام و نام خانوادگی").fill("زهرا احمدی")
    await page.get_by_role("button", name="ورود به گفتگو").click()
    await expect(page.locator("#who-label")).to_contain_text("زهرا احمدی")

    # /start: a Persian reply, right-to-left, with an inline keyboard and a reply keyboard.
    await page.get_by_label("متن پیام").fill("/start")
    await page.get_by_role("button", name="ارسال").click()
    greeting = page.locator(".msg.from-bot").filter(has_text="به میز خدمت فلاورجان خوش آمدید")
    await expect(greeting).to_be_visible()
    direction = await greeting.locator(".text").evaluate("node => getComputedStyle(node).direction")
    assert direction == "rtl"
    await expect(greeting.locator("time")).to_have_text(re.compile("^[۰-۹]{2}:[۰-۹]{2}$"))
    await expect(page.locator("#reply-keyboard").get_by_role("button", name="پیگیری درخواست")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-telegram-start.png"))

    # An inline button: the bot edits the message in place and answers the press.
    await greeting.get_by_role("button", name="عوارض نوسازی").click()
    edited = page.locator(".msg.from-bot").filter(has_text="۱۲۰٬۰۰۰ ریال")
    await expect(edited).to_be_visible()
    await expect(edited.locator(".edited")).to_have_text("ویرایش‌شده")
    await expect(page.locator(".msg").filter(has_text="به میز خدمت فلاورجان خوش آمدید")).to_have_count(0)
    await expect(page.locator("#toast")).to_have_text("محاسبه شد")

    # A reply keyboard button sends its text as the citizen's message.
    await page.locator("#reply-keyboard").get_by_role("button", name="پیگیری درخواست").click()
    await expect(page.locator(".msg.mine").filter(has_text="پیگیری درخواست")).to_be_visible()

    # A photo: chosen in the file input, echoed by the bot, shown as an image.
    await page.get_by_role("button", name="پیوست").click()
    await page.locator("#photo-input").set_input_files(
        {"name": "sanad.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    echoed = page.locator(".msg.from-bot").filter(has_text="عکس شما رسید.")
    await expect(echoed.locator("img.photo")).to_be_visible()
    assert await echoed.locator("img.photo").evaluate("img => img.naturalWidth") == 64
    await expect(page.locator(".msg.mine img.photo")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-telegram-phone.png"))

    # A document is offered for download; the contact is the citizen's own; the location form is prefilled.
    await page.get_by_role("button", name="پیوست").click()
    await page.locator("#document-input").set_input_files(
        {"name": "sanad-melk.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 test"}
    )
    document = page.locator(".msg.mine a.file").filter(has_text="sanad-melk.pdf")
    await expect(document).to_have_attribute("download", "sanad-melk.pdf")
    await page.locator("#reply-keyboard").get_by_role("button", name="ارسال شماره").click()
    await expect(page.locator(".msg.mine .contact")).to_contain_text("زهرا")
    await page.get_by_role("button", name="پیوست").click()
    await page.get_by_role("button", name="موقعیت").click()
    await expect(page.get_by_label("عرض جغرافیایی")).to_have_value("32.555")
    await page.get_by_role("button", name="فرستادن موقعیت").click()
    await expect(page.locator(".msg.mine .location")).to_contain_text("۳۲٫۵۵۵")

    # Switch to Bale: the look changes and the page talks to the Bale bot.
    await page.get_by_role("button", name="بله", exact=True).click()
    await expect(page.locator("body")).to_have_attribute("data-dialect", "bale")
    await expect(page.locator("#bot-line")).to_contain_text("@miz_falavarjan_bale_bot")
    await expect(page.locator("#bot-line")).to_contain_text("بله")
    await expect(page.locator(".msg")).to_have_count(0)
    await page.get_by_label("متن پیام").fill("/start")
    await page.get_by_label("متن پیام").press("Enter")
    await expect(page.locator(".msg.from-bot").filter(has_text="خوش آمدید")).to_be_visible()
    header = await page.locator(".topbar").evaluate("node => getComputedStyle(node).backgroundImage")
    assert "0, 121, 107" in header  # Bale's teal, not Telegram's blue
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-bale-phone.png"))

    # A reload keeps the person, the messenger and the conversation.
    await page.reload()
    await expect(page.locator(".msg.from-bot").filter(has_text="خوش آمدید")).to_be_visible()
    await expect(page.locator("body")).to_have_attribute("data-dialect", "bale")
    await page.set_viewport_size({"width": 1200, "height": 800})
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-bale-desktop.png"))


async def test_clerk_replies_to_a_card_in_the_operator_group(page: Page, emulator: Emulator) -> None:
    from playwright.async_api import expect

    async with aiohttp.ClientSession(emulator.base_url) as http:
        clerk = await (
            await http.post("/sim/users", json={"first_name": "مهدی", "last_name": "رضایی"})
        ).json()
        body = {
            "bot_token": TELEGRAM_TOKEN,
            "title": "کارشناسان شهرداری فلاورجان",
            "members": [],
            "admins": [clerk["id"]],
        }
        group = await (await http.post("/sim/groups", json=body)).json()
    await emulator.telegram_bot.send_message(group["id"], "درخواست تازه: پروانهٔ کسب\nکد رهگیری: ۴۸۲۹۱۷۳۵")

    await page.goto(f"{emulator.base_url}/?dialect=telegram")
    await page.get_by_label("کارشناس در گروه اداره").check()
    await page.get_by_label("کدام کارشناس؟").select_option(str(clerk["id"]))
    await expect(page.get_by_label("گروه اداره", exact=True)).to_have_value(str(group["id"]))
    await page.get_by_role("button", name="ورود به گفتگو").click()

    card = page.locator(".msg.from-bot").filter(has_text="کد رهگیری")
    await expect(card.locator(".sender")).to_have_text("میز خدمت")
    await card.get_by_role("button", name="پاسخ به این پیام").click()
    await expect(page.locator("#reply-bar")).to_contain_text("پروانهٔ کسب")
    await page.get_by_label("متن پیام").fill("مدارک کامل است.")
    await page.get_by_label("متن پیام").press("Enter")

    mine = page.locator(".msg.mine").filter(has_text="مدارک کامل است.")
    await expect(mine.locator(".quote")).to_contain_text("پروانهٔ کسب")
    await expect(page.locator("#reply-bar")).to_be_hidden()
    await expect(
        page.locator(".msg.from-bot").filter(has_text="پاسخ شما برای شهروند فرستاده شد.")
    ).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-clerk-phone.png"))


async def test_the_english_page_makes_english_speaking_people(page: Page, emulator: Emulator) -> None:
    """A citizen created on ``?lang=en`` reads English (their client's language is en), as the page does."""
    from playwright.async_api import expect

    await page.goto(f"{emulator.base_url}/?lang=en&dialect=telegram")
    await page.get_by_label("Which citizen?").select_option("new")
    await page.get_by_label("Full name").fill("Sara Ahmadi")
    await page.get_by_role("button", name="Open the chat").click()
    await expect(page.locator("#who-label")).to_contain_text("Sara Ahmadi")
    async with aiohttp.ClientSession(emulator.base_url) as http:
        users = (await (await http.get("/sim/users")).json())["users"]
    assert [user["language_code"] for user in users if user["first_name"] == "Sara"] == ["en"]


async def test_a_bale_invoice_has_its_pay_button_and_is_paid_on_the_page(
    page: Page, emulator: Emulator
) -> None:
    """Bale (like Telegram) draws an invoice's pay button itself: the page shows it, and pressing it pays."""
    from playwright.async_api import expect

    await page.goto(f"{emulator.base_url}/?dialect=bale")
    await page.get_by_label("نام و نام خانوادگی").fill("زهرا احمدی")
    await page.get_by_role("button", name="ورود به گفتگو").click()
    await page.get_by_label("متن پیام").fill("/pay")
    await page.get_by_label("متن پیام").press("Enter")
    invoice = page.locator(".msg.from-bot").filter(has_text="عوارض نوسازی سال ۱۴۰۵")
    pay = invoice.get_by_role("button", name="پرداخت ۱٬۲۵۰٬۰۰۰ ریال")
    await expect(pay).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-bale-invoice.png"))

    await pay.click()
    await expect(invoice.locator(".paid")).to_have_text("پرداخت شد")
    await expect(invoice.get_by_role("button", name="پرداخت ۱٬۲۵۰٬۰۰۰ ریال")).to_have_count(0)
    await expect(page.locator(".msg.mine .payment")).to_contain_text("پرداخت انجام شد")
    await expect(page.locator(".msg.from-bot").filter(has_text="پرداخت شما رسید")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-bale-paid.png"))


async def test_the_person_picker_offers_this_looks_people_and_names_each_clerks_office(
    page: Page, emulator: Emulator
) -> None:
    from playwright.async_api import expect

    async with aiohttp.ClientSession(emulator.base_url) as http:

        async def person(first_name: str) -> int:
            return int((await (await http.post("/sim/users", json={"first_name": first_name})).json())["id"])

        telegram_clerk, bale_clerk = await person("رضا"), await person("مینا")
        telegram_citizen, newcomer = await person("علی"), await person("سارا")
        for token, clerk, title in (
            (TELEGRAM_TOKEN, telegram_clerk, "شهرداری فلاورجان"),
            (BALE_TOKEN, bale_clerk, "شهرداری قهدریجان"),
        ):
            body = {"bot_token": token, "title": title, "members": [clerk], "admins": []}
            assert (await http.post("/sim/groups", json=body)).status == 200
        body = {"user_id": telegram_citizen, "text": "/start"}
        assert (
            await http.post(f"/sim/bots/{TELEGRAM_TOKEN}/chats/{telegram_citizen}/messages", json=body)
        ).status == 200

    await page.goto(f"{emulator.base_url}/?dialect=bale")
    citizens = page.get_by_label("کدام شهروند؟").locator("option")
    await expect(citizens).to_have_text(["شهروند تازه…", re.compile("^سارا")])
    await page.get_by_label("کارشناس در گروه اداره").check()
    clerks = page.get_by_label("کدام کارشناس؟").locator("option")
    await expect(clerks).to_have_text(["مینا · شهرداری قهدریجان · بله"])
    await expect(page.get_by_label("گروه اداره", exact=True)).to_have_value(re.compile(r"^-?\d+$"))
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-bale-picker.png"))

    await page.get_by_role("button", name="تلگرام", exact=True).click()
    await expect(page.locator("body")).to_have_attribute("data-dialect", "telegram")
    await expect(clerks).to_have_text(["رضا · شهرداری فلاورجان · تلگرام"])
    await page.get_by_label("شهروند", exact=True).check()
    await expect(citizens).to_have_text(["شهروند تازه…", re.compile("^علی"), re.compile("^سارا")])
    assert newcomer != telegram_citizen
    await page.screenshot(path=str(SCREENSHOTS / "miz-web-telegram-picker.png"))


@pytest.mark.parametrize("dialect", ["telegram", "bale"])
async def test_the_newest_message_stays_in_view_when_the_reply_keyboard_is_hidden_and_shown(
    page: Page, emulator: Emulator, dialect: str
) -> None:
    """On a phone, long answers and a tall reply keyboard (Miz's main menu has six rows): whatever arrives and
    however often the keyboard is hidden and shown, the newest message's end is in view."""
    from playwright.async_api import expect

    await page.goto(f"{emulator.base_url}/?dialect={dialect}")
    await page.get_by_label("نام و نام خانوادگی").fill("زهرا احمدی")
    await page.get_by_role("button", name="ورود به گفتگو").click()
    keyboard = page.locator("#reply-keyboard")
    toggle = page.get_by_role("button", name="نمایش یا پنهان کردن دکمه‌های ربات")

    async def newest_in_view() -> bool:
        newest = page.locator(".msg.from-bot").filter(has_text="پایان راهنما").last
        return bool(
            await newest.evaluate(
                """node => {
                    const box = document.getElementById("scroller").getBoundingClientRect();
                    const bottom = node.getBoundingClientRect().bottom;
                    return bottom <= box.bottom + 1 && bottom > box.top;
                }"""
            )
        )

    for answers in (1, 2):
        await page.get_by_label("متن پیام").fill("/long")
        await page.get_by_label("متن پیام").press("Enter")
        await expect(page.locator(".msg.from-bot").filter(has_text="پایان راهنما")).to_have_count(answers)
        await expect(keyboard).to_be_visible()
        await page.wait_for_timeout(400)  # what a smooth scroll would still be doing
        assert await newest_in_view(), "the newest message arrived out of view"
        for shown in (False, True):
            await toggle.click()
            await (expect(keyboard).to_be_visible() if shown else expect(keyboard).to_be_hidden())
            await page.wait_for_timeout(150)
            assert await newest_in_view(), f"the newest message left the view (keyboard shown: {shown})"
    await page.screenshot(path=str(SCREENSHOTS / f"miz-web-{dialect}-keyboard-shown.png"))
