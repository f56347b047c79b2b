"""Transfers: a request filed at the wrong organization moves to the right one, keeping its tracking code.

A citizen who picked the wrong municipality or dehyari should not be sent from office to office (سرگردانی): the
clerk moves the request, with a reason, to another organization that offers the same service, and the citizen
is told who handles it now and why. Rules (the story is in docs/ARCHITECTURE.md, "Transfers"):

* Who: staff of the organization handling the request (``desk.access.Access.ACT``), and the governorate's staff,
  who may read every request (``Access.READ``) and so may also send one where it belongs. Anyone else is told
  the request does not exist.
* What: an open request not yet waiting on anyone (submitted or in progress); one waiting for the citizen, an
  agency or a payment is resumed first, so no answer or payment goes astray.
* Where: an organization of the catalog that offers the request's service (the bot passes them as
  ``Destination``), other than the one handling it; never the organization an anonymous complaint is about,
  however the request came to be where it is.
* Then: the request is handled by the new organization as a fresh arrival (submitted, nobody assigned, a new
  deadline from the service's duration in the new organization's working days counted from today), with one
  public event (``from_organization_id``, ``to_organization_id``, the reason as text). The citizen gets a message
  and an SMS like any status notice; the old groups' cards are redrawn as "transferred"; the new groups get the
  card.

A request filed under the wrong service (a complaint that is really a permit question, or a service its
organization does not offer) moves with a chosen service too (``service_id``): to any organization offering that
service, its own included. It keeps its tracking code, answers and documents as filed; it is handled under the
new service's definition as the catalog gives it now (stored as for a new filing, ``service_version``), with the
new service's duration; the event names both definitions; the new service's required questions the old answers
leave open are listed on the card (``desk.requests.missing_answers``) for the clerk to ask with "needs info"; the
citizen's message offers them at once ("✍️ complete the missing answers", ``desk.completion``).
An anonymous complaint never changes service: under any other service the citizen would lose its anonymity.

Dedupe keys: ``event:<id>:citizen``, ``event:<id>:sms``, ``event:<id>:card:<platform>`` (the new groups),
``event:<id>:moved:<platform>`` (the old groups).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from desk.access import COMPLAINT_SERVICE, is_anonymous_complaint, view_of
from desk.calendar import WorkCalendar
from desk.errors import NotFound, TransitionError, ValidationError
from desk.handling import ActorRef, clean_text
from desk.i18n import LANGUAGES
from desk.inquiry_ends import EndReason, cancel_open
from desk.lifecycle import Actor, Status, is_public
from desk.notifications import answer_buttons, complete_button, enqueue_card, enqueue_chat, text_payload
from desk.persian import TEHRAN
from desk.requests import PLATFORMS, Title, missing_answers
from desk.sms import queue_request_sms
from desk.tracking import format_tracking_code
from storage.columns import utcnow
from storage.models import RequestEvent, ServiceRequest
from storage.repositories import Citizens, Events, Requests, ServiceVersions

__all__ = [
    "TRANSFERABLE",
    "Destination",
    "Directory",
    "Transfer",
    "check_destination",
    "check_transfer",
    "destinations_for",
    "transfer",
]

TRANSFERABLE: Final = frozenset({Status.SUBMITTED, Status.IN_PROGRESS})
"""The statuses a request may be transferred from: open, and waiting on nobody."""

_STAFF: Final = frozenset({Actor.CLERK, Actor.SUPERVISOR})


@dataclass(frozen=True, slots=True)
class Destination:
    """An organization offering a service, as the catalog says: the service's duration there in working days,
    and its working calendar (the new deadline is counted in both); with the service's catalog version and
    definition there, which a request moved to another service is handled under from then on."""

    organization_id: str
    duration_days: int
    calendar: WorkCalendar
    version: str = ""
    definition: Mapping[str, Any] = field(default_factory=dict)


class Directory(Protocol):
    """What a transfer needs to know of the catalog (the bot gives it; the domain never reads the catalog)."""

    def destinations(self, service_id: str) -> Mapping[str, Destination]:
        """Every organization offering ``service_id``, by id."""
        ...

    def groups(self, organization_id: str) -> Mapping[str, int]:
        """The operator groups of ``organization_id``: platform -> chat id."""
        ...


@dataclass(frozen=True, slots=True)
class Transfer:
    """What a transfer did: the request, where it came from and went, its new deadline and the event."""

    request_id: int
    tracking_code: str
    from_organization_id: str
    to_organization_id: str
    deadline: date
    event_id: int
    from_service_id: str = ""
    to_service_id: str = ""


async def _readable(session: AsyncSession, request_id: int, actor: ActorRef, *, lock: bool) -> ServiceRequest:
    """The filed request if ``actor`` is staff who may see it (``desk.access.view_of``); ``NotFound`` otherwise."""
    if actor.kind not in _STAFF:
        raise NotFound("desk.request.not_found")
    requests = Requests(session)
    request = await (requests.get_for_update(request_id) if lock else requests.get(request_id))
    if request is None or request.id is None or not is_public(Status(request.status)):
        raise NotFound("desk.request.not_found")
    view_of(request, actor)
    return request


def _accused(request: ServiceRequest) -> str | None:
    """The organization an anonymous complaint is about, which must never receive it."""
    if not is_anonymous_complaint(request.service_id, request.answers):
        return None
    return request.about_organization_id


def _new_service(request: ServiceRequest, service_id: str | None) -> str | None:
    """The service a transfer moves ``request`` to, when it is another one; ``ValidationError`` for an
    anonymous complaint, which keeps its service."""
    if service_id is None or service_id == request.service_id:
        return None
    if is_anonymous_complaint(request.service_id, request.answers):
        raise ValidationError("desk.transfer.anonymous_service")
    return service_id


def _allowed(
    request: ServiceRequest, directory: Directory, service_id: str | None = None
) -> dict[str, Destination]:
    """Where ``request`` may go: the organizations offering its service (or ``service_id``), but never its
    accused, nor its handler unless the service changes."""
    new_service = _new_service(request, service_id)
    barred = {_accused(request)} if new_service else {request.organization_id, _accused(request)}
    return {
        org_id: destination
        for org_id, destination in directory.destinations(new_service or request.service_id).items()
        if org_id not in barred
    }


def _check_status(request: ServiceRequest) -> Status:
    status = Status(request.status)
    if status not in TRANSFERABLE:
        raise TransitionError("desk.transfer.status", status=status)
    return status


async def destinations_for(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    directory: Directory,
    service_id: str | None = None,
) -> list[str]:
    """The organizations ``actor`` may transfer the request to (the picker's buttons), in the directory's order,
    keeping its service or moving it to ``service_id``.

    Raises ``NotFound`` for a request the actor may not see, ``TransitionError("desk.transfer.status")`` when it
    cannot be transferred now, ``ValidationError("desk.transfer.anonymous_service")`` for an anonymous complaint
    and another service, and ``ValidationError("desk.transfer.nowhere")`` when no organization may receive it.
    """
    request = await _readable(session, request_id, actor, lock=False)
    _check_status(request)
    allowed = list(_allowed(request, directory, service_id))
    if not allowed:
        raise ValidationError("desk.transfer.nowhere")
    return allowed


def check_destination(
    request: ServiceRequest, to: str, directory: Directory, service_id: str | None = None
) -> Destination:
    """The destination ``to`` (offering ``service_id``, or the request's own service) if ``request`` may go
    there; ``ValidationError`` saying why not otherwise."""
    if to == request.organization_id and _new_service(request, service_id) is None:
        raise ValidationError("desk.transfer.same")
    if to == _accused(request):
        raise ValidationError("desk.transfer.accused")
    destination = _allowed(request, directory, service_id).get(to)
    if destination is None:
        raise ValidationError("desk.transfer.not_offered")
    return destination


async def check_transfer(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    to: str,
    *,
    seen_status: Status,
    directory: Directory,
    service_id: str | None = None,
) -> None:
    """Refuse at once a transfer that cannot happen (before the clerk types a reason): the same checks as
    :func:`transfer`, nothing written."""
    request = await _readable(session, request_id, actor, lock=False)
    _check_seen(request, seen_status)
    check_destination(request, to, directory, service_id)


def _check_seen(request: ServiceRequest, seen_status: Status) -> None:
    current = _check_status(request)
    if current != Status(seen_status):
        raise TransitionError("desk.handling.changed", status=current)


async def transfer(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    to: str,
    reason: str,
    *,
    seen_status: Status,
    directory: Directory,
    today: date | None = None,
    service_id: str | None = None,
) -> Transfer:
    """Move the request to organization ``to`` for ``reason`` (required; the citizen reads it), and to service
    ``service_id`` when it is given and another one (``to`` may then be the organization handling it now).

    Everything is checked before anything is written: ``NotFound`` (not the actor's to see),
    ``TransitionError`` (``desk.transfer.status``: waiting on someone or finished; ``desk.handling.changed``:
    the card was old), ``ValidationError`` (``desk.transfer.same``, ``.accused``, ``.not_offered``,
    ``.anonymous_service``, or the reason's ``desk.text.*``). ``today`` is the county's date (now in Tehran when not given).
    """
    text = clean_text(reason, required=True)
    assert text is not None  # a required text is never blank
    request = await _readable(session, request_id, actor, lock=True)
    _check_seen(request, seen_status)
    destination = check_destination(request, to, directory, service_id)
    assert request.id is not None
    origin, old_service = request.organization_id, request.service_id
    old_title = Title.of(request.service_snapshot)
    moved = await _move_service(session, request, service_id, destination)
    today = today or datetime.now(TEHRAN).date()
    deadline = destination.calendar.add_working_days(today, destination.duration_days)

    now = utcnow()
    event = await Events(session).add(
        RequestEvent(
            request_id=request.id,
            at=now,
            actor_kind=actor.kind.value,
            actor_id=actor.actor_id,
            from_status=request.status,
            to_status=Status.SUBMITTED.value,
            text=text,
            public=True,
            from_organization_id=origin,
            to_organization_id=to,
            from_service_version_id=moved[0] if moved else None,
            to_service_version_id=moved[1] if moved else None,
        )
    )
    if request.service_id != COMPLAINT_SERVICE:
        # A complaint stays about whom it accuses; any other request is now about where it is handled.
        request.about_organization_id = to
    request.organization_id = to
    if origin != to:
        # The organization that asked no longer handles it: no agency's answer is needed now.
        await cancel_open(session, request, EndReason.TRANSFERRED)
    request.status = Status.SUBMITTED.value
    request.assignee_platform = request.assignee_user_id = None
    request.deadline = deadline
    request.updated_at = now
    session.add(request)

    await _tell_citizen(session, request, event, text, filed_as=old_title if moved else None)
    if origin != to:
        await _draw_cards(session, request, event, directory.groups(origin), kind="moved")
    await _draw_cards(session, request, event, directory.groups(to), kind="card")
    assert event.id is not None
    return Transfer(
        request_id=request.id,
        tracking_code=request.tracking_code,
        from_organization_id=origin,
        to_organization_id=to,
        deadline=deadline,
        event_id=event.id,
        from_service_id=old_service,
        to_service_id=request.service_id,
    )


async def _move_service(
    session: AsyncSession, request: ServiceRequest, service_id: str | None, destination: Destination
) -> tuple[int | None, int] | None:
    """Put ``request`` under service ``service_id`` as ``destination`` offers it (its definition stored once, as
    for a new filing), when that is another service; the old and new definitions' ids, or None."""
    if _new_service(request, service_id) is None or service_id is None:
        return None
    version = await ServiceVersions(session).get_or_create(
        service_id, destination.version, destination.definition
    )
    assert version.id is not None
    old = request.service_version_id
    request.service_id = service_id
    request.service_version = destination.version
    request.service_version_id = version.id
    request.definition = version
    return old, version.id


async def _tell_citizen(
    session: AsyncSession,
    request: ServiceRequest,
    event: RequestEvent,
    reason: str,
    *,
    filed_as: Title | None = None,
) -> None:
    """The citizen's message (and SMS): who handles the request now, why, the same code and the new deadline;
    and, when it moved to another service (``filed_as`` the old one's title), under which service now."""
    citizen = await Citizens(session).get(request.citizen_id)
    assert citizen is not None
    assert request.id is not None
    lang = citizen.locale if citizen.locale in LANGUAGES else "fa"
    params: dict[str, str | int] = {
        "code": format_tracking_code(request.tracking_code, lang),
        "title": Title.of(request.service_snapshot).text(lang),
        "org": request.organization_id,
        "text": reason,
    }
    buttons = answer_buttons(request.id)
    if filed_as is not None:
        params["old"] = filed_as.text(lang)
        if missing_answers(request.service_snapshot, request.answers):
            # The new service asks what the old one did not: she may answer at once (desk.completion).
            buttons.append(complete_button(request.id))
    dates = {"deadline": request.deadline} if request.deadline is not None else {}
    await enqueue_chat(
        session,
        platform=citizen.platform,
        chat_id=citizen.chat_id,
        organization_id=request.organization_id,
        payload=text_payload(
            "notify.citizen.transferred_service" if filed_as is not None else "notify.citizen.transferred",
            lang,
            params=params,
            dates=dates,
            buttons=buttons,
        ),
        dedupe_key=f"event:{event.id}:citizen",
        request_id=request.id,
    )
    await queue_request_sms(
        session, citizen, request, key="sms.transferred", dedupe_key=f"event:{event.id}:sms"
    )


async def _draw_cards(
    session: AsyncSession,
    request: ServiceRequest,
    event: RequestEvent,
    groups: Mapping[str, int],
    *,
    kind: str,
) -> None:
    """Queue the card in each of ``groups``: the new organization's get it whole, the old one's see it moved."""
    assert request.id is not None
    for platform, chat_id in sorted(groups.items()):
        if platform not in PLATFORMS:
            raise ValueError(f"unknown platform {platform!r} in groups")
        await enqueue_card(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            request_id=request.id,
            dedupe_key=f"event:{event.id}:{kind}:{platform}",
        )
