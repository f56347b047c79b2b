"""The tariff files' models: what ``tariffs/<year>/_county.yaml`` and ``tariffs/<year>/<organization>.yaml`` hold.

Pydantic checks the shape of each file (unknown keys, types, a number input's bounds); rules that need a
whole book (formulas and their names, table ranges, rows per zone, overrides of unknown keys) are checked
by ``catalog.tariffs.loading`` once the county default and an organization's overrides are merged. The
format is described in ``catalog/FORMAT.md``, section "Tariffs".

Every figure is a ``Decimal`` read from the YAML text, never a float: money must not pick up binary
rounding errors.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from catalog.schema import Id, Text

__all__ = [
    "ROW_FIELDS",
    "Column",
    "CountyTariffFile",
    "FeeInput",
    "FeeLine",
    "FeeOverride",
    "FeeSpec",
    "InputChoice",
    "InputType",
    "Number",
    "OrganizationTariffFile",
    "Parameter",
    "ParameterOverride",
    "RangeSpec",
    "Rounding",
    "RoundingMode",
    "Table",
    "TableKey",
    "TableOverride",
    "TableRow",
    "Unit",
]


def _to_decimal(value: Any) -> Any:
    """YAML numbers as exact decimals: a float goes through its shortest repr (``0.1`` stays ``0.1``)."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "catalog.expected_number", "expected a number, got {value}", {"value": value}
        )
    if isinstance(value, float):
        if not math.isfinite(value):
            raise PydanticCustomError(
                "catalog.expected_number", "expected a number, got {value}", {"value": value}
            )
        return Decimal(repr(value))
    return value


Number = Annotated[Decimal, BeforeValidator(_to_decimal), Field(allow_inf_nan=False)]
"""A figure as written in the YAML, kept exact as a ``Decimal``."""


def _formula_text(value: Any) -> Any:
    # ``total: 0`` or ``formula: 1500000`` are formulas too.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Formula = Annotated[str, BeforeValidator(_formula_text), Field(min_length=1)]
"""A formula's text: an expression over inputs, parameters, earlier lines and the functions of formulas."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Unit(StrEnum):
    """The unit of a figure, shown beside it (``tariffs.unit.<value>`` in ``locales/``)."""

    RIAL = "rial"
    RIAL_PER_M2 = "rial_per_m2"
    M2 = "m2"
    METER = "m"
    PERCENT = "percent"
    PER_MILLE = "per_mille"
    RATIO = "ratio"
    FLOORS = "floors"
    YEAR = "year"
    JALALI_YEAR = "jalali_year"
    COUNT = "count"

    @property
    def label_key(self) -> str:
        """The message id of the unit's name, e.g. ``tariffs.unit.m2``."""
        return f"tariffs.unit.{self.value}"


class RoundingMode(StrEnum):
    """How a total is rounded to its step: down (the default: never ask more than the formula), up or nearest."""

    DOWN = "down"
    UP = "up"
    NEAREST = "nearest"


_ROUNDING = {
    RoundingMode.DOWN: ROUND_FLOOR,
    RoundingMode.UP: ROUND_CEILING,
    RoundingMode.NEAREST: ROUND_HALF_UP,
}


class Rounding(_Model):
    """The rounding of a fee's total to whole rials: to a multiple of ``step`` (1,000: bills carry thousands)."""

    step: Annotated[int, Field(ge=1)] = 1000
    mode: RoundingMode = RoundingMode.DOWN

    def apply(self, value: Decimal) -> int:
        """``value`` in rials rounded to a multiple of ``step`` (half up for ``nearest``)."""
        steps = (value / self.step).to_integral_value(rounding=_ROUNDING[self.mode])
        return int(steps) * self.step


class Parameter(_Model):
    """A named figure of the booklet (a rate, a coefficient, a unit price) used by formulas."""

    label: Text
    unit: Unit
    value: Number
    sample: bool | None = None
    source: Text | None = None


class ParameterOverride(_Model):
    """An organization's change to a parameter of the county default: the fields given replace the default's."""

    label: Text | None = None
    unit: Unit | None = None
    value: Number | None = None
    sample: bool | None = None
    source: Text | None = None


class Column(_Model):
    """A value column of a table."""

    label: Text
    unit: Unit


class RangeSpec(_Model):
    """What a table's row ranges measure (e.g. the plot area in m2)."""

    label: Text
    unit: Unit


class TableKey(StrEnum):
    """What picks a table's rows besides a range: a zone of the book, or an id of the table's own (with a label)."""

    ZONE = "zone"
    ID = "id"


ROW_FIELDS = frozenset({"key", "label", "from", "to"})
"""The keys of a table row that are not columns."""


class TableRow(_Model):
    """One row: its key and/or range, and a value for each column (written as ``column: value`` in the row)."""

    key: Id | None = None
    label: Text | None = None
    from_: Number | None = Field(default=None, alias="from")
    to: Number | None = None
    values: dict[str, Number] = {}

    @model_validator(mode="before")
    @classmethod
    def _columns_apart(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {
            **{name: value for name, value in data.items() if name in ROW_FIELDS},
            "values": {name: value for name, value in data.items() if name not in ROW_FIELDS},
        }


class Table(_Model):
    """A table of the booklet: rows picked by a key, a range of a measure, or both; each row has every column."""

    label: Text
    key: TableKey | None = None
    range: RangeSpec | None = None
    columns: Annotated[dict[Id, Column], Field(min_length=1)]
    rows: Annotated[list[TableRow], Field(min_length=1)]
    sample: bool | None = None
    source: Text | None = None


class TableOverride(_Model):
    """An organization's table: ``rows`` replace the default's rows as a whole (the columns stay the default's)."""

    label: Text | None = None
    rows: Annotated[list[TableRow], Field(min_length=1)] | None = None
    sample: bool | None = None
    source: Text | None = None


class InputType(StrEnum):
    """What a fee asks for: a number (with unit and bounds), one of a list of choices, or a zone of the book."""

    NUMBER = "number"
    CHOICE = "choice"
    ZONE = "zone"


class InputChoice(_Model):
    """One option of a choice input."""

    id: Id
    label: Text


class FeeInput(_Model):
    """One figure or choice a fee asks of the citizen."""

    type: InputType
    label: Text
    help: Text | None = None
    unit: Unit | None = None
    min: Number | None = None
    max: Number | None = None
    integer: bool = False
    choices: Annotated[list[InputChoice], Field(min_length=2)] | None = None
    choices_from: Id | None = None

    @model_validator(mode="after")
    def _fields_match_type(self) -> FeeInput:
        if self.type is InputType.NUMBER:
            for name in ("unit", "min", "max"):
                if getattr(self, name) is None:
                    raise PydanticCustomError(
                        "catalog.missing", "required field is missing", {"at_field": name, "at_near": "type"}
                    )
            if self.min is not None and self.max is not None and self.min > self.max:
                raise PydanticCustomError(
                    "tariffs.min_above_max",
                    "min is above max",
                    {"at_field": "max", "min": str(self.min), "max": str(self.max)},
                )
            extra = [name for name in ("choices", "choices_from") if getattr(self, name) is not None]
        else:
            extra = [name for name in ("unit", "min", "max") if getattr(self, name) is not None]
            if self.integer:
                extra.append("integer")
            if self.type is InputType.CHOICE:
                if self.choices is None and self.choices_from is None:
                    raise PydanticCustomError(
                        "tariffs.choices_needed",
                        "a choice input needs choices or choices_from",
                        {"at_field": "choices", "at_near": "type"},
                    )
                if self.choices is not None and self.choices_from is not None:
                    raise PydanticCustomError(
                        "tariffs.choices_both",
                        "choices or choices_from, not both",
                        {"at_field": "choices_from"},
                    )
            else:
                extra += [name for name in ("choices", "choices_from") if getattr(self, name) is not None]
        if extra:
            raise PydanticCustomError(
                "tariffs.not_for_type",
                "field does not apply to this input type",
                {"at_field": extra[0], "field": extra[0], "type": self.type.value},
            )
        return self


class FeeLine(_Model):
    """One line of a fee's breakdown: a figure computed by ``formula``, named by ``id`` for the lines below."""

    id: Id
    label: Text
    unit: Unit
    formula: Formula


class FeeSpec(_Model):
    """A fee (or a calculation without an amount, when ``total`` is absent) of the booklet."""

    title: Text
    article: Text
    note: Text | None = None
    inputs: dict[Id, FeeInput] = {}
    lines: Annotated[list[FeeLine], Field(min_length=1)]
    total: Formula | None = None
    rounding: Rounding | None = None
    sample: bool | None = None


class FeeOverride(_Model):
    """An organization's change to a fee of the county default: each field given replaces the default's whole."""

    title: Text | None = None
    article: Text | None = None
    note: Text | None = None
    inputs: dict[Id, FeeInput] | None = None
    lines: Annotated[list[FeeLine], Field(min_length=1)] | None = None
    total: Formula | None = None
    rounding: Rounding | None = None
    sample: bool | None = None


class CountyTariffFile(_Model):
    """``tariffs/<year>/_county.yaml``: the county's default booklet, which every organization starts from."""

    booklet: Text
    approved: Text | None = None
    sample: bool
    rounding: Rounding = Rounding()
    zones: Annotated[dict[Id, Text], Field(min_length=1)]
    parameters: dict[Id, Parameter] = {}
    tables: dict[Id, Table] = {}
    fees: dict[Id, FeeSpec] = {}


class OrganizationTariffFile(_Model):
    """``tariffs/<year>/<organization id>.yaml``: what one organization's booklet changes in the county default."""

    booklet: Text | None = None
    approved: Text | None = None
    sample: bool | None = None
    rounding: Rounding | None = None
    zones: Annotated[dict[Id, Text], Field(min_length=1)] | None = None
    parameters: dict[Id, ParameterOverride] = {}
    tables: dict[Id, TableOverride] = {}
    fees: dict[Id, FeeOverride] = {}
