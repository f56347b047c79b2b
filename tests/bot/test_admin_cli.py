"""``miz dues import`` and ``miz certificate issue|revoke``: all or nothing, clear messages, never a traceback."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from bot.cli import main as miz
from desk.billing import is_valid_pair
from desk.certificates import is_valid_code

HEADER = "code,national_id,amount_rials,period\n"
GOOD = HEADER + "12-34-567,0499370899,1250000,1405\n۷۷۷,۰۷۹۰۴۱۹۹۰۴,۳۵۰٬۰۰۰,۱۴۰۵/۲\n"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The configured database: a fresh SQLite file (the command upgrades it, as `miz run` does)."""
    path = tmp_path / "miz.sqlite3"
    monkeypatch.setenv("MIZ_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    return path


def write(tmp_path: Path, text: str, name: str = "dues.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return path


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as connection:
        try:
            return connection.execute(sql).fetchall()
        except sqlite3.OperationalError:  # no such table: nothing was ever written
            return []


def test_bad_rows_are_listed_and_nothing_is_imported(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD + "13-1,0684159415,1000,1405\n13-2,0499370899,1500,1405\n"
    code = miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", str(write(tmp_path, text))])
    assert code == 1
    err = capsys.readouterr().err
    assert "row 4: bad national ID checksum | ردیف ۴: کد ملی درست نیست" in err
    assert "row 5: the amount must be a positive multiple of 1,000 rials" in err
    assert "Nothing was imported" in err
    assert "هیچ ردیفی وارد نشد" in err
    assert "Traceback" not in err
    assert rows(db, "SELECT * FROM due") == []
    assert rows(db, "SELECT * FROM dues_import") == []


def test_a_good_file_is_imported_with_a_summary(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, GOOD)
    assert (
        miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", "--by", "حسابدار", str(path)])
        == 0
    )
    out = capsys.readouterr().out
    assert "imported 2 Renovation fee due(s) for 'Falavarjan Municipality'" in out
    assert "total 1,600,000 rials" in out
    assert "۲ بدهی «عوارض نوسازی» برای «شهرداری فلاورجان» وارد شد" in out
    assert "۱٬۶۰۰٬۰۰۰ ریال" in out
    assert "is a sample" in out  # the shipped company codes are sample values
    dues = rows(db, "SELECT code_key, bill_id, payment_id, import_batch_id FROM due ORDER BY code_key")
    assert [d[0] for d in dues] == ["1234567", "777"]
    assert all(is_valid_pair(str(d[1]), str(d[2])) for d in dues)
    assert rows(db, "SELECT organization_id, kind, file_name, rows, imported_by FROM dues_import") == [
        ("falavarjan", "renovation", "dues.csv", 2, "حسابدار")
    ]


def test_a_reimport_replaces_the_unpaid_dues(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", str(write(tmp_path, GOOD))])
        == 0
    )
    newer = write(tmp_path, HEADER + "12-34-567,0499370899,1300000,1405\n", name="newer.csv")
    capsys.readouterr()
    assert miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", str(newer)]) == 0
    out = capsys.readouterr().out
    assert "Replaced 1 earlier unpaid due(s)" in out
    assert rows(db, "SELECT code_key, amount_rials, period_number FROM due ORDER BY code_key") == [
        ("1234567", 1_300_000, 0),
        ("777", 350_000, 2),  # another period: untouched
    ]
    capsys.readouterr()
    assert miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", str(newer)]) == 0
    assert "this very file was imported before" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("org", "expected"),
    [("nowhere", "no organization 'nowhere' in the catalog"), ("governorate", "has no company code")],
)
def test_organizations_without_dues_are_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], org: str, expected: str
) -> None:
    assert miz(["dues", "import", "--org", org, "--kind", "business", str(write(tmp_path, GOOD))]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_an_unreadable_or_broken_file(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        miz(["dues", "import", "--org", "falavarjan", "--kind", "business", str(tmp_path / "none.csv")]) == 1
    )
    assert "could not read" in capsys.readouterr().err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("code,national_id,amount_rials,period\nکد,0499370899,1000,1405\n".encode("cp1256"))
    assert miz(["dues", "import", "--org", "falavarjan", "--kind", "business", str(latin)]) == 1
    assert "not UTF-8" in capsys.readouterr().err


def test_a_big_file_shows_progress(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = HEADER + "".join(f"{n},0499370899,{1000 * n},1405\n" for n in range(1, 2501))
    assert (
        miz(["dues", "import", "--org", "falavarjan", "--kind", "renovation", str(write(tmp_path, text))])
        == 0
    )
    captured = capsys.readouterr()
    assert "checking rows / بررسی ردیف‌ها" in captured.err
    assert "100% 2,500/2,500" in captured.err
    assert "imported 2,500" in captured.out


def test_certificates_are_issued_and_revoked(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    issue = [
        "certificate",
        "issue",
        "--org",
        "falavarjan",
        "--type",
        "completion_certificate",
        "--holder-name",
        "زهرا احمدی",
        "--holder-national-id",
        "۰۴۹۹۳۷۰۸۹۹",
        "--property",
        "فلاورجان، پلاک ۱۲",
        "--issued-on",
        "1405/09/06",
        "--valid-until",
        "۱۴۰۶/۰۹/۰۶",
    ]
    assert miz(issue) == 0
    out = capsys.readouterr().out
    code = out.strip().splitlines()[-1]
    assert is_valid_code(code)
    assert f"issued a Completion certificate for 'Falavarjan Municipality'. Verification code: {code}" in out
    assert "گواهی پایان کار" in out
    stored = rows(
        db, "SELECT verification_code, holder_national_id, issued_on, valid_until, status FROM certificate"
    )
    assert stored == [(code.replace("-", ""), "0499370899", "2026-11-27", "2027-11-27", "valid")]

    assert miz(["certificate", "revoke", code.lower(), "--reason", "صدور اشتباه"]) == 0
    assert "is revoked" in capsys.readouterr().out
    assert rows(db, "SELECT status, revoked_reason FROM certificate") == [("revoked", "صدور اشتباه")]
    assert miz(["certificate", "revoke", code, "--reason", "دوباره"]) == 1
    assert "already revoked" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--type", "parking"], "unknown certificate type"),
        (["--holder-national-id", "0684159415"], "national ID"),
        (["--issued-on", "1405/13/01"], "date"),
        (["--request", "123456789012"], "tracking code"),
        (["--org", "nowhere"], "no organization 'nowhere'"),
    ],
)
def test_certificate_mistakes_are_explained(
    db: Path, capsys: pytest.CaptureFixture[str], args: list[str], expected: str
) -> None:
    options = {
        "--org": "falavarjan",
        "--type": "building_permit",
        "--holder-name": "علی رضایی",
        "--holder-national-id": "0790419904",
        "--property": "پلاک ۳",
    }
    options.update(zip(args[::2], args[1::2], strict=True))
    argv = ["certificate", "issue", *[item for option in options.items() for item in option]]
    assert miz(argv) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err
    assert rows(db, "SELECT * FROM certificate") == []


def completed_request(db: Path) -> str:
    """A request of Falavarjan completed by a clerk, in the configured database; its tracking code."""
    from desk.calendar import WorkCalendar
    from desk.handling import ActorRef, complete
    from desk.lifecycle import Actor, Status
    from desk.requests import Submission, submit_request
    from storage.db import create_engine, session_factory
    from storage.migrate import upgrade_async
    from storage.uow import unit_of_work

    url = f"sqlite+aiosqlite:///{db}"
    snapshot = {
        "id": "permit",
        "title": {"fa": "پروانه", "en": "Permit"},
        "duration_days": 3,
        "form": [],
        "documents": [],
    }
    submission = Submission(
        platform="telegram",
        user_id=1001,
        chat_id=1011,
        first_name="زهرا",
        last_name="کریمی",
        username=None,
        organization_id="falavarjan",
        service_id="permit",
        service_version="v1",
        service_snapshot=snapshot,
        answers={},
        documents=[],
        idempotency_key="cli-certificate",
        calendar=WorkCalendar(),
        today=date(2026, 4, 1),
    )
    clerk = ActorRef(Actor.CLERK, "telegram", 501, "رضا", organization_id="falavarjan")

    async def make() -> str:
        await upgrade_async(url)
        engine = create_engine(url)
        try:
            factory = session_factory(engine)
            async with unit_of_work(factory, write=True) as session:
                filed = await submit_request(session, submission)
            async with unit_of_work(factory, write=True) as session:
                await complete(
                    session, filed.request_id, clerk, None, seen_status=Status.SUBMITTED, groups={}
                )
        finally:
            await engine.dispose()
        return filed.tracking_code

    return asyncio.run(make())


def test_a_wrong_certificate_of_a_completed_request_is_revoked_and_reissued(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracking_code = completed_request(db)
    issue = [
        "certificate",
        "issue",
        "--org",
        "falavarjan",
        "--type",
        "building_permit",
        "--holder-name",
        "زهرا کریمی",
        "--holder-national-id",
        "0499370899",
        "--request",
        tracking_code,
    ]
    assert miz([*issue, "--property", "پلاک ۱۲"]) == 0
    out = capsys.readouterr().out
    wrong = out.strip().splitlines()[-1]
    assert "its citizen will be sent the new verification code" in out

    assert miz([*issue, "--property", "پلاک ۱۴"]) == 1
    assert f"already has a valid certificate, {wrong}" in capsys.readouterr().err

    assert miz(["certificate", "revoke", wrong, "--reason", "پلاک اشتباه"]) == 0
    assert miz([*issue, "--property", "پلاک ۱۴"]) == 0
    corrected = capsys.readouterr().out.strip().splitlines()[-1]
    assert rows(db, "SELECT verification_code, property, status FROM certificate ORDER BY id") == [
        (wrong.replace("-", ""), "پلاک 12", "revoked"),
        (corrected.replace("-", ""), "پلاک 14", "valid"),
    ]
    told = [
        json.loads(str(payload))
        for (payload,) in rows(db, "SELECT payload FROM outbox_message WHERE dedupe_key LIKE 'certificate:%'")
    ]
    assert [(p["key"], p["params"]["certificate"], p["params"].get("revoked")) for p in told] == [
        ("notify.citizen.certificate_issued", wrong, None),
        ("notify.citizen.certificate_replaced", corrected, wrong),
    ]


def test_revoking_an_unknown_code(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from desk.certificates import new_certificate_code

    assert miz(["certificate", "revoke", new_certificate_code(), "--reason", "x"]) == 1
    err = capsys.readouterr().err
    assert "There is no certificate with this code." in err
    assert "گواهی‌ای با این کد نیست." in err
    assert miz(["certificate", "revoke", "ABC", "--reason", "x"]) == 1
    assert "12 letters and digits" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    assert miz(["certificate", "revoke", "K7QM-2XPD-9HRK", "--reason", "x", "--url", url]) == 1
    err = capsys.readouterr().err
    assert "the database could not be used" in err
    assert "Traceback" not in err


def _sent_sms(db: Path, org: str, *, cost: int, parts: int, sent_at: str) -> None:
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO outbox_message (channel, phone, organization_id, payload, dedupe_key, status, attempts,"
            " next_attempt_at, created_at, sent_at, cost_rials, parts)"
            " VALUES ('sms', '09121234567', ?, '{}', ?, 'sent', 1, ?, ?, ?, ?, ?)",
            (org, f"{org}-{sent_at}-{cost}", sent_at, sent_at, sent_at, cost, parts),
        )


def test_sms_costs_are_counted_per_organization(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert miz(["sms", "costs"]) == 0  # creates the database
    assert "No SMS were sent" in capsys.readouterr().out
    _sent_sms(db, "falavarjan", cost=2400, parts=2, sent_at="2026-11-20 08:00:00.000000+00:00")
    _sent_sms(db, "falavarjan", cost=1200, parts=1, sent_at="2026-11-25 08:00:00.000000+00:00")
    _sent_sms(db, "oshtorjan", cost=1200, parts=1, sent_at="2026-11-25 09:00:00.000000+00:00")

    assert miz(["sms", "costs"]) == 0
    out = capsys.readouterr().out
    assert "Falavarjan Municipality: 2 SMS, 3 parts, 3,600 rials" in out
    assert "شهرداری فلاورجان: ۲ پیامک، ۳ بخش، ۳٬۶۰۰ ریال" in out
    assert "Total: 3 SMS, 4 parts, 4,800 rials" in out

    assert miz(["sms", "costs", "--since", "۱۴۰۵/۰۹/۰۳"]) == 0  # 2026-11-24 onwards
    out = capsys.readouterr().out
    assert "Total: 2 SMS, 2 parts, 2,400 rials" in out

    assert miz(["sms", "costs", "--since", "1405/13/01"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_vehicle_dues_are_imported_by_plate(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = HEADER + "۱۲ ب ۳۴۵ ایران ۶۷,0499370899,850000,1405\n67 345 ب 12,0499370899,600000,1404\n"
    assert (
        miz(["dues", "import", "--org", "falavarjan", "--kind", "vehicle", str(write(tmp_path, text))]) == 0
    )
    out = capsys.readouterr().out
    assert "«عوارض سالیانه خودرو»" in out
    dues = rows(db, "SELECT kind, property_or_business_code, code_key, bill_id FROM due ORDER BY period_year")
    assert [d[:3] for d in dues] == [("vehicle", "12 ب 345 ایران 67", "12ب34567")] * 2
    assert {str(d[3])[0] for d in dues} == {"6"}

    bad = HEADER + "12 ب 345 ایران 67,0499370899,850000,1405\n12-34-567,0499370899,1000,1405\n"
    assert miz(["dues", "import", "--org", "falavarjan", "--kind", "vehicle", str(write(tmp_path, bad))]) == 1
    err = capsys.readouterr().err
    assert "row 3: this is not a car plate" in err
    assert "ردیف ۳: این پلاک خودرو درست نیست" in err
