"""Working a request: the clerks' actions from their operator group, the citizen's own moves, and who hears what.

Rules (the story is in docs/ARCHITECTURE.md):

* The bot says who acts (an ``ActorRef``); ``desk.access`` decides on which requests, ``desk.lifecycle`` what may
  happen. A refused action writes nothing.
* A use case writes the change, its event and its notifications in the caller's transaction and never commits.
* The request is read with a row lock; a clerk's ``seen_status`` that differs from the current one is refused with
  ``desk.handling.changed``.
* Dedupe keys: ``event:<id>:citizen``, ``event:<id>:survey``, ``event:<id>:sms``, ``event:<id>:card:<platform>``,
  ``event:<id>:group:<platform>``. A public event's ``text`` is what the citizen reads; a note is internal.

The steps these use cases are made of (``load_for_update``, ``check_staff``, ``check_seen``, ``record_event``,
``tell_citizen``, ``tell_groups``, ``staff_move``, ``change_of``, ``request_params``) are public for the other
use cases that act on a request the same way (``desk.inquiries``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.access import Access, check_handles, view_of
from desk.certificates import CertificateType, format_certificate_code, issue_for_request
from desk.errors import NotFound, TransitionError, ValidationError
from desk.i18n import LANGUAGES
from desk.inquiry_ends import cancel_open, reason_of
from desk.lifecycle import Actor, Status, allowed_targets, check_transition, is_final, is_open, is_public
from desk.notifications import (
    Button,
    answer_buttons,
    complete_button,
    enqueue_card,
    enqueue_chat,
    text_payload,
)
from desk.persian import TEHRAN, format_number, visible
from desk.requests import NATIONAL_ID, PLATFORMS, Title, missing_answers
from desk.sms import queue_request_sms, sms_key_for
from desk.tracking import format_tracking_code, tracking_code_readings
from desk.validators import LONG_TEXT_MAX
from storage.columns import utcnow
from storage.models import Certificate, Citizen, RequestEvent, ServiceRequest
from storage.repositories import Citizens, Events, GroupMessages, Listed, Requests

__all__ = [
    "AMOUNT_MAX",
    "FIND_LIMIT",
    "GROUP_LANG",
    "SCORES",
    "TEXT_MAX",
    "ActorRef",
    "Change",
    "Found",
    "add_note",
    "ask_information",
    "ask_payment",
    "change_of",
    "check_seen",
    "check_staff",
    "citizen_answered",
    "claim",
    "clean_text",
    "complete",
    "find_by_code",
    "find_by_national_id",
    "find_handled_by_code",
    "load_for_update",
    "payment_received",
    "record_event",
    "reject",
    "request_params",
    "resume",
    "show_card",
    "staff_move",
    "tell_citizen",
    "tell_groups",
    "withdraw",
]

TEXT_MAX: Final = LONG_TEXT_MAX
"""Longest text a clerk or citizen may attach to a change (it is sent on in one chat message)."""
AMOUNT_MAX: Final = 10**15
"""Largest amount in rials a clerk may ask for (far above any municipal fee; guards against a typing slip)."""
GROUP_LANG: Final = "fa"
"""The language of texts relayed to operator groups."""
SCORES: Final = range(1, 6)
"""The satisfaction scores the survey's buttons offer, 1 (very poor) to 5 (excellent)."""
FIND_LIMIT: Final = 30
"""Most requests a clerk's search by national ID returns (the list shows this many)."""

_STAFF: Final = frozenset({Actor.CLERK, Actor.SUPERVISOR, Actor.SYSTEM})


@dataclass(frozen=True, slots=True)
class ActorRef:
    """Who acts on a request, as the bot identified them: a clerk or supervisor by messenger account, or the system.

    ``name`` is for the bot's own use in the group; it is never stored nor shown to citizens.
    ``organization_id`` is the organization of the group the action came from, required for a clerk or
    supervisor: they act only on the requests it handles (``desk.access``), and any other is not found, so a
    forged button cannot reach another organization's requests. ``oversight`` marks the governorate's staff, who
    may also read (never act on) any request.
    """

    kind: Actor
    platform: str | None = None
    user_id: int | None = None
    name: str | None = None
    organization_id: str | None = None
    oversight: bool = False

    def __post_init__(self) -> None:
        if (self.platform is None) != (self.user_id is None):
            raise ValueError("platform and user_id go together: give both or neither")
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ValueError(f"platform must be one of {sorted(PLATFORMS)}, not {self.platform!r}")
        if self.kind in (Actor.CLERK, Actor.SUPERVISOR) and not self.organization_id:
            raise ValueError("a clerk or supervisor acts for an organization: give organization_id")

    @property
    def actor_id(self) -> str | None:
        """``'<platform>:<user id>'`` as events store it, or None for the system."""
        return f"{self.platform}:{self.user_id}" if self.platform is not None else None

    @property
    def account(self) -> tuple[str, int] | None:
        """``(platform, user_id)`` of a person, None for the system."""
        if self.platform is None or self.user_id is None:
            return None
        return self.platform, self.user_id


@dataclass(frozen=True, slots=True)
class Found:
    """What a clerk's search found: the requests shown (newest first) and how many match in all."""

    items: tuple[Listed, ...]
    total: int


@dataclass(frozen=True, slots=True)
class Change:
    """What an action did, for the bot's answer to the clerk or citizen.

    The request, its status before and after (equal for a note or a reassignment), its assignee after the
    action, and the event recorded (the last one, when a claim was implied). ``amount_rials`` is set by
    ``ask_payment``; ``certificate_code`` (unformatted) by ``complete`` when the request has a certificate.
    """

    request_id: int
    tracking_code: str
    organization_id: str
    from_status: Status
    to_status: Status
    assignee: tuple[str, int] | None
    event_id: int
    amount_rials: int | None = None
    certificate_code: str | None = None

    @property
    def changed(self) -> bool:
        """Whether the status changed."""
        return self.from_status != self.to_status


# Reading and checking.


def clean_text(raw: str | None, *, required: bool) -> str | None:
    """Typed text as it will be shown (trimmed, without bidi overrides or invisible marks), None when blank; refuses a
    blank ``required`` text or a long one."""
    value = visible(raw or "").strip()
    if not value:
        if required:
            raise ValidationError("desk.text.empty")
        return None
    if len(value) > TEXT_MAX:
        raise ValidationError("desk.text.too_long", limit=TEXT_MAX, length=len(value))
    return value


async def load_for_update(session: AsyncSession, request_id: int) -> ServiceRequest:
    """The filed request, locked for this transaction; a draft or a missing one is not found."""
    request = await Requests(session).get_for_update(request_id)
    if request is None or request.id is None or not is_public(Status(request.status)):
        raise NotFound("desk.request.not_found")
    return request


def check_staff(request: ServiceRequest, actor: ActorRef) -> None:
    """Refuse anyone but the staff of the organization handling the request: ``NotFound`` (``desk.access``) for
    another organization's, a ``ValueError`` for a citizen's actor (a programming error: they have their own use
    cases)."""
    if actor.kind not in _STAFF:
        raise ValueError(f"a {actor.kind.value} cannot act as staff; use the citizen's use cases")
    check_handles(request, actor.organization_id)


def check_seen(request: ServiceRequest, seen_status: Status) -> Status:
    """The request's status, if it is still the one the clerk saw on the card they pressed (``seen_status``);
    ``desk.handling.changed`` when another clerk was faster or the card is old."""
    current = Status(request.status)
    if current != Status(seen_status):
        raise TransitionError("desk.handling.changed", status=current)
    return current


async def _owner(session: AsyncSession, request: ServiceRequest, platform: str, user_id: int) -> Citizen:
    """The request's citizen, if that is who asks; anyone else is told the request does not exist."""
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None or (citizen.platform, citizen.user_id) != (platform, user_id):
        raise NotFound("desk.request.not_found")
    return citizen


def _assignee(request: ServiceRequest) -> tuple[str, int] | None:
    if request.assignee_platform is None or request.assignee_user_id is None:
        return None
    return request.assignee_platform, request.assignee_user_id


def _assign(request: ServiceRequest, account: tuple[str, int]) -> None:
    request.assignee_platform, request.assignee_user_id = account


# Writing.


async def record_event(
    session: AsyncSession,
    request: ServiceRequest,
    *,
    actor_kind: Actor,
    actor_id: str | None,
    to_status: Status | None,
    text: str | None,
    public: bool,
) -> RequestEvent:
    """Append an event and apply its status change to the request (``closed_at`` set when it finishes; its open
    inquiries closed then too, ``desk.inquiry_ends``)."""
    assert request.id is not None
    now = utcnow()
    event = RequestEvent(
        request_id=request.id,
        at=now,
        actor_kind=actor_kind.value,
        actor_id=actor_id,
        from_status=request.status if to_status is not None else None,
        to_status=to_status.value if to_status is not None else None,
        text=text,
        public=public,
    )
    if to_status is not None:
        request.status = to_status.value
        # A supervisor reopening a rejected request opens it again.
        request.closed_at = now if is_final(to_status) else None
    request.updated_at = now
    session.add(request)
    added = await Events(session).add(event)
    if to_status is not None and is_final(to_status):
        await cancel_open(session, request, reason_of(to_status))
    return added


def request_params(request: ServiceRequest, lang: str) -> dict[str, str | int]:
    """The parameters every group message about the request names: its tracking code (in ``lang``'s digits), its
    service's title and its organization."""
    return {
        "code": format_tracking_code(request.tracking_code, lang),
        "title": Title.of(request.service_snapshot).text(lang),
        "org": request.organization_id,
    }


async def tell_citizen(
    session: AsyncSession,
    request: ServiceRequest,
    event: RequestEvent,
    key: str,
    *,
    text: str | None = None,
    amount_rials: int | None = None,
    certificate: Certificate | None = None,
    sms_key: str | None = None,
) -> None:
    """Queue the citizen's notice of ``event`` (and the survey when the request is finished by staff); the SMS
    of a public change is ``sms_key`` when given, else the one of the request's new status.

    The amount is written out in the citizen's language here (``۱٬۲۵۰٬۰۰۰``), grouped as people read money;
    a certificate's code as it is printed (``K7QM-2XPD-9HRK``), with its type.
    """
    citizen = await Citizens(session).get(request.citizen_id)
    assert citizen is not None
    assert request.id is not None
    lang = citizen.locale if citizen.locale in LANGUAGES else "fa"
    status = Status(request.status)
    params = request_params(request, lang)
    shown = dict(params)
    if text is not None:
        shown["text"] = text
    if amount_rials is not None:
        shown["amount"] = format_number(amount_rials, lang)
    labels = {"status": status.label_key}
    if certificate is not None:
        shown["certificate"] = format_certificate_code(certificate.verification_code)
        labels["certificate_type"] = CertificateType(certificate.type).label_key
    payload = text_payload(key, lang, params=shown, labels=labels, buttons=_notice_buttons(request, status))
    await enqueue_chat(
        session,
        platform=citizen.platform,
        chat_id=citizen.chat_id,
        organization_id=request.organization_id,
        payload=payload,
        dedupe_key=f"event:{event.id}:citizen",
        request_id=request.id,
    )
    if event.to_status is not None and event.public:
        await queue_request_sms(
            session,
            citizen,
            request,
            key=sms_key or sms_key_for(status),
            dedupe_key=f"event:{event.id}:sms",
            amount_rials=amount_rials,
        )
    if status in {Status.COMPLETED, Status.REJECTED}:
        buttons: list[list[Button]] = [
            [
                {"label": f"notify.survey.score.{score}", "data": f"rate:{request.id}:{score}"}
                for score in SCORES
            ]
        ]
        await enqueue_chat(
            session,
            platform=citizen.platform,
            chat_id=citizen.chat_id,
            organization_id=request.organization_id,
            payload=text_payload("notify.survey.ask", lang, params=params, buttons=buttons),
            dedupe_key=f"event:{event.id}:survey",
            request_id=request.id,
        )


def _notice_buttons(request: ServiceRequest, status: Status) -> list[list[Button]]:
    """The buttons of the citizen's notice: "✍️ answer" on every one; a request for information about a request
    whose service changed, with required questions unanswered, also offers those questions (``desk.completion``);
    and a rejection can be objected to at once (the objection form, ``bot.dialogs.followup``, which only the
    request's citizen may open)."""
    assert request.id is not None
    buttons = answer_buttons(request.id)
    if status is Status.NEEDS_INFO and missing_answers(request.service_snapshot, request.answers):
        buttons.append(complete_button(request.id))
    if status is Status.REJECTED:
        buttons.append([{"label": "notify.object", "data": f"object:{request.id}"}])
    return buttons


async def tell_groups(
    session: AsyncSession,
    request: ServiceRequest,
    event: RequestEvent,
    groups: Mapping[str, int],
    *,
    relay: str | None = None,
    text: str | None = None,
) -> None:
    """Redraw the request's card in each operator group, and send ``relay`` (a notify key) there when given,
    replying to the card."""
    assert request.id is not None
    cards = await GroupMessages(session).cards(request.id) if relay is not None else {}
    for platform, chat_id in sorted(groups.items()):
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r} in groups")
        await enqueue_card(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            request_id=request.id,
            dedupe_key=f"event:{event.id}:card:{platform}",
        )
        if relay is None:
            continue
        params = request_params(request, GROUP_LANG)
        if text is not None:
            params["text"] = text
        await enqueue_chat(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            payload=text_payload(relay, GROUP_LANG, params=params, reply_to=cards.get((platform, chat_id))),
            dedupe_key=f"event:{event.id}:group:{platform}",
            request_id=request.id,
        )


def change_of(
    request: ServiceRequest,
    from_status: Status,
    event: RequestEvent,
    *,
    amount_rials: int | None = None,
    certificate_code: str | None = None,
) -> Change:
    """What a use case answers the bot about the move ``event`` made from ``from_status``: the request as it is now,
    with the amount asked or the certificate issued when there is one."""
    assert request.id is not None
    assert event.id is not None
    return Change(
        request_id=request.id,
        tracking_code=request.tracking_code,
        organization_id=request.organization_id,
        from_status=from_status,
        to_status=Status(request.status),
        assignee=_assignee(request),
        event_id=event.id,
        amount_rials=amount_rials,
        certificate_code=certificate_code,
    )


async def staff_move(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    target: Status,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
    text: str | None,
    notice: str,
    event_text: str | None = None,
    amount_rials: int | None = None,
    certificate_notice: str | None = None,
    sms_key: str | None = None,
) -> Change:
    """Move the request to ``target`` for a clerk, claiming it first when it is still only submitted.

    ``text`` is the clerk's reason or result (checked as the reason ``target`` may need, stored on the event and
    shown to the citizen); ``event_text`` stores something else on the event instead (the amount asked for).
    A clerk may answer a new request straight away (ask for a missing document, complete a simple inquiry):
    the claim is then implied and recorded as its own public event just before the change. Everything is
    checked before anything is written.

    With ``certificate_notice``, the request's certificate is issued first when its service declares one (or the
    one it already has is taken), and the citizen gets ``certificate_notice`` with its code instead of ``notice``.
    """
    request = await load_for_update(session, request_id)
    check_staff(request, actor)
    current = check_seen(request, seen_status)
    account = actor.account
    implied_claim = (
        account is not None
        and current is Status.SUBMITTED
        and target not in allowed_targets(current, actor.kind)
        and target in allowed_targets(Status.IN_PROGRESS, actor.kind)
    )
    if implied_claim:
        check_transition(current, Status.IN_PROGRESS, actor.kind)
        check_transition(Status.IN_PROGRESS, target, actor.kind, text)
    else:
        check_transition(current, target, actor.kind, text)

    certificate: Certificate | None = None
    if certificate_notice is not None:
        today = datetime.now(TEHRAN).date()
        certificate = await issue_for_request(
            session, request, issued_by=actor.actor_id or Actor.SYSTEM.value, today=today
        )
        if certificate is not None:
            notice = certificate_notice
    if account is not None and (implied_claim or _assignee(request) is None):
        _assign(request, account)
    if implied_claim:
        await record_event(
            session,
            request,
            actor_kind=actor.kind,
            actor_id=actor.actor_id,
            to_status=Status.IN_PROGRESS,
            text=None,
            public=True,
        )
    event = await record_event(
        session,
        request,
        actor_kind=actor.kind,
        actor_id=actor.actor_id,
        to_status=target,
        text=event_text if event_text is not None else text,
        public=True,
    )
    await tell_citizen(
        session,
        request,
        event,
        notice,
        text=text,
        amount_rials=amount_rials,
        certificate=certificate,
        sms_key=sms_key,
    )
    await tell_groups(session, request, event, groups)
    code = certificate.verification_code if certificate is not None else None
    return change_of(request, current, event, amount_rials=amount_rials, certificate_code=code)


# The clerks' actions.


async def claim(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> Change:
    """The clerk takes the request: a submitted one moves to ``in_progress`` (the citizen is told), an open one
    already taken is reassigned to them (an internal event, no status change, the citizen is not told).

    Raises ``TransitionError``: ``desk.handling.changed`` (stale card), ``desk.handling.already_yours``,
    ``desk.transition.closed`` (a finished request); ``NotFound`` for a request of another organization.
    ``actor`` must be a person (a clerk or supervisor with an account): the system claims nothing.
    """
    request = await load_for_update(session, request_id)
    check_staff(request, actor)
    current = check_seen(request, seen_status)
    account = actor.account
    if account is None:
        raise ValueError("only a person can claim a request")
    if current is Status.SUBMITTED:
        check_transition(current, Status.IN_PROGRESS, actor.kind)
        _assign(request, account)
        event = await record_event(
            session,
            request,
            actor_kind=actor.kind,
            actor_id=actor.actor_id,
            to_status=Status.IN_PROGRESS,
            text=None,
            public=True,
        )
        await tell_citizen(session, request, event, "notify.citizen.in_progress")
    elif is_open(current):
        if _assignee(request) == account:
            raise TransitionError("desk.handling.already_yours")
        _assign(request, account)
        event = await record_event(
            session,
            request,
            actor_kind=actor.kind,
            actor_id=actor.actor_id,
            to_status=None,
            text=None,
            public=False,
        )
    else:
        raise TransitionError("desk.transition.closed", status=current)
    await tell_groups(session, request, event, groups)
    return change_of(request, current, event)


async def ask_information(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    text: str,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> Change:
    """Send the request back to the citizen for what is missing (``needs_info``); ``text`` says what, and is required.

    A request still only submitted is claimed on the way (two events: in progress, then needs info).
    """
    return await staff_move(
        session,
        request_id,
        actor,
        Status.NEEDS_INFO,
        seen_status=seen_status,
        groups=groups,
        text=clean_text(text, required=False),
        notice="notify.citizen.needs_info",
    )


async def ask_payment(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    amount_rials: int,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> Change:
    """Ask the citizen to pay ``amount_rials`` (``awaiting_payment``); the event's text is the amount in ASCII digits.

    Raises ``ValidationError("desk.handling.amount")`` unless ``0 < amount_rials <= AMOUNT_MAX``. How to pay
    (a bill ID and payment ID, a Bale invoice) is sent separately: ``desk.payments.ask_payment`` wraps this use
    case and adds it in the same transaction.
    """
    if (
        isinstance(amount_rials, bool)
        or not isinstance(amount_rials, int)
        or not 0 < amount_rials <= AMOUNT_MAX
    ):
        raise ValidationError("desk.handling.amount")
    return await staff_move(
        session,
        request_id,
        actor,
        Status.AWAITING_PAYMENT,
        seen_status=seen_status,
        groups=groups,
        text=None,
        event_text=str(amount_rials),
        notice="notify.citizen.awaiting_payment",
        amount_rials=amount_rials,
    )


async def resume(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> Change:
    """Take the work up again (``in_progress``) after the agency answered, the payment arrived, or the citizen
    answered at the counter (from ``waiting_external``, ``awaiting_payment`` or ``needs_info``)."""
    return await staff_move(
        session,
        request_id,
        actor,
        Status.IN_PROGRESS,
        seen_status=seen_status,
        groups=groups,
        text=None,
        notice="notify.citizen.in_progress" if seen_status is Status.SUBMITTED else "notify.citizen.resumed",
    )


async def payment_received(
    session: AsyncSession,
    request_id: int,
    *,
    amount_rials: int,
    reference: str,
    groups: Mapping[str, int],
) -> Change:
    """The system resumes a request awaiting payment once its payment is confirmed (``desk.payments``).

    The citizen gets the receipt (``notify.citizen.paid``: the amount and ``reference``, the bank's or the
    wallet's transaction id, which is also the event's text) and the SMS ``sms.paid``; the cards are redrawn.
    """
    return await staff_move(
        session,
        request_id,
        ActorRef(Actor.SYSTEM),
        Status.IN_PROGRESS,
        seen_status=Status.AWAITING_PAYMENT,
        groups=groups,
        text=reference,
        notice="notify.citizen.paid",
        amount_rials=amount_rials,
        sms_key="sms.paid",
    )


async def complete(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    result_text: str | None,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> Change:
    """Finish the request (``completed``, ``closed_at`` set); ``result_text``, when given, tells the citizen the result.

    When the request's service declares a certificate, it is issued now (today in Tehran; at most one per
    request) and the citizen's notice gives its verification code and ``/verify CODE``; ``ValidationError`` when
    the answers cannot fill it in (then nothing is written). The citizen is told, then asked the survey.
    """
    text = clean_text(result_text, required=False)
    return await staff_move(
        session,
        request_id,
        actor,
        Status.COMPLETED,
        seen_status=seen_status,
        groups=groups,
        text=text,
        notice="notify.citizen.completed_text" if text else "notify.citizen.completed",
        certificate_notice=(
            "notify.citizen.completed_certificate_text" if text else "notify.citizen.completed_certificate"
        ),
    )


async def reject(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    reason: str,
    *,
    seen_status: Status,
    groups: Mapping[str, int],
) -> Change:
    """Refuse the request (``rejected``, ``closed_at`` set); ``reason`` is required and the citizen reads it.

    A submitted request may be rejected without claiming it (plainly outside the organization's remit). The
    citizen is told, then asked the satisfaction survey.
    """
    return await staff_move(
        session,
        request_id,
        actor,
        Status.REJECTED,
        seen_status=seen_status,
        groups=groups,
        text=clean_text(reason, required=False),
        notice="notify.citizen.rejected",
    )


async def add_note(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    text: str,
    *,
    groups: Mapping[str, int],
) -> Change:
    """Write an internal note on the request (any filed request, finished ones too); the citizen never sees it.

    Raises ``ValidationError`` (``desk.text.empty`` / ``desk.text.too_long``) for a blank or too long note.
    """
    note = clean_text(text, required=True)
    request = await load_for_update(session, request_id)
    check_staff(request, actor)
    current = Status(request.status)
    event = await record_event(
        session,
        request,
        actor_kind=actor.kind,
        actor_id=actor.actor_id,
        to_status=None,
        text=note,
        public=False,
    )
    await tell_groups(session, request, event, groups)
    return change_of(request, current, event)


# What staff may see.


async def show_card(
    session: AsyncSession, request_id: int, actor: ActorRef, *, platform: str, chat_id: int
) -> Access:
    """Queue a fresh drawing of the request's card in the group ``chat_id`` the actor wrote in, and say how much it
    shows (the governorate's staff read other organizations' cards without their buttons).

    Anyone who may not see the request gets ``NotFound`` and nothing is queued, so a forged id draws nothing.
    """
    request = await Requests(session).get(request_id)
    if request is None or request.id is None or not is_public(Status(request.status)):
        raise NotFound("desk.request.not_found")
    access = view_of(request, actor)
    await enqueue_card(
        session,
        platform=platform,
        chat_id=chat_id,
        organization_id=request.organization_id,
        request_id=request.id,
        dedupe_key=f"redraw:{request.id}:{platform}:{chat_id}:{utcnow().isoformat()}",
    )
    return access


async def find_by_code(session: AsyncSession, actor: ActorRef, code_text: str) -> ServiceRequest | None:
    """The filed request the tracking code ``code_text`` names, if ``actor`` may see it (``view_of``); None
    otherwise (``/find CODE``, ``/transfer CODE``). See :func:`_by_code_readings` for how the code is read."""

    def may_see(request: ServiceRequest) -> bool:
        try:
            view_of(request, actor)
        except NotFound:
            return False
        return True

    return await _by_code_readings(session, code_text, may_see)


async def find_handled_by_code(
    session: AsyncSession, organization_id: str, code_text: str
) -> ServiceRequest | None:
    """The filed request the tracking code ``code_text`` names, if ``organization_id`` handles it
    (``check_handles``: the whole file of ``/open CODE``, which the governorate's oversight does not extend to);
    None otherwise. See :func:`_by_code_readings` for how the code is read."""

    def handles(request: ServiceRequest) -> bool:
        try:
            check_handles(request, organization_id)
        except NotFound:
            return False
        return True

    return await _by_code_readings(session, code_text, handles)


async def _by_code_readings(
    session: AsyncSession, code_text: str, allowed: Callable[[ServiceRequest], bool]
) -> ServiceRequest | None:
    """The first filed request ``allowed`` for the asker among the readings of ``code_text``.

    The code is read as a citizen's is (``desk.tracking.tracking_code_readings``: Persian digits, dashes and
    spaces; its groups typed in the reverse order an app drew them tried both ways), and raises the same
    ``ValidationError`` for a malformed or mistyped code. A reading naming a request the asker may not see is
    passed over exactly like one naming none, so the second reading finds only the asker's own organization's
    request and tells nothing of anyone else's; the code as typed comes first when both are the asker's.
    """
    requests = Requests(session)
    for code in tracking_code_readings(code_text):
        request = await requests.by_tracking_code(code)
        if request is not None and is_public(Status(request.status)) and allowed(request):
            return request
    return None


async def find_by_national_id(
    session: AsyncSession, actor: ActorRef, national_id: str, *, limit: int = FIND_LIMIT
) -> Found:
    """The filed requests handled by the actor's organization that name ``national_id`` (normalized: 10 ASCII
    digits) in a national ID answer, newest first, and how many there are.

    Every request of the organization is searched, however old (``request_identifier``'s index); at most ``limit``
    are returned. Anyone without an organization finds nothing.
    """
    if actor.organization_id is None:
        return Found((), 0)
    found, total = await Requests(session).naming(
        actor.organization_id, NATIONAL_ID, national_id, limit=limit
    )
    return Found(tuple(found), total)


# The citizen's own moves.


async def citizen_answered(
    session: AsyncSession,
    request_id: int,
    platform: str,
    user_id: int,
    text: str | None,
    *,
    groups: Mapping[str, int],
) -> Change:
    """The citizen answered a request for information: ``needs_info`` -> ``in_progress``, their text a public event.

    ``text`` may be None when the answer was a photo or file (the bot relays those itself). The text is relayed
    to the operator groups. Only the request's own citizen may answer: anyone else gets ``NotFound``
    (``desk.request.not_found``, as for a request that does not exist); a request not waiting for an answer gets
    ``TransitionError("desk.handling.not_waiting")``.
    """
    answer = clean_text(text, required=False)
    request = await load_for_update(session, request_id)
    await _owner(session, request, platform, user_id)
    current = Status(request.status)
    if current is not Status.NEEDS_INFO:
        raise TransitionError("desk.handling.not_waiting")
    check_transition(current, Status.IN_PROGRESS, Actor.CITIZEN)
    event = await record_event(
        session,
        request,
        actor_kind=Actor.CITIZEN,
        actor_id=f"{platform}:{user_id}",
        to_status=Status.IN_PROGRESS,
        text=answer,
        public=True,
    )
    relay = "notify.group.citizen_answered" if answer is not None else None
    await tell_groups(session, request, event, groups, relay=relay, text=answer)
    return change_of(request, current, event)


async def withdraw(
    session: AsyncSession,
    request_id: int,
    platform: str,
    user_id: int,
    *,
    groups: Mapping[str, int],
) -> Change:
    """The citizen gives up their own open request (``withdrawn``, ``closed_at`` set); the groups are told.

    Anyone but the request's citizen gets ``NotFound``; a finished request gets ``TransitionError``
    (``desk.transition.closed``).
    """
    request = await load_for_update(session, request_id)
    await _owner(session, request, platform, user_id)
    current = Status(request.status)
    check_transition(current, Status.WITHDRAWN, Actor.CITIZEN)
    event = await record_event(
        session,
        request,
        actor_kind=Actor.CITIZEN,
        actor_id=f"{platform}:{user_id}",
        to_status=Status.WITHDRAWN,
        text=None,
        public=True,
    )
    await tell_groups(session, request, event, groups, relay="notify.group.withdrawn")
    return change_of(request, current, event)
