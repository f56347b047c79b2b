"""Inquiries between organizations: a clerk asks an agency about a request, and the agency answers.

Rules (the story is in docs/ARCHITECTURE.md, "Inquiries between organizations"):

* A clerk of the organization handling a request sends an inquiry to one or more agencies (or other
  organizations) from its card: the question, the request's documents they chose, an optional letter number and
  date. Each inquiry is due ``days`` working days later by the calendar of the agency asked (its own weekend and
  holidays when the catalog gives them, the county's otherwise): the days it is given are days it works. The first one
  moves the request to ``waiting_external`` (the citizen is told whom it waits for); later ones add to it.
* The agency's staff (its group) see only the inquiries sent to their agency, and of the request only the
  question, the documents attached, the service's title and who asks: never the citizen's name, national ID or
  phone. They answer, ask for more (the asking clerk replies under it), or say it is not theirs. Without a group
  the asking clerk records the answer by hand, with the incoming letter's number and date.
* The request waits while any inquiry is open (``open`` or ``need_more``); when the last one closes, the system
  puts it back in the clerks' hands (``in_progress``), the groups are told, and the citizen gets one message
  (and SMS) that the answers are in.
* Every step is an event of the request: the contents are internal (the clerks' history); the public history
  says only that an inquiry was sent and answered.

Anyone else asking about an inquiry is told it does not exist (``desk.inquiry.not_found``), like a request.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.calendar import WorkCalendar
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import (
    GROUP_LANG,
    ActorRef,
    Change,
    change_of,
    check_seen,
    check_staff,
    clean_text,
    load_for_update,
    record_event,
    request_params,
    staff_move,
    tell_citizen,
    tell_groups,
)
from desk.i18n import translator
from desk.lifecycle import Actor, Status, check_transition
from desk.notifications import Button, enqueue_chat, enqueue_copy, text_payload
from desk.persian import format_number, visible
from desk.requests import Title
from desk.validators import jalali_date
from storage.columns import utcnow
from storage.models import Inquiry, ServiceRequest
from storage.repositories import OPEN_INQUIRY_STATES, GroupMessages, Inquiries, Requests

__all__ = [
    "FILES_MAX",
    "INQUIRY_PREFIX",
    "LETTER_MAX",
    "Agency",
    "Asking",
    "InquiryAct",
    "InquiryState",
    "answer",
    "ask_more",
    "check_pressable",
    "document_title",
    "get_for_agency",
    "get_for_asker",
    "more_info",
    "not_ours",
    "open_inquiries",
    "open_of_request",
    "parse_letter",
    "prepare",
    "send_inquiries",
    "show_card",
]

INQUIRY_PREFIX: Final = "inq"
"""Callback data of an inquiry's buttons: ``inq:<inquiry id>:<act>`` (``bot.callbacks.InquiryButton``)."""
FILES_MAX: Final = 10
"""Most new files a clerk sends with an inquiry, and most files of one answer (a group's messages are rationed:
each file is one more message in the other group)."""
LETTER_MAX: Final = 64
"""Longest letter number a clerk may type (offices write e.g. ``۱۲۳۴/ش/۱۴۰۵``)."""


class InquiryState(enum.StrEnum):
    """Where an inquiry stands; stored in the database, never rename one."""

    OPEN = "open"
    NEED_MORE = "need_more"
    ANSWERED = "answered"
    NOT_OURS = "not_ours"
    CANCELLED = "cancelled"
    """Closed unanswered: its request was finished or went to another organization (``desk.inquiry_ends``)."""


class InquiryAct(enum.StrEnum):
    """The buttons of an inquiry: the agency's three, and the asking clerk's reply to "need more"."""

    ANSWER = "answer"
    NEED_MORE = "need_more"
    NOT_OURS = "not_ours"
    MORE = "more"


@dataclass(frozen=True, slots=True)
class Agency:
    """An agency (or organization) asked, as the bot reads it from the catalog: its id, its Persian name, the
    working days it is given to answer, its groups (empty when it has none: answered by hand), and its working
    calendar, in which those days are counted."""

    id: str
    name: str
    days: int
    groups: Mapping[str, int]
    calendar: WorkCalendar


def _fa(key: str, **params: Any) -> str:
    return translator(GROUP_LANG)(key, **params)


def _attached(count: int) -> str:
    """How many files went with a question or an answer, for the clerks' history (the files are on the inquiry)."""
    return _fa("desk.inquiry.event.files", count=format_number(count, GROUP_LANG)) if count else ""


def _letter(number: str | None) -> str | None:
    value = visible(number or "").strip()
    if not value:
        return None
    if len(value) > LETTER_MAX:
        raise ValidationError("desk.text.too_long", limit=LETTER_MAX, length=len(value))
    return value


async def _open_left(session: AsyncSession, request_id: int) -> list[Inquiry]:
    return [
        item for item in await Inquiries(session).of_request(request_id) if item.state in OPEN_INQUIRY_STATES
    ]


async def send_inquiries(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    agencies: Sequence[Agency],
    question: str,
    *,
    document_ids: Sequence[int] = (),
    files: Sequence[Mapping[str, Any]] = (),
    letter_number: str | None = None,
    letter_date: date | None = None,
    seen_status: Status,
    groups: Mapping[str, int],
    today: date,
) -> list[Inquiry]:
    """Send ``question`` about the request to each of ``agencies`` (see the module's rules).

    ``files`` are new files the clerk sent with it, already kept in the document store (``bot.documents``); they go
    to the agency with the chosen documents. Refused: no agency, the asking organization itself, an empty or long
    question, a document that is not the request's, more than ``FILES_MAX`` new files, a request that is not being worked on (``in_progress``, or ``waiting_external`` for more
    inquiries; a new one is claimed first).
    """
    text = clean_text(question, required=True)
    assert text is not None
    number = _letter(letter_number)
    _check_files(files)
    request = await load_for_update(session, request_id)
    check_staff(request, actor)
    current = check_seen(request, seen_status)
    targets = list(
        {agency.id: agency for agency in agencies if agency.id != request.organization_id}.values()
    )
    if not targets:
        raise ValidationError("desk.inquiry.no_agency")
    known = {document.id for document in await Requests(session).documents(request_id)}
    chosen = list(dict.fromkeys(document_ids))
    if any(item not in known for item in chosen):
        raise NotFound("desk.inquiry.document_not_found")
    names = "، ".join(agency.name for agency in targets)
    if current is Status.WAITING_EXTERNAL:
        event = await record_event(
            session,
            request,
            actor_kind=actor.kind,
            actor_id=actor.actor_id,
            to_status=None,
            text=_fa("desk.inquiry.event.sent", agencies=names),
            public=True,
        )
        await tell_groups(session, request, event, groups)
    elif current in (Status.IN_PROGRESS, Status.SUBMITTED):
        await staff_move(
            session,
            request_id,
            actor,
            Status.WAITING_EXTERNAL,
            seen_status=seen_status,
            groups=groups,
            text=names,
            notice="notify.citizen.waiting_external",
        )
    else:
        raise TransitionError("desk.transition.not_allowed", current=current, target=Status.WAITING_EXTERNAL)
    sent: list[Inquiry] = []
    for agency in targets:
        inquiry = await Inquiries(session).add(
            Inquiry(
                request_id=request_id,
                asking_organization_id=request.organization_id,
                agency_id=agency.id,
                question=text,
                document_ids=chosen,
                files=[dict(item) for item in files],
                asked_by=actor.actor_id or Actor.SYSTEM.value,
                due_date=agency.calendar.add_working_days(today, agency.days),
                letter_number=number,
                letter_date=letter_date if number is not None else None,
            )
        )
        assert inquiry.id is not None
        await record_event(
            session,
            request,
            actor_kind=actor.kind,
            actor_id=actor.actor_id,
            to_status=None,
            text=_fa("desk.inquiry.event.question", number=inquiry.id, agency=agency.name, text=text)
            + _attached(len(chosen) + len(files)),
            public=False,
        )
        for platform, chat_id in sorted(agency.groups.items()):
            await enqueue_chat(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=agency.id,
                payload={"type": "inquiry", "inquiry_id": inquiry.id},
                dedupe_key=f"inquiry:{inquiry.id}:card:{platform}",
                request_id=None,
            )
        sent.append(inquiry)
    return sent


def _check_files(files: Sequence[Mapping[str, Any]]) -> None:
    if len(files) > FILES_MAX:
        raise ValidationError("desk.inquiry.too_many_files", limit=FILES_MAX)


@dataclass(frozen=True, slots=True)
class Asking:
    """What a clerk about to send an inquiry picks from: the request's service and its documents (id, title)."""

    request_id: int
    service_id: str
    documents: tuple[tuple[int, str], ...]


async def prepare(session: AsyncSession, request_id: int, actor: ActorRef, *, seen_status: Status) -> Asking:
    """Check, before the clerk writes anything, that they may send an inquiry about the request now."""
    request = await Requests(session).get(request_id)
    if request is None or request.id is None:
        raise NotFound("desk.request.not_found")
    check_staff(request, actor)
    current = check_seen(request, seen_status)
    if current not in (Status.SUBMITTED, Status.IN_PROGRESS, Status.WAITING_EXTERNAL):
        raise TransitionError("desk.transition.not_allowed", current=current, target=Status.WAITING_EXTERNAL)
    documents = tuple(
        (document.id, document_title(request, document.slot))
        for document in await Requests(session).documents(request.id)
        if document.id is not None
    )
    return Asking(request.id, request.service_id, documents)


def document_title(request: ServiceRequest, slot: str) -> str:
    """The Persian title of the request's document ``slot`` as its service was filed (the slot's id when gone)."""
    for item in request.service_snapshot.get("documents") or ():
        if item.get("id") == slot:
            return str(Title.parse(item.get("title")).fa or slot)
    return slot


def parse_letter(raw: str, today: date) -> tuple[str, date]:
    """A letter as a clerk types it: its number, then optionally its Jalali date (``۱۲۳۴/ش ۱۴۰۵/۰۹/۱۴``).

    Without a date, the letter is dated ``today``. Raises ``ValidationError`` for a blank or long number.
    """
    words = visible(raw).split()
    dated: date | None = None
    if len(words) > 1:
        try:
            dated = jalali_date(words[-1], today)
            words = words[:-1]
        except ValidationError:
            dated = None
    number = _letter(" ".join(words))
    if number is None:
        raise ValidationError("desk.text.empty")
    return number, dated or today


async def open_of_request(session: AsyncSession, request_id: int, actor: ActorRef) -> list[Inquiry]:
    """The open inquiries of a request, for the clerks of the organization that asked them (answers by hand)."""
    request = await Requests(session).get(request_id)
    if request is None:
        raise NotFound("desk.request.not_found")
    check_staff(request, actor)
    return [
        item
        for item in await _open_left(session, request_id)
        if item.asking_organization_id == actor.organization_id
    ]


async def get_for_agency(session: AsyncSession, inquiry_id: int, organization_id: str) -> Inquiry:
    """The inquiry, for the staff of the agency it was sent to; anyone else is told it does not exist."""
    inquiry = await Inquiries(session).get(inquiry_id)
    if inquiry is None or inquiry.agency_id != organization_id:
        raise NotFound("desk.inquiry.not_found")
    return inquiry


async def get_for_asker(session: AsyncSession, inquiry_id: int, organization_id: str) -> Inquiry:
    """The inquiry, for the clerks of the organization that asked it and still handles the request."""
    inquiry = await Inquiries(session).get(inquiry_id)
    request = await Requests(session).get(inquiry.request_id) if inquiry is not None else None
    if (
        inquiry is None
        or request is None
        or inquiry.asking_organization_id != organization_id
        or request.organization_id != organization_id
    ):
        raise NotFound("desk.inquiry.not_found")
    return inquiry


async def show_card(
    session: AsyncSession, inquiry_id: int, actor: ActorRef, *, platform: str, chat_id: int
) -> Inquiry:
    """Queue the inquiry's card (with its buttons and files) again in the agency's group ``chat_id`` the actor
    pressed in, from its ``/open`` list.

    Only the staff of the agency asked may have it (anyone else is told it does not exist, and nothing is
    queued), and only while it waits for the agency's answer (``desk.inquiry.closed`` after that). The outbox's
    drawer checks again that ``chat_id`` is a group of that agency.
    """
    inquiry = await Inquiries(session).get(inquiry_id)
    if inquiry is None or inquiry.id is None:
        raise NotFound("desk.inquiry.not_found")
    _check_agency(inquiry, actor)
    _check_open(inquiry, InquiryState.OPEN, InquiryState.NEED_MORE)
    await enqueue_chat(
        session,
        platform=platform,
        chat_id=chat_id,
        organization_id=inquiry.agency_id,
        payload={"type": "inquiry", "inquiry_id": inquiry.id},
        dedupe_key=f"inquiry:{inquiry.id}:card:{platform}:{chat_id}:{utcnow().isoformat()}",
        request_id=None,
    )
    return inquiry


async def _locked(session: AsyncSession, inquiry_id: int) -> tuple[Inquiry, ServiceRequest]:
    """The inquiry and its request, locked request first, then the inquiry (as every writer takes them: a request
    finished or transferred closes its inquiries under the request's lock, ``desk.inquiry_ends``)."""
    found = await Inquiries(session).get(inquiry_id)
    if found is None:
        raise NotFound("desk.inquiry.not_found")
    request = await load_for_update(session, found.request_id)
    inquiry = await Inquiries(session).get_for_update(inquiry_id)
    if inquiry is None:
        raise NotFound("desk.inquiry.not_found")
    return inquiry, request


def _check_agency(inquiry: Inquiry, actor: ActorRef) -> None:
    if actor.kind not in (Actor.CLERK, Actor.SUPERVISOR) or inquiry.agency_id != actor.organization_id:
        raise NotFound("desk.inquiry.not_found")


def _check_asker(inquiry: Inquiry, request: ServiceRequest, actor: ActorRef) -> None:
    if (
        actor.kind not in (Actor.CLERK, Actor.SUPERVISOR)
        or inquiry.asking_organization_id != actor.organization_id
        or request.organization_id != actor.organization_id
    ):
        raise NotFound("desk.inquiry.not_found")


def _check_open(inquiry: Inquiry, *states: InquiryState) -> None:
    state = InquiryState(inquiry.state)
    if state is InquiryState.CANCELLED:
        raise TransitionError("desk.inquiry.cancelled")
    if state not in states:
        raise TransitionError("desk.inquiry.closed")


_PRESSABLE: Final[Mapping[InquiryAct, tuple[InquiryState, ...]]] = {
    InquiryAct.ANSWER: (InquiryState.OPEN, InquiryState.NEED_MORE),
    InquiryAct.NOT_OURS: (InquiryState.OPEN, InquiryState.NEED_MORE),
    InquiryAct.NEED_MORE: (InquiryState.OPEN,),
    InquiryAct.MORE: (InquiryState.NEED_MORE,),
}


def check_pressable(inquiry: Inquiry, act: InquiryAct) -> None:
    """Refuse at once a button of an inquiry that no longer takes it, before anyone types: ``desk.inquiry.cancelled``
    when its request no longer needs an answer, ``desk.inquiry.closed`` when it was answered (the use case checks
    again when the text comes)."""
    _check_open(inquiry, *_PRESSABLE[act])


async def _relay(
    session: AsyncSession,
    request: ServiceRequest,
    groups: Mapping[str, int],
    key: str,
    *,
    dedupe: str,
    params: Mapping[str, str | int],
    reply_to: Mapping[tuple[str, int], int],
    organization_id: str,
    buttons: list[list[Button]] | None = None,
    files: Sequence[Mapping[str, Any]] = (),
    files_of: int | None = None,
) -> None:
    """Send ``key`` to each of ``groups`` (replying to the message ``reply_to`` names there), then the ``files``
    under it: copied when sent on the same messenger; on the other one (a message cannot be copied from one
    messenger to another) sent from the document store by ``bot.inquiry_cards`` when kept there, as ``files_of``
    (the inquiry whose answer they are) tells it."""
    assert request.id is not None
    # Only the request's own groups link the message to it (a reply there reaches the request); an agency's
    # group never gets a way to the request or the citizen.
    linked = request.id if organization_id == request.organization_id else None
    for platform, chat_id in sorted(groups.items()):
        await enqueue_chat(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=organization_id,
            payload=text_payload(
                key,
                GROUP_LANG,
                params=params,
                buttons=buttons,
                reply_to=reply_to.get((platform, chat_id)),
            ),
            dedupe_key=f"{dedupe}:{platform}",
            request_id=linked,
        )
        for index, file in enumerate(item for item in files if item.get("platform") == platform):
            await enqueue_copy(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=organization_id,
                from_chat_id=int(file["chat_id"]),
                message_id=int(file["message_id"]),
                dedupe_key=f"{dedupe}:{platform}:file:{index}",
                request_id=linked,
            )
        for index, file in enumerate(files):
            if file.get("platform") == platform or not file.get("stored_path") or files_of is None:
                continue
            await enqueue_chat(
                session,
                platform=platform,
                chat_id=chat_id,
                organization_id=organization_id,
                payload={"type": "inquiry_file", "inquiry_id": files_of, "index": index},
                dedupe_key=f"{dedupe}:{platform}:stored:{index}",
                request_id=linked,
            )


async def _cards_of(session: AsyncSession, request_id: int) -> dict[tuple[str, int], int]:
    return await GroupMessages(session).cards(request_id)


async def _inquiry_cards(session: AsyncSession, inquiry: Inquiry) -> dict[tuple[str, int], int]:
    assert inquiry.id is not None
    return await GroupMessages(session).inquiry_cards(inquiry.id)


async def _close(
    session: AsyncSession,
    inquiry: Inquiry,
    request: ServiceRequest,
    actor: ActorRef,
    state: InquiryState,
    *,
    agency_name: str,
    text: str,
    files: Sequence[Mapping[str, Any]],
    letter_number: str | None,
    letter_date: date | None,
    asking_groups: Mapping[str, int],
) -> Change | None:
    """Record the agency's answer (or its "not ours"), tell the asking groups under the card, and when it was the
    last open inquiry put the request back in the clerks' hands and tell the citizen once."""
    assert inquiry.id is not None
    assert request.id is not None
    inquiry.state = state.value
    inquiry.answer_text = text
    inquiry.answer_files = [dict(item) for item in files]
    inquiry.answered_by = actor.actor_id
    inquiry.answered_at = utcnow()
    inquiry.answer_letter_number = _letter(letter_number)
    inquiry.answer_letter_date = letter_date if inquiry.answer_letter_number is not None else None
    session.add(inquiry)
    key = "desk.inquiry.event.answer" if state is InquiryState.ANSWERED else "desk.inquiry.event.not_ours"
    await record_event(
        session,
        request,
        actor_kind=actor.kind,
        actor_id=actor.actor_id,
        to_status=None,
        text=_fa(key, number=inquiry.id, agency=agency_name, text=text) + _attached(len(files)),
        public=False,
    )
    public = await record_event(
        session,
        request,
        actor_kind=Actor.SYSTEM,
        actor_id=None,
        to_status=None,
        text=_fa("desk.inquiry.event.answered", agency=agency_name),
        public=True,
    )
    last = not await _open_left(session, request.id) and Status(request.status) is Status.WAITING_EXTERNAL
    params = {
        **request_params(request, GROUP_LANG),
        "number": inquiry.id,
        "agency": agency_name,
        "text": text,
        "letter": inquiry.answer_letter_number or "—",
        # The group hears that the request is back in one message with the last answer (a group's messages
        # are rationed, 20 a minute on Telegram).
        "then": _fa("op.inquiry.back_in_queue") if last else "",
    }
    relay = "op.inquiry.answered" if state is InquiryState.ANSWERED else "op.inquiry.not_ours"
    await _relay(
        session,
        request,
        asking_groups,
        relay,
        dedupe=f"event:{public.id}:answer",
        params=params,
        reply_to=await _cards_of(session, request.id),
        organization_id=request.organization_id,
        files=files,
        files_of=inquiry.id,
    )
    if not last:
        await tell_groups(session, request, public, asking_groups)
        return None
    check_transition(Status.WAITING_EXTERNAL, Status.IN_PROGRESS, Actor.SYSTEM)
    resumed = await record_event(
        session,
        request,
        actor_kind=Actor.SYSTEM,
        actor_id=None,
        to_status=Status.IN_PROGRESS,
        text=None,
        public=True,
    )
    await tell_citizen(session, request, resumed, "notify.citizen.answers_in", sms_key="sms.answers_in")
    await tell_groups(session, request, resumed, asking_groups)
    return change_of(request, Status.WAITING_EXTERNAL, resumed)


async def answer(
    session: AsyncSession,
    inquiry_id: int,
    actor: ActorRef,
    text: str | None,
    *,
    agency_name: str,
    files: Sequence[Mapping[str, Any]] = (),
    letter_number: str | None = None,
    letter_date: date | None = None,
    asking_groups: Mapping[str, int],
    by_hand: bool = False,
) -> Change | None:
    """The agency's answer (``by_hand``: recorded by the asking clerk from a letter); a Change when the request
    went back to the clerks (the last answer), else None. An answer needs a text or a file, and has at most
    ``FILES_MAX`` files."""
    value = clean_text(text, required=not files)
    _check_files(files)
    inquiry, request = await _locked(session, inquiry_id)
    if by_hand:
        _check_asker(inquiry, request, actor)
    else:
        _check_agency(inquiry, actor)
    _check_open(inquiry, InquiryState.OPEN, InquiryState.NEED_MORE)
    return await _close(
        session,
        inquiry,
        request,
        actor,
        InquiryState.ANSWERED,
        agency_name=agency_name,
        text=value or "",
        files=files,
        letter_number=letter_number,
        letter_date=letter_date,
        asking_groups=asking_groups,
    )


async def not_ours(
    session: AsyncSession,
    inquiry_id: int,
    actor: ActorRef,
    reason: str,
    *,
    agency_name: str,
    asking_groups: Mapping[str, int],
) -> Change | None:
    """The agency says the inquiry is not for it, with ``reason``: it closes like an answer."""
    value = clean_text(reason, required=True)
    assert value is not None
    inquiry, request = await _locked(session, inquiry_id)
    _check_agency(inquiry, actor)
    _check_open(inquiry, InquiryState.OPEN, InquiryState.NEED_MORE)
    return await _close(
        session,
        inquiry,
        request,
        actor,
        InquiryState.NOT_OURS,
        agency_name=agency_name,
        text=value,
        files=(),
        letter_number=None,
        letter_date=None,
        asking_groups=asking_groups,
    )


async def ask_more(
    session: AsyncSession,
    inquiry_id: int,
    actor: ActorRef,
    question: str,
    *,
    agency_name: str,
    asking_groups: Mapping[str, int],
) -> Inquiry:
    """The agency asks the asking clerk for more (``need_more``); the question appears under the request's card
    with a button to reply."""
    value = clean_text(question, required=True)
    assert value is not None
    inquiry, request = await _locked(session, inquiry_id)
    _check_agency(inquiry, actor)
    _check_open(inquiry, InquiryState.OPEN)
    assert inquiry.id is not None
    assert request.id is not None
    inquiry.state = InquiryState.NEED_MORE.value
    inquiry.thread = [*inquiry.thread, _said(InquiryAct.NEED_MORE, value, actor)]
    session.add(inquiry)
    event = await record_event(
        session,
        request,
        actor_kind=actor.kind,
        actor_id=actor.actor_id,
        to_status=None,
        text=_fa("desk.inquiry.event.need_more", number=inquiry.id, agency=agency_name, text=value),
        public=False,
    )
    await _relay(
        session,
        request,
        asking_groups,
        "op.inquiry.need_more",
        dedupe=f"event:{event.id}:need_more",
        params={
            **request_params(request, GROUP_LANG),
            "number": inquiry.id,
            "agency": agency_name,
            "text": value,
        },
        reply_to=await _cards_of(session, request.id),
        organization_id=request.organization_id,
        buttons=[
            [{"label": "op.inquiry.button.more", "data": f"{INQUIRY_PREFIX}:{inquiry.id}:{InquiryAct.MORE}"}]
        ],
    )
    return inquiry


async def more_info(
    session: AsyncSession,
    inquiry_id: int,
    actor: ActorRef,
    text: str,
    *,
    agency_groups: Mapping[str, int],
) -> Inquiry:
    """The asking clerk's reply to "need more": the inquiry is open again and the reply appears under the
    inquiry's card in the agency's group."""
    value = clean_text(text, required=True)
    assert value is not None
    inquiry, request = await _locked(session, inquiry_id)
    _check_asker(inquiry, request, actor)
    _check_open(inquiry, InquiryState.NEED_MORE)
    assert inquiry.id is not None
    inquiry.state = InquiryState.OPEN.value
    inquiry.thread = [*inquiry.thread, _said(InquiryAct.MORE, value, actor)]
    session.add(inquiry)
    event = await record_event(
        session,
        request,
        actor_kind=actor.kind,
        actor_id=actor.actor_id,
        to_status=None,
        text=_fa("desk.inquiry.event.more", number=inquiry.id, text=value),
        public=False,
    )
    await _relay(
        session,
        request,
        agency_groups,
        "op.inquiry.more",
        dedupe=f"event:{event.id}:more",
        params={"number": inquiry.id, "text": value},
        reply_to=await _inquiry_cards(session, inquiry),
        organization_id=inquiry.agency_id,
        buttons=_agency_buttons(inquiry.id),
    )
    return inquiry


def _agency_buttons(inquiry_id: int) -> list[list[Button]]:
    """The agency's buttons under an inquiry: answer, need more, not ours."""
    return [
        [{"label": f"op.inquiry.button.{act.value}", "data": f"{INQUIRY_PREFIX}:{inquiry_id}:{act.value}"}]
        for act in (InquiryAct.ANSWER, InquiryAct.NEED_MORE, InquiryAct.NOT_OURS)
    ]


def _said(act: InquiryAct, text: str, actor: ActorRef) -> dict[str, Any]:
    return {"kind": act.value, "text": text, "by": actor.actor_id, "at": utcnow().isoformat()}


async def open_inquiries(session: AsyncSession, organization_id: str) -> list[Inquiry]:
    """The open inquiries of ``organization_id``'s group: those it asked (of requests it still handles) and those
    it was asked, the earliest due first."""
    found = []
    for inquiry in await Inquiries(session).open_of(organization_id):
        if inquiry.asking_organization_id == organization_id:
            request = await Requests(session).get(inquiry.request_id)
            if request is None or request.organization_id != organization_id:
                continue
        found.append(inquiry)
    return found
