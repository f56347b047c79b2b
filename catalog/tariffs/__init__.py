"""Local fee tariffs (تعرفه عوارض محلی): per Jalali year, a county default and each organization's overrides.

Since 1401 every city or village council approves its own tariff booklet each year, so fees are data,
never code: ``catalog/data/tariffs/<year>/_county.yaml`` holds the county's default booklet and
``<year>/<organization id>.yaml`` what one organization changes in it. Formulas are evaluated safely
(``catalog.tariffs.formula``), and every book is checked as a whole by ``miz catalog check``.

Use it through the loaded catalog::

    book = catalog.tariffs.book("falavarjan")            # the booklet in force this year
    result = book.calculate("renovation_fee", {"zone": "central", "land_area": "200", ...})
    result.lines, result.total_rials, result.sample

The format is described in ``catalog/FORMAT.md``, section "Tariffs".
"""

from __future__ import annotations

from catalog.tariffs.book import (
    Calculation,
    CalculationLine,
    Fee,
    Input,
    InputValue,
    TariffBook,
    TariffInputError,
    Tariffs,
)
from catalog.tariffs.formula import FUNCTIONS, RESERVED_NAMES
from catalog.tariffs.schema import (
    FeeLine,
    InputChoice,
    InputType,
    Parameter,
    Rounding,
    RoundingMode,
    Table,
    Unit,
)

__all__ = [
    "FUNCTIONS",
    "RESERVED_NAMES",
    "Calculation",
    "CalculationLine",
    "Fee",
    "FeeLine",
    "Input",
    "InputChoice",
    "InputType",
    "InputValue",
    "Parameter",
    "Rounding",
    "RoundingMode",
    "Table",
    "TariffBook",
    "TariffInputError",
    "Tariffs",
    "Unit",
]
