"""Tariff books and calculations: each formula against figures computed by hand, tables at their edges,
overrides, input errors, the safe evaluator, and the tariff shipped in catalog/data."""

from __future__ import annotations

import ast
import re
import string
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from catalog import CatalogHolder, NotInCatalogError, load_catalog
from catalog.tariffs import InputType, RoundingMode, TariffInputError, Unit
from catalog.tariffs.formula import (
    CompiledFormula,
    FormulaIssue,
    TableMissError,
    check_formula,
    compile_formula,
    evaluate,
)
from catalog.tariffs.schema import Rounding
from config.settings import PROJECT_ROOT
from desk.i18n import LOCALES_DIR

SHIPPED = PROJECT_ROOT / "catalog" / "data"


@pytest.fixture
def tariffs(tariff_dir):
    return load_catalog(tariff_dir.root).tariffs


@pytest.fixture(scope="module")
def shipped():
    return load_catalog(SHIPPED)


def values(calculation) -> dict[str, Decimal]:
    return {line.id: line.value for line in calculation.lines}


# the fixture's tariff (tests/catalog/conftest.py)


def test_books_per_organization_and_year(tariffs):
    assert tariffs.years() == [1405]
    town, village = tariffs.book("town", 1405), tariffs.book("village", 1405)
    assert town.own_file
    assert not village.own_file
    assert town.organization_id == "town"
    assert village.organization_id == "village"
    assert town.booklet.fa == "دفترچه شهرداری آزمون ۱۴۰۵"
    assert village.booklet.get("en") == "Test booklet 1405"
    assert [fee.key for fee in town.fees] == ["property", "density", "extra", "vehicle"]
    assert tariffs.own_files(1405) == ["town"]
    with pytest.raises(NotInCatalogError):
        tariffs.book("atlantis", 1405)
    with pytest.raises(NotInCatalogError):
        tariffs.book("town", 1399)
    with pytest.raises(NotInCatalogError):
        town.fee("parking")


def test_the_booklet_in_force_is_the_latest_year_that_has_begun(tariff_dir):
    tariff_dir.write("tariffs/1406/_county.yaml", (tariff_dir.root / "tariffs/1405/_county.yaml").read_text())
    tariffs = load_catalog(tariff_dir.root).tariffs
    assert tariffs.years() == [1405, 1406]
    # 2026-11-28 is in 1405, 2027-03-21 is 1406-01-01, 2026-03-20 is the last day of 1404.
    assert tariffs.current_year(date(2026, 11, 28)) == 1405
    assert tariffs.book("town", today=date(2026, 11, 28)).year == 1405
    assert tariffs.book("town", today=date(2027, 3, 21)).year == 1406
    assert tariffs.book("town", today=date(2030, 1, 1)).year == 1406
    # Before every booklet: the earliest one.
    assert tariffs.current_year(date(2026, 3, 20)) == 1405
    # The town has its own file in 1405 only.
    assert tariffs.book("town", 1405).own_file
    assert not tariffs.book("town", 1406).own_file


def test_property_fee_by_hand(tariffs):
    result = tariffs.book("village", 1405).calculate("property", {"zone": "a", "area": "123"})
    # value = 123 × 10,000 = 1,230,000; fee = 1,230,000 × 5 / 1000 = 6,150; down to 1,000 rials: 6,000.
    assert values(result) == {"value": Decimal(1_230_000), "fee": Decimal(6_150)}
    assert result.exact_total == Decimal(6_150)
    assert result.total_rials == 6_000
    assert result.rounding == Rounding(step=1000, mode=RoundingMode.DOWN)
    assert result.year == 1405
    assert result.organization_id == "village"
    assert result.article.fa == "ماده ۱"
    assert result.title.get("en") == "Property fee"
    assert result.sample  # uses the sample table `price`
    assert result.inputs == {"zone": "a", "area": Decimal(123)}
    first = result.lines[0]
    assert (first.label.get("en"), first.unit, first.formula) == (
        "Value",
        Unit.RIAL,
        'area * lookup("price", zone)',
    )


def test_override_of_table_rows_and_rounding(tariffs):
    result = tariffs.book("town", 1405).calculate("property", {"zone": "a", "area": "123"})
    # The town's price for zone a is 20,000: value = 123 × 20,000 = 2,460,000; fee = 2,460,000 × 5 / 1000
    # = 12,300; the town rounds this fee up to 10,000 rials: 20,000.
    assert values(result) == {"value": Decimal(2_460_000), "fee": Decimal(12_300)}
    assert result.total_rials == 20_000
    assert result.booklet.fa == "دفترچه شهرداری آزمون ۱۴۰۵"


def test_override_of_a_parameter(tariffs):
    inputs = {"zone": "b", "plot": "400", "requested": "350", "use": "shop"}
    default = tariffs.book("village", 1405).calculate("extra", inputs)
    # Zone b, 400 m2: density 80 %, permitted = 400 × 80 / 100 = 320; extra = 350 - 320 = 30;
    # fee = k(shop) 3 × price(b) 4,000 × 30 × factor 1.5 = 540,000.
    assert values(default) == {
        "permitted": Decimal(320),
        "extra_area": Decimal(30),
        "fee": Decimal(540_000),
    }
    assert default.total_rials == 540_000
    town = tariffs.book("town", 1405).calculate("extra", inputs)
    # The town: price(b) 5,000 and factor 2: 3 × 5,000 × 30 × 2 = 900,000.
    assert town.total_rials == 900_000
    assert tariffs.book("town", 1405).parameters["factor"].value == Decimal(2)
    assert tariffs.book("village", 1405).parameters["factor"].value == Decimal("1.5")


def test_no_extra_area_means_no_fee(tariffs):
    result = tariffs.book("village", 1405).calculate(
        "extra", {"zone": "a", "plot": "250", "requested": "300", "use": "home"}
    )
    # Zone a, 250 m2: density 120 %, permitted = 300; extra = max(0, 300 - 300) = 0; fee = 0.
    assert values(result)["extra_area"] == 0
    assert result.total_rials == 0


@pytest.mark.parametrize(
    ("zone", "plot", "density", "floors", "permitted"),
    [
        ("a", "100", 100, 2, "100"),  # the first row includes its `from`
        ("a", "150", 100, 2, "150"),
        ("a", "200", 100, 2, "200"),  # a boundary belongs to the row it ends: 100-200
        ("a", "200.5", 120, 3, "240.6"),  # 200.5 × 120 / 100
        ("a", "300", 120, 3, "360"),
        ("a", "300.01", 150, 4, "450.015"),  # 300.01 × 150 / 100
        ("a", "500", 150, 4, "750"),  # the last row has no upper bound
        ("b", "100", 80, 2, "80"),
        ("b", "500", 80, 2, "400"),  # the last row of zone b ends at 500, included
    ],
)
def test_density_table_edges(tariffs, zone, plot, density, floors, permitted):
    result = tariffs.book("village", 1405).calculate("density", {"zone": zone, "plot": plot})
    assert values(result) == {
        "density": Decimal(density),
        "floors": Decimal(floors),
        "permitted": Decimal(permitted),
    }
    assert result.total_rials is None
    assert result.exact_total is None


def test_values_outside_the_table_are_refused_by_the_input_bounds(tariffs):
    book = tariffs.book("village", 1405)
    with pytest.raises(TariffInputError) as below:
        book.calculate("density", {"zone": "a", "plot": "99.9"})
    assert below.value.key == "tariffs.input.too_small"
    assert below.value.render("en") == "Plot area must be at least 100 m²."
    assert below.value.render("fa") == "مساحت زمین دست‌کم ۱۰۰ متر مربع است."
    with pytest.raises(TariffInputError) as above:
        book.calculate("density", {"zone": "b", "plot": "500.5"})
    assert above.value.key == "tariffs.input.too_large"
    assert "۵۰۰" in above.value.render("fa")


def test_range_lookup_below_the_first_row_and_above_the_last(tariffs):
    tables = tariffs.book("village", 1405).tables
    formula = compile_formula('range_lookup("plan", x, "density", zone)')
    assert isinstance(formula, CompiledFormula)
    with pytest.raises(TableMissError) as below:
        evaluate(formula, {"x": Decimal("99.99"), "zone": "a"}, tables)
    assert (below.value.table, below.value.reason) == ("plan", "below")
    with pytest.raises(TableMissError) as above:
        evaluate(formula, {"x": Decimal(501), "zone": "b"}, tables)
    assert above.value.reason == "above"
    assert evaluate(formula, {"x": Decimal(10**9), "zone": "a"}, tables) == Decimal(150)
    with pytest.raises(TableMissError) as no_row:
        evaluate(formula, {"x": Decimal(150), "zone": "c"}, tables)
    assert no_row.value.reason == "no_row"


def test_a_case_the_booklet_lacks_is_a_domain_error(tariff_dir):
    # The check tries plot = 100, 300 and 500; only 250 sends the look-up beyond zone b's last row.
    tariff_dir.edit(
        "tariffs/1405/_county.yaml",
        'formula: range_lookup("plan", plot, "density", zone)',
        'formula: range_lookup("plan", 1000 if plot == 250 else plot, "density", zone)',
    )
    book = load_catalog(tariff_dir.root).tariffs.book("village", 1405)
    assert book.calculate("density", {"zone": "a", "plot": "250"}).lines[0].value == Decimal(150)
    with pytest.raises(TariffInputError) as error:
        book.calculate("density", {"zone": "b", "plot": "250"})
    assert error.value.key == "tariffs.input.outside_table"
    assert "«جدول طرح»" in error.value.render("fa")
    assert '"Plan table"' in error.value.render("en")


@pytest.mark.parametrize(
    ("model", "kind", "age", "fee"),
    [
        # age = max(0, 1405 - model); share 100 % up to 5 years (0 and 5 included), 50 % above;
        # fee = (1,000,000 for a car, 200,000 for a bike) × share / 100 × rate 5 / 5.
        (1398, "car", 7, 500_000),
        (1400, "car", 5, 1_000_000),
        (1405, "bike", 0, 200_000),
        (1406, "car", 0, 1_000_000),  # next year's model: age max(0, -1) = 0
        (1380, "bike", 25, 100_000),
    ],
)
def test_vehicle_fee_by_hand(tariffs, model, kind, age, fee):
    result = tariffs.book("town", 1405).calculate("vehicle", {"model": model, "kind": kind})
    assert values(result) == {"age": Decimal(age), "fee": Decimal(fee)}
    assert result.total_rials == fee
    # Neither the fee, nor `rate`, nor the table `ages` is sample data.
    assert not result.sample


def test_inputs_typed_by_citizens(tariffs):
    book = tariffs.book("village", 1405)
    area = book.fee("property").input("area")
    assert area.parse("۱۲۳") == Decimal(123)
    assert area.parse("٩٩٫٥") == Decimal("99.5")
    assert area.parse(" 1,000 ") == Decimal(1000)
    assert area.parse("۱٬۰۰۰") == Decimal(1000)
    assert area.parse(Decimal("12.5")) == Decimal("12.5")
    assert area.parse(7) == Decimal(7)
    zone = book.fee("property").input("zone")
    assert zone.type is InputType.ZONE
    assert [(c.id, c.label.get("en")) for c in zone.choices] == [("a", "Zone A"), ("b", "Zone B")]
    use = book.fee("extra").input("use")
    assert [(c.id, c.label.fa) for c in use.choices] == [("home", "مسکونی"), ("shop", "تجاری")]
    assert use.parse("shop") == "shop"
    assert area.sample_values() == (Decimal(1), Decimal("500.5"), Decimal(1000))
    model = book.fee("vehicle").input("model")
    assert model.sample_values() == (Decimal(1380), Decimal(1393), Decimal(1406))


@pytest.mark.parametrize(
    ("fee", "inputs", "key", "fa", "en"),
    [
        ("property", {"zone": "a"}, "tariffs.input.missing", "لطفاً مساحت را بنویسید.", "Please enter Area."),
        (
            "property",
            {"zone": "a", "area": "صد"},
            "tariffs.input.not_a_number",
            "مساحت باید عدد باشد، مانند ۱۲۰ یا ۸۵٫۵.",
            "Area must be a number, for example 120 or 85.5.",
        ),
        (
            "property",
            {"zone": "a", "area": "-5"},
            "tariffs.input.too_small",
            "مساحت دست‌کم ۱ متر مربع است.",
            "Area must be at least 1 m².",
        ),
        (
            "property",
            {"zone": "a", "area": "1001"},
            "tariffs.input.too_large",
            "مساحت حداکثر ۱٬۰۰۰ متر مربع است.",
            "Area can be at most 1,000 m².",
        ),
        (
            "property",
            {"zone": "c", "area": "10"},
            "tariffs.input.unknown_choice",
            "لطفاً پهنه را با یکی از دکمه‌ها انتخاب کنید.",
            "Please choose Zone with one of the buttons.",
        ),
        (
            "vehicle",
            {"model": "1398.5", "kind": "car"},
            "tariffs.input.not_whole",
            "مدل باید عدد صحیح باشد، مانند ۱۳۹۸.",
            "Model year must be a whole number, for example 1398.",
        ),
        (
            "vehicle",
            {"model": "1370", "kind": "car"},
            "tariffs.input.too_small",
            "مدل دست‌کم ۱٬۳۸۰ (شمسی) است.",
            "Model year must be at least 1,380 (Jalali).",
        ),
        (
            "property",
            {"zone": "a", "area": "10", "floor": "2"},
            "tariffs.input.unknown",
            "این محاسبه floor را نمی‌خواهد.",
            "This calculation does not ask for floor.",
        ),
    ],
)
def test_input_errors_are_domain_errors_in_both_languages(tariffs, fee, inputs, key, fa, en):
    with pytest.raises(TariffInputError) as error:
        tariffs.book("village", 1405).calculate(fee, inputs)
    assert error.value.key == key
    assert error.value.render("fa") == fa
    assert error.value.render("en") == en


def test_a_broken_tariff_keeps_the_old_catalog(tariff_dir):
    holder = CatalogHolder(tariff_dir.root)
    before = holder.catalog
    tariff_dir.edit("tariffs/1405/town.yaml", "factor: {value: 2}", "factor: {value: two}")
    problems = holder.reload()
    assert [(p.file.name, p.path, p.key) for p in problems] == [
        ("town.yaml", "parameters.factor.value", "catalog.expected_number")
    ]
    assert holder.catalog is before
    assert holder.catalog.tariffs.book("town", 1405).parameters["factor"].value == Decimal(2)
    tariff_dir.edit("tariffs/1405/town.yaml", "factor: {value: two}", "factor: {value: 3}")
    assert holder.reload() == []
    assert holder.catalog.tariffs.book("town", 1405).parameters["factor"].value == Decimal(3)


def test_a_catalog_without_tariffs_has_none(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    assert not catalog.tariffs
    assert catalog.tariffs.years() == []
    assert catalog.summary().tariff_years == ()
    with pytest.raises(NotInCatalogError):
        catalog.tariffs.book("town")


# the formula evaluator


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "area.__class__",
        "(lambda: 1)()",
        "[x for x in (1, 2)]",
        "open('/etc/passwd')",
        "area[0]",
        "f'{area}'",
        "a := 1",
        "None",
    ],
)
def test_nothing_but_arithmetic_gets_through(text):
    compiled = compile_formula(text)
    if isinstance(compiled, CompiledFormula):
        issues = check_formula(compiled, {"area"}, {})
        assert issues, text
        assert {issue.key for issue in issues} <= {"tariffs.unknown_function", "tariffs.unknown_name"}
        with pytest.raises(Exception, match=r"\w"):
            evaluate(compiled, {"area": Decimal(1)}, {})
    else:
        assert compiled.key in ("tariffs.formula_construct", "tariffs.formula_syntax")


def test_numbers_are_exact_decimals():
    def run(text: str, **names):
        compiled = compile_formula(text)
        assert isinstance(compiled, CompiledFormula), compiled
        return evaluate(compiled, names, {})

    assert run("0.1 + 0.2") == Decimal("0.3")
    assert run("0.1 + 0.2 == 0.3") is True
    assert run("x * 1.5 / 1000", x=Decimal(5_850_000_000)) == Decimal(8_775_000)
    assert run("round(2.5)") == Decimal(3)  # half up, not to even
    assert run("round(1.005, 2)") == Decimal("1.01")
    assert run("floor(-1.5)") == Decimal(-2)
    assert run("ceil(1.01)") == Decimal(2)
    assert run("abs(-3)") == Decimal(3)
    assert run("min(3, 1, 2) + max(3, 1, 2)") == Decimal(4)
    assert run('2 if zone == "a" else 3', zone="a") == Decimal(2)
    assert run("10 // 3 + 10 % 3") == Decimal(4)
    assert run("2 ** 10") == Decimal(1024)
    assert run("not x > 1 and x >= 0", x=Decimal(1)) is True
    assert isinstance(run("1 / 3"), Decimal)
    with pytest.raises(ZeroDivisionError):
        run("1 / x", x=Decimal(0))


def test_static_checks_of_a_formula():
    compiled = compile_formula("lookup(x)")
    assert isinstance(compiled, CompiledFormula)
    assert check_formula(compiled, {"x"}, {}) == [
        FormulaIssue(
            "tariffs.bad_arguments", {"function": "lookup", "usage": 'lookup("table", key, "column")'}
        )
    ]
    syntax = compile_formula("1 +")
    assert isinstance(syntax, FormulaIssue)
    assert syntax.key == "tariffs.formula_syntax"
    names = compile_formula("a + b * min(c, 2)")
    assert isinstance(names, CompiledFormula)
    assert names.names == {"a", "b", "c"}
    assert [issue.key for issue in check_formula(names, {"a"}, {}, later={"b"})] == [
        "tariffs.later_line",
        "tariffs.unknown_name",
    ]


def test_every_tariff_message_exists_in_both_languages():
    def po(lang: str) -> dict[str, str]:
        with (LOCALES_DIR / lang / "LC_MESSAGES" / "tariffs.po").open("rb") as fh:
            return {str(m.id): str(m.string) for m in read_po(fh, locale=lang) if m.id}

    fa, en = po("fa"), po("en")
    assert set(fa) == set(en)
    fields = string.Formatter()
    for key in fa:
        assert {n for _, n, _, _ in fields.parse(fa[key]) if n} == {
            n for _, n, _, _ in fields.parse(en[key]) if n
        }, key
    used: set[str] = {f"tariffs.table_{reason}" for reason in ("below", "above", "no_row")}
    used |= {unit.label_key for unit in Unit}
    for path in (PROJECT_ROOT / "catalog" / "tariffs").glob("*.py"):
        used |= set(re.findall(r'"(tariffs\.[a-z_.]+)"', path.read_text(encoding="utf-8")))
    assert used <= set(fa), used - set(fa)
    # Messages citizens read use Persian digits.
    for key, text in fa.items():
        if key.startswith("tariffs.input."):
            assert not re.search(r"[0-9]", text), key


# the shipped tariff (catalog/data/tariffs)


def test_shipped_tariffs_pass_the_check(run_check):
    code, out = run_check(SHIPPED)
    assert code == 0, out
    assert "tariffs OK: years 1405, 6 fees and calculations, 8 organization file(s) of overrides" in out


def test_every_organization_has_a_book_and_dehyaris_inherit_the_default(shipped):
    tariffs = shipped.tariffs
    assert tariffs.years() == [1405]
    for org in shipped.organizations:
        book = tariffs.book(org.id, 1405)
        assert [fee.key for fee in book.fees] == [
            "renovation_fee",
            "approved_density",
            "floor_area",
            "density_fee",
            "business_fee",
            "vehicle_fee",
        ]
    assert set(tariffs.own_files(1405)) == {
        "falavarjan",
        "ghahderijan",
        "imanshahr",
        "zazeran",
        "kelishad_sudarjan",
        "abrisham",
        "baharan",
        "pirbakran",
    }
    assert not tariffs.book("oshtorjan", 1405).own_file
    assert tariffs.book("oshtorjan", 1405).zones == tariffs.default(1405).zones


def test_shipped_figures_are_marked_sample_except_the_legal_rates(shipped):
    book = shipped.tariffs.default(1405)
    assert not book.parameters["renovation_rate"].sample
    assert book.parameters["renovation_rate"].value == Decimal(5)
    assert not book.parameters["vehicle_rate"].sample
    assert book.parameters["vehicle_rate"].value == Decimal("1.5")
    assert book.parameters["p_adjustment"].sample
    assert all(table.sample for table in book.tables.values())
    # Every fee uses an invented figure somewhere, so every calculation is marked sample.
    assert all(fee.sample for fee in book.fees)


def calc(shipped, org: str, fee: str, **inputs):
    return shipped.tariffs.book(org, 1405).calculate(fee, inputs)


def test_shipped_renovation_fee(shipped):
    result = calc(
        shipped,
        "oshtorjan",
        "renovation_fee",
        zone="residential",
        land_area="200",
        building_area="150",
        structure="steel_concrete",
    )
    # Default P(residential) = 6,000,000 × p_adjustment 1; land = 200 × 6,000,000 = 1,200,000,000;
    # building = 150 × 8,000,000 = 1,200,000,000; fee = 2,400,000,000 × 5 / 1000 = 12,000,000 rials.
    assert values(result) == {
        "land_unit_value": Decimal(6_000_000),
        "land_value": Decimal(1_200_000_000),
        "building_unit_value": Decimal(8_000_000),
        "building_value": Decimal(1_200_000_000),
        "fee": Decimal(12_000_000),
    }
    assert result.total_rials == 12_000_000
    assert "قانون نوسازی" in result.article.fa
    falavarjan = calc(
        shipped,
        "falavarjan",
        "renovation_fee",
        zone="residential",
        land_area="۲۰۰",
        building_area="150",
        structure="steel_concrete",
    )
    # Falavarjan's P(residential) = 7,500,000: (200 × 7,500,000 + 1,200,000,000) × 5 / 1000 = 13,500,000.
    assert falavarjan.total_rials == 13_500_000
    vacant = calc(
        shipped,
        "oshtorjan",
        "renovation_fee",
        zone="outskirts",
        land_area="123.45",
        building_area="0",
        structure="masonry",
    )
    # 123.45 × 3,500,000 = 432,075,000; × 5 / 1000 = 2,160,375; down to 1,000 rials: 2,160,000.
    assert vacant.exact_total == Decimal(2_160_375)
    assert vacant.total_rials == 2_160_000


def test_shipped_approved_density(shipped):
    result = calc(shipped, "falavarjan", "approved_density", zone="residential", plot_area="250")
    # docs/RULES.md, "The detailed-plan density table": over 200 up to 300 m2 -> density 120 %, occupancy 60 %,
    # 3 floors; permitted = 250 × 120 / 100.
    assert values(result) == {
        "density": Decimal(120),
        "occupancy": Decimal(60),
        "floors": Decimal(3),
        "permitted_area": Decimal(300),
    }
    assert result.total_rials is None
    edge = calc(shipped, "falavarjan", "approved_density", zone="residential", plot_area="200")
    # Exactly 200 m2 is still the first row: 100 %, 60 %, 2 floors; permitted = 200.
    assert values(edge)["density"] == 100
    assert values(edge)["floors"] == 2
    big = calc(shipped, "falavarjan", "approved_density", zone="residential", plot_area="1000")
    # Over 300 m2: 150 %, 50 %, 4 floors; permitted = 1000 × 150 / 100 = 1500.
    assert values(big) == {
        "density": Decimal(150),
        "occupancy": Decimal(50),
        "floors": Decimal(4),
        "permitted_area": Decimal(1500),
    }


def test_shipped_floor_area(shipped):
    result = calc(shipped, "ghahderijan", "floor_area", zone="main_street", plot_area="400")
    # Main street, over 300 m2: occupancy 55 %, 4 floors, density 180 %. Per floor = 400 × 55 / 100 = 220;
    # total = min(220 × 4 = 880, 400 × 180 / 100 = 720) = 720.
    assert values(result) == {
        "occupancy": Decimal(55),
        "area_per_floor": Decimal(220),
        "floors": Decimal(4),
        "total_area": Decimal(720),
    }


def test_shipped_density_fee(shipped):
    result = calc(
        shipped,
        "oshtorjan",
        "density_fee",
        zone="residential",
        plot_area="250",
        requested_area="400",
        land_use="residential",
    )
    # density 120 % -> permitted = 250 × 120 / 100 = 300; extra = 400 - 300 = 100; P = 6,000,000;
    # K(residential) = 1.2; fee = 1.2 × 6,000,000 × 100 = 720,000,000 rials.
    assert values(result) == {
        "density": Decimal(120),
        "permitted_area": Decimal(300),
        "extra_area": Decimal(100),
        "p": Decimal(6_000_000),
        "coefficient": Decimal("1.2"),
        "fee": Decimal(720_000_000),
    }
    assert result.total_rials == 720_000_000
    ghahderijan = calc(
        shipped,
        "ghahderijan",
        "density_fee",
        zone="residential",
        plot_area="250",
        requested_area="400",
        land_use="commercial",
    )
    # Ghahderijan: P(residential) = 7,000,000, K(commercial) = 3.5: 3.5 × 7,000,000 × 100 = 2,450,000,000.
    assert ghahderijan.total_rials == 2_450_000_000
    imanshahr = calc(
        shipped,
        "imanshahr",
        "density_fee",
        zone="residential",
        plot_area="333",
        requested_area="500.3037",
        land_use="commercial",
    )
    # Over 300 m2: 150 % -> permitted = 333 × 1.5 = 499.5; extra = 0.8037; P = 6,000,000; K = 3;
    # fee = 3 × 6,000,000 × 0.8037 = 14,466,600; Imanshahr rounds this fee down to 10,000: 14,460,000.
    assert imanshahr.exact_total == Decimal("14466600")
    assert imanshahr.total_rials == 14_460_000


def test_shipped_business_fee(shipped):
    grocery = calc(shipped, "oshtorjan", "business_fee", guild="grocery", area="40", zone="residential")
    # K = 0.01, P = 6,000,000: 0.01 × 6,000,000 × 40 = 2,400,000, above the least fee 2,000,000.
    assert values(grocery) == {
        "p": Decimal(6_000_000),
        "coefficient": Decimal("0.01"),
        "computed": Decimal(2_400_000),
        "minimum": Decimal(2_000_000),
        "fee": Decimal(2_400_000),
    }
    assert grocery.total_rials == 2_400_000
    bakery = calc(shipped, "oshtorjan", "business_fee", guild="bakery", area="20", zone="outskirts")
    # 0.006 × 3,500,000 × 20 = 420,000, below the least fee of a bakery: 1,500,000.
    assert bakery.total_rials == 1_500_000
    zazeran = calc(shipped, "zazeran", "business_fee", guild="grocery", area="40", zone="residential")
    # Zazeran's p_adjustment 0.95: P = 5,700,000; 0.01 × 5,700,000 × 40 = 2,280,000.
    assert zazeran.total_rials == 2_280_000


def test_shipped_business_fee_with_falavarjans_own_formula(shipped):
    central = calc(shipped, "falavarjan", "business_fee", guild="grocery", area="40", zone="central")
    # P(central) = 15,000,000: computed = 0.01 × 15,000,000 × 40 = 6,000,000 (> least 2,000,000);
    # surcharge in the centre = 6,000,000 × 10 / 100 = 600,000; fee = 6,600,000.
    assert values(central)["central_surcharge"] == Decimal(600_000)
    assert central.total_rials == 6_600_000
    assert "فلاورجان" in central.article.fa
    residential = calc(shipped, "falavarjan", "business_fee", guild="grocery", area="40", zone="residential")
    # P = 7,500,000: 0.01 × 7,500,000 × 40 = 3,000,000, no surcharge.
    assert values(residential)["central_surcharge"] == 0
    assert residential.total_rials == 3_000_000


@pytest.mark.parametrize(
    ("vehicle_class", "model_year", "factor", "total"),
    [
        # car_small 9,000,000,000; age 1405 - 1398 = 7 -> 65 %: 5,850,000,000 × 1.5 / 1000 = 8,775,000.
        ("car_small", "1398", 65, 8_775_000),
        # age 0 -> 100 %: 9,000,000,000 × 1.5 / 1000 = 13,500,000.
        ("car_small", "1405", 100, 13_500_000),
        # age 10, the last age of the 5-10 row -> 65 %: 18,000,000,000 × 0.65 × 1.5 / 1000 = 17,550,000.
        ("car_medium", "1395", 65, 17_550_000),
        # age 25 -> 35 %: 900,000,000 × 0.35 = 315,000,000; × 1.5 / 1000 = 472,500; down to 472,000.
        ("motorcycle", "1380", 35, 472_000),
    ],
)
def test_shipped_vehicle_fee(shipped, vehicle_class, model_year, factor, total):
    result = calc(shipped, "pirbakran", "vehicle_fee", vehicle_class=vehicle_class, model_year=model_year)
    assert values(result)["factor"] == factor
    assert result.total_rials == total


def test_format_md_documents_the_shipped_units_and_functions():
    text = (PROJECT_ROOT / "catalog" / "FORMAT.md").read_text(encoding="utf-8")
    section = text[text.index("## Tariffs") :]
    for unit in Unit:
        assert unit.value in section, unit
    from catalog.tariffs import FUNCTIONS

    for name in FUNCTIONS:
        assert f"`{name}(" in section, name


def test_shipped_formulas_parse_as_python_expressions_only():
    # A guard on the data itself: each formula is one expression (no statements sneak in via YAML).
    for path in Path(SHIPPED / "tariffs").rglob("*.yaml"):
        for line in path.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("formula:", "total:")):
                ast.parse(stripped.split(":", 1)[1].strip(), mode="eval")
