"""Reads ``tariffs/<year>/`` folders with the catalog loader, merges overrides, and checks every book as a whole.

Each year's ``_county.yaml`` is checked alone first, then merged with each organization's file and checked
again, so a problem an override brings in is found too. A problem points at the file and field it comes
from (the county default or the override that replaced that field), and one that every book repeats (a
broken formula of the default) is reported once. Checks, beyond the shape pydantic checks:

- names: an input, parameter or line that takes a built-in or an already used name;
- tables: row keys and ranges as the table declares them, unknown zones, a zone without a row, duplicate
  keys, a missing or unknown column, and gaps and overlaps between the ranges of a key's rows;
- formulas: syntax, forbidden constructs, unknown names and functions, lines used above where they are
  computed, and table look-ups that cannot work;
- every fee evaluated on sample inputs (each number input's min, middle and max, every choice and zone):
  division by zero, a value outside a table, a line that is not a number, a negative total;
- an override of a parameter, table or fee that the county default does not have.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from catalog.problems import Problem
from catalog.schema import Organization, Text
from catalog.tariffs.book import Fee, FormulaError, Input, NotANumberError, TariffBook, Tariffs
from catalog.tariffs.formula import (
    RESERVED_NAMES,
    CompiledFormula,
    FormulaIssue,
    TableMissError,
    Value,
    check_formula,
    compile_formula,
)
from catalog.tariffs.schema import (
    ROW_FIELDS,
    CountyTariffFile,
    FeeSpec,
    InputChoice,
    InputType,
    OrganizationTariffFile,
    Parameter,
    Rounding,
    Table,
    TableKey,
)

if TYPE_CHECKING:
    from catalog.loader import _Loader

__all__ = ["COUNTY_FILE", "TARIFFS", "load_tariffs"]

TARIFFS = "tariffs"
"""The tariffs' folder inside the catalog folder."""
COUNTY_FILE = "_county.yaml"
"""The county default's file name inside a year's folder."""

_YEAR = re.compile(r"1[3-5][0-9]{2}", re.ASCII)
_SUFFIXES = (".yaml", ".yml")

Parts = tuple[str | int, ...]


@dataclass
class _Draft:
    """A book being checked: the merged models, and which fields an organization's file replaced."""

    year: int
    organization_id: str | None
    county_file: Path
    own_file: Path | None
    booklet: Text
    approved: Text | None
    rounding: Rounding
    zones: dict[str, Text]
    parameters: dict[str, Parameter]
    tables: dict[str, Table]
    fees: dict[str, FeeSpec]
    overridden: set[Parts] = field(default_factory=set)

    @property
    def name(self) -> str:
        """How problems name the book: ``1405/_county`` or ``1405/falavarjan``."""
        return f"{self.year}/{self.organization_id or '_county'}"

    def file_of(self, parts: Parts) -> Path:
        """The file that holds the field at ``parts``: the organization's if it replaced it (or a parent)."""
        if self.own_file is not None:
            for end in range(len(parts), 0, -1):
                if parts[:end] in self.overridden:
                    return self.own_file
        return self.county_file


def _resolved_sample(value: bool | None, default: bool) -> bool:
    return default if value is None else value


def _county_draft(year: int, file: Path, county: CountyTariffFile) -> _Draft:
    default = county.sample
    return _Draft(
        year=year,
        organization_id=None,
        county_file=file,
        own_file=None,
        booklet=county.booklet,
        approved=county.approved,
        rounding=county.rounding,
        zones=dict(county.zones),
        parameters={
            name: item.model_copy(update={"sample": _resolved_sample(item.sample, default)})
            for name, item in county.parameters.items()
        },
        tables={
            name: item.model_copy(update={"sample": _resolved_sample(item.sample, default)})
            for name, item in county.tables.items()
        },
        fees={
            name: item.model_copy(update={"sample": _resolved_sample(item.sample, default)})
            for name, item in county.fees.items()
        },
    )


def _given(override: BaseModel) -> list[str]:
    """The fields an override sets (a field written as ``null`` changes nothing)."""
    return [name for name in override.model_fields_set if getattr(override, name) is not None]


def _replace(base: BaseModel, override: BaseModel, default_sample: bool) -> Any:
    """``base`` with the fields ``override`` sets; an override without its own ``sample`` takes its file's."""
    update = {name: getattr(override, name) for name in _given(override)}
    if update.get("sample") is None:
        update["sample"] = default_sample
    return base.model_copy(update=update)


class _Checker:
    """Checks the tariff folders of one catalog load, reporting through the catalog loader."""

    def __init__(self, loader: _Loader, organizations: Mapping[str, Organization] | None) -> None:
        self.loader = loader
        self.organizations = organizations
        self._seen: set[tuple[Path, Parts, str]] = set()
        self._tried: set[tuple[int, ...]] = set()
        self._drafts: list[_Draft] = []  # alive while ``_tried`` holds their objects' ids
        self.failures = 0
        """Problems found so far, counting those not reported again (a check compares it before and after)."""

    def report(self, file: Path, parts: Parts, key: str, /, **params: str | int) -> None:
        """Report once per file, field and message: a broken default repeats in every organization's book."""
        self.failures += 1
        if (file, parts, key) in self._seen:
            return
        self._seen.add((file, parts, key))
        self.loader.report(file, parts, key, **params)

    def issue(self, draft: _Draft, parts: Parts, issue: FormulaIssue) -> None:
        self.report(draft.file_of(parts), parts, issue.key, **issue.params)

    # the folder

    def run(self, folder: Path) -> Tariffs | None:
        organizations = self.organizations or {}
        if not folder.is_dir():
            if folder.exists():
                self.loader.problems.append(
                    Problem(folder, 0, "", "catalog.folder_missing", {"folder": TARIFFS})
                )
                return None
            return Tariffs.empty(organizations)
        start = len(self.loader.problems)
        defaults: dict[int, TariffBook] = {}
        books: dict[tuple[int, str], TariffBook] = {}
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            if entry.is_file():
                if entry.suffix in _SUFFIXES:
                    self.loader.problems.append(
                        Problem(entry, 0, "", "tariffs.misplaced_file", {"name": entry.name})
                    )
                continue
            if not _YEAR.fullmatch(entry.name):
                self.loader.problems.append(
                    Problem(entry, 0, "", "tariffs.year_folder", {"name": entry.name})
                )
                continue
            year = int(entry.name)
            default, own = self.check_year(entry, year)
            if default is None:
                continue
            defaults[year] = default
            for org_id in organizations:
                books[(year, org_id)] = own.get(org_id) or default.for_organization(org_id)
        if self.failures or len(self.loader.problems) > start:
            return None
        return Tariffs(defaults, books, organizations)

    def check_year(self, folder: Path, year: int) -> tuple[TariffBook | None, dict[str, TariffBook]]:
        county_path = folder / COUNTY_FILE
        county: CountyTariffFile | None = None
        if county_path.is_file():
            loaded = self.loader.parse(county_path, CountyTariffFile)
            county = loaded.model if loaded is not None else None
        else:
            self.loader.problems.append(
                Problem(county_path, 0, "", "catalog.file_missing", {"file": COUNTY_FILE})
            )
        overrides: list[tuple[Path, OrganizationTariffFile]] = []
        for file in sorted(folder.iterdir()):
            if not file.is_file() or file.suffix not in _SUFFIXES or file.name.startswith("."):
                continue
            if file.name == COUNTY_FILE:
                continue
            if file.name.startswith("_"):
                self.loader.problems.append(Problem(file, 0, "", "tariffs.unknown_file", {"name": file.name}))
                continue
            if self.organizations is not None and file.stem not in self.organizations:
                self.loader.problems.append(
                    Problem(file, 1, "", "tariffs.unknown_organization", {"id": file.stem})
                )
                continue
            loaded_override = self.loader.parse(file, OrganizationTariffFile)
            if loaded_override is not None:
                overrides.append((file, loaded_override.model))
        if county is None:
            return None, {}
        county_draft = _county_draft(year, county_path, county)
        default = self.check_draft(county_draft)
        own: dict[str, TariffBook] = {}
        for file, override in overrides:
            draft = self.merge(county_draft, county, file, override)
            book = self.check_draft(draft)
            if book is not None:
                own[file.stem] = book
        return default, own

    def merge(
        self, base: _Draft, county: CountyTariffFile, file: Path, override: OrganizationTariffFile
    ) -> _Draft:
        sample = _resolved_sample(override.sample, county.sample)
        draft = _Draft(
            year=base.year,
            organization_id=file.stem,
            county_file=base.county_file,
            own_file=file,
            booklet=override.booklet or base.booklet,
            approved=override.approved if override.approved is not None else base.approved,
            rounding=override.rounding or base.rounding,
            zones=dict(override.zones) if override.zones is not None else dict(base.zones),
            parameters=dict(base.parameters),
            tables=dict(base.tables),
            fees=dict(base.fees),
        )
        for name in ("booklet", "approved", "rounding", "zones"):
            if name in override.model_fields_set:
                draft.overridden.add((name,))
        sections: Sequence[tuple[str, Mapping[str, BaseModel], dict[str, Any]]] = (
            ("parameters", override.parameters, draft.parameters),
            ("tables", override.tables, draft.tables),
            ("fees", override.fees, draft.fees),
        )
        for section, changes, merged in sections:
            for name, change in changes.items():
                if name not in merged:
                    self.report(file, (section, name), "tariffs.override_unknown", name=name, section=section)
                    continue
                merged[name] = _replace(merged[name], change, sample)
                draft.overridden.update((section, name, part) for part in _given(change))
        return draft

    # one book

    def check_draft(self, draft: _Draft) -> TariffBook | None:
        self._drafts.append(draft)
        before = self.failures
        for name in draft.parameters:
            if name in RESERVED_NAMES:
                self.report(
                    draft.file_of(("parameters", name)),
                    ("parameters", name),
                    "tariffs.name_reserved",
                    name=name,
                )
        broken_tables = {
            name for name, table in draft.tables.items() if not self.check_table(draft, name, table)
        }
        fees: list[Fee] = []
        for key, spec in draft.fees.items():
            fee = self.check_fee(draft, key, spec, broken_tables)
            if fee is not None:
                fees.append(fee)
        if self.failures > before:
            return None
        return TariffBook(
            organization_id=draft.organization_id,
            year=draft.year,
            booklet=draft.booklet,
            approved=draft.approved,
            rounding=draft.rounding,
            zones=draft.zones,
            parameters=draft.parameters,
            tables=draft.tables,
            fees=fees,
            own_file=draft.own_file is not None,
        )

    def check_table(self, draft: _Draft, name: str, table: Table) -> bool:
        """Check one table's rows against its declaration; False when anything is wrong with it."""
        before = self.failures
        at: Parts = ("tables", name)
        columns = ", ".join(table.columns)
        for column in table.columns:
            if column in ROW_FIELDS:
                self.report(
                    draft.file_of((*at, "columns")),
                    (*at, "columns", column),
                    "tariffs.reserved_column",
                    name=column,
                )
        rows_file = draft.file_of((*at, "rows"))
        # A zone problem of rows an organization did not touch comes from its own zones: report it there.
        zones_file = draft.own_file if draft.own_file and ("zones",) in draft.overridden else rows_file
        zones = ", ".join(draft.zones)
        groups: dict[str | None, list[int]] = {}
        for index, row in enumerate(table.rows):
            row_at: Parts = (*at, "rows", index)
            if table.key is None and row.key is not None:
                self.report(rows_file, (*row_at, "key"), "tariffs.row_key_forbidden")
            elif table.key is not None and row.key is None:
                self.report(rows_file, row_at, "tariffs.row_key_missing", kind=table.key.value)
            elif table.key is TableKey.ZONE and row.key not in draft.zones:
                self.report(
                    zones_file, (*row_at, "key"), "tariffs.unknown_zone", value=str(row.key), zones=zones
                )
            if table.key is TableKey.ID and row.label is None:
                self.report(rows_file, row_at, "tariffs.row_label_missing")
            if table.range is None and (row.from_ is not None or row.to is not None):
                part = "from" if row.from_ is not None else "to"
                self.report(rows_file, (*row_at, part), "tariffs.row_range_forbidden")
            elif table.range is not None and row.from_ is None:
                self.report(rows_file, row_at, "tariffs.row_range_missing")
            for column in table.columns:
                if column not in row.values:
                    self.report(rows_file, row_at, "tariffs.row_column_missing", column=column)
            for column in row.values:
                if column not in table.columns:
                    self.report(
                        rows_file,
                        (*row_at, column),
                        "tariffs.unknown_row_column",
                        column=column,
                        columns=columns,
                    )
            groups.setdefault(row.key, []).append(index)
        if table.key is TableKey.ZONE:
            for zone in draft.zones:
                if zone not in groups:
                    self.report(zones_file, (*at, "rows"), "tariffs.zone_missing", zone=zone)
        for key, indices in groups.items():
            if table.range is None:
                for index in indices[1:]:
                    self.report(rows_file, (*at, "rows", index, "key"), "tariffs.duplicate_row", key=str(key))
            else:
                self.check_ranges(rows_file, at, table, indices)
        return self.failures == before

    def check_ranges(self, file: Path, at: Parts, table: Table, indices: Sequence[int]) -> None:
        previous = None
        for index in indices:
            row = table.rows[index]
            if row.from_ is None:
                return  # reported already; ranges cannot be compared
            if row.to is not None and row.to <= row.from_:
                self.report(
                    file,
                    (*at, "rows", index, "to"),
                    "tariffs.range_empty",
                    low=_num(row.from_),
                    high=_num(row.to),
                )
            if previous is not None:
                if previous.to is None:
                    self.report(file, (*at, "rows", index, "from"), "tariffs.range_after_open")
                elif row.from_ > previous.to:
                    self.report(
                        file,
                        (*at, "rows", index, "from"),
                        "tariffs.range_gap",
                        end=_num(previous.to),
                        start=_num(row.from_),
                    )
                elif row.from_ < previous.to:
                    self.report(
                        file,
                        (*at, "rows", index, "from"),
                        "tariffs.range_overlap",
                        end=_num(previous.to),
                        start=_num(row.from_),
                    )
            previous = row

    def check_fee(self, draft: _Draft, key: str, spec: FeeSpec, broken_tables: set[str]) -> Fee | None:
        before = self.failures
        at: Parts = ("fees", key)
        inputs = self.check_inputs(draft, at, spec)
        known: set[str] = set(draft.parameters) | {item.name for item in inputs}
        later = {line.id for line in spec.lines}
        compiled: list[CompiledFormula] = []
        used_tables: set[str] = set()
        used_names: set[str] = set()
        lines_file = draft.file_of((*at, "lines"))
        for index, line in enumerate(spec.lines):
            later.discard(line.id)
            if line.id in RESERVED_NAMES:
                self.report(lines_file, (*at, "lines", index, "id"), "tariffs.name_reserved", name=line.id)
            elif line.id in known:
                self.report(lines_file, (*at, "lines", index, "id"), "tariffs.name_taken", name=line.id)
            formula = self.check_one_formula(
                draft, (*at, "lines", index, "formula"), line.formula, known, later
            )
            if formula is not None:
                compiled.append(formula)
                used_tables |= formula.tables
                used_names |= formula.names
            known.add(line.id)
        total: CompiledFormula | None = None
        if spec.total is not None:
            total = self.check_one_formula(draft, (*at, "total"), spec.total, known, ())
            if total is not None:
                used_tables |= total.tables
                used_names |= total.names
        used_tables |= {item.choices_from for item in spec.inputs.values() if item.choices_from is not None}
        if self.failures > before or used_tables & broken_tables:
            return None
        sample = (
            bool(spec.sample)
            or any(draft.parameters[name].sample for name in used_names if name in draft.parameters)
            or any(draft.tables[name].sample for name in used_tables if name in draft.tables)
        )
        fee = Fee(
            key=key,
            title=spec.title,
            article=spec.article,
            note=spec.note,
            inputs=tuple(inputs),
            lines=tuple(spec.lines),
            total=spec.total,
            rounding=spec.rounding or draft.rounding,
            sample=sample,
            compiled_lines=tuple(compiled),
            compiled_total=total,
        )
        # A fee whose definition and figures are the very objects of a book already tried (an override
        # that left them alone) gives the same results: it is not evaluated again.
        fingerprint = (
            id(spec),
            *(id(draft.parameters[name]) for name in sorted(used_names) if name in draft.parameters),
            *(id(draft.tables[name]) for name in sorted(used_tables)),
            hash(tuple(draft.zones)),
        )
        if fingerprint in self._tried:
            return fee
        if not self.try_samples(draft, fee):
            return None
        self._tried.add(fingerprint)
        return fee

    def check_inputs(self, draft: _Draft, at: Parts, spec: FeeSpec) -> list[Input]:
        inputs: list[Input] = []
        for name, item in spec.inputs.items():
            input_at: Parts = (*at, "inputs", name)
            file = draft.file_of(input_at)
            if name in RESERVED_NAMES:
                self.report(file, input_at, "tariffs.name_reserved", name=name)
            elif name in draft.parameters:
                self.report(file, input_at, "tariffs.name_taken", name=name)
            choices: tuple[InputChoice, ...] = ()
            if item.type is InputType.ZONE:
                choices = tuple(InputChoice(id=zone, label=label) for zone, label in draft.zones.items())
            elif item.choices is not None:
                choices = tuple(item.choices)
                seen: set[str] = set()
                for index, choice in enumerate(item.choices):
                    if choice.id in seen:
                        self.report(
                            file, (*input_at, "choices", index, "id"), "catalog.duplicate_id", id=choice.id
                        )
                    seen.add(choice.id)
            elif item.choices_from is not None:
                table = draft.tables.get(item.choices_from)
                if table is None:
                    self.report(
                        file,
                        (*input_at, "choices_from"),
                        "tariffs.unknown_table",
                        table=item.choices_from,
                        tables=", ".join(draft.tables) or "-",
                    )
                elif table.key is not TableKey.ID or table.range is not None:
                    self.report(
                        file,
                        (*input_at, "choices_from"),
                        "tariffs.choices_from_not_id",
                        table=item.choices_from,
                    )
                else:
                    choices = tuple(
                        InputChoice(id=row.key, label=row.label)
                        for row in table.rows
                        if row.key is not None and row.label is not None
                    )
            inputs.append(
                Input(
                    name=name,
                    type=item.type,
                    label=item.label,
                    help=item.help,
                    unit=item.unit,
                    minimum=item.min,
                    maximum=item.max,
                    integer=item.integer,
                    choices=choices,
                )
            )
        return inputs

    def check_one_formula(
        self, draft: _Draft, at: Parts, text: str, known: Iterable[str], later: Iterable[str]
    ) -> CompiledFormula | None:
        compiled = compile_formula(text)
        if isinstance(compiled, FormulaIssue):
            self.issue(draft, at, compiled)
            return None
        issues = check_formula(compiled, set(known), draft.tables, set(later))
        for issue in issues:
            self.issue(draft, at, issue)
        return None if issues else compiled

    def try_samples(self, draft: _Draft, fee: Fee) -> bool:
        """Evaluate ``fee`` on sample inputs; report the first failure and return False, else True."""
        book = TariffBook(
            organization_id=draft.organization_id,
            year=draft.year,
            booklet=draft.booklet,
            approved=draft.approved,
            rounding=draft.rounding,
            zones=draft.zones,
            parameters=draft.parameters,
            tables=draft.tables,
            fees=[fee],
            own_file=False,
        )
        at: Parts = ("fees", fee.key)
        evaluator = book.evaluator()
        for values in book.sample_inputs(fee):
            shown = ", ".join(
                f"{name}={_num(value) if isinstance(value, Decimal) else value}"
                for name, value in values.items()
            )
            common = {"inputs": shown or "-", "book": draft.name}
            try:
                _, total = book.evaluate(fee, values, evaluator)
            except FormulaError as failure:
                parts: Parts = (
                    (*at, "total") if failure.line is None else (*at, "lines", failure.line, "formula")
                )
                key, params = _failure_message(failure.cause, common)
                self.report(draft.file_of(parts), parts, key, **params)
                return False
            if total is not None and total < 0:
                self.report(
                    draft.file_of((*at, "total")),
                    (*at, "total"),
                    "tariffs.negative_total",
                    value=_num(total),
                    **common,
                )
                return False
        return True


def _is_division_by_zero(cause: Exception) -> bool:
    # x / 0 raises DivisionByZero (a ZeroDivisionError); 0 / 0 raises InvalidOperation [DivisionUndefined].
    if isinstance(cause, ZeroDivisionError):
        return True
    signals = cause.args[0] if isinstance(cause, decimal.InvalidOperation) and cause.args else ()
    return isinstance(signals, list) and decimal.DivisionUndefined in signals


def _failure_message(cause: Exception, common: dict[str, str]) -> tuple[str, dict[str, str]]:
    if _is_division_by_zero(cause):
        return "tariffs.division_by_zero", common
    if isinstance(cause, TableMissError):
        value = _num(cause.value) if isinstance(cause.value, Decimal) else str(cause.value)
        return f"tariffs.table_{cause.reason}", {**common, "table": cause.table, "value": value}
    if isinstance(cause, NotANumberError):
        return "tariffs.not_a_number", {**common, "value": str(cause.value)}
    return "tariffs.evaluation_failed", {**common, "detail": f"{type(cause).__name__}: {cause}"[:120]}


def _num(value: Value) -> str:
    """A figure for a problem report: plain digits, no exponent, no trailing zeros."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def load_tariffs(
    loader: _Loader, directory: Path, organizations: Mapping[str, Organization] | None
) -> Tariffs | None:
    """Check ``directory/tariffs`` and build its books, or return None (problems are in ``loader.problems``).

    A catalog without a ``tariffs/`` folder has no tariffs (``Tariffs.empty``); that is not a problem.
    """
    return _Checker(loader, organizations).run(directory / TARIFFS)
