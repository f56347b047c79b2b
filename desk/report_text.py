"""A report as the text people read in their group, the digest or an export's summary (``desk.reports``).

Plain text, no markup (the bot escapes it for its platform); every phrase from the ``report.*`` locale texts,
numbers in the reader's digits, periods as Jalali dates. A rate with too few cases reads "too few" with its
count, never as a percentage.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Final

from desk.i18n import translator
from desk.persian import format_decimal, format_jalali_date, format_number
from desk.reports import Breakdown, Figures, Period, Rate, Report

__all__ = ["ROWS_SHOWN", "average_text", "period_text", "rate_text", "report_text"]

ROWS_SHOWN: Final = 40
"""Most rows a report lists in a message (the county has a dozen organizations; a busy one more services)."""


def period_text(period: Period, lang: str = "fa") -> str:
    """'۱ آذر ۱۴۰۵ تا ۳۰ آذر ۱۴۰۵'."""
    return translator(lang)(
        "report.period",
        first=format_jalali_date(period.first, lang),
        last=format_jalali_date(period.last, lang),
    )


def rate_text(rate: Rate, lang: str = "fa") -> str:
    """'۶۰٪ (۳ از ۵)', or 'too few (۳ of ۴)' under ``MIN_CASES`` cases, or '—' with none."""
    t = translator(lang)
    if not rate.cases:
        return t("report.none")
    count, cases = format_number(rate.count, lang), format_number(rate.cases, lang)
    if rate.value is None:
        return t("report.rate.few", count=count, cases=cases)
    percent = format_decimal(Decimal(rate.value * 100), lang, places=0)
    return t("report.rate", percent=percent, count=count, cases=cases)


def average_text(figures: Figures, lang: str = "fa") -> str:
    """The average score with one decimal ('۳٫۴'), or '—' without ratings."""
    average = figures.satisfaction.average
    if average is None:
        return translator(lang)("report.none")
    return format_decimal(Decimal(average), lang, places=1)


def _number(value: int | None, lang: str) -> str:
    return translator(lang)("report.none") if value is None else format_number(value, lang)


def _details(f: Figures, lang: str) -> list[str]:
    """Every figure of one organization, a line for each group of them."""
    t = translator(lang)

    def n(value: int | None) -> str:
        return _number(value, lang)

    stars = " · ".join(
        t("report.star", score=format_number(score, lang), count=n(count))
        for score, count in enumerate(f.satisfaction.distribution, start=1)
    )
    return [
        t("report.line.counts", filed=n(f.filed), completed=n(f.completed), rejected=n(f.rejected),
          withdrawn=n(f.withdrawn)),
        t("report.line.open", open=n(f.open_now), overdue=n(f.overdue_now)),
        t("report.line.on_time", rate=rate_text(f.on_time, lang)),
        t("report.line.handling", median=n(f.handling_median), p90=n(f.handling_p90)),
        t("report.line.first_response", median=n(f.first_response_median)),
        t("report.line.satisfaction", average=average_text(f, lang), ratings=n(f.satisfaction.ratings),
          satisfied=rate_text(f.satisfaction.satisfied, lang)),
        stars,
        t("report.line.complaints", complaints=n(f.complaints), objections=n(f.objections)),
        t("report.line.extras", sms=n(f.sms_sent), cost=n(f.sms_cost_rials), certificates=n(f.certificates),
          dues=n(f.dues_paid), dues_total=n(f.dues_paid_rials)),
    ]  # fmt: skip


def _row(n: int, f: Figures, name: str, lang: str) -> str:
    """One line of a side-by-side or breakdown report."""
    return translator(lang)(
        "report.row",
        n=format_number(n, lang),
        name=name,
        on_time=rate_text(f.on_time, lang),
        satisfaction=average_text(f, lang),
        ratings=format_number(f.satisfaction.ratings, lang),
        filed=format_number(f.filed, lang),
        completed=format_number(f.completed, lang),
        open=format_number(f.open_now, lang),
        overdue=format_number(f.overdue_now, lang),
    )


def report_text(report: Report, name_of: Callable[[str], str], lang: str = "fa") -> str:
    """The report's message: a heading with the period, then one organization's figures in full, or a line per
    row (organization, service or clerk, named by ``name_of``) and the total."""
    t = translator(lang)
    query = report.query
    period = period_text(query.period, lang)
    if query.organization_id is not None and query.breakdown is Breakdown.ORGANIZATION:
        heading = t("report.title.organization", name=name_of(query.organization_id), period=period)
        return "\n".join([heading, *_details(report.total, lang)])
    if query.organization_id is None:
        heading = t("report.title.overview", period=period, order=t(f"report.order.{query.sort.value}"))
    else:
        kind = query.breakdown.value
        heading = t(f"report.title.{kind}", name=name_of(query.organization_id), period=period)
    lines = [heading]
    if not report.rows:
        lines.append(t("report.empty"))
    for n, row in enumerate(report.rows[:ROWS_SHOWN], start=1):
        lines.append(_row(n, row, name_of(row.key), lang))
    if len(report.rows) > ROWS_SHOWN:
        lines.append(t("report.more", count=format_number(len(report.rows) - ROWS_SHOWN, lang)))
    if query.organization_id is None:
        lines.append(t("report.total_heading"))
        lines.extend(_details(report.total, lang))
    return "\n".join(lines)
