"""Tariff books and calculations: what the chat dialogs ask for, and the breakdown they show the citizen.

A ``TariffBook`` is one organization's booklet for one Jalali year: the county default with the
organization's overrides applied, checked as a whole when the catalog loaded. ``TariffBook.calculate``
validates the citizen's inputs, evaluates each line of the fee's breakdown in order and rounds the total
as the booklet says. Every figure is a ``Decimal``; the total is whole rials.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from persiantools.jdatetime import JalaliDate

from catalog.problems import NotInCatalogError
from catalog.schema import Text
from catalog.tariffs.formula import CompiledFormula, Evaluator, TableIndex, TableMissError, Value
from catalog.tariffs.schema import FeeLine, InputChoice, InputType, Parameter, Rounding, Table, Unit
from desk.errors import MizError, ValidationError
from desk.persian import TEHRAN, ZWNJ, normalize

__all__ = [
    "Calculation",
    "CalculationLine",
    "Fee",
    "FormulaError",
    "Input",
    "TariffBook",
    "TariffInputError",
    "Tariffs",
]

InputValue = Decimal | int | str
"""What a caller may pass for an input: a number, or text as the citizen typed it, or a choice's id."""

_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)
# Thousands separators people type (ASCII comma, Persian '٬', Arabic comma, apostrophe), spaces and ZWNJ.
_SEPARATORS = re.compile(f"[,٬،'\\s{ZWNJ}]")


def _shown(value: Decimal) -> int | str:
    """A bound for a message: an ``int`` when whole (so it is printed with the language's digits)."""
    return int(value) if value == value.to_integral_value() else format(value.normalize(), "f")


class TariffInputError(ValidationError):
    """A fee cannot be calculated from what was given: a missing or invalid input, or a case the booklet lacks.

    ``key`` is a ``tariffs.input.*`` message id; ``texts`` are parameters that are catalog texts (an input's
    label, a table's name), rendered in the language of the message.
    """

    def __init__(self, key: str, /, *, texts: Mapping[str, Text] | None = None, **params: Any) -> None:
        super().__init__(key, **params)
        self.texts: dict[str, Text] = dict(texts or {})

    def render(self, lang: str = "fa") -> str:
        """The message in ``lang``, with the catalog texts in that language."""
        shown = {name: text.get(lang) for name, text in self.texts.items()}
        return MizError(self.key, **self.params, **shown).render(lang)


@dataclass(frozen=True)
class Input:
    """One thing a fee asks for, with its choices resolved from the book (zones, or a table's rows)."""

    name: str
    type: InputType
    label: Text
    help: Text | None = None
    unit: Unit | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    integer: bool = False
    choices: tuple[InputChoice, ...] = ()

    def choice(self, choice_id: str) -> InputChoice | None:
        """The choice with that id, or None."""
        return next((item for item in self.choices if item.id == choice_id), None)

    def parse(self, raw: InputValue) -> Decimal | str:
        """The value as formulas see it: a ``Decimal`` for a number, the id for a choice or zone.

        A number may be typed with Persian or Arabic digits, thousands separators and a decimal point ('.'
        or '٫'). Raises ``TariffInputError`` when it is not a number, not whole when it must be, out of
        bounds, or not one of the choices.
        """
        texts = {"input": self.label}
        if self.type is not InputType.NUMBER:
            if not isinstance(raw, str) or self.choice(raw) is None:
                raise TariffInputError("tariffs.input.unknown_choice", texts=texts)
            return raw
        if isinstance(raw, bool):
            raise TariffInputError("tariffs.input.not_a_number", texts=texts)
        if isinstance(raw, str):
            text = _SEPARATORS.sub("", normalize(raw)).replace("٫", ".")
            if not _NUMBER.fullmatch(text):
                raise TariffInputError("tariffs.input.not_a_number", texts=texts)
            value = Decimal(text)
        else:
            try:
                value = Decimal(raw)
            except (InvalidOperation, TypeError, ValueError):
                raise TariffInputError("tariffs.input.not_a_number", texts=texts) from None
            if not value.is_finite():
                raise TariffInputError("tariffs.input.not_a_number", texts=texts)
        if self.integer and value != value.to_integral_value():
            raise TariffInputError("tariffs.input.not_whole", texts=texts)
        if self.minimum is not None and value < self.minimum:
            raise TariffInputError(
                "tariffs.input.too_small", texts=texts, min=_shown(self.minimum), unit=self.unit or Unit.COUNT
            )
        if self.maximum is not None and value > self.maximum:
            raise TariffInputError(
                "tariffs.input.too_large", texts=texts, max=_shown(self.maximum), unit=self.unit or Unit.COUNT
            )
        return value

    def sample_values(self) -> tuple[Value, ...]:
        """The values ``miz catalog check`` tries: min, a middle value and max, or every choice."""
        if self.type is not InputType.NUMBER:
            return tuple(item.id for item in self.choices)
        low = self.minimum if self.minimum is not None else Decimal(0)
        high = self.maximum if self.maximum is not None else low
        middle = (low + high) / 2
        if self.integer:
            middle = middle.to_integral_value()
        return tuple(dict.fromkeys((low, middle, high)))


@dataclass(frozen=True)
class Fee:
    """A fee of a book (or a calculation without an amount, when ``total`` is None), ready to calculate.

    ``sample`` is true when the fee or any figure it uses (parameters, tables) is invented demo data.
    """

    key: str
    title: Text
    article: Text
    note: Text | None
    inputs: tuple[Input, ...]
    lines: tuple[FeeLine, ...]
    total: str | None
    rounding: Rounding
    sample: bool
    compiled_lines: tuple[CompiledFormula, ...] = field(repr=False, compare=False)
    compiled_total: CompiledFormula | None = field(repr=False, compare=False)

    def input(self, name: str) -> Input:
        """The input called ``name``; raises ``NotInCatalogError`` when the fee has none."""
        for item in self.inputs:
            if item.name == name:
                return item
        raise NotInCatalogError(name)


@dataclass(frozen=True)
class CalculationLine:
    """One line of a breakdown: what it is, its value and unit, and the formula that gave it."""

    id: str
    label: Text
    value: Decimal
    unit: Unit
    formula: str


@dataclass(frozen=True)
class Calculation:
    """A fee calculated for a citizen, with everything needed to show where each figure comes from.

    ``total_rials`` is the amount to pay after the booklet's rounding (None for a calculation without an
    amount, such as the permitted density); ``exact_total`` is the total before rounding.
    """

    fee_key: str
    title: Text
    organization_id: str
    year: int
    booklet: Text
    article: Text
    sample: bool
    inputs: Mapping[str, Decimal | str]
    lines: tuple[CalculationLine, ...]
    total_rials: int | None
    exact_total: Decimal | None
    rounding: Rounding


class FormulaError(Exception):
    """A formula of a fee could not be computed: ``line`` is the index of its line, or None for the total."""

    def __init__(self, line: int | None, cause: Exception) -> None:
        super().__init__(f"line {line}: {type(cause).__name__}: {cause}")
        self.line = line
        self.cause = cause


class NotANumberError(TypeError):
    """A line's formula gave something other than a number (e.g. a zone id)."""

    def __init__(self, value: Value) -> None:
        super().__init__(f"not a number: {value!r}")
        self.value = value


def _as_number(value: Value) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, Decimal):
        return value
    raise NotANumberError(value)


class TariffBook:
    """One organization's tariff booklet for one Jalali year: the county default with its overrides applied."""

    def __init__(
        self,
        *,
        organization_id: str | None,
        year: int,
        booklet: Text,
        approved: Text | None,
        rounding: Rounding,
        zones: Mapping[str, Text],
        parameters: Mapping[str, Parameter],
        tables: Mapping[str, Table],
        fees: Sequence[Fee],
        own_file: bool,
    ) -> None:
        self.organization_id = organization_id
        """The organization, or None for the county default itself."""
        self.year = year
        self.booklet = booklet
        """The booklet's title, shown with every figure taken from it."""
        self.approved = approved
        """Who approved the booklet and when (the council's resolution), when known."""
        self.rounding = rounding
        self.zones: Mapping[str, Text] = dict(zones)
        self.parameters: Mapping[str, Parameter] = dict(parameters)
        self.tables: Mapping[str, Table] = dict(tables)
        self._index = TableIndex(self.tables)
        self._fees = {fee.key: fee for fee in fees}
        self.own_file = own_file
        """Whether the organization has its own file of overrides (else the book is the county default)."""

    def for_organization(self, organization_id: str) -> TariffBook:
        """This county default as the book of an organization that has no file of its own."""
        return TariffBook(
            organization_id=organization_id,
            year=self.year,
            booklet=self.booklet,
            approved=self.approved,
            rounding=self.rounding,
            zones=self.zones,
            parameters=self.parameters,
            tables=self.tables,
            fees=list(self._fees.values()),
            own_file=False,
        )

    @property
    def fees(self) -> list[Fee]:
        """Every fee and calculation of the book, in the order of the county default file."""
        return list(self._fees.values())

    def fee(self, key: str) -> Fee:
        """The fee ``key``; raises ``NotInCatalogError`` when the book has none."""
        try:
            return self._fees[key]
        except KeyError:
            raise NotInCatalogError(key) from None

    @property
    def sample(self) -> bool:
        """Whether any fee of the book uses invented figures."""
        return any(fee.sample for fee in self._fees.values())

    def evaluator(self) -> Evaluator:
        """An evaluator of formulas over this book's tables (one per calculation, or per run of checks)."""
        return Evaluator(self._index)

    def evaluate(
        self, fee: Fee, values: Mapping[str, Value], evaluator: Evaluator | None = None
    ) -> tuple[list[Decimal], Decimal | None]:
        """The value of each line and of the total for validated ``values``; raises ``FormulaError``."""
        if evaluator is None:
            evaluator = self.evaluator()
        names: dict[str, Value] = {name: item.value for name, item in self.parameters.items()}
        names["year"] = Decimal(self.year)
        names.update(values)
        results: list[Decimal] = []
        for index, (line, formula) in enumerate(zip(fee.lines, fee.compiled_lines, strict=True)):
            try:
                value = _as_number(evaluator.evaluate(formula, names))
            except Exception as exc:  # any failure of an admin's formula is reported, never raised raw
                raise FormulaError(index, exc) from exc
            names[line.id] = value
            results.append(value)
        if fee.compiled_total is None:
            return results, None
        try:
            total = _as_number(evaluator.evaluate(fee.compiled_total, names))
        except Exception as exc:
            raise FormulaError(None, exc) from exc
        return results, total

    def calculate(self, fee_key: str, inputs: Mapping[str, InputValue]) -> Calculation:
        """Calculate fee ``fee_key`` for ``inputs`` (input name -> number, typed text or choice id).

        Raises ``NotInCatalogError`` for an unknown fee and ``TariffInputError`` for a missing, unknown or
        invalid input, or when the booklet has no figure for the case (e.g. a plot area outside its table).
        """
        fee = self.fee(fee_key)
        names = {item.name for item in fee.inputs}
        for name in inputs:
            if name not in names:
                raise TariffInputError("tariffs.input.unknown", name=name)
        values: dict[str, Decimal | str] = {}
        for item in fee.inputs:
            if item.name not in inputs:
                raise TariffInputError("tariffs.input.missing", texts={"input": item.label})
            values[item.name] = item.parse(inputs[item.name])
        try:
            results, total = self.evaluate(fee, values)
        except FormulaError as failure:
            cause = failure.cause
            if isinstance(cause, TableMissError) and cause.table in self.tables:
                raise TariffInputError(
                    "tariffs.input.outside_table", texts={"table": self.tables[cause.table].label}
                ) from failure
            raise TariffInputError("tariffs.input.failed") from failure
        if total is not None and total < 0:
            raise TariffInputError("tariffs.input.failed")
        lines = tuple(
            CalculationLine(line.id, line.label, value, line.unit, line.formula)
            for line, value in zip(fee.lines, results, strict=True)
        )
        return Calculation(
            fee_key=fee.key,
            title=fee.title,
            organization_id=self.organization_id or "",
            year=self.year,
            booklet=self.booklet,
            article=fee.article,
            sample=fee.sample,
            inputs=values,
            lines=lines,
            total_rials=fee.rounding.apply(total) if total is not None else None,
            exact_total=total,
            rounding=fee.rounding,
        )

    def sample_inputs(self, fee: Fee, limit: int = 2000) -> Iterator[dict[str, Value]]:
        """Inputs that exercise ``fee``: every combination of each input's samples, or one input at a time
        (the others at their middle value or first choice) when there would be more than ``limit``."""
        samples = [(item.name, item.sample_values()) for item in fee.inputs]
        count = 1
        for _, values in samples:
            count *= max(len(values), 1)
        if count <= limit:
            for combination in itertools.product(*(values for _, values in samples)):
                yield dict(zip((name for name, _ in samples), combination, strict=True))
            return
        base = {name: values[len(values) // 2] if values else Decimal(0) for name, values in samples}
        for name, values in samples:
            for value in values:
                yield {**base, name: value}


def _jalali_year(today: date) -> int:
    year: int = JalaliDate(today).year  # type: ignore[no-untyped-call]
    return year


class Tariffs:
    """Every tariff book of the catalog: by Jalali year, for every organization (the county default when an
    organization has no file of its own)."""

    def __init__(
        self,
        years: Mapping[int, TariffBook],
        books: Mapping[tuple[int, str], TariffBook],
        organizations: Iterable[str],
    ) -> None:
        self._defaults = dict(sorted(years.items()))
        self._books = dict(books)
        self._organizations = frozenset(organizations)

    @classmethod
    def empty(cls, organizations: Iterable[str] = ()) -> Tariffs:
        """No tariffs at all (a catalog without a ``tariffs/`` folder)."""
        return cls({}, {}, organizations)

    def years(self) -> list[int]:
        """The Jalali years that have a booklet, oldest first."""
        return list(self._defaults)

    def __bool__(self) -> bool:
        return bool(self._defaults)

    def current_year(self, today: date | None = None) -> int:
        """The year whose booklet is in force on ``today`` (default: now in Tehran): the latest year that has
        begun, or the earliest when every booklet is for a future year; ``NotInCatalogError`` when none."""
        if not self._defaults:
            raise NotInCatalogError("tariffs")
        if today is None:
            today = datetime.now(TEHRAN).date()
        now = _jalali_year(today)
        started = [year for year in self._defaults if year <= now]
        return started[-1] if started else next(iter(self._defaults))

    def default(self, year: int | None = None, *, today: date | None = None) -> TariffBook:
        """The county default book of ``year`` (default: the current one)."""
        chosen = self.current_year(today) if year is None else year
        try:
            return self._defaults[chosen]
        except KeyError:
            raise NotInCatalogError(str(chosen)) from None

    def book(self, organization_id: str, year: int | None = None, *, today: date | None = None) -> TariffBook:
        """The book of ``organization_id`` for ``year`` (default: the one in force, see ``current_year``).

        Raises ``NotInCatalogError`` for an unknown organization or a year without a booklet.
        """
        if organization_id not in self._organizations:
            raise NotInCatalogError(organization_id)
        chosen = self.current_year(today) if year is None else year
        book = self._books.get((chosen, organization_id))
        if book is None:
            raise NotInCatalogError(str(chosen))
        return book

    def own_files(self, year: int) -> list[str]:
        """The organizations with a file of their own in ``year`` (the others use the county default)."""
        return sorted(
            org for (book_year, org), book in self._books.items() if book_year == year and book.own_file
        )
