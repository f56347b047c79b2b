"""Agencies in the catalog: found by id and by group, never offered to citizens, checked with file and line."""

from __future__ import annotations

from datetime import date

from bot.inquiry_cards import agency_of
from catalog import Platform, load_catalog
from catalog.loader import CatalogHolder
from catalog.schema import INQUIRY_DAYS_DEFAULT
from tests.catalog.test_problems import expect

REGISTRY = """\
id: registry
kind: agency
name: {fa: اداره ثبت اسناد آزمون, en: Test Registry Office}
place: {fa: آزمون}
district: central
sample: true
contact:
  address: {fa: خیابان ثبت}
answer_days: 10
operator_groups:
  bale: 5000000101
clerks:
  - {platform: bale, user_id: 7200000101, name: {fa: کارشناس ثبت}, role: clerk}
"""

GAS = """\
id: gas
kind: agency
name: {fa: اداره گاز آزمون}
place: {fa: آزمون}
district: central
contact:
  address: {fa: خیابان گاز}
answer_days: 3
"""


def with_agencies(catalog_dir):
    catalog_dir.write("organizations/registry.yaml", REGISTRY)
    catalog_dir.write("organizations/gas.yaml", GAS)
    catalog_dir.edit("services/certificate.yaml", "offered_by:", "inquiries: [gas, registry]\noffered_by:")
    return catalog_dir


def test_agencies_are_found_by_id_and_group_but_never_offered_to_citizens(catalog_dir):
    catalog = load_catalog(with_agencies(catalog_dir).root)
    assert [org.id for org in catalog.organizations] == ["town", "village"]
    assert {org.id for org in catalog.agencies} == {"registry", "gas"}
    assert catalog.organization("registry").answer_days == 10
    assert catalog.organization_by_group(Platform.BALE, 5000000101).id == "registry"
    assert [clerk.user_id for clerk in catalog.clerks("registry")] == [7200000101]
    # "all" and the groups never make an agency offer a service.
    assert catalog.services_for("registry") == []


def test_the_services_usual_agencies_are_offered_first_and_never_the_asker_itself(catalog_dir):
    catalog = load_catalog(with_agencies(catalog_dir).root)
    assert catalog.service("town", "certificate").inquiries == ["gas", "registry"]
    targets = [org.id for org in catalog.inquiry_targets("town", "certificate")]
    assert targets == ["gas", "registry", "village"]
    assert [org.id for org in catalog.inquiry_targets("village", "certificate")][:2] == ["gas", "registry"]
    assert "town" in [org.id for org in catalog.inquiry_targets("village")]
    # An organization asked without answer_days gives the default deadline.
    assert catalog.organization("village").inquiry_days == INQUIRY_DAYS_DEFAULT


def test_adding_inquiries_keeps_the_version_of_services_without_them(catalog_dir):
    before = load_catalog(catalog_dir.root)
    after = load_catalog(with_agencies(catalog_dir).root)
    assert after.service("town", "permit").version == before.service("town", "permit").version
    assert after.service("town", "certificate").version != before.service("town", "certificate").version


def test_check_counts_agencies_and_samples(run_check, catalog_dir):
    code, out = run_check(with_agencies(catalog_dir).root)
    assert code == 0, out
    assert "catalog OK: 2 organizations" in out
    assert "2 agencies answer inquiries (1 with sample contacts or groups, to confirm)" in out
    assert "۲ دستگاه به استعلام‌ها پاسخ می‌دهند (۱ با نشانی یا گروه نمونه" in out


def test_an_agency_without_an_answer_deadline(run_check, catalog_dir):
    with_agencies(catalog_dir).edit("organizations/gas.yaml", "answer_days: 3\n", "")
    line = catalog_dir.line_of("organizations/gas.yaml", "kind: agency")
    row = expect(run_check, catalog_dir, "organizations/gas.yaml", line, "answer_days")
    assert "an agency needs answer_days" in row


def test_a_service_offered_by_an_agency(run_check, catalog_dir):
    with_agencies(catalog_dir).edit("services/permit.yaml", "offered_by: [town]", "offered_by: [town, gas]")
    line = catalog_dir.line_of("services/permit.yaml", "offered_by:")
    row = expect(run_check, catalog_dir, "services/permit.yaml", line, "offered_by[1]")
    assert "'gas' is an agency" in row


def test_an_inquiry_to_no_one_known(run_check, catalog_dir):
    with_agencies(catalog_dir).edit("services/certificate.yaml", "[gas, registry]", "[gas, registery]")
    line = catalog_dir.line_of("services/certificate.yaml", "inquiries:")
    row = expect(run_check, catalog_dir, "services/certificate.yaml", line, "inquiries[1]")
    assert "no agency or organization 'registery'" in row


def test_the_shipped_agencies_are_all_marked_samples_until_confirmed():
    from pathlib import Path

    catalog = load_catalog(Path(__file__).parents[2] / "catalog" / "data")
    ids = {agency.id for agency in catalog.agencies}
    assert {"registry", "electricity", "water", "gas", "telecom", "natural_resources", "heritage"} <= ids
    assert {"roads", "tax", "enforcement", "banks"} <= ids
    assert all(agency.sample for agency in catalog.agencies)
    assert catalog.operator_group("registry", "bale") is not None
    assert catalog.operator_group("water", "bale") is None


def test_an_agency_is_asked_by_its_own_calendar_when_it_has_one_and_the_countys_otherwise(catalog_dir):
    with_agencies(catalog_dir).edit(
        "organizations/gas.yaml",
        "answer_days: 3\n",
        "answer_days: 3\ncalendar:\n  weekend: [friday]\n  holidays:\n    - {date: 1405-01-05, name: {fa: تعطیلی اداره}}\n",
    )
    catalog = load_catalog(catalog_dir.root)
    holder = CatalogHolder(catalog_dir.root, catalog)
    gas, registry = agency_of(holder, "gas"), agency_of(holder, "registry")
    thursday, nowruz, own_holiday = date(2026, 3, 19), date(2026, 3, 21), date(2026, 3, 25)
    assert gas.calendar.is_working_day(thursday), "its own weekend replaces the county's"
    assert not gas.calendar.is_working_day(nowruz), "the county's holidays still close it"
    assert not gas.calendar.is_working_day(own_holiday)
    assert not registry.calendar.is_working_day(thursday), "no calendar of its own: the county's"
    assert registry.calendar.is_working_day(own_holiday)
