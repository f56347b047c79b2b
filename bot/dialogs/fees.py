"""Fee calculators: organization, fee, one question per input, then the breakdown and the total.

The figures come from the organization's tariff booklet of the year (``catalog.tariffs``); this dialog only
asks, lets ``Input.parse`` judge each answer, and shows ``TariffBook.calculate``'s result. The calculation in
progress lives in the FSM data (in the database), so it survives a restart; its buttons carry a token of
the calculation, so a button of a finished or cancelled one is answered politely instead of acting.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message, TelegramObject

from bot.calculator import input_text, nav_keyboard, question, result_markup, result_text
from bot.callbacks import FeeAnswer, FeeOrgPage, FeeOrgPick, FeePick
from bot.dialogs.common import mark_answered
from bot.forms import NAV_KEYS, nav_labels
from bot.handlers.start import menu_labels
from bot.keyboards import Choice, main_menu, paged
from bot.render import Renderer
from bot.states import FeeKeys, Fees
from catalog.index import Catalog, NotInCatalogError
from catalog.loader import CatalogHolder
from catalog.schema import Organization, OrganizationKind
from catalog.tariffs import Fee, InputType, TariffBook, TariffInputError
from desk.persian import label_for

__all__ = ["router"]

_CALCULATING_KINDS = frozenset({OrganizationKind.MUNICIPALITY, OrganizationKind.DEHYARI})
"""Who collects local fees: municipalities and dehyaris (the governorate has no booklet of its own)."""


def _book(catalog: Catalog, org_id: str, year: int | None = None) -> tuple[Organization, TariffBook] | None:
    """The organization and its booklet (of ``year``, default the one in force), or None when either is gone."""
    try:
        org = catalog.organization(org_id)
        if org.kind not in _CALCULATING_KINDS:
            return None
        return org, catalog.tariffs.book(org.id, year)
    except NotInCatalogError:
        return None


def _org_list(r: Renderer, catalog: Catalog, page: int) -> tuple[str, InlineKeyboardMarkup]:
    choices = [
        Choice(org.name.get(r.lang), FeeOrgPick(org=org.id))
        for org in catalog.organizations
        if _book(catalog, org.id) is not None
    ]
    key = "bot.fees.choose_org" if choices else "bot.fees.none"
    return r.text(key), paged(r, choices, page, lambda p: FeeOrgPage(page=p))


def _fee_list(
    r: Renderer, org: Organization, book: TariffBook, page: int
) -> tuple[str, InlineKeyboardMarkup]:
    choices = [Choice(fee.title.get(r.lang), FeePick(org=org.id, fee=fee.key)) for fee in book.fees]
    markup = paged(r, choices, page, lambda p: FeeOrgPick(org=org.id, page=p), back=FeeOrgPage())
    return r.text("bot.fees.choose_fee", booklet=book.booklet.get(r.lang)), markup


async def _show(
    callback: CallbackQuery, text: str, markup: InlineKeyboardMarkup, *, fresh: bool = False
) -> None:
    """Replace the pressed message's text and buttons (paging and drilling down stay in one message); ``fresh``
    sends a new message instead, leaving the pressed one (a calculation's answer) as it was."""
    await callback.answer()
    message = callback.message
    if isinstance(message, Message) and not fresh:
        await message.edit_text(text, reply_markup=markup)
    elif message is not None and callback.bot is not None:
        await callback.bot.send_message(message.chat.id, text, reply_markup=markup)


@dataclass(frozen=True, slots=True)
class OpenCalculation:
    """The calculation under way: its FSM data, organization, booklet and fee as the catalog has them now."""

    data: dict[str, Any]
    org: Organization
    book: TariffBook
    fee: Fee

    @property
    def step(self) -> int:
        return int(self.data.get(FeeKeys.STEP, 0))

    @property
    def run(self) -> str:
        return str(self.data.get(FeeKeys.RUN, ""))

    @property
    def values(self) -> dict[str, str]:
        return dict(self.data.get(FeeKeys.VALUES, {}))


class CalculationIsOpen(Filter):
    """Passes while the calculation's booklet and fee still exist, handing the handler ``calc: OpenCalculation``.

    Its inverse catches a calculation whose fee was removed or lost inputs in a catalog reload; that case is
    answered once, by ``calculation_gone``.
    """

    async def __call__(
        self, event: TelegramObject, state: FSMContext, catalogs: CatalogHolder
    ) -> bool | dict[str, Any]:
        data = await state.get_data()
        year = data.get(FeeKeys.YEAR)
        found = _book(catalogs.catalog, str(data.get(FeeKeys.ORG, "")), int(year) if year else None)
        if found is None:
            return False
        org, book = found
        try:
            fee = book.fee(str(data.get(FeeKeys.FEE, "")))
        except NotInCatalogError:
            return False
        calc = OpenCalculation(data, org, book, fee)
        if not 0 <= calc.step < len(fee.inputs):
            return False
        return {"calc": calc}


async def _ask(message: Message, r: Renderer, fee: Fee, step: int, run: str) -> None:
    text, buttons = question(r, fee, step, run)
    await message.answer(text, reply_markup=buttons)


async def _stale(callback: CallbackQuery, r: Renderer) -> None:
    """A button of a calculation that is over (answered, cancelled, or replaced by a newer one)."""
    await callback.answer(r.plain("bot.fees.stale", menu=r.plain("bot.menu.fees")), show_alert=True)


async def _missing(callback: CallbackQuery, r: Renderer) -> None:
    """A button naming an organization or fee that the booklet no longer has (catalog edited)."""
    await callback.answer(r.plain("bot.fees.gone"), show_alert=True)


async def _gone(message: Message, r: Renderer, state: FSMContext) -> None:
    """The organization, booklet or fee is gone (catalog edited): start over at the main menu."""
    await state.clear()
    await message.answer(r.text("bot.fees.gone"), reply_markup=main_menu(r))


async def _finish(message: Message, r: Renderer, calc: OpenCalculation, state: FSMContext) -> None:
    """Every input is given: calculate, end the conversation and show the answer with what to do next."""
    await state.clear()
    markup = result_markup(r, calc.org.id, calc.fee.key)
    try:
        calculation = calc.book.calculate(calc.fee.key, calc.values)
    except TariffInputError as error:  # e.g. a figure outside the booklet's table
        await message.answer(
            r.text("bot.fees.invalid", error=error.render(r.lang)), reply_markup=main_menu(r)
        )
        await message.answer(r.text("bot.menu.prompt"), reply_markup=markup)
        return
    await message.answer(r.text("bot.fees.done"), reply_markup=main_menu(r))
    await message.answer(result_text(r, calculation, calc.fee, calc.book, calc.org), reply_markup=markup)


async def _advance(
    message: Message, r: Renderer, calc: OpenCalculation, state: FSMContext, name: str, value: str
) -> None:
    """Keep the answer to the current input, then ask the next one or give the answer."""
    values = {**calc.values, name: value}
    following = calc.step + 1
    if following < len(calc.fee.inputs):
        await state.update_data({FeeKeys.VALUES: values, FeeKeys.STEP: following})
        await _ask(message, r, calc.fee, following, calc.run)
        return
    await _finish(message, r, replace(calc, data={**calc.data, FeeKeys.VALUES: values}), state)


async def open_calculators(message: Message, r: Renderer, catalogs: CatalogHolder, state: FSMContext) -> None:
    await state.clear()
    text, markup = _org_list(r, catalogs.catalog, 0)
    await message.answer(text, reply_markup=markup)


async def org_page(
    callback: CallbackQuery, callback_data: FeeOrgPage, r: Renderer, catalogs: CatalogHolder
) -> None:
    await _show(callback, *_org_list(r, catalogs.catalog, callback_data.page))


async def pick_org(
    callback: CallbackQuery, callback_data: FeeOrgPick, r: Renderer, catalogs: CatalogHolder
) -> None:
    found = _book(catalogs.catalog, callback_data.org)
    if found is None:
        await _missing(callback, r)
        return
    await _show(callback, *_fee_list(r, *found, callback_data.page), fresh=callback_data.fresh)


def _intro(r: Renderer, org: Organization, fee: Fee) -> str:
    """What a calculation asks and how to go back or stop, with the fee's note."""
    intro = [
        r.text(
            "bot.fees.intro",
            title=fee.title.get(r.lang),
            org=org.name.get(r.lang),
            count=r.digits(len(fee.inputs)),
            back=r.plain(NAV_KEYS["back"]),
            cancel=r.plain(NAV_KEYS["cancel"]),
        )
    ]
    if fee.note is not None:
        intro.append(r.text("bot.fees.note", note=fee.note.get(r.lang)))
    return "\n\n".join(intro)


async def start(
    callback: CallbackQuery,
    callback_data: FeePick,
    r: Renderer,
    catalogs: CatalogHolder,
    state: FSMContext,
) -> None:
    """A fee picked: its first question, or at once its answer when it asks nothing."""
    message = callback.message
    found = _book(catalogs.catalog, callback_data.org)
    fee = None
    if found is not None:
        try:
            fee = found[1].fee(callback_data.fee)
        except NotInCatalogError:
            fee = None
    if found is None or fee is None or not isinstance(message, Message):
        await _missing(callback, r)
        return
    await callback.answer()
    org, book = found
    data = {
        FeeKeys.ORG: org.id,
        FeeKeys.FEE: fee.key,
        FeeKeys.YEAR: book.year,
        FeeKeys.STEP: 0,
        FeeKeys.VALUES: {},
        FeeKeys.RUN: uuid.uuid4().hex[:8],
    }
    await state.set_data(data)
    calc = OpenCalculation(data, org, book, fee)
    if not fee.inputs:  # nothing to ask: the answer at once
        await _finish(message, r, calc, state)
        return
    await state.set_state(Fees.asking)
    await message.answer(_intro(r, org, fee), reply_markup=nav_keyboard(r))
    await _ask(message, r, fee, 0, calc.run)


async def cancel(message: Message, r: Renderer, state: FSMContext) -> None:
    await state.clear()
    await message.answer(r.text("bot.fees.cancelled"), reply_markup=main_menu(r))


async def calculation_gone(event: Message | CallbackQuery, r: Renderer, state: FSMContext) -> None:
    message = event.message if isinstance(event, CallbackQuery) else event
    if isinstance(event, CallbackQuery):
        await event.answer()
    if isinstance(message, Message):
        await _gone(message, r, state)


async def back(message: Message, r: Renderer, state: FSMContext, calc: OpenCalculation) -> None:
    if calc.step > 0:
        await state.update_data({FeeKeys.STEP: calc.step - 1})
        await _ask(message, r, calc.fee, calc.step - 1, calc.run)
        return
    await state.clear()  # back from the first question: to the list of the booklet's fees
    await message.answer(r.text("bot.fees.left"), reply_markup=main_menu(r))
    text, markup = _fee_list(r, calc.org, calc.book, 0)
    await message.answer(text, reply_markup=markup)


async def answer(message: Message, r: Renderer, state: FSMContext, calc: OpenCalculation) -> None:
    item = calc.fee.inputs[calc.step]
    try:
        if item.type is not InputType.NUMBER:
            raise TariffInputError("tariffs.input.unknown_choice", texts={"input": item.label})
        value = item.parse(message.text or "")
    except TariffInputError as error:
        await message.answer(r.text("bot.fees.invalid", error=error.render(r.lang)))
        await _ask(message, r, calc.fee, calc.step, calc.run)
        return
    await _advance(message, r, calc, state, item.name, str(value))


async def answer_button(
    callback: CallbackQuery,
    callback_data: FeeAnswer,
    r: Renderer,
    state: FSMContext,
    calc: OpenCalculation,
) -> None:
    message = callback.message
    if callback_data.run != calc.run or not isinstance(message, Message):
        await _stale(callback, r)
        return
    item = calc.fee.inputs[calc.step]
    if callback_data.step != calc.step or item.choice(callback_data.value) is None:
        await callback.answer(r.plain("bot.fees.old_button"), show_alert=True)
        await _ask(message, r, calc.fee, calc.step, calc.run)
        return
    chosen = input_text(r, item, callback_data.value)
    await callback.answer(r.plain("bot.fees.chosen", value=chosen))
    await mark_answered(
        message, r.text("bot.fees.answered", label=label_for(item.label.get(r.lang)), value=chosen)
    )
    await _advance(message, r, calc, state, item.name, callback_data.value)


async def stale_answer(callback: CallbackQuery, r: Renderer) -> None:
    """A choice of a calculation that is over, pressed while no calculation (or another dialog) is open."""
    await _stale(callback, r)


def router() -> Router:
    """Handlers of the fee calculators."""
    r = Router(name="fees")
    r.message.filter(F.chat.type == "private")
    r.message.register(open_calculators, F.text.in_(menu_labels("bot.menu.fees")))
    r.callback_query.register(org_page, FeeOrgPage.filter())
    r.callback_query.register(pick_org, FeeOrgPick.filter())
    r.callback_query.register(start, FeePick.filter())
    r.message.register(cancel, Fees.asking, F.text.in_(nav_labels("cancel")))
    r.callback_query.register(calculation_gone, Fees.asking, FeeAnswer.filter(), ~CalculationIsOpen())
    r.message.register(calculation_gone, Fees.asking, ~CalculationIsOpen())
    r.message.register(back, Fees.asking, F.text.in_(nav_labels("back")), CalculationIsOpen())
    r.message.register(answer, Fees.asking, CalculationIsOpen())
    r.callback_query.register(answer_button, Fees.asking, FeeAnswer.filter(), CalculationIsOpen())
    r.callback_query.register(stale_answer, FeeAnswer.filter())
    return r
