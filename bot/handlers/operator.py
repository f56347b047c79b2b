"""The clerks' desk in each organization's operator group: card actions, the conversation bridge, commands.

Who may act is decided once, by ``IsClerk`` (a registered clerk of the organization whose group this is), which
hands the handlers the organization, the clerk and the ``desk`` actor; anyone else gets the answer registered
after the filtered handlers. What may happen is decided by ``desk`` (the lifecycle, and the status the clerk
saw on the card); what the card's buttons do is the table in ``bot.clerk_actions``. Every change is committed
with its notifications in one transaction, then the outbox sender is woken to deliver them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import TypeVar

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import (
    CardAction,
    ListPage,
    TransferPage,
    TransferPick,
    TransferService,
    TransferServicePick,
    TransferServices,
)
from bot.clerk_actions import CLERK_ACTIONS, ActionCall
from bot.clerks import ClerkRegistry
from bot.filters import IsClerk
from bot.inquiry_cards import waiting_list
from bot.keyboards import list_heading, list_nav
from bot.notifier import Notifier
from bot.operator_cards import request_history
from bot.platforms import GROUP_CHAT_TYPES, Platform
from bot.render import Renderer
from bot.transfers import (
    CatalogDirectory,
    org_label,
    picker,
    service_choices,
    service_label,
    service_org_picker,
    service_picker,
)
from catalog.loader import CatalogHolder
from catalog.schema import Clerk, Organization, OrganizationKind
from config.settings import Settings
from desk import handling, transfers
from desk.bridge import Copied, clerk_message
from desk.certificates import format_certificate_code
from desk.errors import MizError, NotFound, ValidationError
from desk.lifecycle import Status
from desk.persian import TEHRAN, format_jalali_date, format_number, normalize_identifier
from desk.requests import Title
from desk.tracking import format_tracking_code, is_well_formed
from desk.worklists import ListKind, WorkPage, inquiry_page, work_page
from storage.repositories import GroupMessages, Listed
from storage.uow import unit_of_work

__all__ = ["OperatorStates", "router"]

logger = logging.getLogger(__name__)

CLERK_COMMANDS = (
    "addclerk",
    "removeclerk",
    "clerks",
    "open",
    "mine",
    "overdue",
    "find",
    "transfer",
    "inquiries",
)
"""The commands only the group's clerks may use; anyone else is told they are not one."""

T = TypeVar("T")


class OperatorStates(StatesGroup):
    """A clerk who pressed an action that needs their text, until they send it (per group and clerk)."""

    text = State()


def router() -> Router:
    """Handlers of the operator groups, in the order they are tried: the clerks' handlers are followed by the
    answer anyone else gets to the same update (an alert, a message, or silence, as each has always had)."""
    r = Router(name="operator")
    r.message.filter(F.chat.type.in_(GROUP_CHAT_TYPES))
    r.callback_query.filter(F.message.chat.type.in_(GROUP_CHAT_TYPES))
    clerk = IsClerk()
    r.callback_query.register(card_action, CardAction.filter(), clerk)
    r.callback_query.register(refuse_card_action, CardAction.filter())
    r.callback_query.register(work_list_page, ListPage.filter(), clerk)
    r.callback_query.register(refuse_card_action, ListPage.filter())
    r.callback_query.register(transfer_page, TransferPage.filter(), clerk)
    r.callback_query.register(transfer_pick, TransferPick.filter(), clerk)
    r.callback_query.register(transfer_services, TransferServices.filter(), clerk)
    r.callback_query.register(transfer_service, TransferService.filter(), clerk)
    r.callback_query.register(transfer_service_pick, TransferServicePick.filter(), clerk)
    r.callback_query.register(refuse_card_action, TransferPage.filter())
    r.callback_query.register(refuse_card_action, TransferPick.filter())
    r.callback_query.register(refuse_card_action, TransferServices.filter())
    r.callback_query.register(refuse_card_action, TransferService.filter())
    r.callback_query.register(refuse_card_action, TransferServicePick.filter())
    r.message.register(cancel_text, OperatorStates.text, Command("cancel"))
    r.message.register(action_text, OperatorStates.text, F.text, clerk)
    r.message.register(drop_text, OperatorStates.text, F.text)
    r.message.register(group_help, Command("help"))
    r.message.register(manage_clerks, Command("addclerk", "removeclerk"), clerk)
    r.message.register(list_clerks, Command("clerks"), clerk)
    r.message.register(open_request, Command("open", magic=F.args), clerk)
    r.message.register(work_list, Command("open", "mine", "overdue"), clerk)
    r.message.register(find, Command("find"), clerk)
    r.message.register(transfer_command, Command("transfer"), clerk)
    r.message.register(refuse_command, Command(*CLERK_COMMANDS))
    r.message.register(reply_to_card, F.reply_to_message, clerk)
    r.message.register(ignore_reply, F.reply_to_message)
    return r


async def card_action(
    callback: CallbackQuery,
    callback_data: CardAction,
    org: Organization,
    clerk: Clerk,
    actor: handling.ActorRef,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    settings: Settings,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """A clerk pressed a card's button: ask for the text its action needs, or run it now."""
    message = callback.message
    assert message is not None  # the router takes presses on a group's message only
    action = CLERK_ACTIONS[callback_data.act]
    if action.picks_organization:
        await _open_picker(
            callback, callback_data.req, callback_data.seen, clerk, actor, r, catalogs, session_factory
        )
        return
    if action.needs_text:
        await state.set_state(OperatorStates.text)
        await state.update_data({"req": callback_data.req, "act": action.id, "seen": callback_data.seen})
        await callback.answer()
        await message.answer(r.text(action.prompt_key, clerk=clerk.name.get("fa")))
        return
    call = _call(catalogs, settings, org, actor, callback_data.req, callback_data.seen)
    try:
        await _run(session_factory, outbox, lambda s: action.run(s, call))
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        await _redraw(session_factory, outbox, platform, message.chat.id, actor, callback_data.req)
        return
    await callback.answer(r.plain(action.done_key))


async def _open_picker(
    callback: CallbackQuery,
    request_id: int,
    seen: Status,
    clerk: Clerk,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """ "↪️ transfer": the organizations the request may go to, as buttons under a question to the clerk."""
    message = callback.message
    assert message is not None
    directory = CatalogDirectory(catalogs.catalog)
    try:
        async with session_factory() as session:
            targets = await _destinations(session, request_id, actor, directory)
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await callback.answer()
    markup = picker(r, catalogs.catalog, request_id, seen, targets, 0)
    await message.answer(r.text("op.transfer.pick", clerk=clerk.name.get("fa")), reply_markup=markup)


async def _destinations(
    session: AsyncSession, request_id: int, actor: handling.ActorRef, directory: CatalogDirectory
) -> list[str]:
    """The organizations of the picker: none when no other one offers the request's service, which leaves the
    clerk "another service" (a request filed under the wrong service may be the reason)."""
    try:
        return await transfers.destinations_for(session, request_id, actor, directory)
    except ValidationError as error:
        if error.key != "desk.transfer.nowhere":
            raise
        return []


async def transfer_page(
    callback: CallbackQuery,
    callback_data: TransferPage,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """Another page of the picker (the organizations are read again, so a forged request id shows nothing)."""
    message = callback.message
    assert message is not None
    directory = CatalogDirectory(catalogs.catalog)
    try:
        async with session_factory() as session:
            targets = await _destinations(session, callback_data.req, actor, directory)
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await callback.answer()
    markup = picker(r, catalogs.catalog, callback_data.req, callback_data.seen, targets, callback_data.page)
    if isinstance(message, Message):
        await message.edit_reply_markup(reply_markup=markup)


async def transfer_pick(
    callback: CallbackQuery,
    callback_data: TransferPick,
    clerk: Clerk,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The clerk picked an organization: refused at once if it cannot receive the request, else ask the reason."""
    message = callback.message
    assert message is not None
    directory = CatalogDirectory(catalogs.catalog)
    try:
        async with session_factory() as session:
            await transfers.check_transfer(
                session,
                callback_data.req,
                actor,
                callback_data.org,
                seen_status=callback_data.seen,
                directory=directory,
            )
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await state.set_state(OperatorStates.text)
    await state.update_data(
        {"req": callback_data.req, "act": "transfer", "seen": callback_data.seen, "to": callback_data.org}
    )
    await callback.answer()
    org_name = org_label(catalogs.catalog, callback_data.org)
    await message.answer(r.text("op.prompt.transfer", clerk=clerk.name.get("fa"), org=org_name))


async def transfer_services(
    callback: CallbackQuery,
    callback_data: TransferServices,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """ "🔀 another service", or another page of it: the catalog's services by category (the request is read
    again first, so a forged request id shows nothing)."""
    message = callback.message
    assert message is not None
    try:
        async with session_factory() as session:
            await _destinations(session, callback_data.req, actor, CatalogDirectory(catalogs.catalog))
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await callback.answer()
    markup = service_picker(r, catalogs.catalog, callback_data.req, callback_data.seen, callback_data.page)
    if isinstance(message, Message):
        await message.edit_text(r.text("op.transfer.pick_service"), reply_markup=markup)


def _chosen_service(catalogs: CatalogHolder, number: int) -> str:
    """The id of the service a button names by its place in the picker; ``ValidationError`` for a forged one."""
    choices = service_choices(catalogs.catalog)
    if number >= len(choices):
        raise ValidationError("desk.transfer.not_offered")
    return choices[number].id


async def transfer_service(
    callback: CallbackQuery,
    callback_data: TransferService,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The clerk chose a service: the organizations offering it (``desk`` says which may receive the request)."""
    message = callback.message
    assert message is not None
    directory = CatalogDirectory(catalogs.catalog)
    try:
        service_id = _chosen_service(catalogs, callback_data.svc)
        async with session_factory() as session:
            targets = await transfers.destinations_for(
                session, callback_data.req, actor, directory, service_id
            )
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await callback.answer()
    markup = service_org_picker(
        r,
        catalogs.catalog,
        callback_data.req,
        callback_data.seen,
        callback_data.svc,
        targets,
        callback_data.page,
    )
    if isinstance(message, Message):
        text = r.text("op.transfer.pick_service_org", service=service_label(catalogs.catalog, service_id))
        await message.edit_text(text, reply_markup=markup)


async def transfer_service_pick(
    callback: CallbackQuery,
    callback_data: TransferServicePick,
    clerk: Clerk,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """The clerk picked an organization for the chosen service: refused at once if it cannot receive the request
    under it, else ask the reason."""
    message = callback.message
    assert message is not None
    try:
        service_id = _chosen_service(catalogs, callback_data.svc)
        async with session_factory() as session:
            await transfers.check_transfer(
                session,
                callback_data.req,
                actor,
                callback_data.org,
                seen_status=callback_data.seen,
                directory=CatalogDirectory(catalogs.catalog),
                service_id=service_id,
            )
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await state.set_state(OperatorStates.text)
    await state.update_data(
        {
            "req": callback_data.req,
            "act": "transfer",
            "seen": callback_data.seen,
            "to": callback_data.org,
            "svc": service_id,
        }
    )
    await callback.answer()
    await message.answer(
        r.text(
            "op.prompt.transfer_service",
            clerk=clerk.name.get("fa"),
            org=org_label(catalogs.catalog, callback_data.org),
            service=service_label(catalogs.catalog, service_id),
        )
    )


async def refuse_card_action(callback: CallbackQuery, r: Renderer, platform: Platform) -> None:
    """Anyone but the group's clerks pressing a card's or a list's button is told they are not one (and it is logged)."""
    message = callback.message
    if message is None:
        await callback.answer()
        return
    logger.warning(
        "refused a clerk's button pressed by %s:%s in chat %s",
        platform.value,
        callback.from_user.id,
        message.chat.id,
    )
    await callback.answer(r.plain("op.not_clerk"), show_alert=True)


async def cancel_text(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.reply(r.text("op.cancelled"))


async def action_text(
    message: Message,
    org: Organization,
    actor: handling.ActorRef,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    settings: Settings,
    state: FSMContext,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """The text a clerk was asked for: run the action they pressed with it.

    A mistake the clerk can fix by typing again (an amount that is not a number) keeps the question open;
    any other refusal closes it and redraws the card, which may have changed meanwhile.
    """
    data = await state.get_data()
    action = CLERK_ACTIONS[str(data.get("act"))]
    request_id = int(data.get("req", 0))
    text = (message.text or "").strip()
    call = _call(catalogs, settings, org, actor, request_id, Status(str(data.get("seen"))), text)
    if action.picks_organization:
        call = replace(
            call,
            transfer_to=str(data.get("to", "")),
            directory=CatalogDirectory(catalogs.catalog),
            transfer_service=str(data["svc"]) if data.get("svc") else None,
        )
    try:
        change = await _run(session_factory, outbox, lambda s: action.run(s, call))
    except MizError as error:
        if action.lets_retype(error):
            await message.reply(r.text("op.invalid", error=error.render(r.lang)))
            return
        await state.clear()
        await message.reply(r.text("op.invalid", error=error.render(r.lang)))
        await _redraw(session_factory, outbox, platform, message.chat.id, actor, request_id)
        return
    await state.clear()
    if isinstance(change, handling.Change) and change.certificate_code is not None:
        code = format_certificate_code(change.certificate_code)
        await message.reply(r.text("op.done.complete_certificate", certificate=code))
        return
    await message.reply(r.text(action.done_key))


async def drop_text(message: Message, state: FSMContext) -> None:
    """The text of someone who is no longer a clerk of the group: the question is dropped, unanswered."""
    await state.clear()


async def group_help(message: Message, r: Renderer, platform: Platform, catalogs: CatalogHolder) -> None:
    org = catalogs.catalog.organization_by_group(platform.value, message.chat.id)
    if org is None:
        await message.answer(r.text("op.unknown_group"))
        return
    key = "op.help.agency" if org.kind is OrganizationKind.AGENCY else "op.help"
    await message.answer(r.text(key, org=org.name.get("fa")))


async def manage_clerks(
    message: Message,
    command: CommandObject,
    org: Organization,
    clerk: Clerk,
    bot: Bot,
    r: Renderer,
    platform: Platform,
    clerks: ClerkRegistry,
) -> None:
    """A supervisor, or a clerk who administers the group, adds or removes a clerk by replying to them."""
    if not clerks.is_supervisor(org.id, platform.value, clerk.user_id):
        member = await bot.get_chat_member(message.chat.id, clerk.user_id)
        if member.status not in ("creator", "administrator"):
            await message.reply(r.text("op.clerks.not_allowed"))
            return
    target = message.reply_to_message.from_user if message.reply_to_message else None
    if target is None or target.is_bot:
        await message.reply(r.text("op.clerks.usage"))
        return
    name = " ".join(p for p in (target.first_name, target.last_name) if p)
    if command.command == "addclerk":
        added = await clerks.add(org.id, platform.value, target.id, name, f"{platform.value}:{clerk.user_id}")
        logger.info(
            "clerk %s:%s %s to %s", platform.value, target.id, "added" if added else "was already", org.id
        )
        await message.reply(r.text("op.clerks.added" if added else "op.clerks.already", name=name))
        return
    removed = await clerks.remove(org.id, platform.value, target.id)
    await message.reply(r.text("op.clerks.removed" if removed else "op.clerks.not_removable", name=name))


async def list_clerks(
    message: Message,
    org: Organization,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    clerks: ClerkRegistry,
) -> None:
    names = [c.name.get("fa") for c in catalogs.catalog.clerks(org.id) if c.platform.value == platform.value]
    names += [c.name.get("fa") for c in clerks.added(org.id) if c.platform.value == platform.value]
    await message.answer(
        r.text("op.clerks.list", org=org.name.get("fa"), names=r.plain("bot.list.sep").join(names))
    )


async def open_request(
    message: Message,
    command: CommandObject,
    org: Organization,
    r: Renderer,
    catalogs: CatalogHolder,
    clerks: ClerkRegistry,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """``/open CODE``: the request's whole file (every answer, event and note), in as many messages as needed."""
    catalog = catalogs.catalog
    pages = await request_history(
        session_factory, clerks, r, org.id, command.args or "", lambda org_id: org_label(catalog, org_id)
    )
    for page in pages or [r.text("op.list.empty.find")]:
        await message.answer(page)


async def work_list(
    message: Message,
    command: CommandObject,
    org: Organization,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """``/open``, ``/mine``, ``/overdue``: the first page of the organization's open requests, the clerk's own,
    the late ones, with how many there are and buttons to the other pages; in an agency's group, ``/open`` and
    ``/overdue`` list the inquiries waiting for its answer instead."""
    today = datetime.now(TEHRAN).date()
    text, markup = await _list_page(
        session_factory, org, actor, r, catalogs, ListKind(command.command), 0, today
    )
    await message.answer(text, reply_markup=markup)


async def work_list_page(
    callback: CallbackQuery,
    callback_data: ListPage,
    org: Organization,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A clerk pressed a list's previous/next button: that page of the list, of the group's organization."""
    message = callback.message
    assert message is not None  # the router takes presses on a group's message only
    today = datetime.now(TEHRAN).date()
    text, markup = await _list_page(
        session_factory, org, actor, r, catalogs, callback_data.kind, callback_data.page, today
    )
    await callback.answer()
    if isinstance(message, Message):
        await message.edit_text(text, reply_markup=markup)


async def _list_page(
    factory: async_sessionmaker[AsyncSession],
    org: Organization,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    kind: ListKind,
    number: int,
    today: date,
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``number`` of list ``kind`` as a message: an agency's inquiries (it files no requests, and its
    inquiries are nobody's own: its ``/mine`` stays the requests' list), or the organization's requests."""
    async with factory() as session:
        if org.kind is OrganizationKind.AGENCY and kind is not ListKind.MINE:
            inquiries = await inquiry_page(session, actor, kind, today=today, page=number)
            return waiting_list(r, catalogs.catalog, inquiries, today)
        page = await work_page(session, actor, kind, today=today, page=number)
    return _work_page(r, page, today)


async def find(
    message: Message,
    command: CommandObject,
    actor: handling.ActorRef,
    r: Renderer,
    platform: Platform,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """``/find CODE`` or ``/find NATIONAL_ID``: the requests found, and a fresh card when there is just one."""
    typed = command.args or ""
    query = normalize_identifier(typed)
    today = datetime.now(TEHRAN).date()
    async with session_factory() as session:
        if is_well_formed(typed):
            request = await handling.find_by_code(session, actor, typed)
            found = handling.Found((Listed.of(request),), 1) if request is not None else handling.Found((), 0)
        elif query.isdigit() and len(query) == 10:
            found = await handling.find_by_national_id(session, actor, query)
        else:
            await message.answer(r.text("op.find.usage"))
            return
    if found.total == 1 and found.items[0].id is not None:
        await _redraw(session_factory, outbox, platform, message.chat.id, actor, found.items[0].id)
    await message.answer(_found(r, found, today))


async def transfer_command(
    message: Message,
    command: CommandObject,
    clerk: Clerk,
    actor: handling.ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """``/transfer CODE``: the organization picker for a request found by its code. It is how the governorate,
    whose cards of other organizations' requests have no buttons, sends one where it belongs; a clerk may use it
    for their own organization's requests too. ``desk.transfers`` decides who may transfer what."""
    typed = command.args or ""
    if not is_well_formed(typed):
        await message.reply(r.text("op.transfer.usage"))
        return
    directory = CatalogDirectory(catalogs.catalog)
    try:
        async with session_factory() as session:
            request = await handling.find_by_code(session, actor, typed)
            if request is None or request.id is None:
                await message.reply(r.text("op.list.empty.find"))
                return
            targets = await _destinations(session, request.id, actor, directory)
    except MizError as error:
        await message.reply(r.text("op.invalid", error=error.render(r.lang)))
        return
    markup = picker(r, catalogs.catalog, request.id, Status(request.status), targets, 0)
    await message.reply(r.text("op.transfer.pick", clerk=clerk.name.get("fa")), reply_markup=markup)


async def refuse_command(message: Message, r: Renderer) -> None:
    """A clerk's command from anyone else."""
    await message.answer(r.text("op.not_clerk"))


async def reply_to_card(
    message: Message,
    org: Organization,
    actor: handling.ActorRef,
    r: Renderer,
    platform: Platform,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    """A clerk's reply to a card or a message of a request: ``/note ...`` is an internal note, anything else
    (text, photo, document, ...) goes to the citizen."""
    replied = message.reply_to_message
    assert replied is not None  # registered for replies only
    async with session_factory() as session:
        request = await GroupMessages(session).find_request(
            platform.value, message.chat.id, replied.message_id
        )
    if request is None or request.id is None:
        return
    request_id = request.id
    text = message.text or message.caption
    try:
        if text and text.startswith("/note"):
            note = text.removeprefix("/note").strip()
            if not note:
                await message.reply(r.text("op.note.usage"))
                return
            groups = catalogs.catalog.operator_groups(org.id)
            await _run(
                session_factory,
                outbox,
                lambda s: handling.add_note(s, request_id, actor, note, groups=groups),
            )
            await message.reply(r.text("op.note.saved"))
            return
        copied = None if message.text else Copied(chat_id=message.chat.id, message_id=message.message_id)
        await _run(
            session_factory,
            outbox,
            lambda s: clerk_message(s, request_id, actor, text=text, copied=copied),
        )
    except MizError as error:
        await message.reply(r.text("op.invalid", error=error.render(r.lang)))
        return
    await message.reply(r.text("op.relayed"))


async def ignore_reply(message: Message) -> None:
    """A reply from anyone but the group's clerks: left alone."""


def _call(
    catalogs: CatalogHolder,
    settings: Settings,
    org: Organization,
    actor: handling.ActorRef,
    request_id: int,
    seen: Status,
    text: str = "",
) -> ActionCall:
    return ActionCall(
        request_id=request_id,
        actor=actor,
        seen_status=seen,
        groups=catalogs.catalog.operator_groups(org.id),
        text=text,
        # Bill and payment IDs use the company code of the group's organization (a request's organization,
        # except for the governorate's complaints, which have none).
        company_code=org.billing.company_code if org.billing is not None else None,
        bale_invoice=settings.bale_provider_token is not None,
    )


async def _run(
    factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    work: Callable[[AsyncSession], Awaitable[T]],
) -> T:
    """``work`` in one write transaction, then wake the outbox sender for the notifications it queued."""
    async with unit_of_work(factory, write=True) as session:
        result = await work(session)
    outbox.notify()
    return result


async def _redraw(
    factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    platform: Platform,
    chat_id: int,
    actor: handling.ActorRef,
    request_id: int,
) -> None:
    """Queue a fresh drawing of a card that showed an old state, if the actor may see that request at all."""
    with contextlib.suppress(NotFound):
        await _run(
            factory,
            outbox,
            lambda s: handling.show_card(s, request_id, actor, platform=platform.value, chat_id=chat_id),
        )


def _work_page(r: Renderer, page: WorkPage, today: date) -> tuple[str, InlineKeyboardMarkup | None]:
    """A work list's page as a message: how many in all, which page, its requests, and buttons to the others."""
    if not page.total:
        return r.text(f"op.list.empty.{page.kind}"), None
    head = list_heading(r, page, f"op.list.title.{page.kind}")
    nav = list_nav(r, page)
    markup = InlineKeyboardMarkup(inline_keyboard=[nav]) if nav else None
    return "\n".join([*head, *_item_lines(r, page.items, today)]), markup


def _found(r: Renderer, found: handling.Found, today: date) -> str:
    """What ``/find`` found: how many in all, the newest of them, and how to open any one."""
    if not found.total:
        return r.text("op.list.empty.find")
    lines = [r.text("op.list.title.find", count=format_number(found.total, r.lang))]
    if found.total > len(found.items):
        lines.append(
            r.text(
                "op.find.newest",
                shown=format_number(len(found.items), r.lang),
                count=format_number(found.total, r.lang),
            )
        )
    return "\n".join([*lines, *_item_lines(r, found.items, today)])


def _item_lines(r: Renderer, items: Sequence[Listed], today: date) -> list[str]:
    """One line per request: tracking code, service, status, deadline, and ⚠️ when it is past."""
    return [
        r.text(
            "op.list.item",
            code=format_tracking_code(item.tracking_code, r.lang),
            title=Title.parse(item.title).text(r.lang),
            status=r.plain(Status(item.status).label_key),
            deadline=format_jalali_date(item.deadline, r.lang) if item.deadline else "—",
            late="⚠️" if item.deadline and item.deadline < today else "",
        )
        for item in items
    ]
