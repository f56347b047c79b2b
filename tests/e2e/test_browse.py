"""A citizen finds a service and reads its card, on Telegram and on Bale, through the emulator over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.platforms import Platform
from tests.e2e.pickers import labels, pick_organization

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
    await pick_organization(ali, "دهیاری اشترجان")
    categories = await ali.expect("گروه خدمت را انتخاب کنید")
    await ali.press(next(b["text"] for row in categories["buttons"] for b in row if "شهرسازی" in b["text"]))
    services = await ali.expect("خدمت مورد نظر")
    titles = [b["text"] for row in services["buttons"] for b in row]
    assert any("روستا" in t for t in titles)
    assert "صدور پروانه ساختمانی" not in titles, "the municipal permit is not offered by a dehyari"


async def test_the_towns_and_each_districts_villages_button_share_the_first_screen(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ali.press("🗂 خدمات و ثبت درخواست")
    first = await ali.expect("شهر یا روستای خود")
    towns = [b for b in labels(first) if not b.startswith("↩")]
    assert not [b for b in towns if b.startswith(("بعدی", "›"))], (
        "a villager never pages to find the villages"
    )
    assert len(first["buttons"]) <= 9, "towns two to a row: the list fits a phone's screen"
    assert "شهرداری فلاورجان" in towns
    assert not [t for t in towns if t.startswith("دهیاری")], "no village among the towns"
    groups = [t for t in towns if t.startswith("🏡")]
    assert len(groups) == 3, groups
    central = next(g for g in groups if "بخش مرکزی" in g)
    assert "(۱۵)" in central, "the count, in Persian digits"

    await ali.press(central)
    villages = await ali.expect("شهر یا روستای خود")
    page_one = labels(villages)
    assert "دهیاری اشترجان" in page_one
    assert not [b for b in page_one if b.startswith("شهرداری")], "only the district's villages"
    await ali.press(next(b for b in page_one if b.startswith("بعدی")))
    page_two = labels(await ali.expect("شهر یا روستای خود"))
    shown = {b for b in page_one + page_two if b.startswith("دهیاری")}
    assert {"دهیاری کروج", "دهیاری جوجیل", "دهیاری هویه"} <= shown
    assert "دهیاری قلعه‌امیر" not in shown, "Qaleh Amir is in the Ghahderijan District"
    assert len(shown) == 15

    await ali.press(next(b for b in page_two if b.startswith("↩")))  # back: the towns, not the main menu
    back = await ali.expect("شهر یا روستای خود")
    assert "شهرداری فلاورجان" in labels(back)
    await pick_organization(ali, "دهیاری قلعه‌امیر")
    await ali.expect("دهیاری قلعه‌امیر")


async def test_a_forged_district_or_page_of_villages_shows_a_real_list(
    world: Any, platform: Platform
) -> None:
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ali.press("🗂 خدمات و ثبت درخواست")
    picker = await ali.expect("شهر یا روستای خود")
    await ali.press(next(b for b in labels(picker) if b.startswith("🏡") and "مرکزی" in b))
    assert "دهیاری اشترجان" in labels(await ali.expect("شهر یا روستای خود"))
    await ali.press(data="orgs:1:0:nowhere", message=picker, forged=True, wait_answer=20)
    towns = await ali.expect("شهر یا روستای خود")
    assert any(b.startswith("🏡") for b in labels(towns)), "an unknown district: the towns' page asked for"
    await ali.press(data="orgs:99:0:central", message=picker, forged=True, wait_answer=20)
    last = labels(await ali.expect("شهر یا روستای خود"))
    assert "دهیاری اشترجان" not in last, "a page past the end: the district's last page"
    assert any(b.startswith("دهیاری") for b in last)
    assert not any(b.startswith("بعدی") for b in last)


async def test_a_service_found_at_the_main_menu_lists_the_towns_then_each_districts_villages(
    world: Any, platform: Platform
) -> None:
    """Typed at the main menu, a service every town and village offers lists its organizations grouped as the
    picker does: the municipalities first on one screen, then one button per district leading to its dehyaris."""
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ali.send("نخاله ساختمانی")
    found = await ali.expect("خدماتی که با")
    await ali.press("جمع‌آوری نخاله ساختمانی", message=found)
    first = await ali.expect("شهر یا روستای خود")
    towns = [b for b in labels(first) if not b.startswith("↩")]
    assert "شهرداری فلاورجان" in towns
    assert not [b for b in towns if b.startswith("دهیاری")], "no village among the towns"
    assert not [b for b in towns if b.startswith("بعدی")], "a villager never pages to find the villages"
    central = next(b for b in towns if b.startswith("🏡") and "بخش مرکزی" in b)

    await ali.press(central, message=first)
    villages = labels(await ali.expect("شهر یا روستای خود"))
    assert "دهیاری اشترجان" in villages
    assert not [b for b in villages if b.startswith("شهرداری")], "only the district's villages"
    await ali.press(next(b for b in villages if b.startswith("↩")))  # back: the towns, not the main menu
    assert "شهرداری فلاورجان" in labels(await ali.expect("شهر یا روستای خود"))

    await ali.press(central, message=first)
    assert "دهیاری اشترجان" in labels(await ali.expect("شهر یا روستای خود"))
    await ali.press(data="svcorgs:debris_collection:0:nowhere", message=first, forged=True, wait_answer=20)
    assert central in labels(await ali.expect("شهر یا روستای خود")), "an unknown district: the towns"
    await pick_organization(ali, "دهیاری قلعه‌امیر")
    card = await ali.expect("مدارک لازم")
    assert "دهیاری قلعه‌امیر" in card["text"]


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
    await zahra.press("❔ پرسش‌های متداول", wait_answer=20)
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


async def open_falavarjan(person: Any) -> None:
    """From /start to Falavarjan municipality's categories (typed text then searches its services)."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🗂 خدمات و ثبت درخواست")
    await person.expect("شهر یا روستای خود")
    await person.press("شهرداری فلاورجان")
    await person.expect("گروه خدمت")
