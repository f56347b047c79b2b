"""What the request form shows and reads, field type by field type: each question with its keyboard, each
document slot, the answer a message or a button gives, and answers as people read them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from decimal import Decimal
from typing import Any

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)

from bot.callbacks import FormAnswer
from bot.render import Renderer
from catalog.schema import Document, FieldType, FormField, ResolvedService
from desk.errors import ValidationError
from desk.i18n import LANGUAGES, translator
from desk.persian import (
    format_decimal,
    format_jalali_date,
    format_jalali_typed,
    format_number,
    label_for,
    persian_digits_in_words,
    tehran_today,
)
from desk.tracking import format_tracking_code
from desk.validators import coordinates, mobile, validate_field

__all__ = [
    "NAV_KEYS",
    "answer_text",
    "answered",
    "button_answer",
    "document_prompt",
    "done_keyboard",
    "nav_labels",
    "offered_values",
    "question",
    "read_answer",
]

NAV_KEYS = {
    "back": "bot.form.back",
    "cancel": "bot.form.cancel",
    "skip": "bot.form.skip",
    "done": "bot.form.done",
}
"""The form's reply-keyboard buttons; every step has back and cancel, optional steps also skip, and a document of
several files "done" once one has arrived."""


def nav_labels(name: str) -> set[str]:
    """A navigation button's label in every language (a keyboard shown before a language switch still works)."""
    return {translator(lang)(NAV_KEYS[name]) for lang in LANGUAGES}


def _nav_keyboard(
    r: Renderer, *, optional: bool, first: list[KeyboardButton] | None = None
) -> ReplyKeyboardMarkup:
    rows: list[list[KeyboardButton]] = []
    if first:
        rows.append(first)
    if optional:
        rows.append([KeyboardButton(text=r.plain(NAV_KEYS["skip"]))])
    rows.append(
        [KeyboardButton(text=r.plain(NAV_KEYS["back"])), KeyboardButton(text=r.plain(NAV_KEYS["cancel"]))]
    )
    return ReplyKeyboardMarkup(keyboard=rows, resize_keyboard=True, is_persistent=True)


def offered_values(field: FormField) -> frozenset[str]:
    """The values the answer buttons of ``field`` carry (none for a typed question): a press of any other is forged."""
    if field.type is FieldType.YES_NO:
        return frozenset({"yes", "no"})
    if field.type is FieldType.CHOICE:
        return frozenset(choice.id for choice in field.choices or ())
    return frozenset()


def _button_answers(r: Renderer, field: FormField, version: str, step: int) -> InlineKeyboardMarkup:
    if field.type is FieldType.YES_NO:
        options = [("yes", r.plain("bot.form.yes")), ("no", r.plain("bot.form.no"))]
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(
                        text=label, callback_data=FormAnswer(ver=version, step=step, value=value).pack()
                    )
                    for value, label in options
                ]
            ]
        )
    choices = field.choices or []
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=choice.label.get(r.lang),
                    callback_data=FormAnswer(ver=version, step=step, value=choice.id).pack(),
                )
            ]
            for choice in choices
        ]
    )


def question(
    r: Renderer, service: ResolvedService, step: int, prefilled: Collection[str] = ()
) -> tuple[str, ReplyKeyboardMarkup, InlineKeyboardMarkup | None]:
    """The text of question ``step``, its reply keyboard, and the inline buttons of a choice or yes/no; a date's
    example is today, which every date question accepts.

    Questions are numbered among those the citizen is asked: the ``prefilled`` ones (answered before the form
    began, as an objection's) are not counted, so the first question asked is question 1."""
    field = service.form[step]
    asked = [i for i, f in enumerate(service.form) if f.id not in prefilled or i == step]
    lines = [
        r.text(
            "bot.form.question",
            n=r.digits(asked.index(step) + 1),
            total=r.digits(len(asked)),
            label=field.label.get(r.lang),
        )
    ]
    if field.help:
        lines.append(r.text("bot.form.help", help=field.help.get(r.lang)))
    hint = f"bot.form.hint.{field.type.value}"
    if r.t.has(hint):
        lines.append(r.text(hint, example=format_jalali_typed(tehran_today(), r.lang)))
    if not field.required:
        lines.append(r.text("bot.form.optional"))
    first: list[KeyboardButton] | None = None
    if field.type is FieldType.MOBILE:
        first = [KeyboardButton(text=r.plain("bot.form.share_contact"), request_contact=True)]
    elif field.type is FieldType.LOCATION:
        first = [KeyboardButton(text=r.plain("bot.form.share_location"), request_location=True)]
    keyboard = _nav_keyboard(r, optional=not field.required, first=first)
    buttons = (
        _button_answers(r, field, service.version, step)
        if field.type in (FieldType.CHOICE, FieldType.YES_NO)
        else None
    )
    return "\n".join(lines), keyboard, buttons


def read_answer(message: Message, field: FormField) -> Any:
    """The answer in ``message`` to ``field``, validated and normalized by ``desk`` (a date by its rule too);
    ``ValidationError`` when it is none."""
    kind = field.type
    if kind is FieldType.LOCATION:
        if message.location is not None:
            return {"latitude": message.location.latitude, "longitude": message.location.longitude}
        if not message.text:
            raise ValidationError("bot.form.need_location")
        point = coordinates(
            message.text
        )  # a desktop messenger cannot share a location: a map link or numbers
        return {"latitude": point.latitude, "longitude": point.longitude}
    if kind is FieldType.MOBILE and message.contact is not None:
        return mobile(message.contact.phone_number)
    if kind in (FieldType.CHOICE, FieldType.YES_NO):
        raise ValidationError("desk.field.use_buttons")
    if message.text is None:
        raise ValidationError("bot.form.need_text")
    value = validate_field(kind.value, message.text, date_rule=field.date_rule)
    return value.isoformat() if isinstance(value, date) else value


def button_answer(field: FormField, value: str) -> Any:
    """The answer an answer button of ``field`` carries (see :func:`question`)."""
    return value == "yes" if field.type is FieldType.YES_NO else value


def answer_text(r: Renderer, field: FormField, value: Any) -> str:
    """An answer as the citizen and the clerk read it (choice labels, Jalali dates, Persian digits)."""
    if value is None:
        return r.plain("bot.form.skipped")
    if field.type is FieldType.YES_NO:
        return r.plain("bot.form.yes" if value else "bot.form.no")
    if field.type is FieldType.CHOICE:
        choice = next((c for c in field.choices or [] if c.id == value), None)
        return choice.label.get(r.lang) if choice else str(value)
    if field.type is FieldType.DATE:
        return format_jalali_date(date.fromisoformat(value), r.lang)
    if field.type is FieldType.NUMBER:
        return format_number(int(value), r.lang)
    if field.type is FieldType.TRACKING_CODE:
        return format_tracking_code(str(value), r.lang)
    if field.type is FieldType.LOCATION:
        return r.plain(
            "bot.form.location_value", lat=_degrees(r, value["latitude"]), lon=_degrees(r, value["longitude"])
        )
    if field.type is FieldType.TEXT or field.type is FieldType.LONG_TEXT:
        return persian_digits_in_words(str(value)) if r.lang == "fa" else str(value)
    return r.digits(str(value))


def _degrees(r: Renderer, degrees: float) -> str:
    """A latitude or longitude to five places (about a metre), in the reader's digits and decimal mark."""
    return format_decimal(Decimal(repr(degrees)), r.lang, places=5, grouped=False)


def answered(r: Renderer, field: FormField, value: Any) -> str:
    """A question answered with a button, as its message shows it afterwards: the question and the answer chosen."""
    return r.text(
        "bot.form.answered", label=label_for(field.label.get(r.lang)), value=answer_text(r, field, value)
    )


def _checklist_line(r: Renderer, doc: Document, files: int) -> str:
    """One document of the checklist: received (with its count, for a document of several files) or missing."""
    title = doc.title.get(r.lang)
    if files and doc.max_files > 1:
        return r.plain("bot.docs.line.received_files", title=title, count=r.digits(files))
    if files:
        return r.plain("bot.docs.line.received", title=title)
    return r.plain("bot.docs.line.missing" if doc.required else "bot.docs.line.optional", title=title)


def done_keyboard(r: Renderer) -> ReplyKeyboardMarkup:
    """The keyboard while a document of several files is being sent: "done", back and cancel."""
    return _nav_keyboard(r, optional=False, first=[KeyboardButton(text=r.plain(NAV_KEYS["done"]))])


def document_prompt(
    r: Renderer, service: ResolvedService, slot: int, received: dict[str, list[Any]]
) -> tuple[str, ReplyKeyboardMarkup]:
    """Ask for document ``slot``, with the checklist of what is received and what is still missing."""
    doc: Document = service.documents[slot]
    checklist = "\n".join(_checklist_line(r, d, len(received.get(d.id, []))) for d in service.documents)
    kinds = r.plain("bot.list.sep").join(r.plain(f"bot.document.kind.{k.value}") for k in doc.kinds)
    text = r.text(
        "bot.docs.ask",
        n=r.digits(slot + 1),
        total=r.digits(len(service.documents)),
        title=doc.title.get(r.lang),
        description=doc.description.get(r.lang) if doc.description else "",
        kinds=kinds,
        checklist=checklist,
    )
    if doc.max_files > 1:
        text += "\n" + r.text("bot.docs.several", most=r.digits(doc.max_files))
    if doc.id in received:
        text += "\n" + r.text("bot.docs.replace_hint")
    optional = not doc.required or doc.id in received
    return text, _nav_keyboard(r, optional=optional)
