"""The citizen completes the answers a move to another service left missing.

A request moved to another service (``desk.transfers``) keeps the answers it was filed with; the new service's
required questions they leave open are listed on the clerk's card (``desk.requests.missing_answers``). The citizen
is offered "✍️ complete the missing answers" on the message telling them of the move, on the clerk's "needs info"
message and on the request's own page; the bot asks exactly those questions with the form's own validation, and
:func:`complete_answers` stores them.

Rules:

* Who: only the request's own citizen (``desk.bridge.own_request``: anyone else's request is ``NotFound``, as a
  request that does not exist); a finished request, or one with nothing missing, has nothing to complete
  (``desk.completion.nothing``).
* What: answers to the questions missing now, under the definition the citizen was asked for (a request moved to
  yet another service meanwhile is refused with ``desk.completion.changed``, so no answer lands under the wrong
  question), each checked again as the form checks it (a typed answer normalized by ``desk.validators``, a button's
  value one its buttons carry); a tracking code only of the citizen's own request (the form
  lets a complaint name someone else's with its national ID, behind the guessing limits: not here).
* Then: the answers join the request's, with a public event (``desk.completion.done``, in each reader's language);
  a request waiting for the citizen ("needs info") goes back to the clerks (``desk.handling.citizen_answered``);
  the card is redrawn in every operator group, and a line under it says which questions were answered (their
  labels only: the card shows the answers, masked as it masks them).

Dedupe keys: ``event:<id>:card:<platform>``, ``event:<id>:group:<platform>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.bridge import own_request
from desk.errors import TransitionError, ValidationError
from desk.handling import GROUP_LANG, citizen_answered
from desk.lifecycle import Actor, Status, is_final
from desk.notices import make_notice
from desk.notifications import enqueue_card, enqueue_chat, text_payload
from desk.requests import PLATFORMS, Title, missing_answers
from desk.tracking import format_tracking_code
from desk.validators import stored_answer
from storage.models import RequestEvent, ServiceRequest
from storage.repositories import Events, GroupMessages, Requests

__all__ = ["NOTICE_KEY", "Missing", "complete_answers", "missing_for_citizen"]

NOTICE_KEY: Final = "desk.completion.done"
"""The history's notice when the citizen completed missing answers (with how many)."""


@dataclass(frozen=True, slots=True)
class Missing:
    """A request's questions left unanswered, as its citizen is asked them."""

    request: ServiceRequest
    field_ids: tuple[str, ...]
    """The missing questions' ids, in the form's order."""
    version: str
    """The service definition they belong to (``ServiceRequest.service_version``)."""


def _missing(request: ServiceRequest) -> tuple[str, ...]:
    if is_final(Status(request.status)):
        return ()
    return tuple(missing_answers(request.service_snapshot, request.answers))


async def missing_for_citizen(session: AsyncSession, request_id: int, platform: str, user_id: int) -> Missing:
    """The missing questions of the citizen's own request ``request_id``; ``NotFound`` for anyone else's,
    ``ValidationError("desk.completion.nothing")`` when nothing is missing (or the request is finished)."""
    request = await own_request(session, request_id, platform, user_id)
    missing = _missing(request)
    if not missing:
        raise ValidationError("desk.completion.nothing")
    return Missing(request, missing, request.service_version)


def _questions(request: ServiceRequest) -> dict[str, Mapping[str, Any]]:
    return {str(q["id"]): q for q in request.service_snapshot.get("form") or () if "id" in q}


async def _checked(
    session: AsyncSession, request: ServiceRequest, question: Mapping[str, Any], value: Any
) -> Any:
    """The answer as stored; refused when its question's buttons or form could not have given it (a forged or
    stale conversation): each typed kind is checked (and normalized) again as the form does, a button's value must
    be one of its buttons'."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError("desk.completion.nothing")
    value = stored_answer(question, value)
    if question.get("type") == "tracking_code":
        named = await Requests(session).by_tracking_code(str(value))
        if named is None or named.citizen_id != request.citizen_id or named.id == request.id:
            raise ValidationError("desk.completion.not_own_code")
    return value


async def complete_answers(
    session: AsyncSession,
    request_id: int,
    answers: Mapping[str, Any],
    *,
    version: str,
    platform: str,
    user_id: int,
    groups: Mapping[str, int],
) -> RequestEvent:
    """Store the citizen's ``answers`` to missing questions of their own request (asked under service definition
    ``version``); the public event that records them. Everything is checked before anything is written (see the
    module's rules). ``groups`` are the operator groups of the organization handling the request."""
    request = await own_request(session, request_id, platform, user_id)
    assert request.id is not None
    missing = _missing(request)
    if not missing:
        raise ValidationError("desk.completion.nothing")
    if request.service_version != version:
        raise TransitionError("desk.completion.changed")
    if not answers or not set(answers) <= set(missing):
        raise TransitionError("desk.completion.changed")
    questions = _questions(request)
    checked = {
        field_id: await _checked(session, request, questions[field_id], v) for field_id, v in answers.items()
    }

    request.answers = {**request.answers, **checked}
    session.add(request)
    answered = [field_id for field_id in missing if field_id in answers]
    event = await Events(session).add(
        RequestEvent(
            request_id=request.id,
            actor_kind=Actor.CITIZEN.value,
            actor_id=f"{platform}:{user_id}",
            notice=make_notice(NOTICE_KEY, count=len(answered)),
            public=True,
        )
    )
    waiting = request.status == Status.NEEDS_INFO
    if waiting:  # what the clerk asked for: back to them (which redraws the card)
        await citizen_answered(session, request.id, platform, user_id, None, groups=groups)
    await _tell_groups(session, request, event, [questions[f] for f in answered], groups, redraw=not waiting)
    return event


def _label(question: Mapping[str, Any]) -> str:
    label = question.get("label") or {}
    return str(label.get(GROUP_LANG) or label.get("fa") or question.get("id"))


async def _tell_groups(
    session: AsyncSession,
    request: ServiceRequest,
    event: RequestEvent,
    answered: list[Mapping[str, Any]],
    groups: Mapping[str, int],
    *,
    redraw: bool,
) -> None:
    """Redraw the card in each operator group (when ``redraw``), and say under it which questions the citizen
    answered."""
    assert request.id is not None
    cards = await GroupMessages(session).cards(request.id)
    params: dict[str, str | int] = {
        "code": format_tracking_code(request.tracking_code, GROUP_LANG),
        "title": Title.of(request.service_snapshot).text(GROUP_LANG),
        "questions": "، ".join(_label(q) for q in answered),
    }
    for group_platform, chat_id in sorted(groups.items()):
        if group_platform not in PLATFORMS:
            raise ValueError(f"unknown platform {group_platform!r} in groups")
        if redraw:
            await enqueue_card(
                session,
                platform=group_platform,
                chat_id=chat_id,
                organization_id=request.organization_id,
                request_id=request.id,
                dedupe_key=f"event:{event.id}:card:{group_platform}",
            )
        await enqueue_chat(
            session,
            platform=group_platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            payload=text_payload(
                "notify.group.answers_completed",
                GROUP_LANG,
                params=params,
                reply_to=cards.get((group_platform, chat_id)),
            ),
            dedupe_key=f"event:{event.id}:group:{group_platform}",
            request_id=request.id,
        )
