"""Every kind of tariff mistake is reported by `miz catalog check` with its file, line and field."""

from __future__ import annotations

import pytest

COUNTY = "tariffs/1405/_county.yaml"
TOWN = "tariffs/1405/town.yaml"


def rows_at(run_check, tariff_dir, name: str, line: int, path: str) -> list[str]:
    """Run the check, which must fail, and return the reported lines for ``name:line: path:``."""
    code, out = run_check(tariff_dir.root)
    assert code == 1, out
    prefix = f"{tariff_dir.root / name}:{line}: {path}:" if path else f"{tariff_dir.root / name}:{line}:"
    matching = [row for row in out.splitlines() if row.startswith(prefix)]
    assert matching, f"no problem at {prefix}\n{out}"
    return matching


def expect(run_check, tariff_dir, name: str, line: int, path: str) -> str:
    return rows_at(run_check, tariff_dir, name, line, path)[0]


def test_the_fixture_tariff_passes(run_check, tariff_dir):
    code, out = run_check(tariff_dir.root)
    assert code == 0, out
    assert "tariffs OK: years 1405, 4 fees and calculations, 1 organization file(s) of overrides" in out
    assert "تعرفه‌ها درست است: سال ۱۴۰۵، ۴ عوارض و محاسبه، ۱ فایل تغییرات سازمان‌ها." in out


# (old text, new text, text on the reported line, field, words of the English message)
COUNTY_CASES = [
    # formulas
    (
        "formula: value * rate / 1000",
        "formula: value * rate / / 1000",
        "rate / / 1000",
        "fees.property.lines[1].formula",
        "formula syntax error",
    ),
    (
        'formula: area * lookup("price", zone)',
        'formula: area.real * lookup("price", zone)',
        "area.real",
        "fees.property.lines[0].formula",
        "'area.real' is not allowed in a formula",
    ),
    (
        "formula: value * rate / 1000",
        "formula: value * rat / 1000",
        "value * rat /",
        "fees.property.lines[1].formula",
        "unknown name 'rat'; the names known here are: area, factor, rate, value, zone",
    ),
    (
        'formula: area * lookup("price", zone)',
        'formula: fee + area * lookup("price", zone)',
        "fee + area",
        "fees.property.lines[0].formula",
        "'fee' is a line further down",
    ),
    (
        "formula: max(0, requested - permitted)",
        "formula: maximum(0, requested - permitted)",
        "maximum(",
        "fees.extra.lines[1].formula",
        "unknown function 'maximum'",
    ),
    (
        'lookup("uses", use)',
        'lookup("uses")',
        'lookup("uses")',
        "fees.extra.lines[2].formula",
        'wrong arguments for lookup: write lookup("table", key, "column")',
    ),
    (
        'formula: area * lookup("price", zone)',
        "formula: area * lookup(zone, zone)",
        "lookup(zone, zone)",
        "fees.property.lines[0].formula",
        "lookup needs the table's name in quotes",
    ),
    (
        'formula: area * lookup("price", zone)',
        'formula: area * lookup("prices", zone)',
        '"prices"',
        "fees.property.lines[0].formula",
        "no table 'prices' in this book (tables: price, plan, uses, ages)",
    ),
    (
        'lookup("uses", use)',
        'lookup("plan", use)',
        'lookup("plan", use)',
        "fees.extra.lines[2].formula",
        "table 'plan' has ranges: read it with range_lookup",
    ),
    (
        'formula: range_lookup("plan", plot, "floors", zone)',
        'formula: range_lookup("price", plot, "value", zone)',
        'range_lookup("price"',
        "fees.density.lines[1].formula",
        "table 'price' has no ranges: read it with lookup",
    ),
    (
        'formula: range_lookup("plan", plot, "floors", zone)',
        'formula: range_lookup("plan", plot, "storeys", zone)',
        '"storeys"',
        "fees.density.lines[1].formula",
        "table 'plan' has no column 'storeys' (columns: density, floors)",
    ),
    (
        'formula: range_lookup("plan", plot, "floors", zone)',
        'formula: range_lookup("plan", plot, key=zone)',
        "key=zone",
        "fees.density.lines[1].formula",
        "table 'plan' has several columns: name one of density, floors",
    ),
    (
        'formula: range_lookup("plan", plot, "floors", zone)',
        'formula: range_lookup("plan", plot, "floors")',
        '"floors")',
        "fees.density.lines[1].formula",
        "table 'plan' is keyed by zone: give the key too",
    ),
    (
        'range_lookup("ages", age)',
        'range_lookup("ages", age, key=kind)',
        "key=kind",
        "fees.vehicle.lines[1].formula",
        "table 'ages' has no key: range_lookup cannot pick its row by a key",
    ),
    # evaluation on sample inputs
    (
        "formula: max(0, requested - permitted)",
        "formula: max(0, requested - permitted) / (requested - 1)",
        "(requested - 1)",
        "fees.extra.lines[1].formula",
        "division by zero for zone=a, plot=100, requested=1, use=home (book 1405/_county)",
    ),
    (
        "plot: {type: number, unit: m2, min: 100, max: 500, label: {fa: مساحت زمین, en: Plot area}}",
        "plot: {type: number, unit: m2, min: 50, max: 500, label: {fa: مساحت زمین, en: Plot area}}",
        'formula: range_lookup("plan", plot, "density", zone)',
        "fees.density.lines[0].formula",
        "for zone=a, plot=50 (book 1405/_county) the value 50 is below the first row of table 'plan'",
    ),
    (
        "{key: b, from: 100, to: 500, density: 80, floors: 2}",
        "{key: b, from: 100, to: 400, density: 80, floors: 2}",
        'formula: range_lookup("plan", plot, "density", zone)',
        "fees.density.lines[0].formula",
        "for zone=b, plot=500 (book 1405/_county) the value 500 is above the last row of table 'plan'",
    ),
    (
        "formula: plot * density / 100",
        "formula: zone",
        "formula: zone",
        "fees.density.lines[2].formula",
        "the formula gives 'a', not a number",
    ),
    (
        "formula: plot * density / 100",
        "formula: plot + zone",
        "formula: plot + zone",
        "fees.density.lines[2].formula",
        "the formula fails for zone=a, plot=100 (book 1405/_county): TypeError",
    ),
    (
        "    total: fee\n  density:",
        "    total: fee - 100000000\n  density:",
        "total: fee - 100000000",
        "fees.property.total",
        "the total is negative",
    ),
    # tables
    (
        "{key: a, from: 200, to: 300, density: 120",
        "{key: a, from: 210, to: 300, density: 120",
        "from: 210",
        "tables.plan.rows[1].from",
        "gap: the row above ends at 200 but this one starts at 210",
    ),
    (
        "{key: a, from: 200, to: 300, density: 120",
        "{key: a, from: 190, to: 300, density: 120",
        "from: 190",
        "tables.plan.rows[1].from",
        "overlap: this row starts at 190, before the row above ends at 200",
    ),
    (
        "{key: a, from: 100, to: 200, density: 100",
        "{key: a, from: 100, density: 100",
        "from: 200, to: 300",
        "tables.plan.rows[1].from",
        "the row above has no upper bound (to), so this row overlaps it",
    ),
    (
        "{key: a, from: 200, to: 300, density: 120",
        "{key: a, from: 200, to: 200, density: 120",
        "from: 200, to: 200",
        "tables.plan.rows[1].to",
        "to (200) must be above from (200)",
    ),
    (
        "- {key: b, from: 100, to: 500, density: 80, floors: 2}",
        "- {from: 100, to: 500, density: 80, floors: 2}",
        "- {from: 100, to: 500, density: 80",
        "tables.plan.rows[3]",
        "this row needs a key: the table's rows are picked by zone",
    ),
    (
        "- {from: 0, to: 5, share: 100}",
        "- {key: x, from: 0, to: 5, share: 100}",
        "- {key: x, from: 0",
        "tables.ages.rows[0].key",
        "this table has no key",
    ),
    (
        "- {key: b, value: 4000}",
        "- {key: c, value: 4000}",
        "- {key: c, value: 4000}",
        "tables.price.rows[1].key",
        "zone 'c' is not one of the book's zones: a, b",
    ),
    (
        "- {key: b, value: 4000}",
        "- {key: c, value: 4000}",
        "    rows:",
        "tables.price.rows",
        "zone 'b' has no row in this table: every zone needs one",
    ),
    (
        "- {key: shop, label: {fa: تجاری, en: Shop}, k: 3}",
        "- {key: home, label: {fa: تجاری, en: Shop}, k: 3}",
        "label: {fa: تجاری, en: Shop}, k: 3",
        "tables.uses.rows[1].key",
        "a row for 'home' is already above",
    ),
    (
        "- {key: a, value: 10000}",
        "- {key: a}",
        "- {key: a}",
        "tables.price.rows[0]",
        "this row has no value for column 'value'",
    ),
    (
        "- {key: a, value: 10000}",
        "- {key: a, value: 10000, valeu: 5}",
        "valeu: 5",
        "tables.price.rows[0].valeu",
        "'valeu' is not a column of this table (columns: value)",
    ),
    (
        "- {key: home, label: {fa: مسکونی, en: Home}, k: 1.2}",
        "- {key: home, k: 1.2}",
        "- {key: home, k: 1.2}",
        "tables.uses.rows[0]",
        "this row needs a label",
    ),
    (
        "- {key: b, from: 100, to: 500, density: 80, floors: 2}",
        "- {key: b, to: 500, density: 80, floors: 2}",
        "- {key: b, to: 500",
        "tables.plan.rows[3]",
        "this row needs from: the table's rows are ranges",
    ),
    (
        "- {key: a, value: 10000}",
        "- {key: a, from: 1, value: 10000}",
        "- {key: a, from: 1, value: 10000}",
        "tables.price.rows[0].from",
        "this table has no range, so its rows take no from or to",
    ),
    (
        "      k: {label: {fa: ضریب}, unit: ratio}",
        "      k: {label: {fa: ضریب}, unit: ratio}\n      to: {label: {fa: تا}, unit: ratio}",
        "to: {label: {fa: تا}",
        "tables.uses.columns.to",
        "'to' cannot name a column",
    ),
    # names and inputs
    (
        "      kind:\n        type: choice",
        "      round:\n        type: choice",
        "      round:",
        "fees.vehicle.inputs.round",
        "'round' is a built-in name of formulas",
    ),
    (
        "      - id: value\n",
        "      - id: area\n",
        "- id: area",
        "fees.property.lines[0].id",
        "the name 'area' is already taken",
    ),
    (
        "choices_from: uses",
        "choices_from: usage",
        "choices_from: usage",
        "fees.extra.inputs.use.choices_from",
        "no table 'usage' in this book",
    ),
    (
        "choices_from: uses",
        "choices_from: price",
        "choices_from: price",
        "fees.extra.inputs.use.choices_from",
        "table 'price' is not keyed by id",
    ),
    (
        "area: {type: number, unit: m2, min: 1, max: 1000,",
        "area: {type: number, unit: m2, max: 1000,",
        "area: {type: number",
        "fees.property.inputs.area.min",
        "required field is missing",
    ),
    (
        "area: {type: number, unit: m2, min: 1, max: 1000,",
        "area: {type: number, unit: m2, min: 2000, max: 1000,",
        "area: {type: number",
        "fees.property.inputs.area.max",
        "min (2000) is above max (1000)",
    ),
    (
        "use: {type: choice, choices_from: uses,",
        "use: {type: choice, choices_from: uses, choices: [{id: x, label: X}, {id: y, label: Y}],",
        "use: {type: choice",
        "fees.extra.inputs.use.choices_from",
        "give choices or choices_from, not both",
    ),
    (
        "use: {type: choice, choices_from: uses,",
        "use: {type: choice,",
        "use: {type: choice",
        "fees.extra.inputs.use.choices",
        "a choice input needs choices",
    ),
    (
        "zone: {type: zone, label: {fa: پهنه, en: Zone}}",
        "zone: {type: zone, unit: m2, label: {fa: پهنه, en: Zone}}",
        "zone: {type: zone, unit: m2",
        "fees.property.inputs.zone.unit",
        "'unit' does not apply to an input of type zone",
    ),
    # shapes
    (
        "    unit: per_mille\n    value: 5",
        "    unit: per_mille\n    value: five",
        "value: five",
        "parameters.rate.value",
        "expected a number, got five",
    ),
    (
        "    unit: per_mille\n",
        "    unit: permille\n",
        "unit: permille",
        "parameters.rate.unit",
        "'permille' is not allowed here",
    ),
    (
        "article: {fa: ماده ۱, en: Article 1}",
        "articel: {fa: ماده ۱, en: Article 1}",
        "articel:",
        "fees.property.articel",
        "unknown key 'articel'",
    ),
    (
        "rounding: {step: 1000, mode: down}",
        "rounding: {step: 1000, mode: sideways}",
        "rounding:",
        "rounding.mode",
        "'sideways' is not allowed here; use one of: down, up, nearest",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    COUNTY_CASES,
    ids=[f"{case[3]}:{case[4][:30]}" for case in COUNTY_CASES],
)
def test_problem_in_the_county_default(run_check, tariff_dir, old, new, needle, path, message):
    tariff_dir.edit(COUNTY, old, new)
    line = tariff_dir.line_of(COUNTY, needle)
    row = expect(run_check, tariff_dir, COUNTY, line, path)
    assert message in row
    assert " | " in row  # and in Persian after the bar


def test_persian_half_of_a_problem(run_check, tariff_dir):
    tariff_dir.edit(COUNTY, "{key: a, from: 200, to: 300", "{key: a, from: 210, to: 300")
    line = tariff_dir.line_of(COUNTY, "from: 210")
    row = expect(run_check, tariff_dir, COUNTY, line, "tables.plan.rows[1].from")
    assert row.endswith(
        "| فاصله میان بازه‌ها: سطر بالا در 200 تمام می‌شود اما این سطر از 210 شروع می‌شود؛"
        " مقدارهای میان این دو در هیچ سطری نیستند."
    )


def test_yaml_syntax_error_in_a_tariff_file(run_check, tariff_dir):
    tariff_dir.edit(COUNTY, "  rate:\n", "  rate: [\n")
    code, out = run_check(tariff_dir.root)
    assert code == 1
    assert f"{tariff_dir.root / COUNTY}:" in out
    assert "YAML syntax error" in out


# organizations' files


@pytest.mark.parametrize(
    ("old", "new", "needle", "path", "message"),
    [
        (
            "factor: {value: 2}",
            "factr: {value: 2}",
            "factr:",
            "parameters.factr",
            "'factr' is not in parameters of the county default (_county.yaml)",
        ),
        (
            "  price:\n",
            "  prices:\n",
            "prices:",
            "tables.prices",
            "'prices' is not in tables of the county default",
        ),
        (
            "  property:\n",
            "  propety:\n",
            "propety:",
            "fees.propety",
            "'propety' is not in fees of the county default",
        ),
        (
            "factor: {value: 2}",
            "factor: {value: 0}",
            "factor: {value: 0}",
            "parameters.factor.value",
            None,  # not a problem by itself: see test_override_that_breaks_a_formula_of_the_default
        ),
        (
            "- {key: b, value: 5000}",
            "- {key: b}",
            "- {key: b}",
            "tables.price.rows[1]",
            "no value for column 'value'",
        ),
        (
            "    rounding: {step: 10000, mode: up}",
            "    rounding: {step: 0, mode: up}",
            "rounding: {step: 0",
            "fees.property.rounding.step",
            "0 is too small: the least allowed is 1",
        ),
    ],
)
def test_problem_in_an_organizations_file(run_check, tariff_dir, old, new, needle, path, message):
    tariff_dir.edit(TOWN, old, new)
    if message is None:
        code, out = run_check(tariff_dir.root)
        assert code == 0, out
        return
    line = tariff_dir.line_of(TOWN, needle)
    row = expect(run_check, tariff_dir, TOWN, line, path)
    assert message in row


def test_a_fee_an_organization_rewrites_is_checked_in_its_file(run_check, tariff_dir):
    tariff_dir.edit(
        TOWN,
        "    rounding: {step: 10000, mode: up}",
        "    rounding: {step: 10000, mode: up}\n"
        "    lines:\n"
        "      - {id: fee, label: {fa: عوارض}, unit: rial, formula: area * pricee}\n",
    )
    line = tariff_dir.line_of(TOWN, "formula: area * pricee")
    row = expect(run_check, tariff_dir, TOWN, line, "fees.property.lines[0].formula")
    assert "unknown name 'pricee'" in row
    # The default's own property fee is fine: nothing is reported in _county.yaml.
    _, out = run_check(tariff_dir.root)
    assert str(tariff_dir.root / COUNTY) not in out


def test_override_that_breaks_a_formula_of_the_default(run_check, tariff_dir):
    # The default divides by `factor` (1.5, fine); the town's factor 0 breaks it: the problem points at the
    # formula, naming the town's book.
    tariff_dir.edit(COUNTY, "extra_area * factor", "extra_area / factor")
    tariff_dir.edit(TOWN, "factor: {value: 2}", "factor: {value: 0}")
    line = tariff_dir.line_of(COUNTY, "extra_area / factor")
    row = expect(run_check, tariff_dir, COUNTY, line, "fees.extra.lines[2].formula")
    assert "division by zero for zone=a, plot=100, requested=1, use=home (book 1405/town)" in row


def test_zones_an_organization_replaces_must_fit_the_default_tables(run_check, tariff_dir):
    tariff_dir.edit(
        TOWN,
        "parameters:",
        "zones:\n  a: {fa: پهنه الف}\n  c: {fa: پهنه ج}\nparameters:",
    )
    # The town's own price rows name zone b, which the town no longer has.
    line = tariff_dir.line_of(TOWN, "- {key: b, value: 5000}")
    row = expect(run_check, tariff_dir, TOWN, line, "tables.price.rows[1].key")
    assert "zone 'b' is not one of the book's zones: a, c" in row
    # The default's plan rows (which the town did not replace) have no zone c: reported in the town's file,
    # at its nearest key.
    line = tariff_dir.line_of(TOWN, "tables:")
    row = expect(run_check, tariff_dir, TOWN, line, "tables.plan.rows")
    assert "zone 'c' has no row in this table" in row


def test_a_broken_default_is_reported_once_not_per_organization(run_check, tariff_dir):
    tariff_dir.edit(COUNTY, "formula: value * rate / 1000", "formula: value * rat / 1000")
    line = tariff_dir.line_of(COUNTY, "value * rat /")
    assert len(rows_at(run_check, tariff_dir, COUNTY, line, "fees.property.lines[1].formula")) == 1


# the folder


def test_file_of_an_unknown_organization(run_check, tariff_dir):
    tariff_dir.write("tariffs/1405/atlantis.yaml", "sample: true\n")
    row = expect(run_check, tariff_dir, "tariffs/1405/atlantis.yaml", 1, "")
    assert "no organization has the id 'atlantis'" in row


def test_folder_that_is_not_a_year(run_check, tariff_dir):
    tariff_dir.write("tariffs/next/_county.yaml", "sample: true\n")
    row = expect(run_check, tariff_dir, "tariffs/next", 0, "")
    assert "folder 'next' is not a Jalali year" in row


def test_tariff_file_outside_a_year_folder(run_check, tariff_dir):
    tariff_dir.write("tariffs/falavarjan.yaml", "sample: true\n")
    row = expect(run_check, tariff_dir, "tariffs/falavarjan.yaml", 0, "")
    assert "tariff files go inside a year's folder" in row


def test_unknown_underscore_file(run_check, tariff_dir):
    tariff_dir.write("tariffs/1405/_defaults.yaml", "sample: true\n")
    row = expect(run_check, tariff_dir, "tariffs/1405/_defaults.yaml", 0, "")
    assert "unknown file _defaults.yaml" in row


def test_year_without_a_county_default(run_check, tariff_dir):
    tariff_dir.write("tariffs/1406/town.yaml", "sample: true\n")
    row = expect(run_check, tariff_dir, "tariffs/1406/_county.yaml", 0, "")
    assert "file _county.yaml is missing" in row


def test_county_default_without_required_keys(run_check, tariff_dir):
    tariff_dir.write(COUNTY, "sample: true\nfees: {}\n")
    code, out = run_check(tariff_dir.root)
    assert code == 1
    for field in ("booklet", "zones"):
        assert f"{tariff_dir.root / COUNTY}:1: {field}: required field is missing" in out
