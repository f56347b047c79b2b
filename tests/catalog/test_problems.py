"""Every kind of catalog mistake is reported by `miz catalog check` with its file, line and field."""

from __future__ import annotations

import pytest

from catalog import CatalogError, load_catalog


def expect(run_check, catalog_dir, name: str, line: int, path: str) -> str:
    """Run the check, which must fail, and return the reported line for ``name:line: path:``."""
    code, out = run_check(catalog_dir.root)
    assert code == 1, out
    prefix = f"{catalog_dir.root / name}:{line}: {path}:" if path else f"{catalog_dir.root / name}:{line}:"
    matching = [row for row in out.splitlines() if row.startswith(prefix)]
    assert matching, f"no problem at {prefix}\n{out}"
    return matching[0]


def test_clean_fixture_catalog_passes(run_check, catalog_dir):
    code, out = run_check(catalog_dir.root)
    assert code == 0, out
    assert "catalog OK: 2 organizations, 2 services, 2 documents" in out
    assert "کاتالوگ درست است: ۲ سازمان، ۲ خدمت، ۲ مدرک" in out


def test_yaml_syntax_error_points_at_its_line(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "steps: [{fa: مراجعه}]", "steps: [{fa: مراجعه}\nbroken: x")
    line = catalog_dir.line_of("services/permit.yaml", "broken: x")
    row = expect(run_check, catalog_dir, "services/permit.yaml", line, "")
    assert "YAML syntax error" in row
    assert "خطای نگارشی YAML" in row


def test_duplicate_yaml_key_is_a_syntax_problem(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "duration_days: 3", "duration_days: 3\nduration_days: 4")
    line = catalog_dir.line_of("services/permit.yaml", "duration_days: 4")
    expect(run_check, catalog_dir, "services/permit.yaml", line, "")


def test_unknown_key_names_the_key(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "    title: {fa: کارت ملی}", "    titel: {fa: کارت ملی}")
    line = catalog_dir.line_of("services/certificate.yaml", "titel:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "documents[1].titel")
    assert "unknown key 'titel'" in row


def test_missing_required_field_points_at_its_parent(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "    title: {fa: کارت ملی}\n", "")
    line = catalog_dir.line_of("services/certificate.yaml", "- id: national_card")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "documents[1].title")
    assert "required field is missing" in row


def test_wrong_type_names_the_value(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "duration_days: 3", "duration_days: three")
    line = catalog_dir.line_of("services/permit.yaml", "duration_days:")
    row = expect(run_check, catalog_dir, "services/permit.yaml", line, "duration_days")
    assert "expected a whole number, got three" in row


def test_unquoted_phone_number_is_a_wrong_type(run_check, catalog_dir):
    catalog_dir.edit("organizations/town.yaml", 'phone: "03137422020"', "phone: 03137422020")
    line = catalog_dir.line_of("organizations/town.yaml", "phone:")
    row = expect(run_check, catalog_dir, "organizations/town.yaml", line, "contact.phone")
    assert "quotes" in row


@pytest.mark.parametrize(
    ("old", "new", "needle", "path"),
    [
        ("  - id: national_card", "  - id: deed", "- id: deed\n    title: {fa: کارت", "documents[1].id"),
        ("  - id: usage", "  - id: owner_name", "- id: owner_name\n    label: {fa: نوع", "form[1].id"),
        ("{id: commercial,", "{id: residential,", "{fa: تجاری}", "form[1].choices[1].id"),
    ],
    ids=["document", "form_field", "choice"],
)
def test_duplicate_ids_inside_a_service(run_check, catalog_dir, old, new, needle, path):
    catalog_dir.edit("services/certificate.yaml", old, new)
    text = (catalog_dir.root / "services/certificate.yaml").read_text(encoding="utf-8")
    line = text[: text.index(needle)].count("\n") + 1
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, path)
    assert "is used twice" in row


def test_duplicate_category_id(run_check, catalog_dir):
    catalog_dir.edit("county.yaml", "  - id: fees", "  - id: certificates")
    line = catalog_dir.line_of("county.yaml", "title: {fa: عوارض و پرداخت}") - 1
    expect(run_check, catalog_dir, "county.yaml", line, "categories[1].id")


def test_service_id_must_match_file_name(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "id: permit", "id: business_fee")
    row = expect(run_check, catalog_dir, "services/permit.yaml", 1, "id")
    assert "must equal the file name 'permit'" in row


def test_organization_id_must_match_file_name(run_check, catalog_dir):
    catalog_dir.edit("organizations/village.yaml", "id: village", "id: hamlet")
    expect(run_check, catalog_dir, "organizations/village.yaml", 1, "id")


@pytest.mark.parametrize("name", ["services/permit.yaml", "organizations/village.yaml"])
def test_an_organization_or_service_id_longer_than_a_button_can_carry(run_check, catalog_dir, name):
    long_id = (
        "a_name_far_too_long_for_buttons"  # 31 characters: org and service ids share 64 bytes of a button
    )
    old = f"id: {name.split('/')[1].removesuffix('.yaml')}"
    catalog_dir.edit(name, old, f"id: {long_id}")
    code, out = run_check(catalog_dir.root)
    assert code == 1, out
    rows = [row for row in out.splitlines() if row.startswith(f"{catalog_dir.root / name}:1: id:")]
    assert any("at most 24 characters" in row for row in rows), out


def test_offered_by_unknown_organization_or_group(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "offered_by: [town]", "offered_by: [town, citys]")
    line = catalog_dir.line_of("services/permit.yaml", "offered_by:")
    row = expect(run_check, catalog_dir, "services/permit.yaml", line, "offered_by[1]")
    assert "'citys'" in row


def test_override_for_an_organization_that_does_not_offer_it(run_check, catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml", "offered_by: [municipalities, village]", "offered_by: [town]"
    )
    line = catalog_dir.line_of("services/certificate.yaml", "  village:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "overrides.village")
    assert "does not offer this service" in row


def test_unknown_category(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "category: fees", "category: taxes")
    row = expect(run_check, catalog_dir, "services/permit.yaml", 2, "category")
    assert "unknown category 'taxes'" in row
    assert "certificates, fees" in row


def test_unknown_district(run_check, catalog_dir):
    catalog_dir.edit("organizations/village.yaml", "district: east", "district: west")
    line = catalog_dir.line_of("organizations/village.yaml", "district:")
    row = expect(run_check, catalog_dir, "organizations/village.yaml", line, "district")
    assert "unknown district 'west'" in row


def test_rural_district_must_belong_to_the_organizations_district(run_check, catalog_dir):
    catalog_dir.edit(
        "county.yaml",
        "    - {id: east, name: {fa: بخش شرقی}}",
        "    - id: east\n      name: {fa: بخش شرقی}\n      rural_districts:\n"
        "        - {id: hills, name: {fa: دهستان تپه‌ها}}\n"
        "        - {id: river, name: {fa: دهستان رود}}",
    )
    catalog_dir.edit("organizations/village.yaml", "district: east", "district: east\nrural_district: hills")
    code, out = run_check(catalog_dir.root)
    assert code == 0, out

    catalog_dir.edit("organizations/village.yaml", "rural_district: hills", "rural_district: lake")
    line = catalog_dir.line_of("organizations/village.yaml", "rural_district:")
    row = expect(run_check, catalog_dir, "organizations/village.yaml", line, "rural_district")
    assert "unknown rural district 'lake' in district 'east'" in row
    assert "hills, river" in row


def test_duplicate_rural_district_id(run_check, catalog_dir):
    catalog_dir.edit(
        "county.yaml",
        "    - {id: east, name: {fa: بخش شرقی}}",
        "    - id: east\n      name: {fa: بخش شرقی}\n      rural_districts:\n"
        "        - {id: hills, name: {fa: دهستان تپه‌ها}}\n"
        "        - {id: hills, name: {fa: دهستان دیگر}}",
    )
    line = catalog_dir.line_of("county.yaml", "دهستان دیگر")
    expect(run_check, catalog_dir, "county.yaml", line, "county.districts[1].rural_districts[1].id")


def test_form_field_of_unknown_type(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "type: text", "type: signature")
    line = catalog_dir.line_of("services/certificate.yaml", "type: signature")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "form[0].type")
    assert "'signature' is not allowed here" in row
    assert "national_id" in row


def test_choice_field_without_choices(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "type: text", "type: choice")
    line = catalog_dir.line_of("services/certificate.yaml", "type: choice")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "form[0].choices")
    assert "needs 'choices' with at least two options" in row


def test_choices_on_a_field_that_is_not_a_choice(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "type: choice", "type: yes_no")
    line = catalog_dir.line_of("services/certificate.yaml", "choices:")
    expect(run_check, catalog_dir, "services/certificate.yaml", line, "form[1].choices")


BIRTH_DATE = "  - id: birth_date\n    label: {fa: تاریخ تولد مالک}\n    type: date\n    when: past\n"


def test_date_rule_of_unknown_side(run_check, catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml",
        "  - id: usage\n",
        BIRTH_DATE.replace("past", "befor") + "  - id: usage\n",
    )
    line = catalog_dir.line_of("services/certificate.yaml", "when: befor")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "form[1].when")
    assert "'befor' is not allowed here" in row
    assert "past" in row


def test_date_rule_needs_whole_years_of_at_least_one(run_check, catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml", "  - id: usage\n", BIRTH_DATE + "    within_years: 0\n  - id: usage\n"
    )
    line = catalog_dir.line_of("services/certificate.yaml", "within_years: 0")
    expect(run_check, catalog_dir, "services/certificate.yaml", line, "form[1].within_years")


def test_date_rule_of_more_years_than_the_calendar_makes_sense_of(run_check, catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml", "  - id: usage\n", BIRTH_DATE + "    within_years: 2000\n  - id: usage\n"
    )
    line = catalog_dir.line_of("services/certificate.yaml", "within_years: 2000")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "form[1].within_years")
    assert "the most allowed is 150" in row


@pytest.mark.parametrize("key", ["when: past", "within_years: 2"])
def test_date_rule_on_a_field_that_is_not_a_date(run_check, catalog_dir, key):
    catalog_dir.edit("services/certificate.yaml", "    type: text\n", f"    type: text\n    {key}\n")
    line = catalog_dir.line_of("services/certificate.yaml", key)
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, f"form[0].{key.split(':')[0]}")
    assert "only a date field has" in row
    assert "فقط فیلد date" in row


def test_fixed_fee_without_amount(run_check, catalog_dir):
    catalog_dir.edit(
        "services/permit.yaml",
        "fee: {kind: computed, note: {fa: بر پایهٔ تعرفهٔ مصوب شورا}}",
        "fee:\n  kind: fixed",
    )
    line = catalog_dir.line_of("services/permit.yaml", "fee:")
    row = expect(run_check, catalog_dir, "services/permit.yaml", line, "fee.amount")
    assert "required field is missing" in row


def test_amount_on_a_fee_that_is_not_fixed(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "fee: {kind: none}", "fee: {kind: none, amount: 1000}")
    line = catalog_dir.line_of("services/certificate.yaml", "fee: {kind: none")
    expect(run_check, catalog_dir, "services/certificate.yaml", line, "fee.amount")


def test_unknown_fee_kind(run_check, catalog_dir):
    catalog_dir.edit("services/certificate.yaml", "fee: {kind: none}", "fee: {kind: free}")
    line = catalog_dir.line_of("services/certificate.yaml", "fee: {kind: free")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "fee.kind")
    assert "none, fixed, computed" in row


def test_invalid_jalali_holiday(run_check, catalog_dir):
    # 1405 is not a leap year: Esfand has 29 days.
    catalog_dir.edit("county.yaml", "date: 1405-01-02", "date: 1405-12-30")
    line = catalog_dir.line_of("county.yaml", "1405-12-30")
    row = expect(run_check, catalog_dir, "county.yaml", line, "calendar.holidays[1].date")
    assert "there is no Jalali date 1405-12-30" in row


def test_jalali_date_in_a_month_that_gregorian_lacks_is_fine(run_check, catalog_dir):
    # 1405-02-31 exists (the first six Jalali months have 31 days) though February 31 does not.
    catalog_dir.edit("county.yaml", "date: 1405-01-02", "date: 1405-02-31")
    code, out = run_check(catalog_dir.root)
    assert code == 0, out


def test_malformed_holiday_date(run_check, catalog_dir):
    catalog_dir.edit("county.yaml", "date: 1405-01-02", "date: 1405/1/2")
    line = catalog_dir.line_of("county.yaml", "1405/1/2")
    expect(run_check, catalog_dir, "county.yaml", line, "calendar.holidays[1].date")


def test_visit_missing_when_not_online(run_check, catalog_dir):
    catalog_dir.edit(
        "services/permit.yaml", "visit:\n  what_to_bring: {fa: کارت ملی}\n  where: {fa: واحد درآمد}\n", ""
    )
    line = catalog_dir.line_of("services/permit.yaml", "online: false")
    row = expect(run_check, catalog_dir, "services/permit.yaml", line, "visit")
    assert "'visit' is required when online is false" in row


def test_override_turning_online_off_needs_a_visit(run_check, catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml", "    duration_days: 10", "    duration_days: 10\n    online: false"
    )
    line = catalog_dir.line_of("services/certificate.yaml", "    online: false")
    expect(run_check, catalog_dir, "services/certificate.yaml", line, "overrides.village.visit")


def test_every_problem_is_reported_not_only_the_first(run_check, catalog_dir):
    catalog_dir.edit("services/permit.yaml", "category: fees", "category: taxes")
    catalog_dir.edit("services/certificate.yaml", "type: text", "type: signature")
    catalog_dir.edit("organizations/village.yaml", "district: east", "district: west")
    catalog_dir.edit("county.yaml", "date: 1405-01-02", "date: 1405-13-01")
    code, out = run_check(catalog_dir.root)
    assert code == 1
    assert "catalog has 4 problem(s)" in out
    assert "کاتالوگ ۴ اشکال دارد" in out
    for name in ("permit.yaml", "certificate.yaml", "village.yaml", "county.yaml"):
        assert name in out


def test_operator_group_shared_by_two_organizations(run_check, catalog_dir):
    catalog_dir.edit("organizations/village.yaml", "telegram: -1001000000002", "telegram: -1001000000001")
    line = catalog_dir.line_of("organizations/village.yaml", "telegram:")
    row = expect(run_check, catalog_dir, "organizations/village.yaml", line, "operator_groups.telegram")
    assert "'town'" in row


@pytest.mark.parametrize(
    ("old", "new", "needle", "path"),
    [
        ("  bale: 5000000001", "  eitaa: 5000000001", "eitaa:", "operator_groups.eitaa"),
        ("{platform: bale,", "{platform: eitaa,", "platform: eitaa", "clerks[0].platform"),
    ],
)
def test_a_platform_missing_from_the_table_is_refused(run_check, catalog_dir, old, new, needle, path):
    catalog_dir.edit("organizations/town.yaml", old, new)
    line = catalog_dir.line_of("organizations/town.yaml", needle)
    row = expect(run_check, catalog_dir, "organizations/town.yaml", line, path)
    assert "'eitaa' is not allowed here" in row
    assert "telegram, bale" in row


def test_missing_directory_is_a_clean_error(run_check, tmp_path):
    code, out = run_check(tmp_path / "nowhere")
    assert code == 1
    assert "catalog folder not found" in out
    assert "پوشهٔ کاتالوگ پیدا نشد" in out
    assert "Traceback" not in out


def test_missing_county_file(run_check, catalog_dir):
    (catalog_dir.root / "county.yaml").unlink()
    code, out = run_check(catalog_dir.root)
    assert code == 1
    assert f"{catalog_dir.root / 'county.yaml'}:0: file county.yaml is missing" in out


def test_empty_and_non_utf8_files(run_check, catalog_dir):
    catalog_dir.write("services/empty.yaml", "")
    (catalog_dir.root / "services/latin1.yaml").write_bytes("title: caf\xe9\n".encode("latin-1"))
    code, out = run_check(catalog_dir.root)
    assert code == 1
    assert f"{catalog_dir.root / 'services/empty.yaml'}:1: file is empty" in out
    assert f"{catalog_dir.root / 'services/latin1.yaml'}:1: file is not UTF-8" in out


def test_load_catalog_raises_catalog_error_with_all_problems(catalog_dir):
    catalog_dir.edit("services/permit.yaml", "category: fees", "category: taxes")
    catalog_dir.edit("organizations/village.yaml", "district: east", "district: west")
    with pytest.raises(CatalogError) as caught:
        load_catalog(catalog_dir.root)
    problems = caught.value.problems
    assert [(p.file.name, p.path, p.key) for p in problems] == [
        ("village.yaml", "district", "catalog.unknown_district"),
        ("permit.yaml", "category", "catalog.unknown_category"),
    ]
    assert problems[1].line == 2
    assert problems[1].message("fa").startswith("گروه خدمت «taxes»")


def test_a_company_code_shared_by_two_organizations(run_check, catalog_dir):
    for name in ("town", "village"):
        path = catalog_dir.root / f"organizations/{name}.yaml"
        path.write_text(path.read_text(encoding="utf-8") + "billing:\n  company_code: 311\n  sample: true\n")
    line = catalog_dir.line_of("organizations/village.yaml", "company_code:")
    row = expect(run_check, catalog_dir, "organizations/village.yaml", line, "billing.company_code")
    assert "bill IDs would clash" in row
    assert "'town'" in row


def test_a_company_code_has_three_digits_at_most(run_check, catalog_dir):
    path = catalog_dir.root / "organizations/town.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "billing:\n  company_code: 1000\n")
    line = catalog_dir.line_of("organizations/town.yaml", "company_code:")
    row = expect(run_check, catalog_dir, "organizations/town.yaml", line, "billing.company_code")
    assert "1 to 3 digits" in row


CERTIFICATE_BLOCK = """certificate:
  type: no_violation_certificate
  holder_field: owner_name
  national_id_field: {national_id}
  property_field: {property}
"""


def test_a_certificate_naming_a_question_the_form_lacks(run_check, catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml",
        "form:\n",
        "form:\n  - {id: owner_national_id, label: {fa: کد ملی مالک}, type: national_id}\n",
    )
    block = CERTIFICATE_BLOCK.format(national_id="owner_national_id", property="plot_adress")
    catalog_dir.edit("services/certificate.yaml", "duration_days: 5\n", f"duration_days: 5\n{block}")
    line = catalog_dir.line_of("services/certificate.yaml", "property_field:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "certificate.property_field")
    assert "no field 'plot_adress'" in row
    assert "owner_national_id, owner_name, usage" in row


def test_a_certificate_needs_a_required_national_id_question(run_check, catalog_dir):
    block = CERTIFICATE_BLOCK.format(national_id="usage", property="owner_name")
    catalog_dir.edit("services/certificate.yaml", "duration_days: 5\n", f"duration_days: 5\n{block}")
    line = catalog_dir.line_of("services/certificate.yaml", "national_id_field:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "certificate.national_id_field")
    assert "of type choice" in row


def test_a_certificate_of_an_unknown_type(run_check, catalog_dir):
    block = CERTIFICATE_BLOCK.format(national_id="owner_name", property="owner_name")
    block = block.replace("no_violation_certificate", "marriage_certificate")
    catalog_dir.edit("services/certificate.yaml", "duration_days: 5\n", f"duration_days: 5\n{block}")
    line = catalog_dir.line_of("services/certificate.yaml", "type: marriage_certificate")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "certificate.type")
    assert "completion_certificate" in row


def test_a_catalog_certificate_reaches_the_resolved_service(catalog_dir):
    catalog_dir.edit(
        "services/certificate.yaml",
        "form:\n",
        "form:\n  - {id: owner_national_id, label: {fa: کد ملی مالک}, type: national_id}\n",
    )
    block = CERTIFICATE_BLOCK.format(national_id="owner_national_id", property="owner_name")
    catalog_dir.edit("services/certificate.yaml", "duration_days: 5\n", f"duration_days: 5\n{block}")
    catalog = load_catalog(catalog_dir.root)
    snapshot = catalog.service("village", "certificate").model_dump(mode="json")
    assert snapshot["certificate"] == {
        "type": "no_violation_certificate",
        "holder_field": "owner_name",
        "national_id_field": "owner_national_id",
        "property_field": "owner_name",
        "valid_days": None,
    }


@pytest.mark.parametrize("value", ["0", "11"])
def test_a_document_taking_no_file_or_more_than_an_album_holds_is_reported(run_check, catalog_dir, value):
    catalog_dir.edit(
        "services/certificate.yaml",
        "    title: {fa: کارت ملی}",
        f"    title: {{fa: کارت ملی}}\n    max_files: {value}",
    )
    line = catalog_dir.line_of("services/certificate.yaml", "max_files:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "documents[1].max_files")
    assert value in row


def test_a_certificate_must_ask_its_holders_name(run_check, catalog_dir):
    block = CERTIFICATE_BLOCK.replace("  holder_field: owner_name\n", "")
    block = block.format(national_id="owner_national_id", property="owner_name")
    catalog_dir.edit(
        "services/certificate.yaml",
        "form:\n",
        "form:\n  - {id: owner_national_id, label: {fa: کد ملی مالک}, type: national_id}\n",
    )
    catalog_dir.edit("services/certificate.yaml", "duration_days: 5\n", f"duration_days: 5\n{block}")
    line = catalog_dir.line_of("services/certificate.yaml", "certificate:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "certificate.holder_field")
    assert "required" in row or "لازم" in row, row
