"""A car's annual fee: imported by plate in any form, billed with its own bill IDs, found by plate and national ID."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk.billing import is_valid_pair
from desk.dues import DueKind, Period, import_dues, lookup_dues, names_a_plate, parse_dues_csv, read_code
from desk.errors import NotFound, ValidationError
from storage.models import Due
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

VEHICLES = (
    "code,national_id,amount_rials,period\n"
    "12 ب 345 ایران 67,0499370899,850000,1405\n"
    "۶۷ ایران ۳۴۵ ب ۱۲,0499370899,600000,1404\n"  # the same car, typed region first
    "23-ج-456-13,0790419904,450000,1405\n"
)


async def _import(factory: Factory, text: str, kind: DueKind) -> None:
    parsed = parse_dues_csv(text.encode(), kind=kind)
    assert parsed.ok, parsed.problems
    async with unit_of_work(factory, write=True) as session:
        await import_dues(
            session,
            parsed.rows,
            organization_id="falavarjan",
            company_code=311,
            kind=kind,
            file_name="dues.csv",
            sha256=str(hash((text, kind))),
            imported_by="tester",
        )


def test_a_vehicle_file_stores_plates_in_their_canonical_form() -> None:
    parsed = parse_dues_csv(VEHICLES.encode(), kind=DueKind.VEHICLE)
    assert parsed.ok
    assert [(row.code, row.code_key, row.period) for row in parsed.rows] == [
        ("12 ب 345 ایران 67", "12ب34567", Period(1405)),
        ("12 ب 345 ایران 67", "12ب34567", Period(1404)),
        ("23 ج 456 ایران 13", "23ج45613", Period(1405)),
    ]


def test_a_row_without_a_plate_is_refused_with_the_plate_shape() -> None:
    text = VEHICLES + "12-34-567,0499370899,1000,1405\n12 S 345 67,0499370899,1000,1405\n"
    parsed = parse_dues_csv(text.encode(), kind=DueKind.VEHICLE)
    assert not parsed.ok
    assert [(p.row, p.key) for p in parsed.problems] == [
        (5, "dues.plate.shape"),
        (6, "dues.plate.letter_ambiguous"),
    ]
    assert "row 5: this is not a car plate" in parsed.problems[0].render()
    assert "ردیف ۵: این پلاک خودرو درست نیست" in parsed.problems[0].render()


def test_the_same_car_twice_in_a_period_is_a_duplicate() -> None:
    text = VEHICLES + "12ب34567,0499370899,1000,1405\n"
    parsed = parse_dues_csv(text.encode(), kind=DueKind.VEHICLE)
    assert [(p.row, p.key) for p in parsed.problems] == [(5, "dues.row.duplicate")]


async def test_vehicle_dues_have_their_own_bill_ids(factory: Factory) -> None:
    await _import(factory, VEHICLES, DueKind.VEHICLE)
    await _import(
        factory, "code,national_id,amount_rials,period\n1,0499370899,1000,1405\n", DueKind.RENOVATION
    )
    async with factory() as session:
        dues = (await session.scalars(select(Due).order_by(Due.id))).all()
    vehicles = [due for due in dues if due.kind == "vehicle"]
    assert len(vehicles) == 3
    for due in vehicles:
        assert due.bill_id.startswith(
            "6"
        )  # file numbers 6xxxxxxx: never a property's, a business's or a request's
        assert is_valid_pair(due.bill_id, due.payment_id)
    same_car = [due.bill_id for due in vehicles if due.code_key == "12ب34567"]
    assert len(set(same_car)) == 1  # one car, one bill ID from year to year
    assert len({due.bill_id for due in dues}) == 3


@pytest.mark.parametrize("typed", ["12 ب 345 ایران 67", "۶۷ ایران ۳۴۵ ب ۱۲", "12B34567", "۱۲-ب-۳۴۵-۶۷"])
async def test_a_citizen_finds_their_car_by_plate_however_typed(factory: Factory, typed: str) -> None:
    await _import(factory, VEHICLES, DueKind.VEHICLE)
    async with factory() as session:
        view = await lookup_dues(session, "falavarjan", typed, "۰۴۹۹۳۷۰۸۹۹")
    assert [(due.kind, due.period, due.amount_rials) for due in view.unpaid] == [
        (DueKind.VEHICLE, Period(1404), 600_000),
        (DueKind.VEHICLE, Period(1405), 850_000),
    ]
    assert view.unpaid[0].code == "12 ب 345 ایران 67"


async def test_another_owner_or_a_wrong_plate_finds_nothing(factory: Factory) -> None:
    await _import(factory, VEHICLES, DueKind.VEHICLE)
    async with factory() as session:
        for plate, national_id in (("12 ب 345 67", "0790419904"), ("12 ب 345 68", "0499370899")):
            with pytest.raises(NotFound):
                await lookup_dues(session, "falavarjan", plate, national_id)
        with pytest.raises(ValidationError) as error:
            await lookup_dues(session, "falavarjan", "12 ب 3456", "0499370899")
        assert error.value.key == "dues.plate.shape"  # refused before the database: not a miss


def test_answers_know_a_plate_from_a_code() -> None:
    assert names_a_plate("12 ب 345 ایران 67")
    assert not names_a_plate("12-34-567")
    assert not names_a_plate("12B34567")  # a code as written; read_code writes the plate form for it


def test_the_code_question_reads_codes_and_plates() -> None:
    assert read_code("12-34-567") == ("12-34-567", ("1234567",))
    assert read_code("۶۷ ایران ۳۴۵ ب ۱۲") == ("12 ب 345 ایران 67", ("12ب34567",))
    # A Latin plate could also be a business code: both are looked up.
    assert read_code("12B34567") == ("12 ب 345 ایران 67", ("12B34567", "12ب34567"))
    with pytest.raises(ValidationError):
        read_code("12 ب 3456")
