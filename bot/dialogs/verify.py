"""Certificate verification (تصدیق گواهی): ``/verify CODE``, or the menu entry that asks for the code.

Whoever is shown a certificate (a bank, a notary, a buyer) sees whether it is valid, expired or revoked, with the
holder's name masked. Unknown codes are throttled (``desk.certificates.certificate_throttle``); a mistyped code is
caught by its check character before any look-up and is not counted.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogs.common import back_to_menu, refuse_for_now, typed_text
from bot.forms import nav_labels
from bot.handlers.start import menu_labels
from bot.keyboards import cancel_keyboard, main_menu
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import Verify
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk.certificates import CertificateView, VerifyStatus, format_certificate_code
from desk.errors import Throttled, ValidationError
from desk.guessing import verify_by_code
from desk.persian import TEHRAN, format_jalali_date
from desk.throttle import Limiter

__all__ = ["render_certificate", "router", "verify_command"]


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
    """Verify the certificate code ``text`` and show what it certifies, or why not."""
    try:
        async with session_factory() as session:
            view = await verify_by_code(
                session,
                text,
                datetime.now(TEHRAN).date(),
                platform=platform.value,
                user_id=message.from_user.id if message.from_user else 0,
                limiter=throttle,
            )
    except Throttled as error:
        await refuse_for_now(message, r, state, error)
        return
    except ValidationError as error:  # a mistyped code (not counted): asked again
        await state.set_state(Verify.code)
        await message.answer(
            r.text("bot.form.invalid", error=error.render(r.lang)), reply_markup=cancel_keyboard(r)
        )
        return
    await state.clear()
    if view.status is VerifyStatus.UNKNOWN:
        await message.answer(
            r.text("bot.verify.unknown", code=format_certificate_code(view.code)), reply_markup=main_menu(r)
        )
        return
    await message.answer(render_certificate(r, view, catalogs), reply_markup=main_menu(r))


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
    """``/verify CODE``, or ``/verify`` alone, which asks for the code (registered by ``bot.handlers.commands``)."""
    if not command.args:
        await state.set_state(Verify.code)
        await message.answer(r.text("bot.verify.ask"), reply_markup=cancel_keyboard(r))
        return
    await _verify(message, r, platform, state, catalogs, session_factory, certificate_throttle, command.args)


async def ask(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Verify.code)
    await message.answer(r.text("bot.verify.ask"), reply_markup=cancel_keyboard(r))


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


def router() -> Router:
    """Handlers of certificate verification."""
    r = Router(name="verify")
    r.message.filter(F.chat.type == "private")
    r.message.register(ask, F.text.in_(menu_labels("bot.menu.verify")))
    r.message.register(back_to_menu, Verify.code, F.text.in_(nav_labels("cancel")))
    r.message.register(code, Verify.code, typed_text())
    return r
