"""``miz report``: the month of ``tests/desk/test_reports.py`` (its ``a`` is Falavarjan, ``b`` Baharan) written as
xlsx, CSV and Markdown, and read back."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main as miz
from catalog.loader import load_catalog
from config.settings import PROJECT_ROOT
from storage.db import create_engine, session_factory
from tests.desk.test_reports import fill

IDS = {"a": "falavarjan", "b": "baharan", "gov": "governorate"}
AZAR = ["--from", "1405/09/01", "--to", "1405/09/30"]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The configured SQLite database, upgraded and holding the hand-counted month."""
    path = tmp_path / "miz.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    monkeypatch.setenv("MIZ_DATABASE_URL", url)
    assert miz(["db", "upgrade"]) == 0

    async def seed() -> None:
        engine = create_engine(url)
        try:
            await fill(session_factory(engine), IDS)
        finally:
            await engine.dispose()

    asyncio.run(seed())
    return path


def test_an_xlsx_has_a_right_to_left_sheet_per_view(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "azar.xlsx"
    assert miz(["report", *AZAR, "--format", "xlsx", "--out", str(out)]) == 0
    assert str(out) in capsys.readouterr().out

    book = load_workbook(out)
    assert book.sheetnames == ["سازمان‌ها", "خدمات", "کارشناسان", "نظرها"]
    assert all(sheet.sheet_view.rightToLeft for sheet in book.worksheets)
    organizations = book["سازمان‌ها"]
    headers = [cell.value for cell in organizations[1]]
    assert headers[:4] == ["سازمان", "ثبت‌شده", "انجام‌شده", "ردشده"]
    rows = {
        row[0]: dict(zip(headers, row, strict=True))
        for row in organizations.iter_rows(min_row=2, values_only=True)
    }
    shipped = load_catalog(PROJECT_ROOT / "catalog" / "data")
    names = {org.name.fa for org in shipped.organizations}
    assert set(rows) == names, "every organization of the catalog, idle ones included"
    falavarjan = rows["شهرداری فلاورجان"]
    assert (falavarjan["ثبت‌شده"], falavarjan["انجام‌شده"], falavarjan["ردشده"], falavarjan["انصراف"]) == (
        11,
        5,
        1,
        1,
    )
    assert falavarjan["درصد به‌موقع"] == 60.0
    assert falavarjan["میانگین رضایت (از ۵)"] == 3.4
    assert [falavarjan[f"نمرهٔ {n}"] for n in "۱۲۳۴۵"] == [1, 1, 0, 1, 2]
    assert falavarjan["شکایت"] == 3, "the governorate's export counts the anonymous complaint"
    assert (falavarjan["پیامک"], falavarjan["هزینهٔ پیامک (ریال)"]) == (2, 2000)
    assert (falavarjan["گواهی صادرشده"], falavarjan["مبلغ عوارض (ریال)"]) == (2, 500_000)
    assert rows["شهرداری بهاران"]["درصد به‌موقع"] == "موارد کم"

    ratings = list(book["نظرها"].iter_rows(min_row=2, values_only=True))
    assert sorted((r[2], r[3]) for r in ratings) == [(1, "بد"), (5, "عالی")]
    services = {(r[0], r[1]) for r in book["خدمات"].iter_rows(min_row=2, values_only=True)}
    assert ("شهرداری فلاورجان", "permit") in services


def test_a_csv_opens_in_excel_and_an_organization_sees_its_own(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "falavarjan.csv"
    assert miz(["report", *AZAR, "--org", "falavarjan", "--format", "csv", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    table = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert table[0][0] == "سازمان"
    assert len(table) == 2
    row = dict(zip(table[0], table[1], strict=True))
    assert row["سازمان"] == "شهرداری فلاورجان"
    assert row["ثبت‌شده"] == "11"
    assert row["شکایت"] == "2", "an organization's own export leaves the anonymous complaint out"


def test_markdown_holds_every_view(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "azar.md"
    assert miz(["report", *AZAR, "--format", "md", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# از ۱ آذر ۱۴۰۵ تا ۳۰ آذر ۱۴۰۵")
    for heading in ("## سازمان‌ها", "## خدمات", "## کارشناسان", "## نظرها"):
        assert heading in text
    assert "| شهرداری فلاورجان | 11 | 5 | 1 | 1 |" in text


def test_bad_dates_and_unknown_organizations_are_refused(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert miz(["report", "--from", "1405/09/30", "--to", "1405/09/01"]) == 1
    err = capsys.readouterr().err
    assert "پیش از تاریخ آغاز" in err
    assert "Traceback" not in err
    assert miz(["report", *AZAR, "--org", "nowhere"]) == 1
    assert "nowhere" in capsys.readouterr().err
