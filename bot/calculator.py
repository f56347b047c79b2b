"""What the fee calculators show: each input as a question, figures as citizens read them, and the answer.

Figures are ``Decimal`` from the tariff engine (``catalog.tariffs``); here they become Persian digits with the
separators '٬' and '٫' (Latin digits in English), each with its unit's name. Labels come from the booklet
and may begin with a Latin letter ("K × P × ..."), so in Persian every line of the answer starts with a
right-to-left mark: the chat apps then lay it out right to left whatever its first letter is.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.callbacks import FeeAnswer, FeeOrgPick, FeePick, MenuOpen
from bot.forms import NAV_KEYS
from bot.render import Renderer
from catalog.schema import Organization
from catalog.tariffs import Calculation, Fee, Input, InputType, TariffBook, Unit
from desk.persian import format_decimal

__all__ = ["figure", "input_text", "nav_keyboard", "number", "question", "result_markup", "result_text"]

RLM = "\u200f"
"""Right-to-left mark: opens each line of a Persian answer, so a label starting in Latin stays right to left."""


OWN_PLACES = 6
"""Most decimals a figure other than rials keeps: a coefficient as the booklet writes it (0.006 stays 0.006, so
the breakdown adds up); a computed figure with endless decimals (2/3) is cut there."""


def _places(value: Decimal) -> int:
    """The decimals ``value`` is written with, at least two (the usual for areas and shares), at most OWN_PLACES."""
    exponent = value.normalize().as_tuple().exponent
    own = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return min(max(own, 2), OWN_PLACES)


def number(r: Renderer, value: Decimal, unit: Unit | None = None) -> str:
    """A figure in the citizen's digits: rials whole, a Jalali year without separator, others at their own
    precision (see ``OWN_PLACES``)."""
    if unit is Unit.JALALI_YEAR:
        return format_decimal(value, r.lang, places=0, grouped=False)
    return format_decimal(value, r.lang, places=0 if unit is Unit.RIAL else _places(value))


def figure(r: Renderer, value: Decimal, unit: Unit | None) -> str:
    """A figure followed by its unit's name (``۷٬۵۰۰٬۰۰۰ ریال``)."""
    shown = number(r, value, unit)
    return f"{shown} {r.plain(unit.label_key)}" if unit is not None else shown


def input_text(r: Renderer, item: Input, value: Decimal | str) -> str:
    """An input's value as the citizen gave it: the choice's label, or the number with its unit."""
    if isinstance(value, Decimal):
        return figure(r, value, item.unit)
    choice = item.choice(value)
    return choice.label.get(r.lang) if choice is not None else value


def nav_keyboard(r: Renderer) -> ReplyKeyboardMarkup:
    """The reply keyboard shown while a calculator asks: back to the previous input, or cancel."""
    return ReplyKeyboardMarkup(
        keyboard=[
            [KeyboardButton(text=r.plain(NAV_KEYS["back"])), KeyboardButton(text=r.plain(NAV_KEYS["cancel"]))]
        ],
        resize_keyboard=True,
        is_persistent=True,
    )


def _number_hint(r: Renderer, item: Input) -> str:
    if item.minimum is None or item.maximum is None:
        return r.text("bot.fees.hint.any")
    return r.text(
        "bot.fees.hint.whole" if item.integer else "bot.fees.hint.number",
        min=number(r, item.minimum, item.unit),
        max=number(r, item.maximum, item.unit),
        unit=r.plain(item.unit.label_key) if item.unit is not None else "",
    )


def question(r: Renderer, fee: Fee, step: int, run: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text of input ``step`` of ``fee`` (label, help, allowed range) and its buttons for a choice or zone."""
    item = fee.inputs[step]
    lines = [
        r.text(
            "bot.fees.question",
            n=r.digits(step + 1),
            total=r.digits(len(fee.inputs)),
            label=item.label.get(r.lang),
        )
    ]
    if item.help is not None:
        lines.append(r.text("bot.fees.help", help=item.help.get(r.lang)))
    if item.type is InputType.NUMBER:
        lines.append(_number_hint(r, item))
        return "\n".join(lines), None
    lines.append(r.text("bot.fees.hint.choice"))
    buttons = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=choice.label.get(r.lang),
                    callback_data=FeeAnswer(run=run, step=step, value=choice.id).pack(),
                )
            ]
            for choice in item.choices
        ]
    )
    return "\n".join(lines), buttons


def result_markup(r: Renderer, org_id: str, fee_key: str) -> InlineKeyboardMarkup:
    """The buttons under an answer: the same fee with other figures, another fee, the main menu."""
    rows = [
        (r.plain("bot.fees.again"), FeePick(org=org_id, fee=fee_key)),
        (r.plain("bot.fees.other"), FeeOrgPick(org=org_id, fresh=True)),
        (r.plain("bot.nav.menu"), MenuOpen()),
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=text, callback_data=data.pack())] for text, data in rows]
    )


def _total(r: Renderer, calculation: Calculation) -> dict[str, Any] | None:
    rials = calculation.total_rials
    if rials is None:
        return None
    exact = calculation.exact_total
    rounded = None
    if exact is not None and exact != rials:
        rounded = r.plain(
            "bot.fees.rounded",
            exact=number(r, exact),
            step=number(r, Decimal(calculation.rounding.step), Unit.RIAL),
        )
    return {
        "rials": number(r, Decimal(rials), Unit.RIAL),
        "tomans": number(r, Decimal(rials) / 10),
        "rounded": rounded,
    }


def result_text(r: Renderer, calculation: Calculation, fee: Fee, book: TariffBook, org: Organization) -> str:
    """The answer: what was entered, the breakdown line by line, the total, its source and the caveats."""
    lang = r.lang
    total = _total(r, calculation)
    return r.template(
        "fee_result.j2",
        mark=RLM if lang == "fa" else "",
        title=calculation.title.get(lang),
        org=org.name.get(lang),
        inputs=[
            {"label": item.label.get(lang), "value": input_text(r, item, calculation.inputs[item.name])}
            for item in fee.inputs
        ],
        lines=[
            {"label": line.label.get(lang), "value": figure(r, line.value, line.unit)}
            for line in calculation.lines
        ],
        total=total,
        booklet=calculation.booklet.get(lang),
        year=r.digits(calculation.year),
        article=calculation.article.get(lang),
        approved=book.approved.get(lang) if book.approved is not None else "",
        sample=calculation.sample,
        official="bot.fees.official.bill" if total is not None else "bot.fees.official.figures",
    )
