"""Certificate verification (تصدیق گواهی): ``/verify CODE``, or the menu entry that asks for the code.

Whoever is shown a certificate (a bank, a notary, a buyer) sees whether it is valid, expired or revoked, with the
holder's name masked. Unknown codes are throttled (``desk.certificates.certificate_throttle``); a mistyped code is
caught by its check character before any look-up and is not counted.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.forms import nav_labels
from bot.guessing import guesser_key, refuse_for_now
from bot.handlers.start import menu_labels
from bot.keyboards import MENU_KEYS, cancel_keyboard, main_menu
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import Verify
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk.certificates import CertificateView, VerifyStatus, format_certificate_code, verify_certificate
from desk.errors import Throttled, ValidationError
from desk.persian import TEHRAN, format_jalali_date
from desk.throttle import Limiter

__all__ = ["render_certificate", "router"]


def render_certificate(r: Renderer, view: CertificateView, catalogs: CatalogHolder) -> str:
    """A found certificate as the verifier reads it, in Jalali dates."""
    try:
        org = catalogs.catalog.organization(view.organization_id).name.get(r.lang)
    except NotInCatalogError:
        org = view.organization_id
    return r.template(
        "certificate.j2",
        status=view.status.value,
        type=r.plain(view.type.label_key) if view.type else "",
        holder=view.holder,
        property=r.digits(view.property),  # stored normalized (ASCII digits); shown in the reader's digits
        org=org,
        issued=format_jalali_date(view.issued_on, r.lang) if view.issued_on else "—",
        valid_until=format_jalali_date(view.valid_until, r.lang) if view.valid_until else "",
        revoked_reason=r.digits(view.revoked_reason or ""),
        revoked_on=format_jalali_date(view.revoked_at, r.lang) if view.revoked_at else "—",
        code=format_certificate_code(view.code),
    )


def router() -> Router:
    """Handlers of certificate verification."""
    r_ = Router(name="verify")
    r_.message.filter(F.chat.type == "private")
    other_buttons = set().union(*(menu_labels(key) for key in MENU_KEYS)) | nav_labels("cancel")

    async def _verify(
        message: Message,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
        throttle: Limiter,
        text: str,
    ) -> None:
        key = guesser_key(platform, message)
        try:
            # Counted before the look-up (so concurrent guesses cannot all pass), given back unless unknown.
            attempt = await throttle.attempt(key)
        except Throttled as error:
            await refuse_for_now(message, r, state, error)
            return
        try:
            async with session_factory() as session:
                view = await verify_certificate(session, text, datetime.now(TEHRAN).date())
        except ValidationError as error:  # a mistyped code: ask again, not counted
            await throttle.give_back(attempt)
            await state.set_state(Verify.code)
            await message.answer(
                r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=cancel_keyboard(r)
            )
            return
        await state.clear()
        if view.status is VerifyStatus.UNKNOWN:  # stays counted
            await message.answer(
                r.text("bot.verify.unknown", code=format_certificate_code(view.code)),
                reply_markup=main_menu(r),
            )
            return
        await throttle.give_back(attempt)
        await message.answer(render_certificate(r, view, catalogs), reply_markup=main_menu(r))

    @r_.message(Command("verify"))
    async def command(
        message: Message,
        command: CommandObject,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
        certificate_throttle: Limiter,
    ) -> None:
        if not command.args:
            await state.set_state(Verify.code)
            await message.answer(r.text("bot.verify.ask"), reply_markup=cancel_keyboard(r))
            return
        await _verify(
            message, r, platform, state, catalogs, session_factory, certificate_throttle, command.args
        )

    @r_.message(F.text.in_(menu_labels("bot.menu.verify")))
    async def ask(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await state.set_state(Verify.code)
        await message.answer(r.text("bot.verify.ask"), reply_markup=cancel_keyboard(r))

    @r_.message(Verify.code, F.text.in_(nav_labels("cancel")))
    async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))

    @r_.message(Verify.code, F.text, ~F.text.in_(other_buttons))
    async def code(
        message: Message,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
        certificate_throttle: Limiter,
    ) -> None:
        await _verify(
            message, r, platform, state, catalogs, session_factory, certificate_throttle, message.text or ""
        )

    return r_
