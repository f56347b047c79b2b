"""Reports in the groups: an organization sees its own month, the governorate every organization side by side.

The month's history is written to the database first (six requests of Falavarjan and one of Baharan, finished
today, and an anonymous complaint about Falavarjan that the governorate handles); then the clerks ask.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bot.handlers.reports import ReportPage
from bot.platforms import Platform
from bot.scheduler import DigestScheduler
from desk.persian import TEHRAN
from desk.reports import Period
from storage.models import Citizen, RequestEvent, ServiceRequest, SurveyAnswer
from storage.uow import unit_of_work

from .conftest import TOKENS  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

CLERKS = {Platform.TELEGRAM: 7100000001, Platform.BALE: 7200000001}
BAHARAN_CLERKS = {Platform.TELEGRAM: 7100000008, Platform.BALE: 7200000008}


async def seed_month(world: Any, platform: Platform) -> None:
    """Falavarjan: five permits done on time (scored 5 5 4 4 3), one late, one open and overdue; Baharan: one
    done late and scored 1; an anonymous complaint about Falavarjan, with the governorate."""
    now = datetime.now(UTC) - timedelta(minutes=5)
    today = (now + timedelta(hours=3, minutes=30)).date()
    async with unit_of_work(world.miz.factory, write=True) as session:
        citizen = Citizen(platform=platform.value, user_id=555, chat_id=555)
        session.add(citizen)
        await session.flush()
        n = 0

        async def request(
            org: str, status: str, deadline_days: int, *, score: int | None = None, **extra: Any
        ) -> None:
            nonlocal n
            n += 1
            finished = status in ("completed", "rejected")
            row = ServiceRequest(
                tracking_code=f"RPT{n:04d}",
                citizen_id=citizen.id,
                organization_id=org,
                about_organization_id=extra.pop("about", org),
                service_id=extra.pop("service", "building_permit"),
                service_version="v1",
                status=status,
                assignee_platform=platform.value,
                assignee_user_id=(CLERKS if org == "falavarjan" else BAHARAN_CLERKS)[platform],
                deadline=today + timedelta(days=deadline_days),
                created_at=now - timedelta(minutes=30),
                submitted_at=now - timedelta(minutes=30),
                closed_at=now if finished else None,
                **extra,
            )
            session.add(row)
            await session.flush()
            session.add(
                RequestEvent(request_id=row.id, at=now - timedelta(minutes=28), actor_kind="clerk",
                             from_status="submitted", to_status="in_progress")
            )  # fmt: skip
            if score is not None:
                session.add(SurveyAnswer(request_id=row.id, score=score, created_at=now, updated_at=now))

        for score in (5, 5, 4, 4, 3):
            await request("falavarjan", "completed", 2, score=score)
        await request("falavarjan", "completed", -1)
        await request("falavarjan", "in_progress", -2)
        await request("baharan", "completed", -1, score=1)
        await request(
            "governorate", "submitted", 5, about="falavarjan", service="complaint",
            answers={"subject": "conduct", "anonymous": True},
        )  # fmt: skip


async def chart_of(world: Any, platform: Platform, clerk: Any, caption: str, wait: float = 20) -> Image.Image:
    """The chart posted in the clerk's group with ``caption``, as an image."""
    photo = await clerk.expect(caption, timeout=wait)
    assert "photo" in photo, "the chart comes as a picture"
    file_id = photo["photo"]["file_id"]  # the transcript shows the largest size
    url = f"{world.emu.base_url}/sim/bots/{TOKENS[platform]}/files/{file_id}"
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        data = await response.read()
    return Image.open(io.BytesIO(data))


async def test_an_organization_sees_its_own_month_and_no_one_else_s(world: Any, platform: Platform) -> None:
    await seed_month(world, platform)
    clerk = await world.clerk(platform)

    await clerk.send("/report")
    chart = await chart_of(world, platform, clerk, "📊 گزارش عملکرد شهرداری فلاورجان")
    assert chart.format == "PNG"
    assert chart.width == 1000
    report = await clerk.expect("انجام به‌موقع")
    text = report["text"]
    assert "ثبت‌شده: ۷ · انجام‌شده: ۶" in text
    assert "باز در این لحظه: ۱ · گذشته از موعد: ۱" in text
    assert "انجام به‌موقع: ۸۳٪ (۵ از ۶)" in text
    assert "رضایت: ۴٫۲ از ۵ · ۵ نظر · راضی (۴ و ۵): ۸۰٪ (۴ از ۵)" in text
    assert "شکایت: ۰" in text, "an anonymous complaint never counts in the accused organization's own report"
    assert "بهاران" not in text
    assert {"ماه گذشته", "این هفته", "۳۰ روز گذشته", "به تفکیک خدمت", "به تفکیک کارشناس"} <= set(
        buttons(report)
    )

    await clerk.press("به تفکیک خدمت", message=report)
    await chart_of(world, platform, clerk, "📊 گزارش خدمات شهرداری فلاورجان")
    services = await clerk.expect("۱. صدور پروانه ساختمانی")
    assert "۱. صدور پروانه ساختمانی: به‌موقع ۸۳٪ (۵ از ۶)" in services["text"]

    await clerk.press("ماه گذشته", message=report)
    last_month = await clerk.expect("ثبت‌شده:")
    assert "ثبت‌شده: ۰ · انجام‌شده: ۰" in last_month["text"]

    await clerk.send("📊 گزارش")  # the typed word asks for the same report as /report
    again = await clerk.expect("انجام به‌موقع: ۸۳٪")
    assert "ثبت‌شده: ۷ · انجام‌شده: ۶" in again["text"]

    # Per-clerk figures are for supervisors and the governorate; a forged button for another organization fails.
    await clerk.press("به تفکیک کارشناس", message=report, wait_answer=20)
    assert "در دسترس نیست" in (clerk.last_answer or {}).get("text", "")
    forged = ReportPage(p="m", org="baharan").pack()
    await clerk.press(data=forged, message=report["message_id"], wait_answer=20, forged=True)
    assert "در دسترس نیست" in (clerk.last_answer or {}).get("text", "")

    stranger = await world.stranger_in_group(platform)
    await stranger.send("/report")
    await stranger.expect("فقط کارشناسان ثبت‌شده")

    await clerk.send("/report 1405/09/30 1405/07/01")
    await clerk.expect("پیش از تاریخ آغاز")
    await clerk.send("/report 1405/07/01")
    await clerk.expect("/report 1405/07/01 1405/09/30")


async def test_the_governorate_compares_every_organization_and_drills_down(
    world: Any, platform: Platform
) -> None:
    await seed_month(world, platform)
    inspector = await world.clerk(platform, "governorate")

    await inspector.send("/report")
    chart = await chart_of(world, platform, inspector, "📊 گزارش عملکرد همهٔ سازمان‌ها")
    assert chart.height > 110 + 10 * 56, "a pair of bars for each organization"
    overview = await inspector.expect("ترتیب: انجام به‌موقع")
    lines = overview["text"].splitlines()
    first = next(line for line in lines if line.startswith("۱. "))
    assert first.startswith("۱. شهرداری فلاورجان: به‌موقع ۸۳٪"), "sorted by the on-time rate, best first"
    assert any("شهرداری بهاران: به‌موقع موارد کم (۰ از ۱)" in line for line in lines), "too few to rank"
    assert "ترتیب: رضایت" in buttons(overview)

    await inspector.press("ترتیب: رضایت", message=overview)
    by_satisfaction = await inspector.expect("ترتیب: رضایت شهروندان")
    assert "۱. شهرداری فلاورجان" in by_satisfaction["text"]

    await inspector.press("🔎 شهرداری فلاورجان", message=overview)
    falavarjan = await inspector.expect("شکایت:")
    assert "📊 گزارش عملکرد شهرداری فلاورجان" in falavarjan["text"]
    assert "شکایت: ۱" in falavarjan["text"], (
        "the governorate counts the anonymous complaint against Falavarjan"
    )

    await inspector.press("به تفکیک کارشناس", message=falavarjan)
    clerks = await inspector.expect("۱. کارشناس نمونه")
    assert "📊 گزارش کارشناسان شهرداری فلاورجان" in clerks["text"]
    assert "۱. کارشناس نمونه: به‌موقع ۸۳٪ (۵ از ۶)" in clerks["text"]


async def test_last_months_report_arrives_by_itself_in_every_group(world: Any, platform: Platform) -> None:
    """The morning run of the first working day of next month queues the reports; the outbox draws and sends them."""
    await seed_month(world, platform)
    inspector = await world.clerk(platform, "governorate")
    clerk = await world.clerk(platform)
    catalog = world.miz.catalogs.catalog
    month = Period.jalali_month(datetime.now(TEHRAN).date())
    days = {
        catalog.calendar_for(org).next_working_day(month.last + timedelta(days=1))
        for org in ("governorate", "falavarjan")
    }
    planner = DigestScheduler(world.miz.factory, world.miz.catalogs, world.miz.outbox, weekly_reports=False)
    for day in sorted(days):
        await planner.run_once(day)

    # Every group of the county gets its report at once, each drawn with its chart: give the outbox time.
    await chart_of(world, platform, inspector, "📊 گزارش عملکرد همهٔ سازمان‌ها", wait=60)
    overview = await inspector.expect("۱. شهرداری فلاورجان", timeout=30)
    assert "به‌موقع ۸۳٪ (۵ از ۶)" in overview["text"]
    assert "🔎 شهرداری فلاورجان" in buttons(overview)
    await chart_of(world, platform, clerk, "📊 گزارش عملکرد شهرداری فلاورجان", wait=60)
    own = await clerk.expect("انجام به‌موقع:", timeout=30)
    assert "انجام به‌موقع: ۸۳٪ (۵ از ۶)" in own["text"]
    assert "شکایت: ۰" in own["text"]
