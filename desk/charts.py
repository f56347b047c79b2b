"""A report's chart as a PNG: on-time rate and satisfaction per row as bars, and the weekly filed/completed trend.

Persian text is shaped (joined letter forms, ``arabic_reshaper``) and put in display order (right to left,
``python-bidi``) here, then drawn by Pillow's basic layout, so a chart looks the same on every machine whether
or not Pillow was built with a shaping library. The font is Vazirmatn, shipped in ``desk/fonts`` under the SIL
Open Font License (``desk/fonts/OFL.txt``). Labels use Persian digits and Jalali dates; the layout mirrors for
right-to-left reading (names on the right, bars growing to the left, the first week on the right).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Final

import arabic_reshaper
from bidi import get_display
from persiantools.jdatetime import JalaliDate
from PIL import Image, ImageDraw, ImageFont

from desk.i18n import translator
from desk.persian import format_number
from desk.report_text import average_text, period_text
from desk.reports import Figures, Report, WeekCount

__all__ = ["FONT_BOLD", "FONT_REGULAR", "WIDTH", "chart_png", "font", "shape"]

FONTS: Final = Path(__file__).parent / "fonts"
FONT_REGULAR: Final = FONTS / "Vazirmatn-Regular.ttf"
FONT_BOLD: Final = FONTS / "Vazirmatn-Bold.ttf"
WIDTH: Final = 1000
"""Every chart is this many pixels wide; its height grows with its rows."""
ROWS_DRAWN: Final = 15
"""Most rows a chart draws (the text lists the rest)."""

_ROW: Final = 56
_TOP: Final = 110
_TREND: Final = 300
_MARGIN: Final = 24
_LABEL: Final = 260
_COLOURS: Final = {
    "on_time": (33, 102, 172),
    "satisfaction": (26, 152, 80),
    "filed": (146, 160, 178),
    "completed": (26, 152, 80),
    "ink": (33, 37, 41),
    "muted": (120, 120, 120),
    "rule": (222, 226, 230),
}


_MIRRORED: Final = str.maketrans("()[]«»", ")(][»«")
_RTL_LETTER = re.compile("[\u0600-\u06ff\ufb50-\ufdff\ufe70-\ufeff]")


def shape(text: str) -> str:
    """``text`` as it must be drawn: Persian letters joined and the whole put in visual (left-to-right) order.

    python-bidi reorders brackets without mirroring them, so in a right-to-left text they are mirrored here
    ('سبزدشت (نمونه)' keeps its brackets facing the word).
    """
    shaped = str(get_display(arabic_reshaper.reshape(text)))
    return shaped.translate(_MIRRORED) if _RTL_LETTER.search(text) else shaped


@cache
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The shipped Vazirmatn at ``size`` pixels, with Pillow's basic layout (the text comes shaped)."""
    return ImageFont.truetype(
        str(FONT_BOLD if bold else FONT_REGULAR), size, layout_engine=ImageFont.Layout.BASIC
    )


class _Canvas:
    """A white image and the few ways a chart draws on it."""

    def __init__(self, height: int) -> None:
        self.image = Image.new("RGB", (WIDTH, height), "white")
        self.draw = ImageDraw.Draw(self.image)

    def text_right(
        self, right: float, y: float, text: str, size: int = 18, *, colour: str = "ink", bold: bool = False
    ) -> None:
        """``text`` ending (its right edge) at ``right``: how right-to-left text is aligned."""
        self.draw.text(
            (right, y), shape(text), font=font(size, bold=bold), fill=_COLOURS[colour], anchor="ra"
        )

    def text_centre(self, x: float, y: float, text: str, size: int = 14, *, colour: str = "ink") -> None:
        self.draw.text((x, y), shape(text), font=font(size), fill=_COLOURS[colour], anchor="ma")

    def bar(self, right: float, y: float, length: float, height: float, colour: str) -> None:
        """A bar growing leftwards from ``right``."""
        if length > 0:
            self.draw.rectangle((right - length, y, right, y + height), fill=_COLOURS[colour])


def chart_png(
    report: Report, trend: Sequence[WeekCount], name_of: Callable[[str], str], lang: str = "fa"
) -> bytes:
    """The report's chart: a title with the period, two bars per row (on time %, satisfaction of 5), a legend, and
    the trend of filed and completed requests by week."""
    t = translator(lang)
    rows = list(report.rows[:ROWS_DRAWN])
    height = _TOP + max(1, len(rows)) * _ROW + 60 + _TREND
    canvas = _Canvas(height)
    right = WIDTH - _MARGIN
    title = (
        t("chart.title.overview")
        if report.query.organization_id is None
        else name_of(report.query.organization_id)
    )
    canvas.text_right(right, 16, title, 26, bold=True)
    canvas.text_right(right, 56, period_text(report.query.period, lang), 16, colour="muted")
    _legend(
        canvas, [(t("chart.legend.on_time"), "on_time"), (t("chart.legend.satisfaction"), "satisfaction")], 60
    )
    y = _TOP
    for row in rows:
        _row_bars(canvas, row, name_of(row.key), y, lang)
        y += _ROW
    if not rows:
        canvas.text_right(right, y + 10, t("report.empty"), 16, colour="muted")
        y += _ROW
    _trend(canvas, trend, y + 40, lang)
    out = io.BytesIO()
    canvas.image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _legend(canvas: _Canvas, entries: Sequence[tuple[str, str]], y: int) -> None:
    """Coloured squares and their labels (``(label, colour)``), from the left edge."""
    x = _MARGIN
    for label, colour in entries:
        canvas.draw.rectangle((x, y + 4, x + 14, y + 18), fill=_COLOURS[colour])
        width = canvas.draw.textlength(shape(label), font=font(14))
        canvas.draw.text((x + 20, y), shape(label), font=font(14), fill=_COLOURS["ink"])
        x += int(width) + 44


def _row_bars(canvas: _Canvas, row: Figures, name: str, y: int, lang: str) -> None:
    """A row's name on the right, then its on-time bar (of 100 %) and satisfaction bar (of 5) growing left."""
    t = translator(lang)
    right = WIDTH - _MARGIN
    canvas.text_right(right, y + 12, name, 17)
    start = right - _LABEL
    span = start - _MARGIN - 90
    canvas.draw.line((start, y, start, y + _ROW - 8), fill=_COLOURS["rule"])
    on_time = row.on_time.value
    average = row.satisfaction.average
    bars = (
        (
            "on_time",
            None if on_time is None else on_time,
            None if on_time is None else f"{format_number(round(on_time * 100), lang)}٪",
        ),
        (
            "satisfaction",
            None if average is None else average / 5,
            None if average is None else average_text(row, lang),
        ),
    )
    for n, (colour, share, label) in enumerate(bars):
        top = y + 4 + n * 22
        if share is None:
            canvas.text_right(start - 6, top - 2, t("chart.too_few"), 13, colour="muted")
            continue
        length = span * share
        canvas.bar(start, top, length, 18, colour)
        canvas.text_right(start - length - 6, top - 2, label or "", 14)


def _trend(canvas: _Canvas, trend: Sequence[WeekCount], top: int, lang: str) -> None:
    """Bars of filed and completed requests per week, the first week on the right, each under its first day."""
    t = translator(lang)
    right = WIDTH - _MARGIN
    canvas.text_right(right, top - 30, t("chart.trend"), 18, bold=True)
    _legend(
        canvas, [(t("chart.legend.filed"), "filed"), (t("chart.legend.completed"), "completed")], top - 26
    )
    if not trend:
        return
    base = top + _TREND - 90
    highest = max(max(w.filed, w.completed) for w in trend) or 1
    slot = (WIDTH - 2 * _MARGIN) / len(trend)
    canvas.draw.line((_MARGIN, base, right, base), fill=_COLOURS["rule"])
    for n, week in enumerate(trend):
        centre = right - slot * (n + 0.5)
        width = min(28.0, slot / 4)
        for offset, value, colour in (
            (width / 2 + 2, week.filed, "filed"),
            (-width / 2 - 2, week.completed, "completed"),
        ):
            x = centre + offset
            height = (base - top - 30) * value / highest
            canvas.draw.rectangle((x - width / 2, base - height, x + width / 2, base), fill=_COLOURS[colour])
            canvas.text_centre(x, base - height - 18, format_number(value, lang), 12)
        j = JalaliDate(week.week.first)  # type: ignore[no-untyped-call]  # persiantools has no annotations
        label = t("chart.week", day=format_number(j.day, lang), month=t(f"desk.month.{j.month}"))
        canvas.text_centre(centre, base + 8, label, 13, colour="muted")
