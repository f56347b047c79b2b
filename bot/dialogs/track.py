"""Following requests: "my requests", and tracking by code.

Someone else's request is shown only with the national ID written in it, whole or its last four digits, either
asked for after the code or sent with it in one message ("123412341234 5678", what fits an SMS). Four digits
are only 10,000 possibilities: two limits count every wrong guess of them, the guesser's (``throttle``, 5 per
10 minutes) and the code's, whoever guesses (``track_code_throttle``, 10 a day), and keep them from being tried
one by one (see ``desk.throttle``). A code strangers have used up still shows the request to its owner.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.forms import nav_labels
from bot.guessing import Guess, guesser_key, refuse_for_now, tracking_code_key
from bot.handlers.start import menu_labels
from bot.keyboards import cancel_keyboard, main_menu
from bot.platforms import Platform
from bot.render import Renderer
from bot.states import FormKeys, Track
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk.errors import NotFound, Throttled, ValidationError
from desk.lifecycle import Status
from desk.persian import format_jalali_date, normalize_identifier
from desk.requests import Title, TrackView, my_requests, split_code_and_tail, track
from desk.throttle import Limiter
from desk.tracking import TRACKING_CODE_LENGTH, format_tracking_code

__all__ = ["router"]

MINE_SHOWN = 20
"""Requests "my requests" lists, newest first; older ones are followed by their tracking code."""


def _org_name(catalogs: CatalogHolder, org_id: str, lang: str) -> str:
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


def render_track_view(r: Renderer, view: TrackView, catalogs: CatalogHolder) -> str:
    """A request's status and public history, in the citizen's language."""
    return r.template(
        "track.j2",
        code=format_tracking_code(view.tracking_code, r.lang),
        title=_title(view.title, r.lang),
        org=_org_name(catalogs, view.organization_id, r.lang),
        status=r.plain(Status(view.status).label_key),
        submitted=format_jalali_date(view.submitted_at, r.lang) if view.submitted_at else "—",
        deadline=format_jalali_date(view.deadline, r.lang) if view.deadline else "—",
        history=[
            {
                "date": format_jalali_date(event.at, r.lang),
                "status": r.plain(Status(event.to_status).label_key) if event.to_status else "",
                "text": event.text or "",
            }
            for event in view.history
        ],
    )


async def _owners_view(
    session_factory: async_sessionmaker[AsyncSession], code: str, platform: Platform, user_id: int
) -> TrackView | None:
    """The request with tracking code ``code`` if ``user_id`` filed it, else None (no national ID compared)."""
    async with session_factory() as session:
        try:
            return await track(session, code, platform=platform.value, user_id=user_id)
        except NotFound:
            return None


def router() -> Router:
    """Handlers of "my requests" and tracking."""
    r_ = Router(name="track")
    r_.message.filter(F.chat.type == "private")

    @r_.message(F.text.in_(menu_labels("bot.menu.my_requests")))
    async def mine(
        message: Message,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
    ) -> None:
        await state.clear()
        if message.from_user is None:
            return
        async with session_factory() as session:
            items = await my_requests(session, platform.value, message.from_user.id, limit=MINE_SHOWN + 1)
        more, items = len(items) > MINE_SHOWN, items[:MINE_SHOWN]
        if not items:
            await message.answer(r.text("bot.mine.empty"), reply_markup=main_menu(r))
            return
        text = r.template(
            "my_requests.j2",
            items=[
                {
                    "title": _title(item.title, r.lang),
                    "org": _org_name(catalogs, item.organization_id, r.lang),
                    "code": item.tracking_code,
                    "status": r.plain(Status(item.status).label_key),
                    "submitted": format_jalali_date(item.submitted_at, r.lang) if item.submitted_at else "—",
                    "deadline": format_jalali_date(item.deadline, r.lang) if item.deadline else "—",
                }
                for item in items
            ],
            more=r.digits(MINE_SHOWN) if more else None,
        )
        await message.answer(text, reply_markup=main_menu(r))

    @r_.message(F.text.in_(menu_labels("bot.menu.track")))
    async def ask_code(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await state.set_state(Track.code)
        await message.answer(r.text("bot.track.ask"), reply_markup=cancel_keyboard(r))

    @r_.message(Track.code, F.text.in_(nav_labels("cancel")))
    @r_.message(Track.national_id, F.text.in_(nav_labels("cancel")))
    async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
        await state.clear()
        await message.answer(r.text("bot.menu.prompt"), reply_markup=main_menu(r))

    async def _lookup(
        message: Message,
        r: Renderer,
        platform: Platform,
        state: FSMContext,
        catalogs: CatalogHolder,
        session_factory: async_sessionmaker[AsyncSession],
        throttle: Limiter,
        code_throttle: Limiter,
        code: str,
        national_id: str | None,
    ) -> None:
        user_id = message.from_user.id if message.from_user else 0
        key = guesser_key(platform, message)
        # A code alone is not counted: whether it exists or belongs to someone else, the answer is the same
        # request for the national ID, so it tells a guesser nothing (and a stranger with a real code keeps all
        # their tries for the ID); a blocked citizen is still refused. A national ID, whole or its last four
        # digits, is counted before the look-up, against the guesser and then against the code, and given back
        # if right: only 10,000 possibilities, and counting only the misses afterwards would let a burst of
        # concurrent guesses all through.
        guess = Guess()
        try:
            if national_id is None:
                await throttle.check(key)
            else:
                await guess.count(throttle, key)
        except Throttled as error:
            await refuse_for_now(message, r, state, error)
            return
        try:
            if national_id is not None:
                await guess.count(code_throttle, tracking_code_key(code))
            async with session_factory() as session:
                view = await track(
                    session, code, platform=platform.value, user_id=user_id, national_id=national_id
                )
        except Throttled as error:  # strangers used up the code's tries: no national ID is compared now
            owners = await _owners_view(session_factory, code, platform, user_id)
            if owners is None:
                await refuse_for_now(message, r, state, error)
                return
            view = owners
        except ValidationError as error:  # a mistyped code never reached the database: not counted
            await guess.give_back()
            await message.answer(r.text("bot.form.invalid", error=error.render(r.lang)))
            return
        except NotFound:  # a wrong national ID stays counted
            if national_id is None:
                await state.set_state(Track.national_id)
                await state.update_data({FormKeys.TRACK_CODE: code})
                await message.answer(r.text("bot.track.ask_national_id"), reply_markup=cancel_keyboard(r))
            else:
                await state.clear()
                await message.answer(r.text("bot.track.not_found"), reply_markup=main_menu(r))
            return
        await guess.give_back()  # a right national ID (or the owner's own request) is not a failure
        await state.clear()
        await message.answer(render_track_view(r, view, catalogs), reply_markup=main_menu(r))

    @r_.message(Track.code, F.text)
    @r_.message(Track.national_id, F.text)
    @r_.message(StateFilter(None), F.text.func(_looks_like_code))
    @r_.message(StateFilter(None), F.text.func(_looks_like_code_and_tail))
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
        digits; or the national ID (whole or its last four digits) asked for after a code."""
        text = message.text or ""
        limits = (throttle, track_code_throttle)
        if await state.get_state() == Track.national_id.state:
            code = str((await state.get_data()).get(FormKeys.TRACK_CODE, ""))
            await _lookup(message, r, platform, state, catalogs, session_factory, *limits, code, text)
            return
        split = split_code_and_tail(text)
        if split is not None:
            code, tail = split
            await _lookup(message, r, platform, state, catalogs, session_factory, *limits, code, tail)
        else:
            await _lookup(message, r, platform, state, catalogs, session_factory, *limits, text, None)

    return r_
