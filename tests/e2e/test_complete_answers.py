"""A citizen whose request moved to another service answers the questions it still needs, asked one by one with
the form's own checks, from the clerk's "needs info" message or the request's own page; the clerk's card then
lists nothing missing. Someone else's button gets nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.platforms import Platform
from storage.repositories import Requests
from tests.security.conftest import postgres_world

from .conftest import running_world  # type: ignore[import-not-found]
from .test_desk import file_request  # type: ignore[import-not-found]
from .test_my_requests import open_newest_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]
from .test_transfers import TRANSFER  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

COMPLETE = "✍️ تکمیل پاسخ‌های ناقص"
MISSING = "پاسخ‌های لازم این خدمت که داده نشده"

PARCEL_SERVICE = """\
# A test-only service only Ghahderijan offers: the national ID (answered by the test service of every question),
# then three questions that service does not ask: a parcel number, the owner's mobile and the building's use.
id: e2e_parcel_owner
category: certificates
title: {fa: آزمون پلاک و مالک, en: Parcel and owner test}
summary: {fa: خدمت آزمایشی تکمیل پاسخ‌ها., en: A test service.}
offered_by: [ghahderijan]
online: true
steps:
  - {fa: ثبت درخواست}
duration_days: 5
fee: {kind: none}
complaint: {fa: مسئول واحد}
responsible: {title: {fa: کارشناس آزمون}}
form:
  - {id: national_id, label: {fa: کد ملی}, type: national_id}
  - {id: parcel, label: {fa: پلاک ثبتی}, type: text}
  - {id: owner_mobile, label: {fa: همراه مالک}, type: mobile}
  - id: use
    label: {fa: کاربری}
    type: choice
    choices:
      - {id: home, label: {fa: مسکونی}}
      - {id: shop, label: {fa: تجاری}}
"""


@pytest.fixture
def catalog_dir(catalog_dir: Path) -> Path:
    (catalog_dir / "services" / "e2e_parcel_owner.yaml").write_text(PARCEL_SERVICE, encoding="utf-8")
    return catalog_dir


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def any_world(request: pytest.FixtureRequest, tmp_path: Path, catalog_dir: Path) -> AsyncIterator[Any]:
    """The world on SQLite, then on a PostgreSQL database of its own (dropped afterwards)."""
    if request.param == "sqlite":
        async with running_world(tmp_path, catalog_dir) as world:
            yield world
    else:
        async with postgres_world(tmp_path, catalog_dir) as world:
            yield world


async def moved(world: Any, platform: Platform) -> tuple[Any, Any, str, dict[str, Any]]:
    """Zahra's request, moved by Falavarjan's clerk to the parcel service at Ghahderijan: she, that clerk, its
    code and its new card there."""
    falavarjan = await world.clerk(platform, "falavarjan")
    ghahderijan = await world.clerk(platform, "ghahderijan")
    zahra, code = await file_request(world, platform)
    card = await falavarjan.expect("آزمون همه پرسش‌ها")
    await falavarjan.press(TRANSFER, message=card)
    picker = await falavarjan.expect("کدام سازمان")
    await falavarjan.press("🔀 خدمت دیگر", message=picker)
    await falavarjan.expect("با کدام خدمت")
    while "آزمون پلاک و مالک" not in buttons(falavarjan.last_message):
        await falavarjan.press(next(b for b in buttons(falavarjan.last_message) if b.startswith("بعدی")))
        await falavarjan.expect("با کدام خدمت")
    await falavarjan.press("آزمون پلاک و مالک", message=falavarjan.last_message)
    await falavarjan.press("شهرداری قهدریجان", message=await falavarjan.expect("ارائه می‌دهند"))
    await falavarjan.expect("می‌رود")
    await falavarjan.send("این درخواست پلاک و مالک است")
    await falavarjan.expect("درخواست منتقل شد")
    told = await zahra.expect("از این پس با خدمت")
    assert buttons(told) == ["✍️ پاسخ", COMPLETE], "she may answer the new questions at once"
    new = await ghahderijan.expect("آزمون پلاک و مالک")
    assert f"{MISSING}: پلاک ثبتی، همراه مالک، کاربری" in new["text"]
    await ghahderijan.expect("پویش سند")  # its documents follow the card
    return zahra, ghahderijan, code, new


async def test_after_needs_info_the_citizen_answers_exactly_the_missing_questions_and_the_card_lists_none(
    any_world: Any, platform: Platform
) -> None:
    world = any_world
    zahra, ghahderijan, code, card = await moved(world, platform)
    await ghahderijan.press("❓ نقص مدارک/اطلاعات", message=card)
    await ghahderijan.expect("چه مدرک")
    await ghahderijan.send("لطفاً پاسخ‌های تازه را بدهید")
    asked = await zahra.expect("پاسخ‌های تازه را بدهید")
    assert buttons(asked) == ["✍️ پاسخ", COMPLETE]

    await zahra.press(COMPLETE, message=asked)
    intro = await zahra.expect("به ۳ پاسخ دیگر نیاز دارد")
    assert "«آزمون پلاک و مالک»" in intro["text"]
    await zahra.expect("پرسش ۱ از ۳: پلاک ثبتی")
    await zahra.send("۱۲/۳۴ اصلی")
    await zahra.expect("پرسش ۲ از ۳: همراه مالک")
    await zahra.send("۱۲۳۴۵")
    refused = await zahra.expect("شماره همراه درست نیست")
    assert "۰۹۱۲۳۴۵۶۷۸۹" in refused["text"], "the form's own polite check, in Persian"
    await zahra.expect("پرسش ۲ از ۳: همراه مالک")
    await zahra.send("۰۹۱۳۱۱۱۲۲۳۳")
    await zahra.expect("پرسش ۳ از ۳: کاربری")
    choices = await zahra.expect("یکی از گزینه‌ها")
    assert buttons(choices) == ["مسکونی", "تجاری"]
    await zahra.press("تجاری", message=choices)
    await zahra.expect("پاسخ‌های شما برای درخواست")

    told = await ghahderijan.expect("پاسخ‌های ناقص درخواست")
    assert "پلاک ثبتی، همراه مالک، کاربری" in told["text"]
    assert "۰۹۱۳۱۱۱۲۲۳۳" not in told["text"], "the line names the questions, never an answer"
    redrawn = await ghahderijan.expect(
        "پلاک ثبتی: 12/34 اصلی", timeout=10
    )  # typed text is kept as the form keeps it
    assert MISSING not in redrawn["text"], "the card lists no missing answer any more"
    assert "تجاری" in redrawn["text"]
    assert "۰۹۱۳۱۱۱۲۲۳۳" not in redrawn["text"], "the mobile is masked on the card"
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
    assert request is not None
    assert (request.status, request.answers["owner_mobile"], request.answers["use"]) == (
        "in_progress",
        "09131112233",
        "shop",
    ), "back with the clerks, the answers stored as the form stores them"

    page = await open_newest_request(zahra)
    assert COMPLETE not in buttons(page), "nothing is left to complete"
    assert "شهروند ۳ پاسخ ناقص را تکمیل کرد" in page["text"], "her history says so"
    await zahra.press(data=f"fill:{request.id}", message=asked, wait_answer=20)
    assert zahra.last_answer is not None
    assert "پاسخ ناقصی ندارد" in zahra.last_answer["text"], "an old button asks nothing again"


async def test_the_requests_own_page_offers_the_missing_questions_and_cancel_stores_nothing(
    world: Any, platform: Platform
) -> None:
    zahra, _ghahderijan, code, _card = await moved(world, platform)
    page = await open_newest_request(zahra)
    assert COMPLETE in buttons(page)
    await zahra.press(COMPLETE, message=page)
    await zahra.expect("پرسش ۱ از ۳: پلاک ثبتی")
    await zahra.send("۵/۶")
    await zahra.expect("پرسش ۲ از ۳")
    await zahra.press("✖️ انصراف")
    await zahra.expect("چیزی ثبت نشد")
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
    assert request is not None
    assert "parcel" not in request.answers, "a cancelled completion stores nothing"


async def test_a_forged_completion_button_for_someone_elses_request_gets_nothing(
    world: Any, platform: Platform
) -> None:
    _zahra, ghahderijan, code, _card = await moved(world, platform)
    async with world.miz.factory() as session:
        request = await Requests(session).by_tracking_code(code)
    assert request is not None
    ali = await world.citizen(platform, name="علی")
    await ali.send("/start")
    await ali.expect("میز خدمت")
    await ali.press(data=f"fill:{request.id}", forged=True, wait_answer=20)
    assert ali.last_answer is not None
    assert "پیدا نشد" in ali.last_answer["text"]
    await ali.send("۱۲/۳۴")  # were he asked the parcel, this would answer it
    await asyncio.sleep(1)
    assert not [m for m in await ali.transcript() if m.get("outgoing") and "پلاک ثبتی" in m.get("text", "")]
    assert not [m for m in await ghahderijan.transcript() if "۱۲/۳۴" in m.get("text", "")]
