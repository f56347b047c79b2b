"""Dues files checked row by row, imported in one go with valid bill and payment IDs, and looked up by citizens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk.billing import amount_of, barcode, is_valid_pair
from desk.dues import (
    AMOUNT_MAX,
    DueKind,
    DueRow,
    Period,
    dues_throttle,
    file_number,
    import_dues,
    lookup_dues,
    normalize_code,
    parse_dues_csv,
)
from desk.errors import NotFound, Throttled, ValidationError
from storage.models import Due, DuesImport
from storage.repositories import Dues
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

HEADER = "code,national_id,amount_rials,period\n"
GOOD = HEADER + "12-34-567,0499370899,1250000,1405\n777,0790419904,350000,1405/2\n"


def csv_bytes(text: str, *, bom: bool = False) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def problems(text: str) -> list[tuple[int | None, str]]:
    return [(p.row, p.key) for p in parse_dues_csv(csv_bytes(text)).problems]


# Reading the file


@pytest.mark.parametrize("bom", [False, True])
def test_a_good_file_with_or_without_a_byte_order_mark(bom: bool) -> None:
    parsed = parse_dues_csv(csv_bytes(GOOD, bom=bom))
    assert parsed.ok
    assert parsed.rows == (
        DueRow(2, "12-34-567", "1234567", "0499370899", 1_250_000, Period(1405)),
        DueRow(3, "777", "777", "0790419904", 350_000, Period(1405, 2)),
    )


def test_persian_digits_separators_and_persian_headers() -> None:
    text = (
        "کد;کد ملی;مبلغ;دوره\n"
        "۱۲ / ۳۴ / ۵۶۷;۰۴۹۹۳۷۰۸۹۹;۱٬۲۵۰٬۰۰۰;۱۴۰۵\n"
        'a-b1;٠٧٩٠٤١٩٩٠٤;"350,000";۱۴۰۵-۰۲\n'
        "\n"  # a blank row, as spreadsheets leave at the end, is skipped
    )
    parsed = parse_dues_csv(csv_bytes(text))
    assert parsed.ok, parsed.problems
    first, second = parsed.rows
    assert (first.code, first.code_key, first.amount_rials) == ("12-34-567", "1234567", 1_250_000)
    assert (second.code, second.code_key, second.national_id) == ("A-B1", "AB1", "0790419904")
    assert (second.amount_rials, second.period) == (350_000, Period(1405, 2))


def test_tab_separated_with_extra_columns_in_any_order() -> None:
    text = "name\tperiod\tamount_rials\tnational_id\tcode\nمریم\t1405\t5000\t1583250689\t42\n"
    (row,) = parse_dues_csv(csv_bytes(text)).rows
    assert (row.code, row.national_id, row.amount_rials, row.period) == (
        "42",
        "1583250689",
        5000,
        Period(1405),
    )


def test_every_kind_of_bad_row_is_reported_with_its_row_number() -> None:
    text = (
        HEADER
        + "12-34-567,0499370899,1250000,1405\n"  # row 2: good
        + "13-1,0684159415,1000,1405\n"  # row 3: national ID checksum
        + "13-2,0499370899,1500,1405\n"  # row 4: not a multiple of 1000
        + ",0499370899,1000,1405\n"  # row 5: no code
        + "12-34-567,0790419904,2000,1405\n"  # row 6: same code and period as row 2
        + "13-3,0499370899,-5000,1405\n"  # row 7: negative
        + "13-4,0499370899,0,1405\n"  # row 8: zero
        + "13-5,049937089,1000,1405\n"  # row 9: 9 digits padded to 0049937089: checksum fails
        + "13-6,12345,1000,1405\n"  # row 10: too short for a national ID
        + "13-7,0499370899,12.5,1405\n"  # row 11: not a whole number
        + "13-8,0499370899,1000,2026\n"  # row 12: a Gregorian year
        + "13-9,0499370899,1000,1405/100\n"  # row 13: no such period
        + "13-10,,,1405\n"  # row 14: national ID and amount missing
        + "#$%,0499370899,1000,1405\n"  # row 15: characters a code cannot have
    )
    assert problems(text) == [
        (3, "dues.row.national_id"),
        (4, "dues.row.amount_thousands"),
        (5, "dues.row.code_missing"),
        (6, "dues.row.duplicate"),
        (7, "dues.row.amount_thousands"),
        (8, "dues.row.amount_thousands"),
        (9, "dues.row.national_id"),
        (10, "dues.row.national_id_format"),
        (11, "dues.row.amount_invalid"),
        (12, "dues.row.period_invalid"),
        (13, "dues.row.period_invalid"),
        (14, "dues.row.national_id_missing"),
        (14, "dues.row.amount_missing"),
        (15, "dues.row.code_invalid"),
    ]
    parsed = parse_dues_csv(csv_bytes(text))
    assert not parsed.ok
    assert parsed.bad_rows == 13


def test_reasons_read_well_in_english_and_persian() -> None:
    text = (
        HEADER
        + "1,0684159415,1000,1405\n2,0499370899,1500,1405\n3,0499370899,1000,1405\n3,0499370899,1000,1405\n"
    )
    lines = [p.render() for p in parse_dues_csv(csv_bytes(text)).problems]
    assert lines[0].startswith("row 2: bad national ID checksum | ردیف ۲: کد ملی درست نیست")
    assert "positive multiple of 1,000 rials" in lines[1]
    assert "مضرب ۱٬۰۰۰ ریال" in lines[1]
    assert lines[2] == (
        "row 5: the same code and period are already in row 4 | ردیف ۵: همین کد و دوره در ردیف ۴ هم آمده است"
    )


def test_a_too_large_amount_is_refused() -> None:
    assert problems(HEADER + f"1,0499370899,{AMOUNT_MAX},1405\n") == []
    assert problems(HEADER + f"1,0499370899,{AMOUNT_MAX + 1000},1405\n") == [(2, "dues.row.amount_too_large")]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (b"", "dues.file.empty"),
        (b"\n\n", "dues.file.empty"),
        ("کد,مبلغ\n1,1000\n".encode(), "dues.file.columns"),
        (HEADER.encode(), "dues.file.no_rows"),
        (
            "code,national_id,amount_rials,period\n1,0499370899,1000,1405\n".encode("utf-16"),
            "dues.file.not_utf8",
        ),
        (
            "code,national_id,amount_rials,period\nکد,0499370899,1000,1405\n".encode("cp1256"),
            "dues.file.not_utf8",
        ),
    ],
)
def test_problems_of_the_whole_file(data: bytes, key: str) -> None:
    parsed = parse_dues_csv(data)
    assert [(p.row, p.key) for p in parsed.problems] == [(None, key)]
    assert not parsed.ok


def test_missing_columns_are_named() -> None:
    (problem,) = parse_dues_csv(b"code,amount_rials\n1,1000\n").problems
    assert "national_id, period" in problem.message("en")


def test_progress_is_reported_while_checking() -> None:
    rows = "".join(f"{n},0499370899,1000,1405\n" for n in range(1, 2501))
    seen: list[tuple[int, int]] = []
    parsed = parse_dues_csv(csv_bytes(HEADER + rows), progress=lambda done, total: seen.append((done, total)))
    assert parsed.ok
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)]


# Codes, periods and file numbers


def test_codes_are_normalized_for_look_ups() -> None:
    assert normalize_code(" ۱۲ - ۳۴/۵۶۷ ") == ("12-34-567", "1234567")
    assert normalize_code("ab_12") == ("AB-12", "AB12")
    with pytest.raises(ValidationError) as missing:
        normalize_code(" - ")
    assert missing.value.key == "dues.row.code_missing"
    with pytest.raises(ValidationError):
        normalize_code("1" * 33)


def test_periods() -> None:
    assert Period.parse("۱۴۰۵") == Period(1405, 0)
    assert Period.parse("1405/02") == Period(1405, 2)
    assert str(Period(1405, 2)) == "1405/02"
    assert Period(1405).label("fa") == "سال ۱۴۰۵"
    assert Period(1405, 3).label("en") == "year 1405, instalment 3"
    for bad in ("05", "1405/0", "1405/", "14051", "abc"):
        with pytest.raises(ValidationError):
            Period.parse(bad)


def test_file_numbers_carry_the_kind_and_short_numeric_codes() -> None:
    assert file_number(DueKind.RENOVATION, "1234567") == 11_234_567
    assert file_number(DueKind.BUSINESS, "1234567") == 21_234_567
    assert file_number(DueKind.RENOVATION, "12345678") is None  # too long: a number is assigned
    assert file_number(DueKind.RENOVATION, "0123") is None  # a leading zero would clash with "123"
    assert file_number(DueKind.BUSINESS, "AB1") is None


# Importing and looking up (SQLite and PostgreSQL)


async def _import(
    factory: Factory, text: str, *, kind: DueKind = DueKind.RENOVATION, org: str = "falavarjan"
):
    parsed = parse_dues_csv(csv_bytes(text))
    assert parsed.ok, parsed.problems
    async with unit_of_work(factory, write=True) as session:
        return await import_dues(
            session,
            parsed.rows,
            organization_id=org,
            company_code=311,
            kind=kind,
            file_name="dues.csv",
            sha256=str(hash(text)),
            imported_by="tester",
        )


async def _dues(factory: Factory) -> list[Due]:
    async with factory() as session:
        return list((await session.scalars(select(Due).order_by(Due.code_key, Due.period_number))).all())


async def test_imported_dues_have_valid_bill_and_payment_ids(factory: Factory) -> None:
    text = GOOD + "AB-12345678,1583250689,99000,1405/12\n0042,0684159414,1000,1404\n"
    summary = await _import(factory, text)
    assert (summary.imported, summary.replaced, summary.skipped_paid) == (4, 0, 0)
    assert summary.total_rials == 1_250_000 + 350_000 + 99_000 + 1000
    dues = await _dues(factory)
    assert len(dues) == 4
    for due in dues:
        assert is_valid_pair(due.bill_id, due.payment_id), due
        assert amount_of(due.payment_id) == due.amount_rials
        assert due.bill_id[-5:-2] == "311"  # the company code
        assert due.bill_id[-2] == "6"  # municipality fees
        assert due.payment_id[-5:-2] == f"{due.period_year % 10}{due.period_number:02d}"
        assert len(barcode(due.bill_id, due.payment_id)) == 26
    by_code = {due.code_key: due for due in dues}
    assert by_code["1234567"].bill_id.startswith("11234567311")
    assert by_code["777"].bill_id.startswith("10000777311")
    assigned = {by_code["0042"].bill_id[:-5], by_code["AB12345678"].bill_id[:-5]}
    assert assigned == {"30000001", "30000002"}


async def test_reimport_replaces_unpaid_dues_of_its_periods_and_keeps_paid_ones(factory: Factory) -> None:
    await _import(factory, GOOD + "AB1,1583250689,5000,1405\n888,0684159414,7000,1404\n")
    before = {due.code_key: due for due in await _dues(factory)}
    async with unit_of_work(factory) as session:
        paid = before["1234567"]
        assert await Dues(session).mark_paid(paid.bill_id, paid.payment_id)
        assert not await Dues(session).mark_paid(paid.bill_id, paid.payment_id)  # only once

    summary = await _import(
        factory,
        HEADER
        + "12-34-567,0499370899,1300000,1405\n"  # paid already: left out
        + "777,0790419904,400000,1405/2\n"  # replaced with a new amount
        + "AB1,1583250689,6000,1405\n",  # keeps its assigned file number
    )
    assert (summary.imported, summary.skipped_paid) == (2, 1)
    assert summary.replaced == 2  # 777 and AB1; 888 of 1404 is another period and stays
    assert summary.periods == (Period(1405), Period(1405, 2))
    after = {due.code_key: due for due in await _dues(factory)}
    assert set(after) == {"1234567", "777", "AB1", "888"}
    assert after["1234567"].amount_rials == 1_250_000
    assert after["1234567"].paid_at is not None
    assert after["777"].amount_rials == 400_000
    assert after["AB1"].bill_id[:-5] == before["AB1"].bill_id[:-5]
    assert after["AB1"].bill_id == before["AB1"].bill_id
    assert after["888"].import_batch_id == before["888"].import_batch_id

    async with factory() as session:
        batches = (await session.scalars(select(DuesImport).order_by(DuesImport.id))).all()
    assert [(b.rows, b.replaced, b.skipped_paid) for b in batches] == [(4, 0, 0), (2, 2, 1)]


async def test_a_due_missing_from_the_new_file_is_gone_other_periods_stay(factory: Factory) -> None:
    await _import(factory, GOOD + "555,0684159414,9000,1405/2\n")
    await _import(factory, HEADER + "777,0790419904,350000,1405/2\n")
    assert [due.code_key for due in await _dues(factory)] == ["1234567", "777"]


async def test_the_same_file_again_is_noticed(factory: Factory) -> None:
    first = await _import(factory, GOOD)
    again = await _import(factory, GOOD)
    assert first.previous_import_at is None
    assert again.previous_import_at is not None
    assert again.replaced == 2


async def test_renovation_and_business_dues_never_share_a_bill_id(factory: Factory) -> None:
    await _import(factory, GOOD)
    await _import(factory, GOOD, kind=DueKind.BUSINESS)
    dues = await _dues(factory)
    assert len(dues) == 4
    assert len({due.bill_id for due in dues}) == 4


async def test_a_big_import_in_one_transaction(factory: Factory) -> None:
    rows = "".join(f"{n},0499370899,{1000 * n},1405\n" for n in range(1, 3001))
    summary = await _import(factory, HEADER + rows)
    assert summary.imported == 3000
    async with factory() as session:
        assert (await session.execute(select(func.count()).select_from(Due))).scalar_one() == 3000


async def test_lookup_by_code_and_national_id(factory: Factory) -> None:
    await _import(factory, GOOD + "12-34-567,0499370899,500000,1404\n")
    async with factory() as session:
        view = await lookup_dues(session, "falavarjan", "۱۲۳۴۵۶۷", "۰۴۹۹۳۷۰۸۹۹")
    assert [(due.period, due.amount_rials) for due in view.unpaid] == [
        (Period(1404), 500_000),
        (Period(1405), 1_250_000),
    ]
    assert view.total_rials == 1_750_000
    assert view.unpaid[0].kind is DueKind.RENOVATION
    assert len(view.unpaid[0].barcode) == 26

    async with factory() as session:
        for org, code, national_id in (
            ("falavarjan", "12-34-567", "0790419904"),  # someone else's national ID
            ("falavarjan", "999", "0499370899"),  # no such code
            ("imanshahr", "12-34-567", "0499370899"),  # another organization
        ):
            with pytest.raises(NotFound) as error:
                await lookup_dues(session, org, code, national_id)
            assert error.value.key == "dues.lookup.not_found"
        with pytest.raises(ValidationError):
            await lookup_dues(session, "falavarjan", "12-34-567", "0499370898")


async def test_paid_dues_are_counted_not_listed(factory: Factory) -> None:
    await _import(factory, GOOD)
    (due,) = [d for d in await _dues(factory) if d.code_key == "777"]
    async with unit_of_work(factory) as session:
        await Dues(session).mark_paid(due.bill_id, due.payment_id)
    async with factory() as session:
        view = await lookup_dues(session, "falavarjan", "777", "0790419904")
    assert view.unpaid == ()
    assert view.paid_count == 1


async def test_the_dues_throttle_counts_misses() -> None:
    now = [0.0]
    throttle = dues_throttle(lambda: now[0])
    for _ in range(5):
        await throttle.attempt("bale:1")
    with pytest.raises(Throttled) as error:
        await throttle.attempt("bale:1")
    assert error.value.key == "dues.throttled"
    assert "دقیقه" in error.value.render("fa")
    now[0] += 601
    await throttle.check("bale:1")
