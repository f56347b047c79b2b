"""Reports in the operator groups: ``/report`` (or the typed "📊 گزارش", ``report.button``) and the report's buttons.

Each report is a chart (``desk.charts``, a PNG) followed by its text and buttons. In an organization's group a
clerk gets that organization's figures for the current Jalali month; in the
governorate's group every organization side by side. An agency, which files no requests, gets how it answered
its inquiries instead (``desk.inquiry_reports``: text, no chart), over the same periods. The buttons switch the period (last month, this week, the
last 30 days), the breakdown (by service, by clerk) and, in the governorate's group, the order and the
organization to drill down to. ``/report 1405/07/01 1405/09/30`` reports any Jalali range.

Who may see what is ``desk.reports.check_report_access``, checked again on every press (button data can be
forged); only the group's clerks get an answer at all (``IsClerk``).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clerks import ClerkRegistry
from bot.filters import IsClerk
from bot.handlers.start import menu_labels
from bot.outbox import PayloadHandler
from bot.platforms import GROUP_CHAT_TYPES, Platform
from bot.render import Renderer
from bot.report_names import RowNames
from catalog.loader import CatalogHolder
from catalog.schema import SHORT_ID_MAX, Organization, OrganizationKind
from desk.charts import chart_png
from desk.errors import MizError
from desk.handling import ActorRef
from desk.inquiry_reports import inquiry_figures, inquiry_report_text
from desk.lifecycle import Actor
from desk.persian import TEHRAN
from desk.report_text import report_text
from desk.reports import (
    MAX_PERIOD_DAYS,
    Breakdown,
    Period,
    Report,
    ReportQuery,
    ReportViewer,
    Sort,
    make_report,
    parse_period,
    weekly_trend,
)
from storage.models import OutboxMessage
from storage.uow import unit_of_work

__all__ = ["ReportPage", "report_sender", "router"]

logger = logging.getLogger(__name__)

PeriodCode = Literal["m", "pm", "w", "d30", "r"]
"""This Jalali month, the previous one, this week, the last 30 days, or the range ``a`` to ``b``."""

_DAY = Annotated[int, Field(ge=0, le=date.max.toordinal())]


class ReportPage(CallbackData, prefix="rep"):
    """A report's button: its period, organization (empty: all side by side), breakdown and order.

    ``a`` and ``b`` are the first and last days (``date.toordinal``) of a typed range, 0 otherwise.
    """

    p: PeriodCode
    a: _DAY = 0
    b: _DAY = 0
    org: Annotated[str, Field(max_length=SHORT_ID_MAX, pattern=r"^[a-z0-9_]*$")] = ""
    v: Literal["o", "s", "c"] = "o"
    s: Literal["t", "s", "n"] = "t"


_BREAKDOWNS = {"o": Breakdown.ORGANIZATION, "s": Breakdown.SERVICE, "c": Breakdown.CLERK}
_SORTS = {"t": Sort.ON_TIME, "s": Sort.SATISFACTION, "n": Sort.NAME}


def router() -> Router:
    """``/report`` and its buttons, for the clerks of an operator group; anyone else is told they are not one."""
    r = Router(name="reports")
    r.message.filter(F.chat.type.in_(GROUP_CHAT_TYPES))
    r.callback_query.filter(F.message.chat.type.in_(GROUP_CHAT_TYPES))
    clerk = IsClerk()
    r.message.register(report_command, Command("report"), clerk)
    r.message.register(report_command, F.text.in_(menu_labels("report.button")), clerk)
    r.message.register(refuse, Command("report"))
    r.callback_query.register(report_page, ReportPage.filter(), clerk)
    r.callback_query.register(refuse_page, ReportPage.filter())
    return r


def _today() -> date:
    return datetime.now(TEHRAN).date()


def _period(page: ReportPage, today: date) -> Period:
    """The period a button names; presets are read against ``today``, so "this month" stays current."""
    if page.p == "m":
        return Period.jalali_month(today)
    if page.p == "pm":
        return Period.jalali_month(today, months_back=1)
    if page.p == "w":
        return Period.week(today)
    if page.p == "d30":
        return Period.last_days(today, 30)
    first, last = date.fromordinal(max(page.a, 1)), date.fromordinal(max(page.b, 1))
    if last < first or (last - first).days >= MAX_PERIOD_DAYS:
        return Period.jalali_month(today)  # forged data: the default report, which access still guards
    return Period(first, last)


def _viewer(org: Organization, actor: ActorRef) -> ReportViewer:
    return ReportViewer(organization_id=org.id, kind=actor.kind, governorate=actor.oversight)


async def report_command(
    message: Message,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    clerks: ClerkRegistry,
    session_factory: async_sessionmaker[AsyncSession],
    command: CommandObject | None = None,
) -> None:
    """A clerk asks for a report: this month's, or a typed range's (two Jalali dates)."""
    args = (command.args or "").split() if command is not None else []
    page = ReportPage(p="m", org="" if actor.oversight else org.id)
    if args:
        if len(args) != 2:
            await message.reply(r.text("report.usage"))
            return
        try:
            period = parse_period(args[0], args[1])
        except MizError as error:
            await message.reply(r.text("report.invalid", error=error.render(r.lang)))
            return
        page = ReportPage(p="r", a=period.first.toordinal(), b=period.last.toordinal(), org=page.org)
    try:
        shown = await _show(page, _viewer(org, actor), r, catalogs, clerks, session_factory)
    except MizError as error:
        await message.reply(error.render(r.lang))
        return
    await shown.send(message)


async def report_page(
    callback: CallbackQuery,
    callback_data: ReportPage,
    org: Organization,
    actor: ActorRef,
    r: Renderer,
    catalogs: CatalogHolder,
    clerks: ClerkRegistry,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """A report's button: the report it names, as a new message (the earlier one stays for comparison)."""
    message = callback.message
    assert isinstance(message, Message)  # the router takes presses on a group's message only
    try:
        shown = await _show(callback_data, _viewer(org, actor), r, catalogs, clerks, session_factory)
    except MizError as error:
        await callback.answer(error.render(r.lang), show_alert=True)
        return
    await callback.answer()
    await shown.send(message)


async def refuse(message: Message, r: Renderer) -> None:
    await message.reply(r.text("op.not_clerk"))


async def refuse_page(callback: CallbackQuery, r: Renderer) -> None:
    await callback.answer(r.plain("op.not_clerk"), show_alert=True)


@dataclass(frozen=True, slots=True)
class _Shown:
    """A report as it is sent: its chart with a short caption (an agency's report has none), then its text with
    the buttons."""

    chart: bytes | None
    caption: str
    text: str
    keyboard: InlineKeyboardMarkup

    async def send(self, message: Message) -> None:
        """Post it in ``message``'s chat."""
        await self.send_to(message.bot, message.chat.id)  # type: ignore[arg-type]  # a received message has its bot

    async def send_to(self, bot: Bot, chat_id: int) -> Message:
        """Post it in ``chat_id``; the text's message (the one with the buttons)."""
        if self.chart is not None:
            await bot.send_photo(
                chat_id, BufferedInputFile(self.chart, filename="report.png"), caption=self.caption
            )
        return await bot.send_message(chat_id, self.text, reply_markup=self.keyboard)


async def _show(
    page: ReportPage,
    viewer: ReportViewer,
    r: Renderer,
    catalogs: CatalogHolder,
    clerks: ClerkRegistry,
    session_factory: async_sessionmaker[AsyncSession],
) -> _Shown:
    """The report ``page`` names, if ``viewer`` may see it: its chart, text and buttons."""
    catalog = catalogs.catalog
    today = _today()
    organization_id = page.org or None
    if organization_id is not None and not catalog.has_organization(organization_id):
        organization_id = viewer.organization_id  # a forged id: their own, which access still guards
    if organization_id is not None and catalog.organization(organization_id).kind is OrganizationKind.AGENCY:
        return await _show_agency(page, organization_id, viewer, r, catalogs, session_factory, today)
    query = ReportQuery(
        period=_period(page, today),
        organization_id=organization_id,
        breakdown=_BREAKDOWNS[page.v],
        sort=_SORTS[page.s],
    )
    names = RowNames(catalog, organization_id, r.lang, clerks.find)
    async with unit_of_work(session_factory) as session:
        report = await make_report(
            session,
            query,
            viewer,
            today=today,
            calendar_of=catalog.calendar_for,
            organizations=[o.id for o in catalog.organizations],
            name_of=names,
        )
        trend = await weekly_trend(session, query)
    text = report_text(report, names, r.lang)
    chart = await asyncio.to_thread(chart_png, report, trend, names, r.lang)
    return _Shown(
        chart=chart,
        caption=r.typed(text.split("\n", 1)[0]),
        text=r.typed(text),
        keyboard=_keyboard(page, report, r, names, governorate=viewer.governorate),
    )


async def _show_agency(
    page: ReportPage,
    agency_id: str,
    viewer: ReportViewer,
    r: Renderer,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    today: date,
) -> _Shown:
    """An agency's report of its inquiries for the period ``page`` names, if ``viewer`` may see it."""
    catalog = catalogs.catalog
    async with unit_of_work(session_factory) as session:
        figures = await inquiry_figures(
            session,
            _period(page, today),
            viewer,
            agency_id,
            today=today,
            calendar=catalog.calendar_for(agency_id),
        )
    text = inquiry_report_text(figures, catalog.organization(agency_id).name.get(r.lang), r.lang)
    return _Shown(
        chart=None,
        caption="",
        text=r.typed(text),
        keyboard=InlineKeyboardMarkup(inline_keyboard=[_periods(page, r)]),
    )


def _button(r: Renderer, key: str, page: ReportPage) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=r.plain(key), callback_data=page.pack())


def _keyboard(
    page: ReportPage, report: Report, r: Renderer, names: RowNames, *, governorate: bool
) -> InlineKeyboardMarkup:
    """Periods on the first row; then the breakdowns, or, side by side, the orders and a button per organization."""
    same = page.model_dump()
    rows = [_periods(page, r)]
    if page.org:
        rows.append(
            [
                _button(r, f"report.button.view.{v}", ReportPage(**{**same, "v": v}))
                for v in ("o", "s", "c")
                if v != page.v
            ]
        )
        if governorate:
            rows.append([_button(r, "report.button.all", ReportPage(**{**same, "org": "", "v": "o"}))])
        return InlineKeyboardMarkup(inline_keyboard=rows)
    rows.append(
        [
            _button(r, f"report.button.sort.{s}", ReportPage(**{**same, "s": s}))
            for s in ("t", "s")
            if s != page.s
        ]
    )
    for row in report.rows:
        drill = ReportPage(**{**same, "org": row.key, "v": "o"})
        rows.append([InlineKeyboardButton(text=f"🔎 {names(row.key)}", callback_data=drill.pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def _periods(page: ReportPage, r: Renderer) -> list[InlineKeyboardButton]:
    """A row of the other periods: the previous month, this week, the last 30 days, this month."""
    same = page.model_dump()
    return [
        _button(r, f"report.button.{code}", ReportPage(**{**same, "p": code, "a": 0, "b": 0}))
        for code in ("pm", "w", "d30", "m")
        if code != page.p
    ]


def report_sender(
    factory: async_sessionmaker[AsyncSession], catalogs: CatalogHolder, clerks: ClerkRegistry
) -> PayloadHandler:
    """The outbox handler of ``report`` rows (``desk.report_digests``): the report drawn now, chart first, with
    the buttons of a typed range; the governorate's view or the organization's own, as the row says."""

    async def send(bot: Bot, row: OutboxMessage) -> Message:
        payload = row.payload or {}
        first, last = date.fromisoformat(payload["first"]), date.fromisoformat(payload["last"])
        governorate = bool(payload.get("governorate"))
        viewer = ReportViewer(str(payload["viewer"]), Actor.SYSTEM, governorate=governorate)
        page = ReportPage(
            p="r", a=first.toordinal(), b=last.toordinal(), org="" if governorate else viewer.organization_id
        )
        r = Renderer.get(Platform(str(row.platform)), str(payload.get("lang") or "fa"))
        shown = await _show(page, viewer, r, catalogs, clerks, factory)
        return await shown.send_to(bot, int(row.chat_id or 0))

    return send
