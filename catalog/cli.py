"""``miz catalog check [DIR]``: validate a catalog folder before reloading it, in English and Persian.

Exit 0 with a one-line summary when the folder loads cleanly; exit 1 with every problem, one per line
(``file:line: field: message``), when it does not. It never prints a traceback: an admin reads this.
A folder that loads is then searched for values still marked as samples (``catalog.samples``): each is a warning
line, and with ``strict`` (``--strict``) they fail the check (exit 1), so nothing invented goes live unseen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from catalog.loader import check_catalog
from catalog.samples import sample_marks
from desk.i18n import translator
from desk.persian import to_persian_digits

__all__ = ["check"]


def check(directory: Path | None = None, out: TextIO | None = None, *, strict: bool = False) -> int:
    """Check ``directory`` (default: the configured ``catalog_dir``) and print the outcome; return the exit code.

    ``strict`` fails a catalog that loads but still holds sample values."""
    import sys

    stream = out if out is not None else sys.stdout
    if directory is None:
        from config.settings import Settings

        directory = Settings().catalog_dir
    en, fa = translator("en"), translator("fa")
    try:
        catalog, problems = check_catalog(directory)
    except Exception as exc:  # a bug of the checker itself: one clear line, not a traceback, for the admin
        print(en("catalog.check.crashed", detail=f"{type(exc).__name__}: {exc}"), file=stream)
        print(fa("catalog.check.crashed", detail=f"{type(exc).__name__}: {exc}"), file=stream)
        return 2
    if catalog is None:
        for problem in problems:
            print(problem.render(), file=stream)
        count = len(problems)
        print(en("catalog.check.failed", count=count), file=stream)
        print(fa("catalog.check.failed", count=to_persian_digits(count)), file=stream)
        return 1
    summary = catalog.summary()
    numbers = {
        "organizations": summary.organizations,
        "services": summary.services,
        "documents": summary.documents,
    }
    print(en("catalog.check.ok", **numbers), file=stream)
    print(
        fa("catalog.check.ok", **{name: to_persian_digits(value) for name, value in numbers.items()}),
        file=stream,
    )
    if summary.agencies:
        samples = sum(1 for agency in catalog.agencies if agency.sample)
        print(en("catalog.check.agencies_ok", agencies=summary.agencies, samples=samples), file=stream)
        print(
            fa(
                "catalog.check.agencies_ok",
                agencies=to_persian_digits(summary.agencies),
                samples=to_persian_digits(samples),
            ),
            file=stream,
        )
    if summary.tariff_years:
        years = ", ".join(str(year) for year in summary.tariff_years)
        print(
            en("catalog.check.tariffs_ok", years=years, fees=summary.fees, files=summary.tariff_files),
            file=stream,
        )
        print(
            fa(
                "catalog.check.tariffs_ok",
                years=to_persian_digits("، ".join(str(year) for year in summary.tariff_years)),
                fees=to_persian_digits(summary.fees),
                files=to_persian_digits(summary.tariff_files),
            ),
            file=stream,
        )
    marks = sample_marks(directory)
    for mark in marks:
        print(mark.render(), file=stream)
    if marks:
        key = "catalog.check.samples_strict" if strict else "catalog.check.samples"
        print(en(key, count=len(marks)), file=stream)
        print(fa(key, count=to_persian_digits(len(marks))), file=stream)
    return 1 if strict and marks else 0
