"""A citizen finds a service and reads its card, on Telegram and on Bale, through the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.platforms import Platform

PERSIAN_DIGITS = set("۰۱۲۳۴۵۶۷۸۹")


async def test_start_shows_the_welcome_and_the_menu(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    welcome = await zahra.expect("میز خدمت")
    labels = [b["text"] for row in welcome["reply_keyboard"]["keyboard"] for b in row]
    assert labels == [
        "🗂 خدمات و ثبت درخواست",
        "📂 درخواست‌های من",
        "🔎 پیگیری درخواست",
        "💰 عوارض و محاسبه",
        "💳 استعلام و پرداخت عوارض",
        "📜 استعلام گواهی",
        "📣 ثبت شکایت",
        "❓ راهنما",
        "🔔 پیامک",
        "🌐 English",
    ]
    if platform is Platform.TELEGRAM:
        assert welcome["parse_mode"] == "HTML"
    # "میز خدمت" is bold on both platforms (HTML on Telegram, Bale Markdown on Bale).
    assert any(e["type"] == "bold" for e in welcome["entities"])


async def test_citizen_reads_a_municipal_service_card(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await zahra.press("🗂 خدمات و ثبت درخواست")
    orgs = await zahra.expect("شهر یا روستای خود")
    names = [b["text"] for row in orgs["buttons"] for b in row]
    assert "شهرداری فلاورجان" in names
    await zahra.press("شهرداری فلاورجان")
    await zahra.expect("گروه خدمت را انتخاب کنید")
    await zahra.press("🏗 شهرسازی و ساختمان")
    services = await zahra.expect("خدمت مورد نظر را انتخاب کنید")
    assert services["message_id"] == orgs["message_id"], "drilling down edits the same message"
    await zahra.press("صدور پروانه ساختمانی")
    card = await zahra.expect("مدارک لازم")
    text = card["text"]
    for heading in (
        "مراحل انجام کار",
        "مدت انجام",
        "هزینه",
        "قوانین و مقررات",
        "مسئول پاسخگو",
        "رسیدگی به شکایت",
    ):
        assert heading in text
    assert "روز کاری" in text
    assert PERSIAN_DIGITS & set(text), "duration in Persian digits with a Jalali date"
    assert "1405" not in text
    assert "1406" not in text
    await zahra.press("❔ پرسش‌های متداول")
    faq = await zahra.expect("پرسش‌های متداول")
    assert "۱." in faq["text"]


async def test_a_dehyari_offers_village_services(world: Any, platform: Platform) -> None:
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ali.press("🗂 خدمات و ثبت درخواست")
    await ali.expect("شهر یا روستای خود")
    orgs = await _all_org_names(ali)
    assert "دهیاری اشترجان" in orgs
    await _press_on_any_page(ali, "دهیاری اشترجان")
    categories = await ali.expect("گروه خدمت را انتخاب کنید")
    await ali.press(next(b["text"] for row in categories["buttons"] for b in row if "شهرسازی" in b["text"]))
    services = await ali.expect("خدمت مورد نظر")
    titles = [b["text"] for row in services["buttons"] for b in row]
    assert any("روستا" in t for t in titles)
    assert "صدور پروانه ساختمانی" not in titles, "the municipal permit is not offered by a dehyari"


async def test_typing_finds_a_service_whatever_the_keyboard(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.send("پروانه ساختماني")  # Arabic yeh, as an Arabic keyboard types it
    found = await zahra.expect("پیدا شد")
    assert "صدور پروانه ساختمانی" in [b["text"] for row in found["buttons"] for b in row]
    await zahra.send("هلیکوپتر")
    await zahra.expect("پیدا نشد")


async def test_typed_text_cannot_break_the_reply(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.send("<b>*_`[x](y)")
    reply = await zahra.expect("پیدا نشد")
    assert "x" in reply["text"]


async def test_language_switch_to_english_and_back(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await zahra.press("🌐 English")
    changed = await zahra.expect("now in English")
    labels = [b["text"] for row in changed["reply_keyboard"]["keyboard"] for b in row]
    assert "🗂 Services & requests" in labels
    await zahra.press("🗂 Services & requests")
    await zahra.expect("Pick your city or village")
    await zahra.send("/start")
    await zahra.expect("welcome to")
    await zahra.press("🌐 فارسی")
    await zahra.expect("فارسی شد")


async def test_a_button_of_a_removed_service_answers_politely(
    world: Any, platform: Platform, catalog_dir: Path
) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await zahra.press("🏗 شهرسازی و ساختمان")
    await zahra.expect("خدمت مورد نظر")
    await zahra.press("صدور پروانه ساختمانی")
    await zahra.expect("مدارک لازم")
    (catalog_dir / "services" / "building_permit.yaml").unlink()
    assert world.miz.catalogs.reload() == []
    await zahra.press("❔ پرسش‌های متداول", wait_answer=5)
    assert zahra.last_answer is not None
    assert "دیگر کار نمی‌کند" in zahra.last_answer["text"]
    await zahra.expect("یکی از دکمه‌های پایین")


async def test_the_chosen_organization_survives_a_restart(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    await open_falavarjan(zahra)
    await world.restart()
    await zahra.send("عدم خلاف")
    found = await zahra.expect("پیدا شد")
    assert "فلاورجان" in found["text"]


async def _all_org_names(person: Any) -> list[str]:
    names: list[str] = []
    while True:
        message = person.last_message
        buttons = [b["text"] for row in message["buttons"] for b in row]
        names += [b for b in buttons if not b.startswith(("بعدی", "›", "↩"))]
        if not any(b.startswith("بعدی") for b in buttons):
            break
        await person.press(next(b for b in buttons if b.startswith("بعدی")))
        await person.expect("شهر یا روستای خود")
    while any(b["text"].startswith("›") for row in person.last_message["buttons"] for b in row):
        await person.press(
            next(
                b["text"] for row in person.last_message["buttons"] for b in row if b["text"].startswith("›")
            )
        )
        await person.expect("شهر یا روستای خود")
    return names


async def _press_on_any_page(person: Any, label: str) -> None:
    while True:
        buttons = [b["text"] for row in person.last_message["buttons"] for b in row]
        if label in buttons:
            await person.press(label)
            return
        await person.press(next(b for b in buttons if b.startswith("بعدی")))
        await person.expect("شهر یا روستای خود")


async def open_falavarjan(person: Any) -> None:
    """From /start to Falavarjan municipality's categories (typed text then searches its services)."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🗂 خدمات و ثبت درخواست")
    await person.expect("شهر یا روستای خود")
    await person.press("شهرداری فلاورجان")
    await person.expect("گروه خدمت")
