"""The request card clerks work from in their organization's operator group, drawn by the outbox sender.

The card is (re)drawn from the database every time, so it always shows the request as it is now: status,
assignee, deadline, the citizen (national ID and phone masked), the answers, and the actions the request's
status allows. Documents follow the first drawing as separate messages, each linked to the request so a
clerk can reply to any of them.

A card always fits one message (a long name, answers and note used to make every later edit fail): its longest
parts are cut with a marker, and ``/open CODE`` (``request_history``) shows the whole file in as many messages
as it takes.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CardAction
from bot.clerk_actions import on_card
from bot.clerks import ClerkRegistry
from bot.forms import answer_text
from bot.platforms import Platform
from bot.render import CAPTION_LIMIT, TEXT_LIMIT, Renderer, cut, fit
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import FieldType, FormField, OrganizationKind
from desk.access import Access, group_access, is_anonymous_complaint
from desk.handling import find_handled_by_code
from desk.lifecycle import Actor, Status
from desk.notices import notice_text
from desk.persian import (
    TEHRAN,
    display_name,
    format_identifier,
    format_jalali_date,
    format_jalali_datetime,
    visible,
)
from desk.privacy import mask_mobile, mask_national_id
from desk.requests import Title, missing_answers
from desk.tracking import format_tracking_code, is_well_formed
from storage.files import DocumentStore
from storage.models import Citizen, OutboxMessage, RequestEvent, ServiceRequest, SurveyAnswer
from storage.repositories import Citizens, Events, GroupMessages, Requests, ServiceVersions, SurveyAnswers
from storage.uow import unit_of_work

__all__ = ["card_drawer", "render_card", "request_history"]

logger = logging.getLogger(__name__)

_MASKED = {FieldType.NATIONAL_ID: mask_national_id, FieldType.MOBILE: mask_mobile}
_TYPED = frozenset({FieldType.TEXT, FieldType.LONG_TEXT})


def _masked_answer(r: Renderer, field: FormField, value: Any) -> str:
    """An answer as a clerk sees it: national IDs and mobiles masked (and isolated left-to-right), typed text
    without the invisible characters that could disguise it, the rest as the citizen reads it."""
    mask = _MASKED.get(field.type)
    if mask is not None and isinstance(value, str):
        return format_identifier(mask(value), r.lang)
    shown = answer_text(r, field, value)
    return visible(shown) if field.type in _TYPED else shown


def _first_of(request: ServiceRequest, kind: FieldType) -> str | None:
    for field in request.service_snapshot.get("form", []):
        if field.get("type") == kind.value and isinstance(request.answers.get(field["id"]), str):
            return str(request.answers[field["id"]])
    return None


def render_card(
    r: Renderer,
    request: ServiceRequest,
    citizen: Citizen | None,
    *,
    documents: int,
    clerk_name: str | None,
    last_text: str | None,
    today: date,
    about: str | None = None,
    rating: SurveyAnswer | None = None,
    moved_from: str | None = None,
    about_hidden: bool = True,
    earlier: Sequence[Mapping[str, Any]] = (),
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The card's text and action buttons for ``request`` as it is now; ``about`` names the organization it is
    about when another one handles it (an anonymous complaint, in the governorate's group); ``rating`` is the
    citizen's score and comment, shown once they arrive; ``moved_from`` names the organization that transferred
    the request here (its reason is the card's last text). ``about_hidden`` says the organization ``about`` names
    cannot see the request (an anonymous complaint); a named complaint transferred elsewhere can be seen there.
    ``earlier`` are the definitions it was handled under before a transfer moved it to another service (oldest
    first): the card says what it was filed as, shows the answers to their questions too, and lists the new
    service's required questions still unanswered.

    The text always fits one message: when it would not, its longest parts (answers, the last message, the
    citizen's name, ...) are cut with a marker, and a line points to ``/open CODE``, which shows them whole.
    Names and typed text are shown without bidi overrides or invisible marks (``desk.persian.visible``).
    """
    status = Status(request.status)
    form = _answered_form(request, earlier)
    open_questions = set(missing_answers(request.service_snapshot, request.answers))
    missing = [field.label.get(r.lang) for field in form if field.id in open_questions]
    filed_as = Title.of(earlier[0]).text(r.lang) if earlier else None
    national_id = _first_of(request, FieldType.NATIONAL_ID)
    phone = (citizen.phone if citizen else None) or _first_of(request, FieldType.MOBILE)
    unknown = r.plain("op.card.unknown")
    title = Title.of(request.service_snapshot).text(r.lang)
    assignee = clerk_name or r.plain("op.card.nobody")
    name = _citizen_name(citizen) or unknown
    answers = [
        (field.label.get(r.lang), _masked_answer(r, field, request.answers.get(field.id))) for field in form
    ]
    last = visible(last_text or "")
    said = visible(rating.comment or "") if rating is not None else ""
    parts = [title, assignee, name, last, said, *(part for answer in answers for part in answer)]
    marker = r.plain("op.card.cut_mark")

    def draw(cap: int | None) -> str:
        return r.template(
            "request_card.j2",
            title=cut(title, cap, marker),
            code=format_tracking_code(request.tracking_code, r.lang),
            about=about,
            about_key="op.card.about" if about_hidden else "op.card.about_named",
            moved_from=moved_from,
            filed_as=filed_as,
            missing=r.plain("bot.list.sep").join(missing),
            status=r.plain(status.label_key),
            assignee=cut(assignee, cap, marker),
            deadline=format_jalali_date(request.deadline, r.lang) if request.deadline else unknown,
            overdue=bool(request.deadline and request.deadline < today and status not in _CLOSED),
            citizen=cut(name, cap, marker),
            national_id=format_identifier(mask_national_id(national_id), r.lang) if national_id else unknown,
            phone=format_identifier(mask_mobile(phone), r.lang) if phone else unknown,
            answers=[
                {"label": cut(label, cap, marker), "value": cut(value, cap, marker)}
                for label, value in answers
            ],
            documents=r.digits(documents) if documents else 0,
            last=cut(last, cap, marker),
            score=r.digits(rating.score) if rating is not None else None,
            said=cut(said, cap, marker),
            shortened=cap is not None and any(len(part) > cap for part in parts),
            command_code=request.tracking_code,
        )

    text = fit(draw, max(map(len, parts)), TEXT_LIMIT)
    actions = on_card(status)
    if not actions:
        return text, None
    rows = [
        [
            InlineKeyboardButton(
                text=r.plain(action.label_key),
                callback_data=CardAction(req=request.id or 0, act=action.id, seen=status).pack(),
            )
        ]
        for action in actions
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


_CLOSED = {Status.COMPLETED, Status.REJECTED, Status.WITHDRAWN}


def _answered_form(request: ServiceRequest, earlier: Sequence[Mapping[str, Any]]) -> list[FormField]:
    """The questions of the request's service, then those of the services it was filed under before that its
    answers still hold (a transfer to another service keeps the answers as filed)."""
    form = [FormField.model_validate(field) for field in request.service_snapshot.get("form", [])]
    seen = {field.id for field in form}
    for definition in earlier:
        for raw in definition.get("form") or ():
            if raw.get("id") not in seen and request.answers.get(raw.get("id")) is not None:
                form.append(FormField.model_validate(raw))
                seen.add(raw["id"])
    return form


async def _definitions(
    session: AsyncSession, history: Sequence[RequestEvent]
) -> dict[int, Mapping[str, Any]]:
    """The service definitions named by the history's transfers to another service, by id."""
    ids = [
        version_id
        for event in history
        for version_id in (event.from_service_version_id, event.to_service_version_id)
        if version_id is not None
    ]
    found: dict[int, Mapping[str, Any]] = {}
    for version_id in dict.fromkeys(ids):
        version = await ServiceVersions(session).get(version_id)
        if version is not None:
            found[version_id] = version.definition
    return found


def _earlier(
    history: Sequence[RequestEvent], definitions: Mapping[int, Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The definitions the request was handled under before each transfer to another service, oldest first."""
    return [
        definitions[event.from_service_version_id]
        for event in history
        if event.from_service_version_id is not None and event.from_service_version_id in definitions
    ]


def _citizen_name(citizen: Citizen | None) -> str | None:
    if citizen is None:
        return None
    return display_name(" ".join(p for p in (citizen.first_name, citizen.last_name) if p))


def card_drawer(
    factory: async_sessionmaker[AsyncSession],
    clerks: ClerkRegistry,
    store: DocumentStore,
    catalogs: CatalogHolder,
) -> Callable[[Bot, OutboxMessage], Awaitable[Message | None]]:
    """The outbox handler of ``card`` rows: draw the card the first time, edit it in place afterwards.

    Whatever queued the row, a card is drawn only where ``desk.access.group_access`` allows: with its actions in
    the group of the organization handling the request, without them in the governorate's, and nowhere else.
    """

    async def draw(bot: Bot, row: OutboxMessage) -> Message | None:
        assert row.platform is not None
        assert row.chat_id is not None
        request_id = int(row.payload["request_id"])
        platform = Platform(row.platform)
        r = Renderer.get(platform, "fa")
        async with factory() as session:
            request = await Requests(session).get(request_id)
            if request is None:
                return None
            group = catalogs.catalog.organization_by_group(row.platform, row.chat_id)
            access = group_access(
                request,
                group.id if group is not None else None,
                governorate=group is not None and group.kind is OrganizationKind.GOVERNORATE,
            )
            if access is None:
                moved = await _moved_away(session, request, group.id if group is not None else None)
                if moved is not None:
                    await _draw_moved(bot, session, r, catalogs, request, row, moved)
                    return None
                logger.warning(
                    "refused to draw request %s in chat %s:%s", request_id, row.platform, row.chat_id
                )
                return None
            citizen = await Citizens(session).get(request.citizen_id)
            documents = list(await Requests(session).documents(request_id))
            links = await GroupMessages(session).of_request(request_id, kind="card")
            history = await Events(session).history(request_id, public_only=False)
            rating = await SurveyAnswers(session).of_request(request_id)
            definitions = await _definitions(session, history)
        card = next((g for g in links if g.platform == row.platform and g.chat_id == row.chat_id), None)
        clerk = _clerk_name(clerks, request)
        last = next((e.text for e in reversed(history) if e.text), None)
        earlier = _earlier(history, definitions)
        text, markup = render_card(
            r,
            request,
            citizen,
            documents=len(documents),
            clerk_name=clerk,
            last_text=last,
            today=datetime.now(TEHRAN).date(),
            about=_about(catalogs, request),
            rating=rating,
            moved_from=_moved_from(catalogs, request, history),
            about_hidden=is_anonymous_complaint(request.service_id, request.answers),
            earlier=earlier,
        )
        if access is Access.READ:
            markup = None
        if card is not None:
            try:
                await bot.edit_message_text(
                    text, chat_id=row.chat_id, message_id=card.message_id, reply_markup=markup
                )
            except TelegramBadRequest as error:
                if "not modified" not in str(error):
                    raise
            return None
        sent = await bot.send_message(row.chat_id, text, reply_markup=markup)

        async def link(message: Message, kind: str) -> None:
            """Note the message as the request's, so a reply to it (or a redraw) finds the request."""
            async with unit_of_work(factory, write=True) as session:
                await GroupMessages(session).link(
                    platform=platform.value,
                    chat_id=sent.chat.id,
                    message_id=message.message_id,
                    request_id=request_id,
                    kind=kind,
                )

        await link(sent, "card")
        per_slot, shown = Counter(d.slot for d in documents), Counter[str]()
        for document in documents:
            shown[document.slot] += 1
            caption = _caption(
                r, request, document.slot, shown[document.slot], per_slot[document.slot], earlier
            )
            same_platform = document.platform == row.platform
            file: Any = (
                document.platform_file_id
                if same_platform
                else BufferedInputFile(
                    store.read(document.stored_path), filename=document.stored_path.rsplit("/", 1)[-1]
                )
            )
            if document.kind == "photo":
                copy = await bot.send_photo(
                    row.chat_id, file, caption=caption, reply_to_message_id=sent.message_id
                )
            else:
                copy = await bot.send_document(
                    row.chat_id, file, caption=caption, reply_to_message_id=sent.message_id
                )
            await link(copy, "document")
        for latitude, longitude in _points(request):
            pin = await bot.send_location(
                row.chat_id, latitude=latitude, longitude=longitude, reply_to_message_id=sent.message_id
            )
            await link(pin, "location")
        return sent

    return draw


def _points(request: ServiceRequest) -> list[tuple[float, float]]:
    """The places the citizen gave (location questions, in the form's order), to pin under the card: a clerk
    who has to visit opens the map from the pin rather than copying the numbers on the card."""
    points = []
    for form_field in request.service_snapshot.get("form") or ():
        value = request.answers.get(form_field["id"]) if form_field.get("type") == "location" else None
        if isinstance(value, dict) and {"latitude", "longitude"} <= value.keys():
            points.append((float(value["latitude"]), float(value["longitude"])))
    return points


async def request_history(
    factory: async_sessionmaker[AsyncSession],
    clerks: ClerkRegistry,
    r: Renderer,
    organization_id: str,
    typed_code: str,
    org_names: Callable[[str], str] = str,
) -> list[str]:
    """``/open CODE``: the whole file of a request for its organization's clerks, in messages that each fit.

    The citizen (national ID and phone masked, as on the card), every answer in full, and every event in order,
    internal notes included, with who and when: what a card had to cut is here whole. Empty when the code names
    no request this organization handles (``desk.access.check_handles``; the governorate's oversight reading of
    a card does not extend to the whole file). ``org_names`` names the organizations of a transfer.
    """
    if not is_well_formed(typed_code):
        return []
    async with factory() as session:
        request = await find_handled_by_code(session, organization_id, typed_code)
        if request is None or request.id is None:
            return []
        citizen = await Citizens(session).get(request.citizen_id)
        history = await Events(session).history(request.id, public_only=False)
        definitions = await _definitions(session, history)
    form = _answered_form(request, _earlier(history, definitions))
    national_id = _first_of(request, FieldType.NATIONAL_ID)
    phone = (citizen.phone if citizen else None) or _first_of(request, FieldType.MOBILE)
    unknown = r.plain("op.card.unknown")
    shown_code = format_tracking_code(request.tracking_code, r.lang)
    items: list[tuple[str, str]] = [
        (
            r.text(
                "op.history.title",
                title=Title.of(request.service_snapshot).text(r.lang),
                status=r.plain(Status(request.status).label_key),
            ),
            "",
        ),
        (
            r.text(
                "op.card.citizen",
                name=_citizen_name(citizen) or unknown,
                national_id=format_identifier(mask_national_id(national_id), r.lang)
                if national_id
                else unknown,
                phone=format_identifier(mask_mobile(phone), r.lang) if phone else unknown,
            ),
            "",
        ),
        (r.text("op.history.answers"), ""),
    ]
    items += [
        (
            r.text("op.history.answer", label=field.label.get(r.lang)),
            _masked_answer(r, field, request.answers.get(field.id)),
        )
        for field in form
    ]
    items.append((r.text("op.history.events"), ""))
    for event in history:
        if event.from_service_version_id is not None and event.to_service_version_id is not None:
            what = r.plain(
                "op.history.transferred_service",
                old=Title.of(definitions.get(event.from_service_version_id, {})).text(r.lang),
                new=Title.of(definitions.get(event.to_service_version_id, {})).text(r.lang),
                org=org_names(event.to_organization_id or ""),
            )
        elif event.to_organization_id is not None:
            what = r.plain(
                "op.history.transferred",
                origin=org_names(event.from_organization_id or ""),
                org=org_names(event.to_organization_id),
            )
        elif event.to_status is not None and event.to_status != event.from_status:
            what = r.plain(Status(event.to_status).label_key)
        else:
            what = r.plain("op.history.message" if event.public else "op.history.note")
        staff = event.actor_kind in (Actor.CLERK, Actor.SUPERVISOR)
        clerk = _clerk_behind(clerks, request, event.actor_id) if staff else None
        who = clerk or r.plain(Actor(event.actor_kind).label_key)
        line = r.text("op.history.event", when=format_jalali_datetime(event.at, r.lang), who=who, what=what)
        said = notice_text(event.notice, r.lang) if event.notice else event.text or ""
        items.append((line, visible(said)))
    return r.pages(
        items,
        lambda n, total: r.text("op.history.part", code=shown_code, n=r.digits(n), total=r.digits(total)),
    )


def _clerk_behind(clerks: ClerkRegistry, request: ServiceRequest, actor_id: str | None) -> str | None:
    """The name of the clerk whose account (``'<platform>:<user id>'``) made an event, when they are known."""
    platform, _, user_id = (actor_id or "").partition(":")
    if not user_id.isdigit():
        return None
    account = (platform, int(user_id))
    clerk = clerks.find(request.organization_id, *account) or clerks.anywhere(*account)
    return clerk.name.get("fa") if clerk is not None else None


def _caption(
    r: Renderer,
    request: ServiceRequest,
    slot: str,
    nth: int = 1,
    files: int = 1,
    earlier: Sequence[Mapping[str, Any]] = (),
) -> str:
    """A document's caption under the card: its title (cut when it would not fit a caption) and the code; the
    ``nth`` of a document's ``files`` when it has several (the pages of a deed)."""
    title = _slot_title(request, slot, r.lang, earlier)
    if files > 1:
        title = r.plain("op.document.nth", title=title, n=r.digits(nth), files=r.digits(files))
    code = format_tracking_code(request.tracking_code, r.lang)
    marker = r.plain("op.card.cut_mark")
    return fit(
        lambda cap: r.text("op.document.caption", title=cut(title, cap, marker), code=code),
        len(title),
        CAPTION_LIMIT,
    )


def _about(catalogs: CatalogHolder, request: ServiceRequest) -> str | None:
    """The name of the organization the request is about, when another one handles it."""
    about = request.about_organization_id
    if about is None or about == request.organization_id:
        return None
    try:
        return catalogs.catalog.organization(about).name.get("fa")
    except NotInCatalogError:
        return about


async def _moved_away(
    session: AsyncSession, request: ServiceRequest, organization_id: str | None
) -> RequestEvent | None:
    """The last transfer that took ``request`` away from ``organization_id``, if there was one."""
    if organization_id is None or request.id is None:
        return None
    history = await Events(session).history(request.id, public_only=True)
    return next((e for e in reversed(history) if e.from_organization_id == organization_id), None)


async def _draw_moved(
    bot: Bot,
    session: AsyncSession,
    r: Renderer,
    catalogs: CatalogHolder,
    request: ServiceRequest,
    row: OutboxMessage,
    moved: RequestEvent,
) -> None:
    """Turn the old organization's card into a note that the request went elsewhere: no buttons, and no more of
    the citizen than its title and code (the old organization no longer handles it). Nothing is sent where the
    card never was."""
    assert request.id is not None
    links = await GroupMessages(session).of_request(request.id, kind="card")
    card = next((g for g in links if g.platform == row.platform and g.chat_id == row.chat_id), None)
    if card is None:
        return
    text = r.text(
        "op.card.moved",
        title=Title.of(request.service_snapshot).text(r.lang),
        code=format_tracking_code(request.tracking_code, r.lang),
        org=_org_name(catalogs, moved.to_organization_id or ""),
        date=format_jalali_date(moved.at, r.lang),
        text=visible(moved.text or ""),
    )
    try:
        await bot.edit_message_text(text, chat_id=row.chat_id, message_id=card.message_id, reply_markup=None)
    except TelegramBadRequest as error:
        if "not modified" not in str(error):
            raise


def _moved_from(
    catalogs: CatalogHolder, request: ServiceRequest, history: Sequence[RequestEvent]
) -> str | None:
    """The name of the organization whose transfer brought the request to the one handling it now."""
    event = next((e for e in reversed(history) if e.to_organization_id is not None), None)
    if (
        event is None
        or event.to_organization_id != request.organization_id
        or event.from_organization_id is None
    ):
        return None
    return _org_name(catalogs, event.from_organization_id)


def _org_name(catalogs: CatalogHolder, organization_id: str) -> str:
    try:
        return catalogs.catalog.organization(organization_id).name.get("fa")
    except NotInCatalogError:
        return organization_id


def _slot_title(
    request: ServiceRequest, slot: str, lang: str, earlier: Sequence[Mapping[str, Any]] = ()
) -> str:
    """A document's title in the request's service, or in the one it was filed under (a transfer to another
    service keeps the documents as filed); its slot id when neither names it."""
    for doc in [
        *request.service_snapshot.get("documents", []),
        *(d for e in earlier for d in e.get("documents") or ()),
    ]:
        if doc.get("id") == slot:
            title = doc.get("title") or {}
            return str(title.get(lang) or title.get("fa") or slot) if isinstance(title, dict) else str(title)
    return slot


def _clerk_name(clerks: ClerkRegistry, request: ServiceRequest) -> str | None:
    if request.assignee_user_id is None or request.assignee_platform is None:
        return None
    clerk = clerks.find(
        request.organization_id, request.assignee_platform, request.assignee_user_id
    ) or clerks.anywhere(request.assignee_platform, request.assignee_user_id)
    return clerk.name.get("fa") if clerk is not None else None
