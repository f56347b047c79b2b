"""The citizen's commands, which work in every conversation state: ``/start`` (and the links that open the bot
with a payload, ``desk.deeplinks``), ``/help``, ``/cancel``, ``/track [CODE]``, ``/verify [CODE]`` and ``/sms``.

This router comes before every dialog's router, so no conversation swallows a command (a form's question, or
the poll's comment, would otherwise read ``/verify K7QM-2XPD-9HRK`` as its answer). A command leaves the dialog
it interrupts; an unfinished request form is set aside, not lost (``bot.dialogs.form.park_form``), and offered
again after the command's answer. ``/cancel`` is what the dialog's "cancel" button does: it ends the dialog, a
form with it. Commands in operator groups are the clerks' (``bot.handlers.operator``): this router only serves
private chats.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogs import browse, form, sms_settings, track, verify
from bot.dialogs.common import back_to_menu
from bot.handlers.start import help_, welcome
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import Form
from catalog.loader import CatalogHolder
from config.settings import Settings
from desk.deeplinks import read_payload
from desk.throttle import Limiter

__all__ = ["router"]


@asynccontextmanager
async def interrupting(
    message: Message, r: Renderer, state: FSMContext, catalogs: CatalogHolder
) -> AsyncIterator[None]:
    """Leave the dialog for a command's answer; an unfinished form is set aside first, and the form set aside
    (now or earlier) is offered again after the answer."""
    await form.park_form(state, catalogs)
    yield
    kept = await form.parked_form(state, catalogs)
    if kept is not None:
        await form.offer_parked(message, r, kept)


async def start(
    message: Message,
    command: CommandObject,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    throttle: Limiter,
    track_code_throttle: Limiter,
) -> None:
    """``/start``: the welcome and the main menu, from any step of any dialog; or, with a link's payload
    (``desk.deeplinks``), the tracking, service card or organization it opens."""
    link = read_payload(command.args or "")
    async with interrupting(message, r, state, catalogs):
        if link is None:
            await welcome(message, r)
        elif link.code is not None:  # as if typed: the same guessing limits and national ID question
            await track.track_text(
                message,
                link.code,
                r,
                platform,
                state,
                catalogs,
                session_factory,
                throttle,
                track_code_throttle,
            )
        elif link.organization is not None:
            await browse.open_link(message, r, catalogs, state, link.organization, link.service)


async def help_command(message: Message, r: Renderer, state: FSMContext, catalogs: CatalogHolder) -> None:
    async with interrupting(message, r, state, catalogs):
        await help_(message, r)


async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
    """``/cancel``: end the dialog, as its "cancel" button does (a form is dropped, as its button drops it)."""
    if await state.get_state() in Form:
        await form.cancel(message, r, state)
    else:
        await back_to_menu(message, r, state)


async def track_command(
    message: Message,
    command: CommandObject,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    throttle: Limiter,
    track_code_throttle: Limiter,
) -> None:
    """``/track CODE`` (the code may carry the national ID's last four digits), or ``/track`` alone, which asks
    for the code."""
    async with interrupting(message, r, state, catalogs):
        if not command.args:
            await track.ask_code(message, r, state)
            return
        await track.track_text(
            message,
            command.args,
            r,
            platform,
            state,
            catalogs,
            session_factory,
            throttle,
            track_code_throttle,
        )


async def verify_command(
    message: Message,
    command: CommandObject,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    certificate_throttle: Limiter,
) -> None:
    async with interrupting(message, r, state, catalogs):
        await verify.verify_command(
            message, command, r, platform, state, catalogs, session_factory, certificate_throttle
        )


async def sms_command(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with interrupting(message, r, state, catalogs):
        await sms_settings.show(message, r, platform, settings, session_factory)


def router() -> Router:
    """The citizen's commands, in private chats, whatever the conversation's state."""
    r = Router(name="commands")
    r.message.filter(F.chat.type == "private")
    r.message.register(start, CommandStart())
    r.message.register(help_command, Command("help"))
    r.message.register(cancel, Command("cancel"))
    r.message.register(track_command, Command("track"))
    r.message.register(verify_command, Command("verify"))
    r.message.register(sms_command, Command("sms"))
    return r
