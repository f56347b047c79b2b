"""The satisfaction survey: a finished request's citizen rates the service from 1 to 5 and may add a comment.

The survey arrives with the notice that a request was completed or rejected (``desk.handling``), as buttons whose
callback data is ``rate:<request id>:<score>``. Each use case takes the caller's ``AsyncSession`` (opened with
``storage.uow.unit_of_work(factory, write=True)``) and never commits. One answer per request: rating again
replaces the score and keeps the comment. Reports read the scores with the rest of an organization's figures
(``desk.reports``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from desk.errors import NotFound, ValidationError
from desk.handling import GROUP_LANG, SCORES, TEXT_MAX
from desk.lifecycle import Status
from desk.notifications import enqueue_card, enqueue_chat, text_payload
from desk.persian import visible
from desk.tracking import format_tracking_code
from storage.columns import utcnow
from storage.models import ServiceRequest, SurveyAnswer
from storage.repositories import Citizens, Requests, SurveyAnswers

__all__ = [
    "LOW_SCORE",
    "OBJECTION_MAX_SCORE",
    "OBJECTION_SUBJECT",
    "RATEABLE_STATUSES",
    "RELATED_FIELD",
    "SUBJECT_FIELD",
    "OrganizationScores",
    "RatingResult",
    "comment",
    "objected_request",
    "organization_scores",
    "rate",
]

RATEABLE_STATUSES: Final = frozenset({Status.COMPLETED, Status.REJECTED})
"""A request is rated once the organization finished it; a withdrawn one was never finished by anyone."""
OBJECTION_MAX_SCORE: Final = 2
"""At or below this score (and after any rejection) the citizen is offered to object (file a complaint)."""
LOW_SCORE: Final = 2
"""A rating at or below this tells the organization's group at once (so does any comment)."""
RELATED_FIELD: Final = "related_tracking_code"
"""The complaint form's field naming the request an objection is about."""
SUBJECT_FIELD: Final = "subject"
"""The complaint form's choice of what the complaint is about."""
OBJECTION_SUBJECT: Final = "decision"
"""The subject of an objection (a complaint against a decision): reports count these as objections."""


@dataclass(frozen=True, slots=True)
class RatingResult:
    """A stored rating, and what the bot offers next.

    ``updated`` is True when this replaced an earlier score. ``offer_comment`` is True while the answer has no
    comment. ``offer_objection`` is True when the request was rejected or the score is ``OBJECTION_MAX_SCORE`` or
    lower: the citizen may then object (the complaint flow).
    """

    request_id: int
    score: int
    updated: bool
    offer_comment: bool
    offer_objection: bool


class OrganizationScores(NamedTuple):
    """How many ratings an organization's requests got and their average (None when there are none).

    A tuple ``(ratings, average)``: the first field is not called ``count``, which would hide ``tuple.count``.
    """

    ratings: int
    average: float | None


async def _own_request(
    session: AsyncSession, request_id: int, platform: str, user_id: int, *, lock: bool = True
) -> ServiceRequest:
    """The request, locked unless ``lock`` is False, if ``platform:user_id`` filed it; otherwise ``NotFound`` as
    for a missing request."""
    requests = Requests(session)
    request = await (requests.get_for_update(request_id) if lock else requests.get(request_id))
    if request is None or request.id is None:
        raise NotFound("desk.request.not_found")
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None or (citizen.platform, citizen.user_id) != (platform, user_id):
        raise NotFound("desk.request.not_found")
    return request


GroupsOf = Callable[[str], Mapping[str, int]]
"""An organization's operator groups by id (platform -> chat id): the catalog's ``operator_groups``."""


async def _tell_the_group(
    session: AsyncSession, request: ServiceRequest, answer: SurveyAnswer, groups_of: GroupsOf, *, news: bool
) -> None:
    """Redraw the request's card (it shows the rating and comment) in the handling organization's groups, and
    with ``news`` tell them in a message of its own: a low score or a comment should not wait for the report."""
    assert request.id is not None
    stamp = answer.updated_at.isoformat()
    for platform, chat_id in sorted(groups_of(request.organization_id).items()):
        await enqueue_card(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            request_id=request.id,
            dedupe_key=f"rating-card:{request.id}:{stamp}:{platform}",
        )
        if not news:
            continue
        params: dict[str, str | int] = {
            "code": format_tracking_code(request.tracking_code, GROUP_LANG),
            "score": answer.score,
        }
        key = "notify.rating.low" if answer.comment is None else "notify.rating.comment"
        if answer.comment is not None:
            params["comment"] = visible(answer.comment)
        await enqueue_chat(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            payload=text_payload(key, GROUP_LANG, params=params),
            dedupe_key=f"rating:{request.id}:{stamp}:{platform}",
            request_id=request.id,
        )


async def rate(
    session: AsyncSession,
    request_id: int,
    platform: str,
    user_id: int,
    score: int,
    *,
    groups_of: GroupsOf | None = None,
) -> RatingResult:
    """Store the citizen's score (1..5) for their finished request; a second rating replaces the first.

    With ``groups_of``, the organization's groups see the score on the request's card, and a score of
    ``LOW_SCORE`` or lower is also told to them in a message.

    Raises ``ValidationError``: ``desk.survey.score`` for a score outside 1..5 (callback data can be forged),
    ``desk.survey.not_finished`` unless the request is completed or rejected; ``NotFound`` when the request is
    not the asker's.
    """
    if isinstance(score, bool) or not isinstance(score, int) or score not in SCORES:
        raise ValidationError("desk.survey.score")
    request = await _own_request(session, request_id, platform, user_id)
    assert request.id is not None
    status = Status(request.status)
    if status not in RATEABLE_STATUSES:
        raise ValidationError("desk.survey.not_finished")
    answers = SurveyAnswers(session)
    now = utcnow()
    answer = await answers.of_request(request.id)
    updated = answer is not None
    if answer is None:
        answer = await answers.add(
            SurveyAnswer(request_id=request.id, score=score, created_at=now, updated_at=now)
        )
    else:
        answer.score = score
        answer.updated_at = now
        session.add(answer)
        await session.flush()
    if groups_of is not None:
        await _tell_the_group(session, request, answer, groups_of, news=score <= LOW_SCORE)
    return RatingResult(
        request_id=request.id,
        score=score,
        updated=updated,
        offer_comment=answer.comment is None,
        offer_objection=status is Status.REJECTED or score <= OBJECTION_MAX_SCORE,
    )


async def comment(
    session: AsyncSession,
    request_id: int,
    platform: str,
    user_id: int,
    text: str,
    *,
    groups_of: GroupsOf | None = None,
) -> None:
    """Attach the citizen's comment to their rating (a later comment replaces it).

    With ``groups_of``, the organization's groups get the comment with its score, and see it on the card.

    Raises ``ValidationError``: ``desk.text.empty`` / ``desk.text.too_long``, ``desk.survey.not_rated`` when the
    request has no rating yet; ``NotFound`` when the request is not the asker's.
    """
    value = text.strip()
    if not value:
        raise ValidationError("desk.text.empty")
    if len(value) > TEXT_MAX:
        raise ValidationError("desk.text.too_long", limit=TEXT_MAX, length=len(value))
    request = await _own_request(session, request_id, platform, user_id)
    assert request.id is not None
    answer = await SurveyAnswers(session).of_request(request.id)
    if answer is None:
        raise ValidationError("desk.survey.not_rated")
    answer.comment = value
    answer.updated_at = utcnow()
    session.add(answer)
    await session.flush()
    if groups_of is not None:
        await _tell_the_group(session, request, answer, groups_of, news=True)


async def objected_request(
    session: AsyncSession, request_id: int, platform: str, user_id: int
) -> ServiceRequest:
    """The request the citizen objects to (files a complaint about); ``NotFound`` unless ``platform:user_id``
    filed it."""
    return await _own_request(session, request_id, platform, user_id, lock=False)


async def organization_scores(session: AsyncSession, organization_id: str) -> OrganizationScores:
    """The number of ratings of the organization's requests and their average score, for the governorate."""
    count, average = await SurveyAnswers(session).scores(organization_id)
    return OrganizationScores(ratings=count, average=average)
