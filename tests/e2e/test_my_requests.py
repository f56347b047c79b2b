"""'My requests' pages through every request, and a request's own page shows the citizen what they gave and got,
on Telegram and on Bale; from an open request's page, SMS updates can be turned on even when its form asked
for no mobile number."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import date
from typing import Any

import pytest

from bot.platforms import Platform
from desk.certificates import issue_certificate
from desk.requests import DocumentInput, Submission, submit_request
from emulator.client import WAIT
from storage.models import Payment
from storage.repositories import Citizens, Requests
from storage.uow import unit_of_work

from .test_desk import card_of, file_complaint, file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]
from .test_verify_phone import latest_code  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

MINE = "📂 درخواست‌های من"
OLDER = "قدیمی‌تر ➡️"
NEWER = "⬅️ تازه‌تر"
SMS = "🔔 خبر مراحل با پیامک"


async def refile(world: Any, code: str, times: int) -> None:
    """File the request with tracking code ``code`` again ``times`` times, as its citizen, straight in desk."""
    async with world.miz.factory() as session:
        first = await Requests(session).by_tracking_code(code)
        assert first is not None
        assert first.id is not None
        citizen = await Citizens(session).get(first.citizen_id)
        assert citizen is not None
        files = [
            DocumentInput(
                slot=d.slot,
                platform_file_id=d.platform_file_id,
                file_unique_id=d.file_unique_id,
                stored_path=d.stored_path,
                sha256=d.sha256,
                size=d.size,
                mime=d.mime,
                kind=d.kind,
            )
            for d in await Requests(session).documents(first.id)
        ]
    org, service = first.organization_id, first.service_id
    catalog = world.miz.catalogs.catalog
    resolved = catalog.service(org, service)
    for n in range(times):
        async with unit_of_work(world.miz.factory, write=True) as session:
            await submit_request(
                session,
                Submission(
                    platform=citizen.platform,
                    user_id=citizen.user_id,
                    chat_id=citizen.user_id,
                    first_name="زهرا",
                    last_name=None,
                    username=None,
                    organization_id=org,
                    service_id=service,
                    service_version=resolved.version,
                    service_snapshot=resolved.model_dump(mode="json"),
                    answers=dict(first.answers),
                    documents=files,
                    idempotency_key=f"older-{n}",
                    calendar=catalog.calendar_for(org),
                    today=date(2026, 12, 5),
                ),
            )


def codes_in(text: str) -> list[str]:
    """The tracking codes a list shows, as it shows every code: grouped by four."""
    return re.findall(r"[۰-۹0-9]{4}-[۰-۹0-9]{4}-[۰-۹0-9]{4}", text)


async def test_my_requests_pages_past_twenty_and_each_opens_with_the_citizens_answers_and_files(
    world: Any, platform: Platform
) -> None:
    zahra, code = await file_request(world, platform)
    await refile(world, code, 22)  # 23 in all: three pages
    async with unit_of_work(world.miz.factory, write=True) as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        certificate = await issue_certificate(
            session,
            organization_id="falavarjan",
            type="no_violation_certificate",
            holder_name="زهرا احمدی",
            holder_national_id="0499370899",
            property="فلاورجان، خیابان امام",
            issued_on=date(2026, 12, 5),
            request_id=request.id,
            issued_by="e2e",
        )
        session.add(
            Payment(
                request_id=request.id,
                organization_id="falavarjan",
                amount_rials=1_500_000,
                bill_id="1234567890123",
                payment_id="12345",
                status="paid",
                invoice_payload="e2e-receipt",
                provider_transaction_id="778899",
                paid_at=request.created_at,
            )
        )

    await zahra.press(MINE)
    first = await zahra.expect("درخواست‌های شما")
    assert "صفحهٔ ۱ از ۳ (۲۳ درخواست)" in first["text"]
    assert len(codes_in(first["text"])) == 10
    assert OLDER in buttons(first)
    assert NEWER not in buttons(first)
    await zahra.press(OLDER)
    second = await zahra.expect("صفحهٔ ۲ از ۳")
    assert second["message_id"] == first["message_id"], "the page turns in the same message"
    await zahra.press(OLDER)
    last = await zahra.expect("صفحهٔ ۳ از ۳")
    assert len(codes_in(last["text"])) == 3
    assert OLDER not in buttons(last)
    oldest = next(b for b in buttons(last) if b.startswith("۲۳."))
    await zahra.press(oldest)

    page = await zahra.expect("پاسخ‌های شما")
    text = page["text"]
    assert code in text.translate(str.maketrans("۰۱۲۳۴۵۶۷۸۹", "0123456789")).replace("-", "")
    for shown in ("کد ملی: ۰۴۹۹۳۷۰۸۹۹", "شماره همراه: ۰۹۱۲۳۴۵۶۷۸۹", "نام: رضا"):
        assert shown in text, f"the citizen's own answer {shown!r}"
    assert "مدارکی که فرستادید" in text
    assert certificate.verification_code in text, "the certificate issued for it"
    assert "۱٬۵۰۰٬۰۰۰ ریال" in text
    assert "778899" in text, "the receipt's reference"
    deadline = time.monotonic() + WAIT  # the bot sends her files after the page, one by one
    while time.monotonic() < deadline:
        files = [m for m in await zahra.transcript() if m.get("photo") or m.get("document")]
        if len([f for f in files if f.get("outgoing")]) >= 2:
            break
        await asyncio.sleep(0.1)
    sent_back = [
        m for m in await zahra.transcript() if m.get("outgoing") and (m.get("photo") or m.get("document"))
    ]
    assert len(sent_back) == 2, "both documents come back"

    await zahra.press("↩️ فهرست درخواست‌ها", message=page)
    again = await zahra.expect("درخواست‌های شما")
    assert again["message_id"] != page["message_id"], "the request's page stays in the chat"


async def test_someone_elses_request_page_cannot_be_opened_with_a_forged_button(
    world: Any, platform: Platform
) -> None:
    _zahra, code = await file_request(world, platform)
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ali.press(f"mineopen:{request.id}:0", data=f"mineopen:{request.id}:0", forged=True, wait_answer=20)
    assert ali.last_answer is not None
    assert "دیگر کار نمی‌کند" in ali.last_answer["text"]
    await asyncio.sleep(0.5)
    assert not [m for m in await ali.transcript() if "۰۴۹۹۳۷۰۸۹۹" in m.get("text", "")]

    await ali.press(data=f"smsoffer:{request.id}:on", forged=True)  # SMS on someone else's bill
    await ali.expect("دیگر کار نمی‌کند")
    assert not await world.client.sms_messages("09123456789"), "no code goes to the number in her request"


async def open_newest_request(citizen: Any) -> dict[str, Any]:
    """'My requests', then the newest request's own page."""
    await citizen.send(MINE)
    listed = await citizen.expect("درخواست‌های شما")
    await citizen.press(next(b for b in buttons(listed) if b.startswith("۱.")))
    return await citizen.expect("پاسخ‌های شما")


async def test_sms_for_an_open_request_whose_form_asked_no_mobile_verifies_one_there(
    world: Any, platform: Platform
) -> None:
    maryam = await world.citizen(platform, name="مریم")
    await file_complaint(maryam, anonymous=False)  # the complaint form asks no mobile number
    await maryam.send("🔔 پیامک")
    no_phone = await maryam.expect("شماره همراه تأییدشده‌ای")
    assert "درخواست‌های من" in no_phone["text"], "the SMS screen says where to turn SMS on"

    page = await open_newest_request(maryam)
    assert SMS in buttons(page)
    await maryam.press(SMS, message=page)
    await maryam.expect("به کدام شماره همراه")
    await maryam.send("۰۹۱۲۳۴۵۰۰۰۰")
    await maryam.expect("کد")
    await maryam.send(await latest_code(world, "09123450000"))
    await maryam.expect("شماره تأیید شد")
    await maryam.send("🔔 پیامک")
    on = await maryam.expect("پیامک می‌شود")
    assert "۰۹۱۲" in on["text"], "stage SMS go to the number verified on the request's page"


async def test_sms_for_an_open_request_with_ones_own_contact_needs_no_code(
    world: Any, platform: Platform
) -> None:
    maryam = await world.citizen(platform, name="مریم")
    await file_complaint(maryam, anonymous=False)
    page = await open_newest_request(maryam)
    await maryam.press(SMS, message=page)
    await maryam.expect("به کدام شماره همراه")
    await maryam.share_contact()
    await maryam.expect("شماره تأیید شد")
    await maryam.send("🔔 پیامک")
    await maryam.expect("پیامک می‌شود")


WITHDRAW = "🗑 انصراف از درخواست"
YES = "✅ بله، انصراف می‌دهم"
NO = "↩️ نه، بماند"
WITHDRAWN = "لغوشده به درخواست متقاضی"


async def test_a_citizen_withdraws_an_open_request_from_its_page_and_the_clerks_card_shows_it(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    await clerk.expect("آزمون همه پرسش‌ها")
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    grouped = f"{persian[:4]}-{persian[4:8]}-{persian[8:]}"

    page = await open_newest_request(zahra)
    await zahra.press(WITHDRAW, message=page)
    question = await zahra.expect("انصراف می‌دهید")
    for said in ("دیگر روی این درخواست کار نمی‌کند", "برگشت‌پذیر نیست", "بازگردانده نمی‌شود", grouped):
        assert said in question["text"], said
    assert buttons(question) == [YES, NO]
    await zahra.press(NO, message=question)
    await zahra.expect("تغییری نکرد")
    async with world.miz.factory() as session:
        kept = await Requests(session).by_tracking_code(code)
        assert kept is not None
        assert kept.status == "submitted", "no keeps it as it was"

    await zahra.press(WITHDRAW, message=page)
    question = await zahra.expect("انصراف می‌دهید")
    await zahra.press(YES, message=question)
    done = await zahra.expect("انصراف دادید")
    assert grouped in done["text"]
    assert not buttons(done), "the question cannot be answered twice"
    finished = await zahra.expect("پاسخ‌های شما")
    assert WITHDRAWN in finished["text"], "the page shows the request withdrawn"
    assert WITHDRAW not in buttons(finished)
    assert SMS not in buttons(finished)

    await clerk.expect(WITHDRAWN)  # the card is redrawn in place
    card = await card_of(clerk, code)
    assert WITHDRAWN in card["text"]
    assert "🙋 برمی‌دارم" not in buttons(card), "no one works on a withdrawn request"
    await clerk.expect("لغو کرد")

    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        assert request.status == "withdrawn"
