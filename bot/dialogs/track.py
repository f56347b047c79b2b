"""Following requests: tracking by code ("my requests" is `bot.dialogs.mine`).

Someone else's request is shown only with the national ID written in it, whole or its last four digits, either
asked for after the code or sent with it in one message ("123412341234 5678", what fits an SMS). Four digits
are only 10,000 possibilities: two limits count every wrong guess of them, the guesser's (``throttle``, 5 per
10 minutes) and the code's, whoever guesses (``track_code_throttle``, 10 a day), and keep them from being tried
one by one (see ``desk.throttle``). A code strangers have used up still shows the request to its owner.
"""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dialogs.common import back_to_menu, refuse_for_now
from bot.forms import nav_labels
from bot.handlers.start import menu_labels
from bot.keyboards import cancel_keyboard, main_menu
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import FormKeys, Track
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk.errors import NotFound, Throttled, ValidationError
from desk.guessing import track_by_code
from desk.lifecycle import Status
from desk.notices import notice_text
from desk.persian import format_jalali_date, normalize_identifier
from desk.requests import HistoryEntry, Title, TrackView, split_code_and_tail
from desk.throttle import Limiter
from desk.tracking import TRACKING_CODE_LENGTH, format_tracking_code

__all__ = ["ask_code", "router", "track_text"]


def org_name(catalogs: CatalogHolder, org_id: str, lang: str) -> str:
    """An organization's name in ``lang``; its id when the catalog no longer has it."""
    try:
        return catalogs.catalog.organization(org_id).name.get(lang)
    except NotInCatalogError:
        return org_id


def _title(title: Title, lang: str) -> str:
    return (title.en if lang == "en" else None) or title.fa


def _looks_like_code(text: str) -> bool:
    """Twelve digits typed outside any conversation are a tracking code, right or mistyped."""
    digits = normalize_identifier(text)
    return digits.isdigit() and len(digits) == TRACKING_CODE_LENGTH


def _looks_like_code_and_tail(text: str) -> bool:
    """A tracking code and the last four digits of a national ID in one message ("123412341234 5678")."""
    return split_code_and_tail(text) is not None


def _is_code(text: str) -> bool:
    """A tracking code, alone or with the national ID's last four digits: never a national ID (ten digits)."""
    return _looks_like_code(text) or _looks_like_code_and_tail(text)


def render_track_view(r: Renderer, view: TrackView, catalogs: CatalogHolder) -> str:
    """A request's status and public history, in the citizen's language."""
    return r.template("track.j2", **track_context(r, view, catalogs))


def track_context(r: Renderer, view: TrackView, catalogs: CatalogHolder) -> dict[str, Any]:
    """What ``track.j2`` shows of a request (a request's own page shows it too)."""
    return {
        "code": format_tracking_code(view.tracking_code, r.lang),
        "title": _title(view.title, r.lang),
        "org": org_name(catalogs, view.organization_id, r.lang),
        "status": r.plain(Status(view.status).label_key),
        "submitted": format_jalali_date(view.submitted_at, r.lang) if view.submitted_at else "—",
        "deadline": format_jalali_date(view.deadline, r.lang) if view.deadline else "—",
        "waiting": [
            r.plain(
                "bot.track.waiting",
                agency=org_name(catalogs, item.agency_id, r.lang),
                since=format_jalali_date(item.since, r.lang),
                due=format_jalali_date(item.due, r.lang),
            )
            for item in view.waiting
        ],
        "history": [
            {
                "date": format_jalali_date(event.at, r.lang),
                "status": _step(r, event, catalogs),
                "text": notice_text(event.notice, r.lang) if event.notice else event.text or "",
            }
            for event in view.history
        ],
    }


def _step(r: Renderer, event: HistoryEntry, catalogs: CatalogHolder) -> str:
    """What a step of the history did: a transfer names where the request went (and under which service, when
    that changed), any other its new status."""
    if event.transferred_to is not None and event.transfer_key is not None:
        return r.plain(
            event.transfer_key,
            org=org_name(catalogs, event.transferred_to, r.lang),
            service=event.service.text(r.lang) if event.service else "",
        )
    return r.plain(Status(event.to_status).label_key) if event.to_status else ""


async def ask_code(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await state.set_state(Track.code)
    await message.answer(r.text("bot.track.ask"), reply_markup=cancel_keyboard(r))


async def track_request(
    message: Message,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    throttle: Limiter,
    track_code_throttle: Limiter,
) -> None:
    """A code (after "track", or sent outside any conversation), alone or with the national ID's last four
    digits; or the national ID (whole or its last four digits) asked for after a code. Where the national ID
    is asked for, a tracking code instead is a corrected code: it is tracked afresh."""
    await track_text(
        message,
        message.text or "",
        r,
        platform,
        state,
        catalogs,
        session_factory,
        throttle,
        track_code_throttle,
    )


async def track_text(
    message: Message,
    text: str,
    r: Renderer,
    platform: Platform,
    state: FSMContext,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    throttle: Limiter,
    track_code_throttle: Limiter,
) -> None:
    """Track what ``text`` gives (see :func:`track_request`): typed, after ``/track``, or from a link."""
    national_id: str | None
    if await state.get_state() == Track.national_id.state and not _is_code(text):
        code, national_id = str((await state.get_data()).get(FormKeys.TRACK_CODE, "")), text
    else:
        code, national_id = split_code_and_tail(text) or (text, None)
    try:
        async with session_factory() as session:
            view = await track_by_code(
                session,
                code,
                platform=platform.value,
                user_id=message.from_user.id if message.from_user else 0,
                national_id=national_id,
                guesser=throttle,
                per_code=track_code_throttle,
            )
    except Throttled as error:
        await refuse_for_now(message, r, state, error)
        return
    except ValidationError as error:  # a mistyped code or national ID (not counted)
        await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
        return
    except NotFound:
        if national_id is None:  # found or not, a code alone is answered the same way
            await state.set_state(Track.national_id)
            await state.update_data({FormKeys.TRACK_CODE: code})
            await message.answer(r.text("bot.track.ask_national_id"), reply_markup=cancel_keyboard(r))
        else:
            await state.clear()
            await message.answer(r.text("bot.track.not_found"), reply_markup=main_menu(r))
        return
    await state.clear()
    await message.answer(render_track_view(r, view, catalogs), reply_markup=main_menu(r))


def router() -> Router:
    """Handlers of "my requests" and tracking."""
    r = Router(name="track")
    r.message.filter(F.chat.type == "private")
    r.message.register(ask_code, F.text.in_(menu_labels("bot.menu.track")))
    cancel = F.text.in_(nav_labels("cancel"))
    r.message.register(back_to_menu, Track.national_id, cancel)
    r.message.register(back_to_menu, Track.code, cancel)
    r.message.register(track_request, StateFilter(None), F.text.func(_looks_like_code_and_tail))
    r.message.register(track_request, StateFilter(None), F.text.func(_looks_like_code))
    r.message.register(track_request, Track.national_id, F.text)
    r.message.register(track_request, Track.code, F.text)
    return r
