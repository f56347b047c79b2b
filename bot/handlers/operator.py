"""The clerks' desk in each organization's operator group: card actions, the conversation bridge, commands.

Who may act is decided here (a registered clerk of the organization whose group this is); what may happen is
decided by ``desk`` (the lifecycle, and the status the clerk saw on the card). Every change is committed with
its notifications in one transaction, then the outbox sender is woken to deliver them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message, User
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.callbacks import CardAction
from bot.clerks import ClerkRegistry
from bot.notifier import Notifier
from bot.operator_cards import request_history
from bot.platforms import GROUP_CHAT_TYPES, Platform
from bot.render import Renderer
from catalog.loader import CatalogHolder
from catalog.schema import Clerk, ClerkRole, Organization, OrganizationKind
from desk import handling, payments
from desk.bridge import Copied, clerk_message
from desk.certificates import format_certificate_code
from desk.errors import MizError, NotFound
from desk.lifecycle import Actor, Status
from desk.persian import TEHRAN, format_jalali_date, normalize_identifier
from desk.requests import Title
from desk.settings import Settings
from desk.tracking import format_tracking_code, is_well_formed, normalize_tracking_code
from desk.validators import number
from storage.models import ServiceRequest
from storage.repositories import GroupMessages, Requests
from storage.uow import unit_of_work

__all__ = ["OperatorStates", "router"]

logger = logging.getLogger(__name__)

GROUP_TYPES = GROUP_CHAT_TYPES
TEXT_ACTIONS = {"ask_info", "wait_agency", "ask_payment", "complete", "reject"}
"""Actions that need the clerk's text: what is missing, the agency, the amount, the result, the reason."""


RETYPE_ERRORS = {"desk.handling.amount", "payments.amount_thousands"}
"""Errors of the clerk's text that keep the prompt open, so they can type it again."""


class OperatorStates(StatesGroup):
    """A clerk who pressed an action that needs their text, until they send it (per group and clerk)."""

    text = State()


def _org(catalogs: CatalogHolder, platform: Platform, chat_id: int) -> Organization | None:
    return catalogs.catalog.organization_by_group(platform.value, chat_id)


def _staff(
    catalogs: CatalogHolder, clerks: ClerkRegistry, platform: Platform, chat_id: int, user: User | None
) -> tuple[Organization, Clerk] | tuple[None, None]:
    """The organization whose group ``chat_id`` is, and ``user`` as its clerk; (None, None) otherwise."""
    org = _org(catalogs, platform, chat_id)
    clerk = clerks.find(org.id, platform.value, user.id) if org is not None and user is not None else None
    return (org, clerk) if org is not None and clerk is not None else (None, None)


def _actor(clerk: Clerk, org: Organization) -> handling.ActorRef:
    kind = Actor.SUPERVISOR if clerk.role is ClerkRole.SUPERVISOR else Actor.CLERK
    return handling.ActorRef(
        kind=kind,
        platform=clerk.platform.value,
        user_id=clerk.user_id,
        name=clerk.name.get("fa"),
        organization_id=org.id,
        # The governorate oversees every organization: it reads any request, and acts on what is routed to it.
        oversight=org.kind is OrganizationKind.GOVERNORATE,
    )


def _groups(catalogs: CatalogHolder, org_id: str) -> dict[str, int]:
    return catalogs.catalog.operator_groups(org_id)


async def _run(
    factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
    action: Callable[[AsyncSession], Awaitable[Any]],
) -> Any:
    async with unit_of_work(factory, write=True) as session:
        result = await action(session)
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


async def _apply(
    act: str,
    request_id: int,
    seen: str,
    actor: handling.ActorRef,
    groups: dict[str, int],
    text: str | None,
    session: AsyncSession,
    *,
    company_code: int | None = None,
    bale_invoice: bool = False,
) -> handling.Change:
    status = Status(seen)
    if act in ("claim", "takeover"):
        return await handling.claim(session, request_id, actor, seen_status=status, groups=groups)
    if act == "resume":
        return await handling.resume(session, request_id, actor, seen_status=status, groups=groups)
    assert text is not None
    if act == "ask_info":
        return await handling.ask_information(
            session, request_id, actor, text, seen_status=status, groups=groups
        )
    if act == "wait_agency":
        return await handling.wait_for_agency(
            session, request_id, actor, text, seen_status=status, groups=groups
        )
    if act == "ask_payment":
        return await payments.ask_payment(
            session,
            request_id,
            actor,
            number(text),
            company_code=company_code,
            bale_invoice=bale_invoice,
            seen_status=status,
            groups=groups,
        )
    if act == "complete":
        return await handling.complete(session, request_id, actor, text, seen_status=status, groups=groups)
    if act == "reject":
        return await handling.reject(session, request_id, actor, text, seen_status=status, groups=groups)
    raise ValueError(f"unknown card action {act!r}")


def router() -> Router:
    """Handlers of the operator groups."""
    r_ = Router(name="operator")
    r_.message.filter(F.chat.type.in_(GROUP_TYPES))
    r_.callback_query.filter(F.message.chat.type.in_(GROUP_TYPES))

    @r_.callback_query(CardAction.filter())
    async def card_action(
        callback: CallbackQuery,
        callback_data: CardAction,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
        state: FSMContext,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Notifier,
    ) -> None:
        message = callback.message
        if message is None:
            await callback.answer()
            return
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, callback.from_user)
        if org is None or clerk is None:
            logger.warning(
                "refused a card action by %s:%s in chat %s",
                platform.value,
                callback.from_user.id,
                message.chat.id,
            )
            await callback.answer(r.plain("op.not_clerk"), show_alert=True)
            return
        if callback_data.act in TEXT_ACTIONS:
            await state.set_state(OperatorStates.text)
            await state.update_data(
                {"req": callback_data.req, "act": callback_data.act, "seen": callback_data.seen}
            )
            await callback.answer()
            await message.answer(r.text(f"op.prompt.{callback_data.act}", clerk=clerk.name.get("fa")))
            return
        try:
            await _run(
                session_factory,
                outbox,
                lambda s: _apply(
                    callback_data.act,
                    callback_data.req,
                    callback_data.seen,
                    _actor(clerk, org),
                    _groups(catalogs, org.id),
                    None,
                    s,
                ),
            )
        except MizError as error:
            await callback.answer(error.render(r.lang), show_alert=True)
            await _redraw(
                session_factory, outbox, platform, message.chat.id, _actor(clerk, org), callback_data.req
            )
            return
        await callback.answer(r.plain(f"op.done.{callback_data.act}"))

    @r_.message(OperatorStates.text, Command("cancel"))
    async def cancel_text(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await message.reply(r.text("op.cancelled"))

    @r_.message(OperatorStates.text, F.text)
    async def action_text(
        message: Message,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
        state: FSMContext,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Notifier,
        settings: Settings,
    ) -> None:
        data = await state.get_data()
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if org is None or clerk is None:
            await state.clear()
            return
        act, request_id, seen = str(data.get("act")), int(data.get("req", 0)), str(data.get("seen"))
        text = (message.text or "").strip()
        # Bill and payment IDs use the company code of the group's organization (a request's organization,
        # except for the governorate's complaints, which have none).
        company_code = org.billing.company_code if org.billing is not None else None
        bale_invoice = settings.bale_provider_token is not None
        try:
            change: handling.Change = await _run(
                session_factory,
                outbox,
                lambda s: _apply(
                    act,
                    request_id,
                    seen,
                    _actor(clerk, org),
                    _groups(catalogs, org.id),
                    text,
                    s,
                    company_code=company_code,
                    bale_invoice=bale_invoice,
                ),
            )
        except MizError as error:
            if error.key in RETYPE_ERRORS or error.key.startswith("desk.number"):
                await message.reply(r.text("op.invalid", error=error.render(r.lang)))
                return
            await state.clear()
            await message.reply(r.text("op.invalid", error=error.render(r.lang)))
            await _redraw(session_factory, outbox, platform, message.chat.id, _actor(clerk, org), request_id)
            return
        await state.clear()
        if change.certificate_code is not None:
            code = format_certificate_code(change.certificate_code)
            await message.reply(r.text("op.done.complete_certificate", certificate=code))
            return
        await message.reply(r.text(f"op.done.{act}"))

    @r_.message(Command("help"))
    async def group_help(message: Message, r: Renderer, platform: Platform, catalogs: CatalogHolder) -> None:
        org = _org(catalogs, platform, message.chat.id)
        if org is None:
            await message.answer(r.text("op.unknown_group"))
            return
        await message.answer(r.text("op.help", org=org.name.get("fa")))

    @r_.message(Command("addclerk", "removeclerk"))
    async def manage_clerks(
        message: Message,
        command: CommandObject,
        bot: Bot,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
    ) -> None:
        """A supervisor, or a clerk who administers the group, adds or removes a clerk by replying to them."""
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if org is None or clerk is None or message.from_user is None:
            await message.answer(r.text("op.not_clerk"))
            return
        if not clerks.is_supervisor(org.id, platform.value, clerk.user_id):
            member = await bot.get_chat_member(message.chat.id, message.from_user.id)
            if member.status not in ("creator", "administrator"):
                await message.reply(r.text("op.clerks.not_allowed"))
                return
        target = message.reply_to_message.from_user if message.reply_to_message else None
        if target is None or target.is_bot:
            await message.reply(r.text("op.clerks.usage"))
            return
        name = " ".join(p for p in (target.first_name, target.last_name) if p)
        if command.command == "addclerk":
            added = await clerks.add(
                org.id, platform.value, target.id, name, f"{platform.value}:{clerk.user_id}"
            )
            logger.info(
                "clerk %s:%s %s to %s", platform.value, target.id, "added" if added else "was already", org.id
            )
            await message.reply(r.text("op.clerks.added" if added else "op.clerks.already", name=name))
            return
        removed = await clerks.remove(org.id, platform.value, target.id)
        await message.reply(r.text("op.clerks.removed" if removed else "op.clerks.not_removable", name=name))

    @r_.message(Command("clerks"))
    async def list_clerks(
        message: Message, r: Renderer, platform: Platform, catalogs: CatalogHolder, clerks: ClerkRegistry
    ) -> None:
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if org is None or clerk is None:
            await message.answer(r.text("op.not_clerk"))
            return
        names = [
            c.name.get("fa") for c in catalogs.catalog.clerks(org.id) if c.platform.value == platform.value
        ]
        names += [c.name.get("fa") for c in clerks.added(org.id) if c.platform.value == platform.value]
        await message.answer(
            r.text("op.clerks.list", org=org.name.get("fa"), names=r.plain("bot.list.sep").join(names))
        )

    @r_.message(Command("open", magic=F.args))
    async def open_request(
        message: Message,
        command: CommandObject,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        """``/open CODE``: the request's whole file (every answer, event and note), in as many messages as needed."""
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if org is None or clerk is None:
            await message.answer(r.text("op.not_clerk"))
            return
        pages = await request_history(session_factory, clerks, r, org.id, command.args or "")
        for page in pages or [r.text("op.list.empty.find")]:
            await message.answer(page)

    @r_.message(Command("open", "mine", "overdue"))
    async def work_list(
        message: Message,
        command: CommandObject,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if org is None or clerk is None:
            await message.answer(r.text("op.not_clerk"))
            return
        today = datetime.now(TEHRAN).date()
        async with session_factory() as session:
            if command.command == "overdue":
                items = list(await Requests(session).overdue(today, organization_id=org.id))
            else:
                items = list(await Requests(session).open_by_organization(org.id))
        if command.command == "mine":
            items = [
                i
                for i in items
                if i.assignee_platform == platform.value and i.assignee_user_id == clerk.user_id
            ]
        await message.answer(_work_list(r, command.command, items, today))

    @r_.message(Command("find"))
    async def find(
        message: Message,
        command: CommandObject,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Notifier,
    ) -> None:
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if org is None or clerk is None:
            await message.answer(r.text("op.not_clerk"))
            return
        query = normalize_identifier(command.args or "")
        today = datetime.now(TEHRAN).date()
        actor = _actor(clerk, org)
        async with session_factory() as session:
            if is_well_formed(query):
                found = await handling.find_by_code(session, actor, normalize_tracking_code(query))
                items = [found] if found is not None else []
            elif query.isdigit() and len(query) == 10:
                items = await handling.find_by_national_id(session, actor, query)
            else:
                await message.answer(r.text("op.find.usage"))
                return
        if len(items) == 1 and items[0].id is not None:
            await _redraw(session_factory, outbox, platform, message.chat.id, actor, items[0].id)
        await message.answer(_work_list(r, "find", items, today))

    @r_.message(F.reply_to_message)
    async def reply_to_card(
        message: Message,
        r: Renderer,
        platform: Platform,
        catalogs: CatalogHolder,
        clerks: ClerkRegistry,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Notifier,
    ) -> None:
        replied = message.reply_to_message
        org, clerk = _staff(catalogs, clerks, platform, message.chat.id, message.from_user)
        if replied is None or org is None or clerk is None:
            return
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
                await _run(
                    session_factory,
                    outbox,
                    lambda s: handling.add_note(
                        s, request_id, _actor(clerk, org), note, groups=_groups(catalogs, org.id)
                    ),
                )
                await message.reply(r.text("op.note.saved"))
                return
            copied = None if message.text else Copied(chat_id=message.chat.id, message_id=message.message_id)
            await _run(
                session_factory,
                outbox,
                lambda s: clerk_message(s, request_id, _actor(clerk, org), text=text, copied=copied),
            )
        except MizError as error:
            await message.reply(r.text("op.invalid", error=error.render(r.lang)))
            return
        await message.reply(r.text("op.relayed"))

    return r_


def _work_list(r: Renderer, kind: str, items: list[ServiceRequest], today: Any) -> str:
    if not items:
        return r.text(f"op.list.empty.{kind}")
    lines = [r.text(f"op.list.title.{kind}", count=r.digits(len(items)))]
    for item in items[:30]:
        lines.append(
            r.text(
                "op.list.item",
                code=format_tracking_code(item.tracking_code, r.lang),
                title=Title.of(item.service_snapshot).text(r.lang),
                status=r.plain(Status(item.status).label_key),
                deadline=format_jalali_date(item.deadline, r.lang) if item.deadline else "—",
                late="⚠️" if item.deadline and item.deadline < today else "",
            )
        )
    return "\n".join(lines)
