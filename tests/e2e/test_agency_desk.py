"""An agency's own desk in its group, in both dialects: ``/open`` lists the inquiries waiting for its answer (a
button under the list draws a card again) and ``/report`` says how it answered them. Both used to count the
agency's requests, which it never has, and were always empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.platforms import Platform
from desk.persian import TEHRAN
from storage.models import Inquiry
from storage.repositories import Inquiries, Requests
from storage.uow import unit_of_work

from .test_desk import file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

NOT_FOUND = "پیدا نشد"
_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


async def inquiries_of(world: Any, code: str, *sent: tuple[str, int, str, int | None]) -> list[int]:
    """Inquiries about the request with tracking ``code``, each ``(agency, due in days from today, state, answered
    days ago)``, written straight to the database (no card is sent for them); their numbers."""
    today = datetime.now(TEHRAN).date()
    now = datetime.now(UTC)
    numbers = []
    async with unit_of_work(world.miz.factory, write=True) as session:
        request = await Requests(session).by_tracking_code(code)
        assert request is not None
        assert request.id is not None
        for agency, due_in, state, answered_ago in sent:
            inquiry = await Inquiries(session).add(
                Inquiry(
                    request_id=request.id,
                    asking_organization_id="falavarjan",
                    agency_id=agency,
                    question=f"وضعیت ثبتی پلاک {_fa(due_in + 100)}؟",
                    asked_by="telegram:1",
                    asked_at=now - timedelta(days=answered_ago or 0),
                    due_date=today + timedelta(days=due_in),
                    state=state,
                    answered_at=now if answered_ago is not None else None,
                )
            )
            assert inquiry.id is not None
            numbers.append(inquiry.id)
    return numbers


def _fa(number: int) -> str:
    return str(number).translate(_PERSIAN)


async def test_an_agencys_open_lists_the_inquiries_waiting_for_it_and_opens_their_cards(
    world: Any, platform: Platform
) -> None:
    _zahra, code = await file_request(world, platform)
    # 21 inquiries wait for the registry, the first three past their due date; one it answered; one of the
    # electricity office's.
    waiting = await inquiries_of(world, code, *[("registry", day - 3, "open", None) for day in range(21)])
    await inquiries_of(world, code, ("registry", -9, "answered", 0))
    [electricity] = await inquiries_of(world, code, ("electricity", 2, "open", None))
    registry = await world.clerk(platform, "registry")
    await registry.send("/help")
    await registry.expect("/open: استعلام‌های در انتظار پاسخ شما")

    await registry.send("/open")
    listed = await registry.expect("استعلام‌های در انتظار پاسخ شما (۲۱)")
    assert "صفحهٔ ۱ از ۲، ردیف ۱ تا ۲۰" in listed["text"]
    assert listed["text"].count("⚠️") == 3, "the overdue ones are marked"
    assert listed["text"].index(f"شمارهٔ {_fa(waiting[0])} ") < listed["text"].index(
        f"شمارهٔ {_fa(waiting[1])} "
    )
    assert "از شهرداری فلاورجان" in listed["text"]
    assert "زهرا" not in listed["text"]
    assert buttons(listed) == [*(f"📄 {_fa(n)}" for n in waiting[:20]), "بعدی ‹"]

    await registry.press("بعدی ‹", message=listed)
    second = await registry.expect("صفحهٔ ۲ از ۲، ردیف ۲۱ تا ۲۱")
    assert buttons(second) == [f"📄 {_fa(waiting[20])}", "› قبلی"]

    await registry.press(f"📄 {_fa(waiting[20])}", message=second)
    card = await registry.expect(f"استعلام شمارهٔ {_fa(waiting[20])}")
    assert "وضعیت ثبتی پلاک ۱۱۷" in card["text"]
    assert buttons(card) == ["✅ پاسخ", "❓ اطلاعات بیشتر", "↩️ مربوط به ما نیست"]
    # Answered from the card drawn again, without a letter number: the list loses it.
    await registry.press("✅ پاسخ", message=card)
    await registry.expect("پاسخ استعلام شمارهٔ")
    await registry.send("پلاک ۱۱۷ در بازداشت نیست.")
    received = await registry.expect("۱ متن و ۰ فایل")
    await registry.press("✅ پایان پاسخ", message=received)
    asked = await registry.expect("شمارهٔ نامهٔ پاسخ")
    await registry.press("📤 بدون شمارهٔ نامه", message=asked)
    await registry.expect("پاسخ فرستاده شد")
    await registry.send("/open")
    await registry.expect("استعلام‌های در انتظار پاسخ شما (۲۰)")

    # A modified client's button for the electricity office's inquiry draws nothing here.
    await registry.press(data=f"inqcard:{electricity}", message=card, wait_answer=20, forged=True)
    assert NOT_FOUND in (registry.last_answer or {}).get("text", "")
    await registry.send("/overdue")
    late = await registry.expect("استعلام‌های گذشته از موعد (۳)")
    assert f"شمارهٔ {_fa(electricity)} " not in late["text"]

    # A municipality's /open still lists its requests.
    clerk = await world.clerk(platform, "falavarjan")
    await clerk.send("/open")
    await clerk.expect("درخواست‌های باز (۱)")


async def test_an_agencys_report_says_how_it_answered_its_inquiries(world: Any, platform: Platform) -> None:
    _zahra, code = await file_request(world, platform)
    await inquiries_of(
        world,
        code,
        ("registry", 5, "answered", 0),  # answered today, on time
        ("registry", -1, "open", None),  # still waiting, overdue
        ("registry", 4, "open", None),
        ("electricity", 4, "answered", 0),
    )
    registry = await world.clerk(platform, "registry")

    await registry.send("/report")
    report = await registry.expect("گزارش پاسخ به استعلام‌ها: اداره ثبت اسناد و املاک فلاورجان")
    assert "استعلام رسیده: ۳ · پاسخ‌داده: ۱" in report["text"]
    assert "پاسخ به‌موقع: موارد کم (۱ از ۱)" in report["text"]
    assert "در انتظار پاسخ در این لحظه: ۲ · گذشته از موعد: ۱" in report["text"]
    assert "ماه گذشته" in buttons(report), "the organizations' periods"
    assert not [m for m in await registry.transcript() if "photo" in m], "text only: no chart of requests"

    await registry.press("ماه گذشته", message=report)
    earlier = await registry.expect("استعلام رسیده: ۰")
    assert "در انتظار پاسخ در این لحظه: ۲" in earlier["text"]

    # A modified client asking for the electricity office's report is refused.
    await registry.press(data="rep:m:0:0:electricity:o:t", message=earlier, wait_answer=20, forged=True)
    assert "در دسترس نیست" in (registry.last_answer or {}).get("text", "")
