"""Retention removes the documents of requests closed long ago, and only those: the requests stay, their history
says so in each reader's language, a file another request still uses stays, and a second run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli import main as miz
from desk.notices import notice_text
from desk.requests import track_view
from desk.retention import INQUIRY_NOTICE_KEY, NOTICE_KEY, apply_retention, months_before, plan_retention
from storage.files import DocumentStore
from storage.models import Citizen, Document, Inquiry, RequestEvent, ServiceRequest
from storage.repositories import ServiceVersions
from storage.uow import unit_of_work

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "files", max_bytes=1024 * 1024)


async def add_request(
    factory: async_sessionmaker[AsyncSession],
    store: DocumentStore,
    code: str,
    *,
    closed_days_ago: int | None,
    content: bytes,
) -> int:
    """A request with one document holding ``content``; closed that many days before NOW, or open (None)."""
    stored = store.store(content)
    async with unit_of_work(factory, write=True) as session:
        citizen = Citizen(platform="bale", user_id=int(code), chat_id=int(code))
        session.add(citizen)
        await session.flush()
        closed = closed_days_ago is not None
        request = ServiceRequest(
            tracking_code=code,
            citizen_id=citizen.id,
            organization_id="falavarjan",
            service_id="renovation_fee",
            service_version="1405.1",
            definition=await ServiceVersions(session).get_or_create(
                "renovation_fee", "1405.1", {"title": {"fa": "عوارض نوسازی", "en": "Renovation fee"}}
            ),
            status="completed" if closed else "in_progress",
            submitted_at=NOW - timedelta(days=500),
            closed_at=NOW - timedelta(days=closed_days_ago) if closed_days_ago is not None else None,
        )
        session.add(request)
        await session.flush()
        assert request.id is not None
        session.add(
            Document(
                request_id=request.id,
                slot="deed",
                platform="bale",
                platform_file_id=f"f{code}",
                file_unique_id=f"u{code}",
                stored_path=stored.stored_path,
                sha256=stored.sha256,
                size=stored.size,
                mime=stored.mime,
                kind=stored.kind,
            )
        )
        return request.id


async def documents_of(factory: async_sessionmaker[AsyncSession], request_id: int) -> int:
    async with factory() as session:
        found = await session.scalar(
            select(func.count()).select_from(Document).where(Document.request_id == request_id)  # type: ignore[arg-type]
        )
        return int(found or 0)


def test_months_before_keeps_the_day_or_the_months_last() -> None:
    assert months_before(NOW, 6) == datetime(2026, 6, 5, 9, 0, tzinfo=UTC)
    assert months_before(datetime(2026, 8, 31, tzinfo=UTC), 6) == datetime(2026, 2, 28, tzinfo=UTC)
    assert months_before(datetime(2026, 1, 15, tzinfo=UTC), 13) == datetime(2024, 12, 15, tzinfo=UTC)


async def test_old_closed_requests_lose_their_documents_and_say_so(
    factory: async_sessionmaker[AsyncSession], store: DocumentStore
) -> None:
    old = await add_request(factory, store, "100000001", closed_days_ago=400, content=PDF + b"old")
    recent = await add_request(factory, store, "100000002", closed_days_ago=30, content=PDF + b"recent")
    still_open = await add_request(factory, store, "100000003", closed_days_ago=None, content=PDF + b"open")
    shared_old = await add_request(factory, store, "100000004", closed_days_ago=300, content=PDF + b"open")

    planned = await plan_retention(factory, months=6, now=NOW)
    assert (planned.requests, planned.documents, planned.files) == (2, 2, 1), (
        "the open request keeps the shared file"
    )
    assert planned.bytes == len(PDF + b"old")
    assert await documents_of(factory, old) == 1, "a dry run removes nothing"

    done = await apply_retention(factory, store, months=6, now=NOW)
    assert (done.requests, done.documents, done.files, done.bytes) == (
        planned.requests,
        planned.documents,
        planned.files,
        planned.bytes,
    )
    assert [await documents_of(factory, r) for r in (old, recent, still_open, shared_old)] == [0, 1, 1, 0]
    remaining = sorted(p.read_bytes() for p in store.root.rglob("*") if p.is_file())
    assert remaining == [PDF + b"open", PDF + b"recent"]

    async with factory() as session:
        request = await session.get(ServiceRequest, old)
        assert request is not None
        view = await track_view(session, request)
    (notice,) = [entry.notice for entry in view.history if entry.notice]
    assert notice == {"key": NOTICE_KEY, "months": 6}
    assert notice_text(notice, "fa") == "مدارک ۶ ماه پس از بسته شدن درخواست حذف شد (پایان مدت نگهداری)"
    assert notice_text(notice, "en").startswith("documents removed 6 months after the request was closed")

    again = await apply_retention(factory, store, months=6, now=NOW)
    assert (again.requests, again.documents, again.files) == (0, 0, 0)
    async with factory() as session:
        events = await session.scalar(
            select(func.count()).select_from(RequestEvent).where(RequestEvent.notice.is_not(None))  # type: ignore[union-attr]
        )
    assert events == 2, "one notice per request, however often retention runs"


def test_miz_retention_dry_run_then_for_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'miz.sqlite3'}"
    store = DocumentStore(tmp_path / "files", max_bytes=1024 * 1024)
    monkeypatch.setenv("MIZ_DATABASE_URL", url)
    monkeypatch.setenv("MIZ_FILES_DIR", str(store.root))
    upgrade(url)

    async def fill() -> None:
        engine = create_engine(url)
        try:
            await add_request(session_factory(engine), store, "100000001", closed_days_ago=800, content=PDF)
        finally:
            await engine.dispose()

    asyncio.run(fill())
    assert miz(["retention", "--dry-run"]) == 0
    assert "retention is off" in capsys.readouterr().out

    monkeypatch.setenv("MIZ_RETENTION_MONTHS", "12")
    assert miz(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove 1 documents and 0 inquiry files of 1 requests closed more than 12 months ago" in out
    assert "<function" not in out
    assert "Nothing was removed" in out
    assert "۱ مدرک و ۰ پروندهٔ استعلام از ۱ درخواستِ بسته‌شده در بیش از ۱۲ ماه پیش" in out
    assert [p for p in store.root.rglob("*") if p.is_file()], "a dry run removes nothing"

    assert miz(["retention"]) == 0
    out = capsys.readouterr().out
    assert "removed 1 documents and 0 inquiry files of 1 requests" in out
    assert "حذف شد" in out
    assert not [p for p in store.root.rglob("*") if p.is_file()]
    assert miz(["retention"]) == 0
    assert "removed 0 documents" in capsys.readouterr().out


async def test_a_file_an_open_requests_inquiry_names_stays_when_an_old_request_with_the_same_file_is_cleared(
    factory: async_sessionmaker[AsyncSession], store: DocumentStore
) -> None:
    """The store keeps a file sent twice once: a form an agency sent back with its answer on an open request is the
    same file as an old request's document, and clearing the old one must not take it from the inquiry."""
    old = await add_request(factory, store, "100000011", closed_days_ago=400, content=PDF + b"form")
    still_open = await add_request(factory, store, "100000012", closed_days_ago=None, content=PDF + b"other")
    form = store.store(PDF + b"form")
    async with unit_of_work(factory, write=True) as session:
        session.add(
            Inquiry(
                request_id=still_open,
                asking_organization_id="falavarjan",
                agency_id="registry",
                question="?",
                asked_by="bale:7200000001",
                due_date=NOW.date(),
                state="answered",
                answer_files=[{"stored_path": form.stored_path, "kind": form.kind}],
            )
        )

    done = await apply_retention(factory, store, months=6, now=NOW)

    assert (done.requests, done.documents, done.files) == (1, 1, 0), "the inquiry still names the file"
    assert await documents_of(factory, old) == 0
    assert (store.root / form.stored_path).read_bytes() == PDF + b"form"


def kept_file(store: DocumentStore, content: bytes, **extra: object) -> dict[str, object]:
    """An inquiry's file list entry as ``desk.inquiries`` keeps it: where it was sent, and where the store has it."""
    stored = store.store(content)
    return {
        "platform": "bale",
        "chat_id": -100,
        "message_id": 1,
        "platform_file_id": "f",
        "stored_path": stored.stored_path,
        "sha256": stored.sha256,
        "size": stored.size,
        "mime": stored.mime,
        "kind": stored.kind,
        **extra,
    }


async def test_an_old_requests_inquiry_files_go_but_a_kept_requests_identical_file_stays(
    factory: async_sessionmaker[AsyncSession], store: DocumentStore
) -> None:
    """The clerk's new files and the agency's answer files of an old request's inquiry leave the store like its
    documents; the one that is also a document of a request still kept (the store holds it once) stays, and the
    clerks' history says what went."""
    old = await add_request(factory, store, "100000021", closed_days_ago=400, content=PDF + b"deed")
    kept = await add_request(factory, store, "100000022", closed_days_ago=30, content=PDF + b"site plan")
    # Before migration 0020 an answer's file was only a message in the group: nothing in the store to remove.
    messenger_only = {"platform": "bale", "chat_id": -100, "message_id": 9, "kind": "photo"}
    async with unit_of_work(factory, write=True) as session:
        inquiry = Inquiry(
            request_id=old,
            asking_organization_id="falavarjan",
            agency_id="registry",
            question="?",
            asked_by="bale:7200000001",
            due_date=NOW.date(),
            state="answered",
            files=[kept_file(store, PDF + b"clerk's letter")],
            answer_files=[
                kept_file(store, PDF + b"site plan"),
                kept_file(store, PDF + b"answer"),
                messenger_only,
            ],
        )
        session.add(inquiry)
        await session.flush()
        inquiry_id = inquiry.id
    freed = len(PDF + b"deed") + len(PDF + b"clerk's letter") + len(PDF + b"answer")

    planned = await plan_retention(factory, months=6, now=NOW)
    assert (planned.requests, planned.documents, planned.inquiry_files, planned.files, planned.bytes) == (
        1,
        1,
        3,
        3,
        freed,
    ), "the kept request's site plan is not freed"
    assert len([p for p in store.root.rglob("*") if p.is_file()]) == 4, "a dry run removes nothing"

    done = await apply_retention(factory, store, months=6, now=NOW)

    assert (done.requests, done.documents, done.inquiry_files, done.files, done.bytes) == (1, 1, 3, 3, freed)
    remaining = sorted(p.read_bytes() for p in store.root.rglob("*") if p.is_file())
    assert remaining == [PDF + b"site plan"]
    assert await documents_of(factory, kept) == 1
    async with factory() as session:
        inquiry = await session.get(Inquiry, inquiry_id)
        assert inquiry is not None
        assert (inquiry.files, inquiry.answer_files) == ([], [messenger_only])
        notices = (
            await session.execute(
                select(RequestEvent.notice, RequestEvent.public).where(  # type: ignore[call-overload]
                    RequestEvent.request_id == old,
                    RequestEvent.notice.is_not(None),  # type: ignore[union-attr]
                )
            )
        ).all()
    assert sorted((n["key"], public) for n, public in notices) == [
        (INQUIRY_NOTICE_KEY, False),
        (NOTICE_KEY, True),
    ]
    assert notice_text({"key": INQUIRY_NOTICE_KEY, "months": 6}, "fa").startswith("پرونده‌های استعلام‌ها")

    again = await apply_retention(factory, store, months=6, now=NOW)
    assert (again.requests, again.inquiry_files, again.files) == (0, 0, 0), (
        "a second run removes nothing more"
    )


async def test_a_request_whose_only_files_are_its_inquirys_is_cleared_and_told_to_clerks_only(
    factory: async_sessionmaker[AsyncSession], store: DocumentStore
) -> None:
    old = await add_request(factory, store, "100000031", closed_days_ago=400, content=PDF + b"deed")
    await apply_retention(factory, store, months=6, now=NOW)
    async with unit_of_work(factory, write=True) as session:
        session.add(
            Inquiry(
                request_id=old,
                asking_organization_id="falavarjan",
                agency_id="registry",
                question="?",
                asked_by="bale:7200000001",
                due_date=NOW.date(),
                state="answered",
                answer_files=[kept_file(store, PDF + b"late answer")],
            )
        )

    done = await apply_retention(factory, store, months=6, now=NOW)

    assert (done.requests, done.documents, done.inquiry_files, done.files) == (1, 0, 1, 1)
    assert not [p for p in store.root.rglob("*") if p.is_file()]
    async with factory() as session:
        request = await session.get(ServiceRequest, old)
        assert request is not None
        view = await track_view(session, request)
    assert [entry.notice["key"] for entry in view.history if entry.notice] == [NOTICE_KEY], (
        "the citizen reads no word of inquiries"
    )
