"""A citizen whose request moved to another service completes the answers it still needs (desk.completion): only
their own request, only the questions missing, stored with a public event; the clerks get it back with its card
redrawn, and the "needs info" message offers the questions only while some are missing."""

from __future__ import annotations

import pytest

from desk.completion import NOTICE_KEY, complete_answers, missing_for_citizen
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import ask_information
from desk.lifecycle import Actor, Status
from desk.requests import missing_answers
from storage.models import ServiceRequest
from storage.repositories import Events, ServiceVersions
from storage.uow import unit_of_work
from tests.desk.test_transfer_service import ANSWERS, NAMED_COMPLAINT, move
from tests.desk.test_transfers import (
    FALAVARJAN_CLERK,
    GHAHDERIJAN_CLERK,
    GROUPS,
    ORDINARY,
    Factory,
    file,
    outbox,
    stored,
)

ZAHRA = ("telegram", 1001)
"""Who filed every request of these tests (``tests.desk.test_transfers.file``)."""


async def moved_and_asked(factory: Factory) -> int:
    """Zahra's complaint, moved to the building permit at Ghahderijan (its parcel number missing), and the clerk
    there asking her for it."""
    request_id = await file(factory, NAMED_COMPLAINT, ANSWERS)
    await move(factory, request_id, "ghahderijan")
    async with unit_of_work(factory, write=True) as session:
        await ask_information(
            session,
            request_id,
            GHAHDERIJAN_CLERK,
            "لطفاً پلاک ثبتی را بفرستید",
            seen_status=Status.SUBMITTED,
            groups=GROUPS["ghahderijan"],
        )
    return request_id


async def complete(
    factory: Factory, request_id: int, answers: dict[str, object], *, user: int = 1001, version: str = "v3"
) -> int:
    async with unit_of_work(factory, write=True) as session:
        event = await complete_answers(
            session,
            request_id,
            answers,
            version=version,
            platform="telegram",
            user_id=user,
            groups=GROUPS["ghahderijan"],
        )
    assert event.id is not None
    return event.id


async def test_the_needs_info_message_offers_the_missing_questions_and_her_answers_go_back_to_the_clerks(
    factory: Factory,
) -> None:
    request_id = await moved_and_asked(factory)
    for key in ("notify.citizen.transferred_service", "notify.citizen.needs_info"):
        (told,) = [r for r in await outbox(factory) if r.payload.get("key") == key]
        assert [b["data"] for row in told.payload["buttons"] for b in row] == [
            f"reply:{request_id}",
            f"fill:{request_id}",
        ], key
    async with factory() as session:
        missing = await missing_for_citizen(session, request_id, *ZAHRA)
    assert (missing.field_ids, missing.version) == (("parcel",), "v3")
    queued = max(r.id or 0 for r in await outbox(factory))

    event_id = await complete(factory, request_id, {"parcel": "۱۲/۳۴"})

    request = await stored(factory, request_id)
    assert request.answers == {**ANSWERS, "parcel": "12/34"}, "normalized as the form normalizes typed text"
    assert missing_answers(request.service_snapshot, request.answers) == []
    assert request.status == Status.IN_PROGRESS, "what the clerk asked for is answered: back to the clerks"
    async with factory() as session:
        history = list(await Events(session).history(request_id, public_only=True))
    done = next(e for e in history if e.id == event_id)
    assert (done.actor_kind, done.notice) == (Actor.CITIZEN.value, {"key": NOTICE_KEY, "count": 1})
    assert history[-1].to_status == Status.IN_PROGRESS.value
    rows = await outbox(factory)
    told = [r for r in rows if r.payload.get("key") == "notify.group.answers_completed"]
    assert sorted((r.platform, r.chat_id) for r in told) == [("bale", -5002), ("telegram", -1002)]
    assert told[0].payload["params"]["questions"] == "پلاک ثبتی", "the question's label, never the answer"
    cards = [r for r in rows if r.payload.get("type") == "card" and (r.id or 0) > queued]
    assert sorted(r.chat_id for r in cards) == [-5002, -1002], "each group's card redrawn once"

    with pytest.raises(ValidationError, match=r"desk\.completion\.nothing"):
        async with factory() as session:
            await missing_for_citizen(session, request_id, *ZAHRA)


async def test_a_forged_button_for_another_citizens_request_or_one_with_nothing_missing_gets_nothing(
    factory: Factory,
) -> None:
    request_id = await moved_and_asked(factory)
    before = len(await outbox(factory))
    with pytest.raises(NotFound):
        async with factory() as session:
            await missing_for_citizen(session, request_id, "telegram", 2002)
    with pytest.raises(NotFound):
        await complete(factory, request_id, {"parcel": "۱/۱"}, user=2002)
    assert "parcel" not in (await stored(factory, request_id)).answers
    assert len(await outbox(factory)) == before

    untouched = await file(factory, ORDINARY)
    with pytest.raises(ValidationError, match=r"desk\.completion\.nothing"):
        async with factory() as session:
            await missing_for_citizen(session, untouched, *ZAHRA)
    with pytest.raises(ValidationError, match=r"desk\.completion\.nothing"):
        await complete(factory, untouched, {"parcel": "۱/۱"})


async def test_only_the_missing_questions_of_the_definition_she_was_asked_are_taken(factory: Factory) -> None:
    request_id = await moved_and_asked(factory)
    with pytest.raises(TransitionError, match=r"desk\.completion\.changed"):
        await complete(factory, request_id, {"parcel": "۱/۱", "national_id": "0499370899"})
    with pytest.raises(TransitionError, match=r"desk\.completion\.changed"):
        async with unit_of_work(factory, write=True) as session:
            await complete_answers(
                session,
                request_id,
                {"parcel": "۱/۱"},
                version="v1",
                platform="telegram",
                user_id=1001,
                groups=GROUPS["ghahderijan"],
            )
    with pytest.raises(ValidationError, match=r"desk\.completion\.nothing"):
        await complete(factory, request_id, {"parcel": "  "})
    request = await stored(factory, request_id)
    assert (request.answers, request.status) == (ANSWERS, Status.NEEDS_INFO)


async def test_a_needs_info_message_about_a_request_missing_nothing_has_no_completion_button(
    factory: Factory,
) -> None:
    request_id = await file(factory, ORDINARY)
    async with unit_of_work(factory, write=True) as session:
        await ask_information(
            session,
            request_id,
            FALAVARJAN_CLERK,
            "سند را بفرستید",
            seen_status=Status.SUBMITTED,
            groups=GROUPS["falavarjan"],
        )
    asked = [r for r in await outbox(factory) if r.payload.get("key") == "notify.citizen.needs_info"]
    assert [b["data"] for row in asked[0].payload["buttons"] for b in row] == [f"reply:{request_id}"]


OWNER_FORM: dict[str, object] = {
    "id": "building_permit",
    "title": {"fa": "پروانهٔ ساختمانی"},
    "duration_days": 7,
    "form": [
        {"id": "owner_id", "type": "national_id", "label": {"fa": "کد ملی مالک"}},
        {
            "id": "use",
            "type": "choice",
            "label": {"fa": "کاربری"},
            "choices": [{"id": "home", "label": {"fa": "مسکونی"}}, {"id": "shop", "label": {"fa": "تجاری"}}],
        },
    ],
}


async def test_a_forged_answer_the_form_would_refuse_is_refused_and_stores_nothing(factory: Factory) -> None:
    """A modified client may put anything in its conversation's answers: each is checked again as the form checks
    it (an invalid national ID, a choice no button offers)."""
    request_id = await moved_and_asked(factory)
    async with unit_of_work(factory, write=True) as session:
        request = await session.get(ServiceRequest, request_id)
        assert request is not None
        request.definition = await ServiceVersions(session).get_or_create("building_permit", "v9", OWNER_FORM)
        request.service_version_id, request.service_version = request.definition.id, "v9"
    assert missing_answers(OWNER_FORM, ANSWERS) == ["owner_id", "use"]

    with pytest.raises(ValidationError, match=r"desk\.national_id"):
        await complete(factory, request_id, {"owner_id": "1234567890", "use": "home"}, version="v9")
    with pytest.raises(ValidationError, match=r"desk\.field\.use_buttons"):
        await complete(factory, request_id, {"owner_id": "0499370899", "use": "palace"}, version="v9")
    assert (await stored(factory, request_id)).answers == ANSWERS

    await complete(factory, request_id, {"owner_id": "0499370899", "use": "shop"}, version="v9")
    assert (await stored(factory, request_id)).answers == {**ANSWERS, "owner_id": "0499370899", "use": "shop"}
