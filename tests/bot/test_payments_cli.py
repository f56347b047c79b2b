"""``miz payments import``: a bank's report applied once, its odd rows listed, a broken report applied not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main as miz

from .test_admin_cli import db, rows, write  # type: ignore[import-not-found]  # noqa: F401  # db is a fixture

DATA = Path(__file__).parent / "data" / "bank"
DUES = "code,national_id,amount_rials,period\n12-34-567,0499370899,1250000,1405\n777,0790419904,350000,1405\n"


@pytest.fixture
def dues(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    """Falavarjan's two renovation dues of 1405 (bill IDs 1123456731161 and 1000077731168)."""
    assert (
        miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", str(write(tmp_path, DUES))])
        == 0
    )
    capsys.readouterr()
    return db


def paid(database: Path) -> dict[object, bool]:
    return {code: at is not None for code, at in rows(database, "SELECT code_key, paid_at FROM due")}


def test_a_report_is_applied_and_its_mismatches_listed(
    dues: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert miz(["payments", "import", "--by", "حسابدار", str(DATA / "day1.csv")]) == 0
    out = capsys.readouterr().out
    assert "row 3: the payment ID does not fit the bill ID" in out
    assert "ردیف ۳: شناسه پرداخت با شناسه قبض جور نیست" in out
    assert "row 4: no due or request has this bill ID" in out
    assert "Of the bank report's 3 row(s), 1 payment(s) were recorded" in out
    assert "total 1,250,000 rials" in out
    assert "از ۳ ردیف گزارش بانک، ۱ پرداخت ثبت شد" in out
    assert paid(dues) == {"1234567": True, "777": False}
    assert rows(dues, "SELECT trace_number, bill_id, outcome FROM settlement") == [
        ("77001", "1123456731161", "due")
    ]

    # The next day's report repeats 77001 and brings 777's payment: only the new one is applied.
    assert miz(["payments", "import", str(DATA / "day2.csv")]) == 0
    out = capsys.readouterr().out
    assert "row 2: duplicate: this payment (the same trace number and bill ID) was recorded before" in out
    assert "1 payment(s) were recorded" in out
    assert paid(dues) == {"1234567": True, "777": True}

    # The same report again: nothing changes, and the admin is told it was imported before.
    before = rows(dues, "SELECT * FROM due ORDER BY id")
    assert miz(["payments", "import", str(DATA / "day2.csv")]) == 0
    out = capsys.readouterr().out
    assert "this same file was imported at" in out
    assert "0 payment(s) were recorded" in out
    assert "2 row(s) were duplicates" in out
    assert rows(dues, "SELECT * FROM due ORDER BY id") == before
    assert len(rows(dues, "SELECT * FROM settlement")) == 2
    assert rows(
        dues, "SELECT file_name, rows, applied, duplicates, mismatches, imported_by FROM settlement_import"
    )[0] == ("day1.csv", 3, 1, 0, 2, "حسابدار")


def test_a_broken_report_applies_nothing(dues: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert miz(["payments", "import", str(DATA / "broken.csv")]) == 1
    err = capsys.readouterr().err
    assert "row 3: the amount must be a positive number of rials" in err
    assert "row 4: the payment ID must have 6 to 13 digits" in err
    assert "No payment was recorded" in err
    assert "هیچ پرداختی ثبت نشد" in err
    assert "Traceback" not in err
    assert paid(dues) == {"1234567": False, "777": False}  # row 2 was good, but the file is broken
    assert rows(dues, "SELECT * FROM settlement") == []


def test_a_missing_file_is_one_line(dues: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert miz(["payments", "import", str(tmp_path / "none.csv")]) == 1
    err = capsys.readouterr().err
    assert "could not read" in err
    assert "none.csv" in err
    assert "Traceback" not in err
