"""After retention removed a closed request's documents, its citizen and its clerks read so where the files were,
on Telegram and on Bale (``miz retention``, ``desk.retention``)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.platforms import Platform
from desk.retention import apply_retention
from storage.columns import utcnow
from storage.files import DocumentStore
from storage.models import ServiceRequest
from storage.uow import unit_of_work

from .test_desk import file_request  # type: ignore[import-not-found]
from .test_request import buttons  # type: ignore[import-not-found]

pytestmark = pytest.mark.slow

REMOVED = "مدارک ۶ ماه پس از بسته شدن درخواست حذف شد"


async def test_a_request_closed_long_ago_says_its_documents_were_removed(
    world: Any, platform: Platform
) -> None:
    clerk = await world.clerk(platform)
    zahra, code = await file_request(world, platform)
    await clerk.expect("آزمون همه پرسش‌ها")
    async with unit_of_work(world.miz.factory, write=True) as session:
        await session.execute(
            update(ServiceRequest)
            .where(ServiceRequest.tracking_code == code)  # type: ignore[arg-type]
            .values(status="completed", closed_at=utcnow() - timedelta(days=400))
        )
    store = DocumentStore(world.settings.files_dir, world.settings.max_document_bytes)
    removed = await apply_retention(world.miz.factory, store, months=6)
    assert (removed.requests, removed.documents, removed.files) == (1, 2, 2)
    assert not [p for p in world.settings.files_dir.rglob("*") if p.is_file()]

    await zahra.press("🔎 پیگیری درخواست")
    await zahra.expect("کد رهگیری درخواست")
    await zahra.send(code)
    tracked = await zahra.expect("وضعیت")
    assert REMOVED in tracked["text"]

    await zahra.press("📂 درخواست‌های من")
    listed = await zahra.expect("درخواست‌های شما")
    (entry,) = [b for b in buttons(listed) if b.startswith("۱.")]
    before = len(await zahra.transcript())
    await zahra.press(entry)
    page = await zahra.expect("پاسخ‌های شما")
    assert REMOVED in page["text"]
    assert "مدارکی که فرستادید" not in page["text"], "no document is offered that no longer exists"
    await asyncio.sleep(0.5)
    files = [m for m in (await zahra.transcript())[before:] if m.get("photo") or m.get("document")]
    assert files == []

    await clerk.send(f"/open {code}")
    whole = await clerk.expect("پروندهٔ درخواست")
    assert REMOVED in whole["text"]
