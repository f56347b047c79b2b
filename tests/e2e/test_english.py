"""A citizen who switched to English reads a card, files a request and tracks it, on Telegram and on Bale.

Everything Miz itself says must read as English with Latin digits. Catalog content stays Persian where the
catalog has no ``en`` text: the steps, documents, laws, fee note, visit, complaint and FAQ of the building
permit, and the questions and documents of the test-only service (``tests/e2e/data/e2e_all_fields.yaml``).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.platforms import Platform
from desk.tracking import format_tracking_code
from tests.e2e.pickers import pick_organization

from .conftest import PDF  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

PERSIAN_DIGITS = re.compile("[۰-۹٠-٩]")
JALALI_DATE = re.compile(r"\d{1,2} [A-Z][a-z]+ 14\d\d")
MENU = [
    "🗂 Services & requests",
    "📂 My requests",
    "🔎 Track a request",
    "💰 Fees & calculators",
    "💳 Dues: look up & pay",
    "📜 Verify a certificate",
    "📣 File a complaint",
    "❓ Help",
    "🔔 SMS",
    "🌐 فارسی",
]


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("buttons", []) for b in row]


def menu(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["reply_keyboard"]["keyboard"] for b in row]


async def open_card_in_english(
    person: Any, org: str, service_words: str, service_title: str
) -> dict[str, Any]:
    """From /start to a service's card in English: switch language, pick the organization, type part of the name."""
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("🌐 English")
    changed = await person.expect("now in English")
    assert menu(changed) == MENU
    await person.press("🗂 Services & requests")
    await person.expect("Pick your city or village")
    await pick_organization(person, org, "Pick your city or village")
    await person.expect("Pick a category")
    await person.send(service_words)
    await person.expect("Services matching")
    await person.press(service_title)
    return await person.expect("Documents:")


async def fill_every_field_in_english(person: Any) -> None:
    """Answer the test service's questions 2 to 8 rightly (the last, optional one is skipped)."""
    answers = ("10380284790", "09123456789", "8491753981", "۱۴۰۵/۰۹/۰۶", "120", "Reza")
    for number, answer in enumerate(answers, start=2):
        await person.expect(f"Question {number} of 8")
        await person.send(answer)
    optional = await person.expect("Question 8 of 8")
    assert "Optional" in optional["text"]
    await person.press("⏭ Skip")


async def test_english_service_card_has_english_headings_and_latin_digits(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    card = await open_card_in_english(zahra, "Falavarjan Municipality", "permit", "Building permit")
    text = card["text"]
    assert text.startswith("📄 Building permit\n🏛 Falavarjan Municipality")
    assert "Permit to build, extend or rebuild" in text  # the catalog's English summary
    for heading in (
        "Steps:",
        "Documents:",
        "Duration:",
        "Fee:",
        "How:",
        "Laws and regulations:",
        "Responsible official:",
        "Complaints:",
    ):
        assert heading in text
    assert "(required · photo, PDF)" in text
    assert "(optional · PDF)" in text
    assert "Computed by the year's approved tariff" in text
    assert "Needs one visit in person" in text
    assert "📍 Where:" in text
    assert "Head of the municipality's urban planning unit" in text
    duration = next(line for line in text.splitlines() if "Duration:" in line)
    assert "30 working days; if filed today, by" in duration
    assert JALALI_DATE.search(duration), duration
    assert not PERSIAN_DIGITS.search(duration)
    assert buttons(card) == ["📝 File a request", "❔ FAQ", "📍 Map", "↩️ Other services"]
    assert "Office: Falavarjan Municipality, Falavarjan, Imam Khomeini Street" in text
    assert "Opening hours: Saturday to Wednesday" in text
    assert "Phone: 03137422020" in text, "the office's phone in Latin digits"
    await zahra.press("📍 Map")
    assert "location" in await zahra.expect()
    note = await zahra.expect("Falavarjan Municipality")
    assert "Opening hours" in note["text"]

    await zahra.press("❔ FAQ")
    faq = await zahra.expect("FAQ: Building permit")
    assert "1." in faq["text"]


async def test_english_citizen_files_a_request_and_gets_a_latin_tracking_code(
    world: Any, platform: Platform
) -> None:
    reza = await world.citizen(platform, name="Reza")
    await open_card_in_english(reza, "Falavarjan Municipality", "Every question", "Every question test")
    await reza.press("📝 File a request")
    intro = await reza.expect("Filing a request: Every question test")
    assert "I will ask 8 questions, then take 2 documents" in intro["text"]
    first = await reza.expect("Question 1 of 8")
    assert "Type the 10-digit national ID" in first["text"]
    assert "↩️ Previous step" in menu(first)
    assert "✖️ Cancel" in menu(first)
    await reza.send("123")
    await reza.expect("⚠️ A national ID has 10 digits")
    await reza.expect("Question 1 of 8")  # the same question again
    await reza.send("۰۴۹۹۳۷۰۸۹۹")  # Persian digits are fine in English too
    await fill_every_field_in_english(reza)

    ask = await reza.expect("Document 1 of 2")
    assert "Accepted: PDF" in ask["text"]
    assert "(required)" in ask["text"]
    await reza.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await reza.expect("Document 2 of 2")
    await reza.press("⏭ Skip")

    review = await reza.expect("Review: Every question test")
    text = review["text"]
    assert "🏛 Falavarjan Municipality" in text
    assert ": 0499370899" in text, "the national ID typed in Persian digits reads in Latin digits"
    assert "6 Azar 1405" in text
    assert "Documents:" in text
    assert "If everything is right, tap “✅ Submit”." in text
    assert not PERSIAN_DIGITS.search(text)
    assert buttons(review) == ["✅ Submit", "✏️ Change an answer or document", "✖️ Cancel"]
    await reza.press("✅ Submit")

    done = await reza.expect("Tracking code:")
    text = done["text"]
    assert "✅ Your request “Every question test” at Falavarjan Municipality was filed." in text
    assert re.search(r"Tracking code: \u2066?\d{4}-\d{4}-\d{4}", text), text
    deadline = next(line for line in text.splitlines() if "Expected answer by:" in line)
    assert JALALI_DATE.search(deadline), deadline
    assert not PERSIAN_DIGITS.search(text)
    assert menu(done) == MENU
    code = next(
        str(m["text"]).strip()
        for m in reversed(await reza.transcript())
        if m.get("outgoing") and str(m.get("text", "")).strip().isdigit()
    )
    assert code.isascii(), "the copyable code is in Latin digits"
    assert len(code) == 12

    await reza.press("📂 My requests")
    mine = await reza.expect("Your requests")
    assert format_tracking_code(code, "en") in mine["text"], "grouped, as on the notice"
    assert "Every question test · Falavarjan Municipality" in mine["text"]
    assert "Submitted" in mine["text"]
    assert not PERSIAN_DIGITS.search(mine["text"])

    await reza.press("🔎 Track a request")
    await reza.expect("Send the request's tracking code")
    await reza.send(code)
    status = await reza.expect("Status:")
    assert "Every question test" in status["text"]
    assert "Status: Submitted" in status["text"]
    assert "Filed:" in status["text"]
    assert JALALI_DATE.search(status["text"])
    assert not PERSIAN_DIGITS.search(status["text"])
