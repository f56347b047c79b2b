"""A service that needs a visit says where to go and when, and sends the office's location on request, on
Telegram and on Bale, through the emulator over HTTP."""

from __future__ import annotations

from typing import Any

from bot.platforms import Platform
from catalog import load_catalog
from config.settings import PROJECT_ROOT

FALAVARJAN = load_catalog(PROJECT_ROOT / "catalog" / "data").organization("falavarjan")


async def _card(person: Any, service: str, category: str = "🏗 شهرسازی و ساختمان") -> dict[str, Any]:
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🗂 خدمات و ثبت درخواست")
    await person.expect("شهر یا روستای خود")
    await person.press("شهرداری فلاورجان")
    await person.expect("گروه خدمت")
    await person.press(category)
    await person.expect("خدمت مورد نظر")
    await person.press(service)
    card: dict[str, Any] = await person.expect("مدارک لازم")
    return card


async def test_a_service_needing_a_visit_says_where_and_when_and_sends_the_map(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    card = await _card(zahra, "صدور پروانه ساختمانی")
    text = card["text"]
    assert text.count("محل مراجعه:") == 1, (
        "where in the office to go, said once; the office's address is its own line"
    )
    assert "نشانی دفتر: شهرداری فلاورجان، فلاورجان، خیابان امام خمینی" in text
    assert "ساعت کار:" in text
    assert "شنبه تا چهارشنبه" in text
    assert "۰۳۱۳۷۴۲۲۰۲۰" in text, "the office's phone, in Persian digits"
    buttons = [b["text"] for row in card["buttons"] for b in row]
    assert "📍 نقشه" in buttons

    await zahra.press("📍 نقشه")
    location = await zahra.expect()
    assert location["location"] == {
        "latitude": FALAVARJAN.contact.location.latitude,  # type: ignore[union-attr]
        "longitude": FALAVARJAN.contact.location.longitude,  # type: ignore[union-attr]
    }
    note = await zahra.expect("شهرداری فلاورجان")
    assert "خیابان امام خمینی" in note["text"]
    assert "ساعت کار" in note["text"]


async def test_an_online_service_has_no_map_button(world: Any, platform: Platform) -> None:
    zahra = await world.citizen(platform)
    card = await _card(zahra, "محاسبه زیربنای مجاز در طبقات")
    assert "محل مراجعه:" not in card["text"]
    assert "نشانی دفتر:" not in card["text"]
    assert "📍 نقشه" not in [b["text"] for row in card["buttons"] for b in row]


async def test_a_forged_map_press_for_no_organization_is_answered_politely(
    world: Any, platform: Platform
) -> None:
    mallory = await world.citizen(platform, name="مهدی")
    await mallory.send("/start")
    await mallory.expect("میز خدمت")
    await mallory.press(data="place:nowhere", wait_answer=20, forged=True)
    assert mallory.last_answer is not None
    menu = await mallory.expect()
    assert "location" not in menu
