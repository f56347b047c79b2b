"""The report's chart: a PNG of the expected size, its Persian drawn shaped, right to left, in the shipped font."""

from __future__ import annotations

import io
from datetime import date

from PIL import Image, ImageChops, ImageDraw

from desk.charts import FONT_BOLD, WIDTH, chart_png, font, shape
from desk.reports import Figures, Period, Rate, Report, ReportQuery, Satisfaction, WeekCount, totals

AZAR = Period(date(2026, 11, 22), date(2026, 12, 21))
NAMES = {"falavarjan": "شهرداری فلاورجان", "baharan": "شهرداری بهاران"}


def report() -> tuple[Report, list[WeekCount]]:
    rows = (
        Figures(
            "falavarjan",
            filed=40,
            completed=30,
            on_time=Rate(24, 30),
            satisfaction=Satisfaction((1, 1, 2, 6, 10)),
        ),
        Figures("baharan", filed=3, completed=2, on_time=Rate(1, 2)),
    )
    trend = [WeekCount(week, filed=n * 3, completed=n * 2) for n, week in enumerate(AZAR.weeks(), start=1)]
    return Report(ReportQuery(AZAR), rows, totals(rows)), trend


def test_persian_is_shaped_and_put_right_to_left() -> None:
    shaped = shape("گزارش ۱۴۰۵")
    assert shaped != "گزارش ۱۴۰۵"
    assert any(0xFB50 <= ord(c) <= 0xFEFF for c in shaped), "letters take their joined presentation forms"
    assert shaped.startswith("۱۴۰۵"), "the number that ends the sentence is drawn on the left"
    sample = shape("دهیاری سبزدشت (نمونه)")
    assert sample.startswith("(")
    assert sample.index(")") > 1, "brackets face the word they enclose"


def test_a_chart_is_a_png_with_its_title_drawn_in_vazirmatn() -> None:
    data, trend = report()
    png = chart_png(data, trend, NAMES.__getitem__)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (WIDTH, 110 + 2 * 56 + 60 + 300)
    assert font(26, bold=True).path == str(FONT_BOLD)
    assert FONT_BOLD.name == "Vazirmatn-Bold.ttf"

    # The title, drawn alone with the shipped font where the chart draws it, matches the chart's pixels; the
    # same words unshaped (letters apart, left to right) do not.
    def title_alone(text: str) -> Image.Image:
        alone = Image.new("RGB", image.size, "white")
        ImageDraw.Draw(alone).text(
            (WIDTH - 24, 16), text, font=font(26, bold=True), fill=(33, 37, 41), anchor="ra"
        )
        return alone.crop((0, 0, WIDTH, 52))

    drawn = image.convert("RGB").crop((0, 0, WIDTH, 52))
    assert ImageChops.difference(drawn, title_alone(shape("عملکرد سازمان‌ها"))).getbbox() is None
    assert ImageChops.difference(drawn, title_alone("عملکرد سازمان‌ها")).getbbox() is not None


def test_a_chart_without_rows_says_so() -> None:
    empty = Report(ReportQuery(AZAR, organization_id="falavarjan"), (), Figures(""))
    image = Image.open(io.BytesIO(chart_png(empty, [], NAMES.__getitem__)))
    assert image.size == (WIDTH, 110 + 56 + 60 + 300)
