"""Keyboards: the persistent main menu and paged inline lists, with every label from the locale."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.callbacks import ListPage, MenuOpen
from bot.platforms import Platform
from bot.render import Renderer
from desk.persian import format_number
from desk.worklists import PAGE_SIZE as LIST_PAGE_SIZE
from desk.worklists import Paged

__all__ = ["MENU_KEYS", "MENU_ROWS", "PAGE_SIZE", "Choice", "cancel_keyboard", "main_menu", "paged"]

PAGE_SIZE = 8
"""Items per page: a phone screen shows about eight buttons without scrolling."""

MENU_ROWS: tuple[tuple[str, ...], ...] = (
    ("bot.menu.services",),
    ("bot.menu.my_requests", "bot.menu.track"),
    ("bot.menu.fees",),
    ("bot.menu.dues", "bot.menu.verify"),
    ("bot.menu.complaint", "bot.menu.help"),
    ("bot.menu.sms", "bot.menu.language"),
)
"""The main menu, row by row; each entry is a working feature (no "coming soon")."""

MENU_KEYS = tuple(key for row in MENU_ROWS for key in row)
"""The main menu's entries, in order."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One button of a paged list."""

    label: str
    data: CallbackData


def main_menu(r: Renderer) -> ReplyKeyboardMarkup:
    """The persistent reply keyboard shown under the chat (built once per platform and language)."""
    return _main_menu(r.platform, r.lang)


@functools.cache
def _main_menu(platform: Platform, lang: str) -> ReplyKeyboardMarkup:
    r = Renderer.get(platform, lang)
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=r.plain(key)) for key in row] for row in MENU_ROWS],
        resize_keyboard=True,
        is_persistent=True,
    )


def cancel_keyboard(r: Renderer) -> ReplyKeyboardMarkup:
    """The reply keyboard of a dialog that waits for typed text (a code, an ID): only "cancel"."""
    return _cancel_keyboard(r.platform, r.lang)


@functools.cache
def _cancel_keyboard(platform: Platform, lang: str) -> ReplyKeyboardMarkup:
    r = Renderer.get(platform, lang)
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=r.plain("bot.form.cancel"))]], resize_keyboard=True, is_persistent=True
    )


def paged(
    r: Renderer,
    choices: Sequence[Choice],
    page: int,
    page_data: Callable[[int], CallbackData],
    back: CallbackData | None = None,
    columns: int = 1,
) -> InlineKeyboardMarkup:
    """An inline keyboard showing one page of ``choices`` with previous/next and back buttons."""
    pages = max(1, (len(choices) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    visible = choices[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows: list[list[InlineKeyboardButton]] = []
    for start in range(0, len(visible), columns):
        rows.append(
            [
                InlineKeyboardButton(text=c.label, callback_data=c.data.pack())
                for c in visible[start : start + columns]
            ]
        )
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(
            InlineKeyboardButton(text=r.plain("bot.nav.prev"), callback_data=page_data(page - 1).pack())
        )
    if page < pages - 1:
        nav.append(
            InlineKeyboardButton(text=r.plain("bot.nav.next"), callback_data=page_data(page + 1).pack())
        )
    if nav:
        rows.append(nav)
    rows.append(
        [InlineKeyboardButton(text=r.plain("bot.nav.back"), callback_data=(back or MenuOpen()).pack())]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def list_heading(r: Renderer, page: Paged[Any], title: str) -> list[str]:
    """The head of a page of a clerks' or an agency's list: the ``title`` text with how many in all, and which
    page of how many with its first and last line numbers when there is more than one."""
    lines = [r.text(title, count=format_number(page.total, r.lang))]
    if page.pages > 1:
        first = page.page * LIST_PAGE_SIZE + 1
        lines.append(
            r.text(
                "op.list.page",
                page=format_number(page.page + 1, r.lang),
                pages=format_number(page.pages, r.lang),
                first=format_number(first, r.lang),
                last=format_number(first + len(page.items) - 1, r.lang),
            )
        )
    return lines


def list_nav(r: Renderer, page: Paged[Any]) -> list[InlineKeyboardButton]:
    """The previous and next buttons of a page of a list (none on a single page); they name only the list's
    kind and page, never an organization: the presser's own group chooses whose list it is."""
    nav: list[InlineKeyboardButton] = []
    if page.has_previous:
        data = ListPage(kind=page.kind, page=page.page - 1).pack()
        nav.append(InlineKeyboardButton(text=r.plain("bot.nav.prev"), callback_data=data))
    if page.has_next:
        data = ListPage(kind=page.kind, page=page.page + 1).pack()
        nav.append(InlineKeyboardButton(text=r.plain("bot.nav.next"), callback_data=data))
    return nav
