"""A citizen looks up dues and gets the IDs to pay them; anyone verifies a certificate by its code (issue #7)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from bot.platforms import Platform
from desk.billing import barcode, bill_id, payment_id
from desk.certificates import (
    format_certificate_code,
    issue_certificate,
    new_certificate_code,
    revoke_certificate,
)
from desk.dues import DueKind, import_dues, parse_dues_csv
from desk.privacy import mask_name
from storage.db import create_engine, session_factory
from storage.uow import unit_of_work

from .test_desk import file_request  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

DUES_CSV = "code,national_id,amount_rials,period\n12-34-567,0499370899,1250000,1405\n12-34-567,0499370899,300000,1404\n"
BILL = bill_id(11_234_567, 311)  # renovation, code 1234567, Falavarjan's (sample) company code
PAYMENT_1405 = payment_id(1_250_000, 1405, 0, BILL)


async def in_store(world: Any, work: Any) -> Any:
    """Run ``work(session)`` in one transaction on the running Miz's database."""
    engine = create_engine(world.settings.database_url)
    try:
        async with unit_of_work(session_factory(engine), write=True) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def seed_dues(world: Any) -> None:
    parsed = parse_dues_csv(DUES_CSV.encode())
    assert parsed.ok

    async def work(session: Any) -> None:
        await import_dues(
            session,
            parsed.rows,
            organization_id="falavarjan",
            company_code=311,
            kind=DueKind.RENOVATION,
            file_name="e2e.csv",
            sha256="e2e",
            imported_by="e2e",
        )

    await in_store(world, work)


async def ask_dues(person: Any, code: str) -> None:
    """From the menu to the national ID question: dues, Falavarjan, the code."""
    await person.press("💳 استعلام و پرداخت عوارض")
    await person.expect("عوارض کدام شهرداری")
    await person.press("شهرداری فلاورجان")
    await person.expect("کد نوسازی ملک")
    await person.send(code)
    await person.expect("کد ملی مالک")


async def test_dues_found_with_bill_and_payment_ids(world: Any, platform: Platform) -> None:
    await seed_dues(world)
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await ask_dues(zahra, "۱۲۳۴۵۶۷")  # Persian digits, no dashes
    await zahra.send("۰۴۹۹۳۷۰۸۹۹")
    found = await zahra.expect("بدهی‌های پرداخت‌نشده")
    text = found["text"]
    assert "شهرداری فلاورجان" in text
    assert "۱٬۲۵۰٬۰۰۰ ریال" in text
    assert "۳۰۰٬۰۰۰ ریال" in text
    assert "۱٬۵۵۰٬۰۰۰ ریال" in text  # the total
    assert "سال ۱۴۰۴" in text
    assert text.index("سال ۱۴۰۴") < text.index("سال ۱۴۰۵"), "oldest period first"
    assert BILL in text
    assert PAYMENT_1405 in text
    assert barcode(BILL, PAYMENT_1405) in text
    assert "خودپرداز" in text
    assert "پرداخت قبض" in text


async def test_dues_not_found_is_polite(world: Any, platform: Platform) -> None:
    await seed_dues(world)
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ask_dues(ali, "12-34-567")
    await ali.send("0790419904")  # a valid national ID, but not the owner's
    refused = await ali.expect("پیدا نشد")
    assert "1234567" not in refused["text"]
    assert BILL not in refused["text"]
    assert "۱٬۲۵۰٬۰۰۰" not in refused["text"]


async def test_a_bad_national_id_is_explained_and_asked_again(world: Any, platform: Platform) -> None:
    await seed_dues(world)
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await ask_dues(zahra, "12-34-567")
    await zahra.send("0499370898")  # one digit wrong: the checksum fails
    await zahra.expect("این کد ملی درست نیست")
    await zahra.send("12345")
    await zahra.expect("۱۰ رقم")
    await zahra.send("0499370899")
    found = await zahra.expect("بدهی‌های پرداخت‌نشده")
    assert BILL in found["text"]


async def test_repeated_dues_misses_are_throttled(world: Any, platform: Platform) -> None:
    await seed_dues(world)
    guesser = await world.citizen(platform, name="حدس")
    await guesser.send("/start")
    await guesser.expect("میز خدمت")
    for _ in range(5):
        await ask_dues(guesser, "12-34-567")
        await guesser.send("0790419904")
        await guesser.expect("پیدا نشد")
    await ask_dues(guesser, "12-34-567")
    await guesser.send("0499370899")  # even the right one waits now
    await guesser.expect("دقیقه")


async def test_a_menu_button_during_the_look_up_is_not_taken_for_a_code(
    world: Any, platform: Platform
) -> None:
    zahra = await world.citizen(platform)
    await zahra.send("/start")
    await zahra.expect("میز خدمت")
    await ask_dues(zahra, "12-34-567")  # now asked for the national ID, with only "cancel" under the chat
    await zahra.send("📜 استعلام گواهی")  # the menu's label, typed or from a keyboard still on screen
    await zahra.expect("کد استعلام گواهی را بفرستید")


async def issue(world: Any, **fields: Any) -> str:
    values: dict[str, Any] = {
        "organization_id": "falavarjan",
        "type": "completion_certificate",
        "holder_name": "زهرا احمدی",
        "holder_national_id": "0499370899",
        "property": "فلاورجان، خیابان امام، پلاک ۱۲",
        "issued_on": date(2026, 11, 27),
        "issued_by": "e2e",
    }
    values.update(fields)

    async def work(session: Any) -> str:
        certificate = await issue_certificate(session, **values)
        return certificate.verification_code

    code: str = await in_store(world, work)
    return code


async def test_a_valid_certificate_by_the_menu_with_the_holder_masked(world: Any, platform: Platform) -> None:
    code = await issue(world, valid_until=date(2036, 11, 27))
    bank = await world.citizen(platform, name="بانک")
    await bank.send("/start")
    await bank.expect("میز خدمت")
    await bank.press("📜 استعلام گواهی")
    await bank.expect("کد استعلام گواهی را بفرستید")
    await bank.send(format_certificate_code(code).lower())
    shown = await bank.expect("این گواهی معتبر است")
    text = shown["text"]
    assert "گواهی پایان کار" in text
    assert "شهرداری فلاورجان" in text
    assert "پلاک ۱۲" in text
    assert "۶ آذر ۱۴۰۵" in text
    assert "زهرا" not in text
    assert "احمدی" not in text
    masked = "ز*** ا****" if platform is Platform.TELEGRAM else "ز∗∗∗ ا∗∗∗∗"  # Bale: '*' is markup
    assert masked in text
    assert "0499370899" not in text


async def test_a_revoked_certificate_says_so_and_why(world: Any, platform: Platform) -> None:
    code = await issue(world)

    async def revoke(session: Any) -> None:
        await revoke_certificate(session, code, "صدور اشتباه")

    await in_store(world, revoke)
    notary = await world.citizen(platform, name="دفترخانه")
    await notary.send("/start")
    await notary.expect("میز خدمت")
    await notary.press("📜 استعلام گواهی")
    await notary.expect("کد استعلام گواهی")
    await notary.send(code)
    shown = await notary.expect("باطل شده")
    assert "صدور اشتباه" in shown["text"]
    assert "معتبر است" not in shown["text"]


async def test_unknown_and_mistyped_codes(world: Any, platform: Platform) -> None:
    code = await issue(world)
    person = await world.citizen(platform, name="خریدار")
    await person.send("/start")
    await person.expect("میز خدمت")
    await person.press("📜 استعلام گواهی")
    await person.expect("کد استعلام گواهی")
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    await person.send(typo)
    await person.expect("درست نوشته نشده")  # told apart from an unknown code, and asked again
    await person.send(new_certificate_code())
    await person.expect("ثبت نشده است")


async def test_verify_command(world: Any, platform: Platform) -> None:
    code = await issue(world)
    person = await world.citizen(platform, name="خریدار")
    await person.send(f"/verify {format_certificate_code(code)}")
    await person.expect("این گواهی معتبر است")
    await person.send("/verify")
    await person.expect("کد استعلام گواهی را بفرستید")
    await person.send(code)
    await person.expect("این گواهی معتبر است")


async def test_guessing_certificate_codes_is_throttled(world: Any, platform: Platform) -> None:
    code = await issue(world)
    guesser = await world.citizen(platform, name="حدس")
    for _ in range(5):
        await guesser.send(f"/verify {new_certificate_code()}")
        await guesser.expect("ثبت نشده است")
    await guesser.send(f"/verify {code}")
    await guesser.expect("دقیقه")


CERTIFICATE = """certificate:
  type: no_violation_certificate
  holder_field: name
  national_id_field: national_id
  property_field: postal_code
  valid_days: 90
"""
_PRINTED = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}")


async def test_a_completed_certificate_request_gives_a_code_anyone_can_verify(
    world: Any, platform: Platform, catalog_dir: Path
) -> None:
    service = catalog_dir / "services" / "e2e_all_fields.yaml"
    service.write_text(service.read_text(encoding="utf-8") + CERTIFICATE, encoding="utf-8")
    assert world.miz.catalogs.reload() == []
    clerk = await world.clerk(platform)
    zahra, _code = await file_request(world, platform)  # the holder's name is answered as رضا
    card = await clerk.expect("آزمون همه پرسش‌ها")
    await clerk.press("🙋 برمی‌دارم", message=card)
    card = await clerk.expect("در حال بررسی")
    await clerk.press("✅ انجام شد", message=card)
    await clerk.expect("نتیجه کار را")
    await clerk.send("بازدید انجام شد و خلافی دیده نشد")
    confirmed = await clerk.expect("کد استعلام")
    done = await zahra.expect("کد استعلام")
    assert "خلافی دیده نشد" in done["text"]
    assert "گواهی عدم خلاف" in done["text"]
    found = _PRINTED.search(done["text"])
    assert found is not None, done["text"]
    printed = found.group()
    assert f"/verify {printed}" in done["text"]
    assert printed in confirmed["text"], "the clerk sees the code too"

    bank = await world.citizen(platform, name="بانک")
    await bank.send(f"/verify {printed}")
    shown = await bank.expect("این گواهی معتبر است")
    text = shown["text"]
    assert "گواهی عدم خلاف" in text
    assert "شهرداری فلاورجان" in text
    assert "رضا" not in text
    masked = mask_name("رضا") if platform is Platform.TELEGRAM else mask_name("رضا").replace("*", "∗")
    assert masked in text
    assert "0499370899" not in text
