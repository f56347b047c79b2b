"""A request filed under the wrong service moves to the right service at the organization offering it, keeping
its code and answers; the new card says what it was filed as and which answers are missing (issue #16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.platforms import Platform

from .test_desk import file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]
from .test_transfers import TRANSFER, persian  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

PARCEL_SERVICE = """\
# A test-only service only Ghahderijan offers, asking the national ID (answered by the test service of every
# question) and a parcel number (not asked there).
id: e2e_parcel
category: certificates
title: {fa: آزمون پلاک ثبتی, en: Parcel test}
summary: {fa: خدمت آزمایشی انتقال., en: A test service.}
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
"""


@pytest.fixture
def catalog_dir(catalog_dir: Path) -> Path:
    (catalog_dir / "services" / "e2e_parcel.yaml").write_text(PARCEL_SERVICE, encoding="utf-8")
    return catalog_dir


async def test_a_request_moves_to_the_right_service_keeping_its_code_and_answers(
    world: Any, platform: Platform
) -> None:
    falavarjan = await world.clerk(platform, "falavarjan")
    ghahderijan = await world.clerk(platform, "ghahderijan")
    zahra, code = await file_request(world, platform)
    card = await falavarjan.expect("آزمون همه پرسش‌ها")

    await falavarjan.press(TRANSFER, message=card)
    picker = await falavarjan.expect("کدام سازمان")
    assert buttons(picker) == ["🔀 خدمت دیگر"], "no other organization offers its service"
    await falavarjan.press("🔀 خدمت دیگر", message=picker)
    await falavarjan.expect("با کدام خدمت")
    while "آزمون پلاک ثبتی" not in buttons(falavarjan.last_message):
        await falavarjan.press(next(b for b in buttons(falavarjan.last_message) if b.startswith("بعدی")))
        await falavarjan.expect("با کدام خدمت")
    await falavarjan.press("آزمون پلاک ثبتی", message=falavarjan.last_message)
    offering = await falavarjan.expect("سازمان‌هایی که «آزمون پلاک ثبتی» را ارائه می‌دهند")
    assert buttons(offering) == ["شهرداری قهدریجان"]
    await falavarjan.press("شهرداری قهدریجان", message=offering)
    await falavarjan.expect("با خدمت «آزمون پلاک ثبتی» به شهرداری قهدریجان می‌رود")
    await falavarjan.send("درخواست پلاک ثبتی است و با شهرداری قهدریجان")
    await falavarjan.expect("درخواست منتقل شد")

    told = await zahra.expect("از این پس با خدمت")
    assert persian(code[:4]) in told["text"], "the same tracking code"
    assert "شهرداری قهدریجان" in told["text"]
    assert "با خدمت «آزمون همه پرسش‌ها» ثبت کرده بودید" in told["text"], "she is told the service changed"
    assert "«آزمون پلاک ثبتی»" in told["text"]

    new = await ghahderijan.expect("آزمون پلاک ثبتی")
    assert "ثبت‌شده با خدمت «آزمون همه پرسش‌ها»" in new["text"]
    assert "پاسخ‌های لازم این خدمت که داده نشده: پلاک ثبتی" in new["text"]
    assert "مساحت" in new["text"], "the answers as filed, under the old service's questions"
    assert persian(code[:4]) in new["text"]
    await ghahderijan.expect("پویش سند")  # its documents follow the card

    await ghahderijan.send(f"/open {code}")
    whole = await ghahderijan.expect("پروندهٔ درخواست")
    assert "ثبت‌شده با «آزمون همه پرسش‌ها»، منتقل به «آزمون پلاک ثبتی» در شهرداری قهدریجان" in whole["text"]

    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(code)
    tracked = await zahra.expect("وضعیت")
    assert "منتقل‌شده به شهرداری قهدریجان، خدمت: «آزمون پلاک ثبتی»" in tracked["text"], (
        "her history names the service it is handled under now"
    )
