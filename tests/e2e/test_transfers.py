"""A request filed at the wrong municipality moves to the right one, keeping its code (issue #16, transfers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.platforms import Platform

from .test_desk import card_of, file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

TRANSFER = "↪️ انتقال به سازمان دیگر"


@pytest.fixture
def catalog_dir(catalog_dir: Path) -> Path:
    """The test service is offered by Ghahderijan too, so a Falavarjan request can move there."""
    service = catalog_dir / "services" / "e2e_all_fields.yaml"
    text = service.read_text(encoding="utf-8")
    service.write_text(
        text.replace("offered_by: [falavarjan]", "offered_by: [falavarjan, ghahderijan]"), encoding="utf-8"
    )
    return catalog_dir


def persian(code: str) -> str:
    return code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))


async def test_a_request_moves_to_the_right_municipality_keeping_its_code(
    world: Any, platform: Platform
) -> None:
    falavarjan = await world.clerk(platform, "falavarjan")
    ghahderijan = await world.clerk(platform, "ghahderijan")
    zahra, code = await file_request(world, platform)
    card = await falavarjan.expect("آزمون همه پرسش‌ها")
    assert TRANSFER in buttons(card)

    await falavarjan.press(TRANSFER, message=card)
    picker = await falavarjan.expect("کدام سازمان")
    assert buttons(picker) == ["شهرداری قهدریجان", "🔀 خدمت دیگر"], (
        "only the organizations offering the service, not this one, and the way to another service"
    )
    await falavarjan.press("شهرداری قهدریجان", message=picker)
    await falavarjan.expect("چرا این درخواست به شهرداری قهدریجان می‌رود")
    await falavarjan.send("ملک در محدودهٔ شهر قهدریجان است")
    await falavarjan.expect("درخواست منتقل شد")

    told = await zahra.expect("فرستاده شد")
    assert "شهرداری قهدریجان" in told["text"], "she is told who handles it now"
    assert "محدودهٔ شهر قهدریجان" in told["text"], "and why"
    assert persian(code[:4]) in told["text"], "the same tracking code"

    moved = await falavarjan.expect("به شهرداری قهدریجان منتقل شد")  # the card, edited in place
    assert moved["message_id"] == card["message_id"]
    assert buttons(moved) == [], "the old card has no actions left"
    assert "زهرا" not in moved["text"], "nor the citizen's details"

    new = await ghahderijan.expect("آزمون همه پرسش‌ها")
    assert "منتقل‌شده از شهرداری فلاورجان" in new["text"]
    assert "محدودهٔ شهر قهدریجان" in new["text"], "with the reason"
    assert persian(code[:4]) in new["text"]
    await ghahderijan.expect("پویش سند")  # its documents follow the card
    await ghahderijan.press("🙋 برمی‌دارم", message=new)
    started = await zahra.expect("بررسی درخواست شما را آغاز کرد")
    assert "شهرداری قهدریجان" in started["text"]

    await ghahderijan.send(f"/open {code}")
    whole = await ghahderijan.expect("پروندهٔ درخواست")
    assert "انتقال از شهرداری فلاورجان به شهرداری قهدریجان" in whole["text"], "the whole file names both"

    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(code)
    tracked = await zahra.expect("وضعیت")
    assert "منتقل‌شده به شهرداری قهدریجان" in tracked["text"], "the public history shows the transfer"


async def test_a_request_waiting_for_the_citizen_or_a_stale_picker_is_refused(
    world: Any, platform: Platform
) -> None:
    falavarjan = await world.clerk(platform, "falavarjan")
    _zahra, code = await file_request(world, platform)
    card = await falavarjan.expect("آزمون همه پرسش‌ها")
    await falavarjan.press(TRANSFER, message=card)
    picker = await falavarjan.expect("کدام سازمان")

    await falavarjan.press("❓ نقص مدارک/اطلاعات", message=card)
    await falavarjan.expect("چه مدرک یا اطلاعاتی کم است")
    await falavarjan.send("صفحه دوم سند")
    await falavarjan.expect("نیازمند اطلاعات بیشتر")

    await falavarjan.press("شهرداری قهدریجان", message=picker, wait_answer=20)
    assert falavarjan.last_answer is not None
    assert "منتقل نمی‌شود" in falavarjan.last_answer["text"], "a request waiting for the citizen stays"
    card = await card_of(falavarjan, code)
    assert TRANSFER not in buttons(card)


async def test_the_governorate_sends_a_request_where_it_belongs_by_its_code(
    world: Any, platform: Platform
) -> None:
    """The governorate reads other organizations' cards without buttons; ``/transfer CODE`` opens the picker."""
    inspector = await world.clerk(platform, "governorate")
    ghahderijan = await world.clerk(platform, "ghahderijan")
    zahra, code = await file_request(world, platform)
    await inspector.send("/transfer 1234")
    await inspector.expect("کد رهگیری درخواست را پس از فرمان بنویسید")
    await inspector.send(f"/transfer {persian(code)}")
    picker = await inspector.expect("کدام سازمان")
    await inspector.press("شهرداری قهدریجان", message=picker)
    await inspector.expect("چرا این درخواست به شهرداری قهدریجان می‌رود")
    await inspector.send("محل ملک در قهدریجان است")
    await inspector.expect("درخواست منتقل شد")
    told = await zahra.expect("فرستاده شد")
    assert "شهرداری قهدریجان" in told["text"]
    card = await ghahderijan.expect("منتقل‌شده از شهرداری فلاورجان")
    assert "🙋 برمی‌دارم" in buttons(card)

    stranger = await world.clerk(platform, "baharan")
    await stranger.send(f"/transfer {code}")
    await stranger.expect("پیدا نشد")
