"""A hostile client's input: hidden characters in names and answers, booby-trapped files, malformed buttons.

Each attack goes through the emulator as a modified client could send it; the bot must clean what reaches the
clerks' cards, refuse the file politely and ask for the document again, and answer a malformed button as a stale
one, with no traceback in the log.
"""

from __future__ import annotations

import io
import logging
import re
import struct
import zlib
from typing import Any

import pytest
from PIL import Image

from bot.platforms import Platform
from tests.e2e.conftest import PDF, png
from tests.e2e.test_request import open_card
from tests.security.conftest import World

pytestmark = pytest.mark.slow

RLO = "\u202e"  # right-to-left override: makes "fdp.exe" read "exe.pdf"
ZWSP = "\u200b"  # zero-width space
WORD_JOINER = "\u2060"
ZWNJ = "\u200c"  # the Persian half-space: part of the spelling, kept
HIDDEN = (RLO, ZWSP, WORD_JOINER, "\u200d", "\u2066", "\ufeff")

PERSIAN = "۰۱۲۳۴۵۶۷۸۹"
# A code, masked ID or phone as Miz shows it: digits and separators between a left-to-right isolate and its end.
MIZ_ISOLATED = re.compile("\u2066[0-9۰-۹*∗#+\\- ]+\u2069")
STALE = "این دکمه مربوط به گفت‌وگوی قبلی است"


async def file_the_test_service(citizen: Any, *, name: str = "رضا") -> None:
    """File 'آزمون همه پرسش‌ها' at Falavarjan with ``name`` as the answer to its name question."""
    await open_card(citizen, "شهرداری فلاورجان", "آزمون", "آزمون همه پرسش‌ها")
    await citizen.press("📝 ثبت درخواست")
    answers = ("0499370899", "10380284790", "09123456789", "8491753981", "1405/09/06", "120", name)
    for number, answer in enumerate(answers, start=1):
        await citizen.expect(f"پرسش {PERSIAN[number]} از ۸")
        await citizen.send(answer)
    await citizen.expect("پرسش ۸ از ۸")
    await citizen.press("⏭ رد کردن")
    await citizen.expect("مدرک ۱ از ۲")


async def test_a_right_to_left_override_and_invisible_marks_in_a_name_and_an_answer_never_reach_the_card(
    world: World, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    citizen = await world.citizen(platform, name=f"{RLO}علی{ZWNJ}{ZWSP}رضا{WORD_JOINER}\u2066 کریمی\ufeff")
    await file_the_test_service(citizen, name=f"{RLO}محمد{WORD_JOINER}{ZWNJ}\u200dرضا{ZWSP}")
    await citizen.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await citizen.expect("مدرک ۲ از ۲")
    await citizen.press("⏭ رد کردن")
    await citizen.expect("بازبینی")
    await citizen.press("✅ ثبت نهایی")
    await citizen.expect("کد رهگیری")

    card = await clerk.expect("آزمون همه پرسش‌ها")
    text = card["text"]
    assert f"علی{ZWNJ}رضا کریمی" in text, "the name, cleaned, keeps its half-space"
    assert f"محمد{ZWNJ}رضا" in text, "the answer, cleaned, keeps its half-space"
    citizens_part = MIZ_ISOLATED.sub("", text)  # Miz isolates the codes and IDs it shows, and nothing else
    for mark in HIDDEN:
        assert mark not in citizens_part, f"U+{ord(mark):04X} reached the card"


def polyglot_pdf() -> bytes:
    """A file that is a PDF to a PDF reader and a web page with a script to a browser that sniffs it."""
    return b"%PDF-1.4\n<html><body><script>alert(document.cookie)</script></body></html>\n" + PDF[9:]


def truncated_jpeg() -> bytes:
    """A real JPEG photo cut off half-way, as a broken upload or a crafted file would arrive."""
    image = Image.effect_noise((96, 64), 60).convert("RGB")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    whole = out.getvalue()
    return whole[: len(whole) // 2]


def decompression_bomb_png(width: int = 20_000, height: int = 10_000) -> bytes:
    """A PNG of a few kilobytes that decodes to 200 million pixels (far above Pillow's limit)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)  # one-bit grey, filter byte 0
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row * 1000) for _ in range(height // 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


async def test_a_polyglot_pdf_a_truncated_jpeg_and_a_decompression_bomb_are_refused_and_the_form_goes_on(
    world: World, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await file_the_test_service(zahra)

    await zahra.send_document(polyglot_pdf(), filename="scan.pdf", mime_type="application/pdf")
    refusal = await zahra.expect("PDF")
    assert "لطفاً" in refusal["text"], "the refusal is polite and says what to send"
    await zahra.expect("مدرک ۱ از ۲")
    await zahra.send_document(PDF, filename="scan.pdf", mime_type="application/pdf")
    await zahra.expect("مدرک ۲ از ۲")

    await zahra.send_document(truncated_jpeg(), filename="place.jpg", mime_type="image/jpeg")
    refusal = await zahra.expect("ناقص")
    assert "لطفاً" in refusal["text"]
    await zahra.expect("مدرک ۲ از ۲")

    await zahra.send_document(decompression_bomb_png(), filename="place.png", mime_type="image/png")
    refusal = await zahra.expect("بزرگ")
    assert "لطفاً" in refusal["text"]
    await zahra.expect("مدرک ۲ از ۲")

    await zahra.send_photo(png(), filename="place.png")
    review = await zahra.expect("بازبینی")
    assert "✅ عکس محل" in review["text"], "the good photo is kept"
    await zahra.press("✅ ثبت نهایی")
    await zahra.expect("کد رهگیری")


MALFORMED = (
    "card:1:claim:bogus",  # a status that does not exist
    "card:1:bogus:submitted",  # an action that does not exist
    "card:" + "9" * 40 + ":claim:submitted",  # an id far beyond any integer column
    "card:-1:claim:submitted",
    "card:0:claim:submitted",
    "rate:" + "9" * 40 + ":5",
    "rate:-1:5",
    "object:" + "9" * 40,
    "smsoffer:-1:yes",
)


async def _press_each(person: Any, caplog: pytest.LogCaptureFixture) -> None:
    for data in MALFORMED:
        await person.press(data=data, forged=True, wait_answer=20)  # a modified client sends what it likes
        answer = person.last_answer or {}
        assert STALE in (answer.get("text") or ""), f"{data!r} got {answer!r}"
    failures = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]


async def test_malformed_buttons_pressed_in_the_operator_group_are_answered_as_stale(
    world: World, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    clerk = await world.clerk(platform)
    await clerk.send("/help")
    await clerk.expect("راهنمای کارشناسان")
    await _press_each(clerk, caplog)


async def test_malformed_buttons_pressed_in_a_private_chat_are_answered_as_stale(
    world: World, platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await _press_each(zahra, caplog)
