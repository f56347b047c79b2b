"""The request use cases the bot's handlers call: file a request, list a citizen's requests, follow one by its code.

Each use case takes an ``AsyncSession`` the caller opened with ``storage.uow.unit_of_work(factory, write=True)``:
the caller owns the transaction and commits it, a use case never does, so a request, its documents, its first
event and any outbox rows the caller adds are stored together or not at all. ``desk`` does not import
``catalog`` (``catalog`` imports ``desk``), so the service arrives as plain values: its resolved definition as
JSON (``ResolvedService.model_dump(mode="json")``), which is also the snapshot the request keeps.

Errors are ``desk.errors`` with locale keys; the bot's error router shows them in Persian.

The confirmation (the tracking code) must reach the citizen even when the messenger fails right after the filing
(500, 429, a timeout). The filing transaction queues it in the outbox, held back for ``CONFIRMATION_HOLD``
(:func:`queue_confirmation`); the handler tells it in the chat at once and then settles it
(:func:`settle_confirmation`): what the chat carried leaves the outbox, the rest is due at once and the outbox
delivers it with its retries. A process that dies in between leaves it held: it goes out when the hold ends. And
while a confirmation is in the outbox (held, retried or delivered late: the citizen was not told in the
conversation), filing the same request again within ``REFILE_WINDOW`` (same service, answers and documents) files
nothing: :func:`submit_request` returns the first request, and the bot tells its code again.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.access import handling_organization
from desk.calendar import WorkCalendar
from desk.errors import NotFound, ValidationError
from desk.lifecycle import Actor, Status, check_transition, is_public
from desk.notifications import enqueue_card, enqueue_chat, text_payload
from desk.persian import normalize, normalize_identifier
from desk.platforms import PLATFORM_IDS
from desk.sms import queue_request_sms
from desk.tracking import (
    TRACKING_CODE_LENGTH,
    format_tracking_code,
    new_tracking_code,
    tracking_code_readings,
)
from desk.validators import national_id as validate_national_id
from desk.validators import stored_answer
from desk.verification import mobile_answers, phone_to_offer, record_shared_phone
from storage.columns import utcnow
from storage.errors import TrackingCodeTakenError
from storage.models import Citizen, Document, RequestEvent, RequestIdentifier, ServiceRequest, ServiceVersion
from storage.repositories import (
    OPEN_INQUIRY_STATES,
    Citizens,
    Events,
    Inquiries,
    Outbox,
    Requests,
    ServiceVersions,
)

__all__ = [
    "CONFIRMATION_HOLD",
    "IDEMPOTENCY_KEY_MAX",
    "NATIONAL_ID",
    "NATIONAL_ID_TAIL",
    "PLATFORMS",
    "REFILE_WINDOW",
    "TRACKING_CODE_ATTEMPTS",
    "DocumentInput",
    "Filed",
    "HistoryEntry",
    "RequestSummary",
    "Submission",
    "SubmitResult",
    "Title",
    "TrackView",
    "Waiting",
    "confirmation_keys",
    "file_request",
    "missing_answers",
    "queue_confirmation",
    "settle_confirmation",
    "split_code_and_tail",
    "submit_request",
    "track",
]

PLATFORMS: Final = PLATFORM_IDS
"""The messengers a citizen can write from (``desk.platforms``); every user id is stored with one of these."""
IDEMPOTENCY_KEY_MAX: Final = 64
"""Longest submit key the store accepts (``service_request.idempotency_key``)."""
TRACKING_CODE_ATTEMPTS: Final = 5
"""Fresh codes drawn before giving up: a clash is a one-in-80,000 event (see ``desk.tracking``), five in a row
means something else is wrong (a broken generator), and the error then reaches the generic apology."""
CONFIRMATION_HOLD: Final = timedelta(minutes=2)
"""How long a queued confirmation waits for the handler to tell it in the chat: longer than that takes (two calls,
each within the bot session's 60-second timeout), short enough for a citizen to wait. A chat slower still may
tell it twice (the outbox's choice too: a rare duplicate rather than a lost message)."""
REFILE_WINDOW: Final = timedelta(hours=1)
"""How soon after a request the chat could not confirm, filing the same request again finds it."""
REFILE_CANDIDATES: Final = 10
"""The citizen's newest requests compared with one being filed (filing ten others in the window is no mistake)."""

NATIONAL_ID_TAIL: Final = 4
"""Digits at the end of a national ID that, with the tracking code, show a request to someone else (SMS-friendly).

Four digits are only 10,000 possibilities: what protects them is the tracking throttle (``desk.throttle``), which
counts every wrong guess, last four digits included, and the 12-digit code that must come with them."""

_NATIONAL_ID_FIELD: Final = "national_id"
NATIONAL_ID: Final = "national_id"
"""The kind of identifier (``RequestIdentifier.kind``) a request's national ID answers are stored and found as."""
_TAIL: Final = re.compile(rf"\d{{{NATIONAL_ID_TAIL}}}", re.ASCII)
_DASH: Final = "\\-\u2010-\u2015\u2212\ufe63\uff0d"
# A code (digits, spaces, dashes), then a separate group of four digits: "123412341234 5678", "1234-5678-9012 5678".
_CODE_AND_TAIL: Final = re.compile(
    rf"(?P<code>\d[\d {_DASH}]*\d)[ {_DASH},،/]+(?P<tail>\d{{{NATIONAL_ID_TAIL}}})", re.ASCII
)


@dataclass(frozen=True, slots=True)
class DocumentInput:
    """A file the citizen sent for one document slot, already copied into the document store."""

    slot: str
    platform_file_id: str
    file_unique_id: str
    stored_path: str
    sha256: str
    size: int
    mime: str
    kind: str


@dataclass(frozen=True, slots=True)
class Submission:
    """Everything a citizen's "submit" carries: who, which service (as filed), the answers and the documents.

    ``service_snapshot`` is ``ResolvedService.model_dump(mode="json")``; ``answers`` maps form field ids to JSON
    values (text, number, ISO date, bool, choice id, ``{"latitude", "longitude"}``). ``idempotency_key`` is the
    same for a double tap on "submit" and unique otherwise (for instance a UUID made when the form starts).
    ``today`` is the organization's local date: the deadline counts working days of ``calendar`` from it.
    """

    platform: str
    user_id: int
    chat_id: int
    first_name: str | None
    last_name: str | None
    username: str | None
    organization_id: str
    service_id: str
    service_version: str
    service_snapshot: Mapping[str, Any]
    answers: Mapping[str, Any]
    documents: Sequence[DocumentInput]
    idempotency_key: str
    calendar: WorkCalendar
    today: date
    governorate_id: str | None = None
    """The catalog's governorate, which handles anonymous complaints (``desk.access``)."""

    def __post_init__(self) -> None:
        # Programming errors of the caller, not something a citizen typed: plain ValueError.
        if self.platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {sorted(PLATFORMS)}, not {self.platform!r}")
        if not 0 < len(self.idempotency_key) <= IDEMPOTENCY_KEY_MAX:
            raise ValueError(f"idempotency_key must be 1..{IDEMPOTENCY_KEY_MAX} characters")


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """The filed request; ``created`` is False when this submit repeated one already filed (a double tap).

    ``organization_id`` is the organization that handles it (its cards go to that organization's groups).
    """

    request_id: int
    tracking_code: str
    deadline: date
    created: bool
    organization_id: str


@dataclass(frozen=True, slots=True)
class Filed:
    """A request filed by :func:`file_request`, and the mobile number to offer SMS updates on (None: none to
    offer, or not asked)."""

    result: SubmitResult
    sms_offer: str | None = None


@dataclass(frozen=True, slots=True)
class Title:
    """A service's title as filed, in Persian and (when the catalog has it) English."""

    fa: str
    en: str | None = None

    def text(self, lang: str = "fa") -> str:
        """The title in ``lang``, Persian when there is no English one."""
        return self.en if lang == "en" and self.en else self.fa

    @classmethod
    def of(cls, snapshot: Mapping[str, Any]) -> Title:
        """The ``title`` of a service snapshot (a ``{"fa", "en"}`` object)."""
        return cls.parse(snapshot.get("title"))

    @classmethod
    def parse(cls, title: Mapping[str, Any] | None) -> Title:
        """A stored ``{"fa", "en"}`` title object (none: an empty title)."""
        title = title or {}
        return cls(fa=str(title.get("fa") or ""), en=title.get("en") or None)


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """One line of "my requests": enough to recognise the request and see where it stands."""

    tracking_code: str
    organization_id: str
    service_id: str
    title: Title
    status: Status
    submitted_at: datetime | None
    deadline: date | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A public step of a request's history: when, the status it moved to (None for a note), and its text;
    ``transferred_to`` names the organization a transfer handed it to (``desk.transfers``), ``transferred_from``
    the one that handed it over, and ``service`` the service it is handled under from then on when the transfer
    changed its service (None for every other step)."""

    at: datetime
    to_status: Status | None
    text: str | None
    notice: dict[str, Any] | None = None
    """Miz's own words instead of ``text`` (``desk.notices``): shown in the reader's language."""
    transferred_to: str | None = None
    transferred_from: str | None = None
    service: Title | None = None

    @property
    def transfer_key(self) -> str | None:
        """The locale text naming this step when it is a transfer (its parameters ``org``, where it went, and
        ``service``, the new service's title), None for any other step. A transfer recorded before the service
        could change, or one that kept it, names the organization alone."""
        if self.transferred_to is None:
            return None
        if self.service is None:
            return "bot.track.transferred"
        if self.transferred_to == self.transferred_from:
            return "bot.track.service_changed"
        return "bot.track.transferred_service"


@dataclass(frozen=True, slots=True)
class Waiting:
    """An open inquiry as the citizen sees it: which agency (its catalog id) the request waits for, since when,
    and by when it is due to answer. Nothing of the question or the answer."""

    agency_id: str
    since: datetime
    due: date


@dataclass(frozen=True, slots=True)
class TrackView:
    """What following a tracking code shows: the request, where it stands, and its public history (oldest first)."""

    tracking_code: str
    organization_id: str
    service_id: str
    title: Title
    status: Status
    submitted_at: datetime | None
    deadline: date | None
    history: tuple[HistoryEntry, ...] = field(default=())
    waiting: tuple[Waiting, ...] = field(default=())


def _answered(value: Any) -> bool:
    # False is an answer (a "no" to a yes/no question); blank text and empty objects are not.
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Mapping | list):
        return bool(value)
    return True


def missing_answers(snapshot: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """The ids of the required questions of a service definition that ``answers`` leave unanswered, in the
    form's order: none for a request as filed, but a request transferred to another service keeps the answers
    it was filed with, and its clerk asks the citizen for these ("needs info")."""
    return [
        form_field["id"]
        for form_field in snapshot.get("form") or ()
        if form_field.get("required", True) and not _answered(answers.get(form_field["id"]))
    ]


def _check_complete(submission: Submission) -> None:
    """Refuse a submission that lacks an answer to a required field or a file for a required document, or
    carries an answer its question could not have given (``desk.validators.stored_answer``: a forged button)."""
    snapshot = submission.service_snapshot
    for form_field in snapshot.get("form") or ():
        value = submission.answers.get(form_field["id"])
        if not _answered(value):
            if form_field.get("required", True):
                raise ValidationError("desk.request.answer_missing", field=form_field["id"])
            continue
        stored_answer(form_field, value)
    sent = {document.slot for document in submission.documents}
    for document in snapshot.get("documents") or ():
        if document.get("required", True) and document["id"] not in sent:
            raise ValidationError("desk.request.document_missing", slot=document["id"])


def _build(
    submission: Submission, citizen_id: int, tracking_code: str, deadline: date, version: ServiceVersion
) -> tuple[ServiceRequest, list[RequestEvent], list[Document], list[RequestIdentifier]]:
    # Fresh objects on every attempt: a failed insert's savepoint rollback expunges the previous ones.
    now = utcnow()
    request = ServiceRequest(
        tracking_code=tracking_code,
        citizen_id=citizen_id,
        organization_id=handling_organization(
            submission.organization_id, submission.service_id, submission.answers, submission.governorate_id
        ),
        about_organization_id=submission.organization_id,
        service_id=submission.service_id,
        service_version=submission.service_version,
        service_version_id=version.id,
        definition=version,
        answers=dict(submission.answers),
        status=Status.SUBMITTED.value,
        deadline=deadline,
        created_at=now,
        updated_at=now,
        submitted_at=now,
        idempotency_key=submission.idempotency_key,
    )
    event = RequestEvent(
        at=now,
        actor_kind=Actor.CITIZEN.value,
        actor_id=f"{submission.platform}:{submission.user_id}",
        from_status=Status.DRAFT.value,
        to_status=Status.SUBMITTED.value,
        public=True,
    )
    documents = [
        Document(
            slot=item.slot,
            platform=submission.platform,
            platform_file_id=item.platform_file_id,
            file_unique_id=item.file_unique_id,
            stored_path=item.stored_path,
            sha256=item.sha256,
            size=item.size,
            mime=item.mime,
            kind=item.kind,
        )
        for item in submission.documents
    ]
    identifiers = [
        RequestIdentifier(kind=NATIONAL_ID, value=value) for value in dict.fromkeys(_national_ids_of(request))
    ]
    return request, [event], documents, identifiers


async def _add_with_fresh_code(
    requests: Requests, submission: Submission, citizen_id: int, deadline: date
) -> tuple[ServiceRequest, bool]:
    """Add the request under a new random code, drawing again when the code is taken (see ``TRACKING_CODE_ATTEMPTS``).

    The service definition is stored once for every request filed under it (``ServiceVersions``), before the
    request's savepoint, so a retry with another code finds it there."""
    version = await ServiceVersions(requests.session).get_or_create(
        submission.service_id, submission.service_version, submission.service_snapshot
    )
    for _ in range(TRACKING_CODE_ATTEMPTS - 1):
        request, events, documents, identifiers = _build(
            submission, citizen_id, new_tracking_code(), deadline, version
        )
        try:
            return await requests.add(request, events=events, documents=documents, identifiers=identifiers)
        except TrackingCodeTakenError:
            continue
    request, events, documents, identifiers = _build(
        submission, citizen_id, new_tracking_code(), deadline, version
    )
    return await requests.add(request, events=events, documents=documents, identifiers=identifiers)


async def _filed_lately(
    session: AsyncSession, submission: Submission, citizen_id: int
) -> ServiceRequest | None:
    """The same request (service, answers, documents) the citizen filed within ``REFILE_WINDOW`` and was not told of
    in the conversation: its confirmation is still in the outbox. None when there is none."""
    since = utcnow() - REFILE_WINDOW
    requests, outbox = Requests(session), Outbox(session)
    wanted = (submission.organization_id, submission.service_id, dict(submission.answers))
    documents = sorted((document.slot, document.sha256) for document in submission.documents)
    for earlier in await requests.by_citizen(citizen_id, limit=REFILE_CANDIDATES):
        if earlier.created_at < since:
            break
        assert earlier.id is not None
        filed = (
            earlier.about_organization_id or earlier.organization_id,
            earlier.service_id,
            earlier.answers,
        )
        if (
            filed == wanted
            and await outbox.has_key(confirmation_keys(earlier.id)[0])
            and sorted((d.slot, d.sha256) for d in await requests.documents(earlier.id)) == documents
        ):
            return earlier
    return None


async def _citizen_of(session: AsyncSession, submission: Submission) -> Citizen:
    """The submitting citizen's record, created on their first request."""
    return await Citizens(session).get_or_create(
        submission.platform,
        submission.user_id,
        chat_id=submission.chat_id,
        first_name=submission.first_name,
        last_name=submission.last_name,
        username=submission.username,
    )


async def submit_request(session: AsyncSession, submission: Submission) -> SubmitResult:
    """File the citizen's request in the caller's transaction and return its tracking code and deadline.

    Gets or creates the citizen, draws a tracking code (a fresh one when the store reports a clash), sets
    the deadline to the service's ``duration_days`` working days after ``today``, and stores the request, its
    documents and a public "submitted" event. A repeated submit (same ``idempotency_key``) files nothing new and
    returns the request already filed, with ``created=False``; so does filing the same request again while its
    confirmation is still in the outbox (see the module docstring).

    Raises ``ValidationError`` (``desk.request.answer_missing`` / ``desk.request.document_missing``) when a
    required form field has no answer or a required document no file: the bot asks for each one, but this is
    the guard. Nothing is written then.
    """
    _check_complete(submission)
    handling_organization(  # refuses an anonymous complaint with nowhere safe to go, before anything is written
        submission.organization_id, submission.service_id, submission.answers, submission.governorate_id
    )
    check_transition(Status.DRAFT, Status.SUBMITTED, Actor.CITIZEN)
    citizen = await _citizen_of(session, submission)
    assert citizen.id is not None  # flushed by get_or_create
    deadline = submission.calendar.add_working_days(
        submission.today, int(submission.service_snapshot["duration_days"])
    )
    earlier = await _filed_lately(session, submission, citizen.id)
    if earlier is not None:
        stored, created = earlier, False
    else:
        stored, created = await _add_with_fresh_code(Requests(session), submission, citizen.id, deadline)
    if stored.citizen_id != citizen.id:
        # A submit key must be unique per submission; returning someone else's request would leak it.
        raise ValueError("this idempotency_key was used by another citizen's submission")
    assert stored.id is not None
    if created:
        await queue_request_sms(
            session, citizen, stored, key="sms.submitted", dedupe_key=f"request:{stored.id}:sms:submitted"
        )
    return SubmitResult(
        request_id=stored.id,
        tracking_code=stored.tracking_code,
        deadline=stored.deadline or deadline,
        created=created,
        organization_id=stored.organization_id,
    )


async def file_request(
    session: AsyncSession,
    submission: Submission,
    *,
    groups_of: Callable[[str], Mapping[str, int]],
    lang: str,
    own_phones: Collection[str] = (),
    offer_sms: bool = False,
) -> Filed:
    """File the citizen's request (:func:`submit_request`) and queue what follows it, in the caller's transaction.

    First, a mobile answer among ``own_phones`` (numbers the citizen shared as their own contact, which the
    messenger vouches for) becomes their verified phone, so the SMS announcing the request goes to it. A newly
    filed request's card is queued to each operator group of the organization handling it (``groups_of``: an
    organization id -> platform -> chat id), and its confirmation in ``lang``, held (see the module docstring).
    With ``offer_sms`` (the organization sends SMS), the number to offer SMS updates on is looked up too.
    """
    await _record_shared_phone(session, submission, own_phones)
    result = await submit_request(session, submission)
    if result.created:
        for platform, chat_id in groups_of(result.organization_id).items():
            await enqueue_card(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=result.organization_id,
                request_id=result.request_id,
                dedupe_key=f"request:{result.request_id}:card:{platform}",
            )
        await queue_confirmation(session, submission, result, lang)
    offer = await _phone_to_offer(session, submission) if offer_sms else None
    return Filed(result, offer)


async def _record_shared_phone(
    session: AsyncSession, submission: Submission, own_phones: Collection[str]
) -> None:
    """A mobile answer the citizen gave by sharing their own contact becomes their verified phone."""
    shared = next(
        (
            phone
            for phone in mobile_answers(submission.service_snapshot, submission.answers)
            if phone in own_phones
        ),
        None,
    )
    if shared is None:
        return
    citizen = await _citizen_of(session, submission)
    await record_shared_phone(session, citizen, shared)


async def _phone_to_offer(session: AsyncSession, submission: Submission) -> str | None:
    """The request's mobile number to offer SMS updates on (None: none, or already the verified one)."""
    citizen = await Citizens(session).find(submission.platform, submission.user_id)
    if citizen is None:
        return None
    return phone_to_offer(citizen, submission.service_snapshot, submission.answers)


def confirmation_keys(request_id: int) -> tuple[str, str]:
    """The outbox ``dedupe_key``s of a request's confirmation: the message with its code, then the code alone."""
    return f"request:{request_id}:submitted", f"request:{request_id}:submitted:copy"


async def queue_confirmation(
    session: AsyncSession,
    submission: Submission,
    result: SubmitResult,
    lang: str,
    *,
    due: datetime | None = None,
) -> tuple[str, str]:
    """Queue the confirmation of ``result`` to the citizen's chat (``bot.submitted``, then the code alone to copy),
    held until ``due`` (``CONFIRMATION_HOLD`` from now by default); a part already queued is left as it is.
    Returns its keys, for :func:`settle_confirmation`."""
    keys = confirmation_keys(result.request_id)
    params: dict[str, str | int] = {
        "title": Title.of(submission.service_snapshot).text(lang),
        "org": result.organization_id,  # who handles it: the governorate for an anonymous complaint
        "code": format_tracking_code(result.tracking_code, lang),
    }
    payloads = (
        text_payload("bot.submitted", lang, params=params, dates={"deadline": result.deadline}),
        text_payload("bot.submitted.copy", lang, params={"code": result.tracking_code}),
    )
    for key, payload in zip(keys, payloads, strict=True):
        await enqueue_chat(
            session,
            platform=submission.platform,
            chat_id=submission.chat_id,
            organization_id=result.organization_id,
            payload=payload,
            dedupe_key=key,
            request_id=result.request_id,
            not_before=due or utcnow() + CONFIRMATION_HOLD,
        )
    return keys


async def settle_confirmation(
    session: AsyncSession, keys: Sequence[str], *, told: Collection[str], due: datetime | None = None
) -> None:
    """After the handler tried to tell a confirmation in the chat: the parts it ``told`` leave the outbox, the others
    are due at ``due`` (now by default), for the outbox to deliver with its retries. Parts a sender already took
    (the hold ran out) are left to it."""
    outbox = Outbox(session)
    await outbox.drop_pending([key for key in keys if key in told])
    await outbox.reschedule_pending([key for key in keys if key not in told], at=due or utcnow())


def _national_ids_of(request: ServiceRequest) -> list[str]:
    """The request's answers to its ``national_id`` fields, normalized (a malformed stored answer is skipped)."""
    found: list[str] = []
    for form_field in request.service_snapshot.get("form") or ():
        if form_field.get("type") != _NATIONAL_ID_FIELD:
            continue
        answer = request.answers.get(form_field.get("id"))
        if not isinstance(answer, str):
            continue
        try:
            found.append(validate_national_id(answer))
        except ValidationError:
            continue
    return found


def split_code_and_tail(text: str) -> tuple[str, str] | None:
    """A tracking code and the last four digits of a national ID sent in one message, or None.

    "123412341234 5678", "۱۲۳۴-۵۶۷۸-۹۰۱۲ ۵۶۷۸" -> ``("123456789012", "5678")`` (the code is not checked here:
    ``track`` does). The four digits must stand apart from the code, so sixteen digits in a row (a card number)
    are not taken for one.
    """
    match = _CODE_AND_TAIL.fullmatch(normalize(text))
    if match is None:
        return None
    code = normalize_identifier(match.group("code"))
    if len(code) != TRACKING_CODE_LENGTH:
        return None
    return code, match.group("tail")


def _national_id_or_tail(raw: str) -> str:
    """A whole national ID (validated) or its last ``NATIONAL_ID_TAIL`` digits, as ASCII digits."""
    value = normalize_identifier(raw)
    if _TAIL.fullmatch(value):
        return value
    try:
        return validate_national_id(raw)
    except ValidationError as error:
        if error.key == "desk.national_id.format":
            raise ValidationError("desk.track.national_id_format", digits=NATIONAL_ID_TAIL) from None
        raise


def _identifies(given: str, known: str) -> bool:
    """Whether ``given`` (a whole national ID or its last digits) is ``known``'s, compared in constant time."""
    expected = known if len(given) == len(known) else known[-len(given) :]
    return secrets.compare_digest(given, expected)


async def _tracked_request(
    session: AsyncSession, readings: tuple[str, ...], platform: str, user_id: int
) -> tuple[ServiceRequest | None, bool]:
    """The request a typed code means, and whether the asker filed it.

    A code read two ways (its groups typed in the reverse order an app drew them) means the asker's own request
    under either reading; otherwise the code as typed (``readings[0]``), whose owner must then be proved by a
    national ID. The second reading only ever finds what the asker filed themselves, so it tells a guesser
    nothing, and the guessing limits count the one code as typed.
    """
    requests, citizens = Requests(session), Citizens(session)
    first: ServiceRequest | None = None
    for index, code in enumerate(readings):
        request = await requests.by_tracking_code(code)
        if index == 0:
            first = request
        if request is None:
            continue
        owner = await citizens.get(request.citizen_id)
        if owner is not None and owner.platform == platform and owner.user_id == user_id:
            return request, True
    return first, False


async def track(
    session: AsyncSession,
    code_text: str,
    *,
    platform: str,
    user_id: int,
    national_id: str | None = None,
) -> TrackView:
    """The request with tracking code ``code_text``, as its owner sees it.

    The code is normalized first (Persian or Arabic digits, spaces and dashes accepted, groups typed in the
    reverse order an app drew them: ``_tracked_request``): a mistyped code raises ``ValidationError`` before any
    look-up, and so does a malformed ``national_id``. The citizen who filed the
    request (same platform and user id) sees it. Anyone else sees it only by giving a national ID that equals
    an answer to one of the request's ``national_id`` form fields (a family member at the office's counter, the
    owner on the other messenger), or the last ``NATIONAL_ID_TAIL`` digits of one (what fits an SMS reply).
    Otherwise, and for a code no request has, ``NotFound`` with the same key ``desk.request.not_found``: the
    answer never tells whether a code exists.

    Callers throttle the look-ups with ``desk.throttle.tracking_throttle()``: a ``NotFound`` here counts as a
    failure of the asking citizen (see ``desk.throttle``). That throttle is what makes four digits safe: every
    wrong last four is a ``NotFound``, so a guesser gets 5 of the 10,000 tries per 10 minutes.
    """
    readings = tracking_code_readings(code_text)
    given = _national_id_or_tail(national_id) if national_id is not None else None
    request, is_owner = await _tracked_request(session, readings, platform, user_id)
    if request is None or request.id is None or not is_public(Status(request.status)):
        raise NotFound("desk.request.not_found")
    if not is_owner:
        matches = given is not None and any(_identifies(given, known) for known in _national_ids_of(request))
        if not matches:
            raise NotFound("desk.request.not_found")
    return await track_view(session, request)


async def _services_moved_to(session: AsyncSession, events: Sequence[RequestEvent]) -> dict[int, Title]:
    """The titles of the services the history's transfers moved the request to, by definition id."""
    titles: dict[int, Title] = {}
    for version_id in dict.fromkeys(e.to_service_version_id for e in events if e.to_service_version_id):
        version = await ServiceVersions(session).get(version_id)
        if version is not None:
            titles[version_id] = Title.of(version.definition)
    return titles


async def track_view(session: AsyncSession, request: ServiceRequest) -> TrackView:
    """What following ``request`` shows: where it stands and its public history (the caller checked who asks)."""
    assert request.id is not None
    events = await Events(session).history(request.id, public_only=True)
    inquiries = await Inquiries(session).of_request(request.id)
    services = await _services_moved_to(session, events)
    return TrackView(
        tracking_code=request.tracking_code,
        organization_id=request.organization_id,
        service_id=request.service_id,
        title=Title.of(request.service_snapshot),
        status=Status(request.status),
        submitted_at=request.submitted_at,
        deadline=request.deadline,
        history=tuple(
            HistoryEntry(
                at=event.at,
                to_status=Status(event.to_status) if event.to_status else None,
                text=event.text,
                notice=event.notice,
                transferred_to=event.to_organization_id,
                transferred_from=event.from_organization_id,
                service=services.get(event.to_service_version_id) if event.to_service_version_id else None,
            )
            for event in events
        ),
        waiting=tuple(
            Waiting(agency_id=item.agency_id, since=item.asked_at, due=item.due_date)
            for item in inquiries
            if item.state in OPEN_INQUIRY_STATES
        ),
    )
