"""What the rest of Miz asks of a loaded catalog: menus, services per organization, calendars, groups, search."""

from __future__ import annotations

from datetime import date

import pytest

from catalog import CatalogHolder, NotInCatalogError, Platform, load_catalog
from desk.validators import DateRule, DateWhen


def test_organizations_are_ordered_by_popularity(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    assert [org.id for org in catalog.organizations] == ["town", "village"]
    assert catalog.organization("village").sample is True
    with pytest.raises(NotInCatalogError):
        catalog.organization("atlantis")


def test_services_follow_offered_by_groups_and_ids(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    # certificate: municipalities + village; permit: town only. Category order: certificates, fees.
    assert [s.id for s in catalog.services_for("town")] == ["certificate", "permit"]
    assert [s.id for s in catalog.services_for("village")] == ["certificate"]
    assert [c.id for c in catalog.categories_for("town")] == ["certificates", "fees"]
    assert [c.id for c in catalog.categories_for("village")] == ["certificates"]
    assert [c.id for c in catalog.categories] == ["certificates", "fees"]
    with pytest.raises(NotInCatalogError):
        catalog.service("village", "permit")


def test_override_replaces_fields_for_that_organization_only(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    in_town = catalog.service("town", "certificate")
    in_village = catalog.service("village", "certificate")
    assert in_town.duration_days == 5
    assert in_town.fee.kind == "none"
    assert in_village.duration_days == 10
    assert in_village.fee.kind == "fixed"
    assert in_village.fee.amount == 500_000
    assert in_village.organization_id == "village"
    assert in_village.title.get("en") == "No-violation certificate"
    assert in_village.document("deed") is not None
    assert in_village.field("usage") is not None
    assert in_town.version != in_village.version


def test_version_is_stable_and_changes_with_the_definition(catalog_dir):
    first = load_catalog(catalog_dir.root)
    again = load_catalog(catalog_dir.root)
    assert first.service("town", "certificate").version == again.service("town", "certificate").version

    catalog_dir.edit("services/certificate.yaml", "duration_days: 5", "duration_days: 6")
    edited = load_catalog(catalog_dir.root)
    assert edited.service("town", "certificate").version != first.service("town", "certificate").version
    # The village overrides duration_days, so its definition (and version) did not change.
    assert edited.service("village", "certificate").version == first.service("village", "certificate").version
    # An untouched service keeps its version.
    assert edited.service("town", "permit").version == first.service("town", "permit").version


def test_date_rule_is_read_from_the_form_field(catalog_dir):
    first = load_catalog(catalog_dir.root)
    catalog_dir.edit(
        "services/certificate.yaml",
        "  - id: usage\n",
        "  - id: birth_date\n    label: {fa: تاریخ تولد مالک}\n    type: date\n    when: past\n"
        "  - id: visit_date\n    label: {fa: تاریخ بازدید}\n    type: date\n    when: future\n"
        "    within_years: 1\n"
        "  - id: letter_date\n    label: {fa: تاریخ نامه}\n    type: date\n"
        "  - id: usage\n",
    )
    edited = load_catalog(catalog_dir.root).service("town", "certificate")
    assert edited.form[1].date_rule == DateRule(DateWhen.PAST)
    assert edited.form[2].date_rule == DateRule(DateWhen.FUTURE, within_years=1)
    assert edited.form[3].date_rule == DateRule()
    assert edited.form[3].when is DateWhen.ANY
    assert first.service("town", "certificate").form[0].date_rule == DateRule()


def test_date_rule_at_its_default_leaves_the_version_as_before_the_rule_existed(catalog_dir):
    letter = "  - id: letter_date\n    label: {fa: تاریخ نامه}\n    type: date\n"
    catalog_dir.edit("services/certificate.yaml", "  - id: usage\n", letter + "  - id: usage\n")
    plain = load_catalog(catalog_dir.root).service("town", "certificate").version
    catalog_dir.edit("services/certificate.yaml", "    type: date\n", "    type: date\n    when: any\n")
    assert load_catalog(catalog_dir.root).service("town", "certificate").version == plain
    catalog_dir.edit("services/certificate.yaml", "    when: any\n", "    when: past\n")
    assert load_catalog(catalog_dir.root).service("town", "certificate").version != plain


def test_text_falls_back_to_persian(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    permit = catalog.service("town", "permit")
    assert permit.title.get("en") == permit.title.get("fa") == "پرداخت عوارض کسب و پیشه"
    assert catalog.county.name.get("en") == "Test County"


def test_calendar_merges_county_and_organization(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    town = catalog.calendar_for("town")
    village = catalog.calendar_for("village")
    assert town.weekend == frozenset({3, 4})  # thursday, friday
    assert village.weekend == frozenset({4})  # its own: friday only
    nowruz = date(2026, 3, 21)  # 1405-01-01
    local = date(2026, 10, 7)  # 1405-07-15, the village's own holiday
    assert nowruz in town.holidays
    assert nowruz in village.holidays
    assert local in village.holidays
    assert local not in town.holidays
    # A deadline skips the weekend: Wednesday + 1 working day is Saturday in town, Thursday in the village.
    assert town.add_working_days(date(2026, 4, 15), 1) == date(2026, 4, 18)
    assert village.add_working_days(date(2026, 4, 15), 1) == date(2026, 4, 16)


def test_operator_groups_and_clerks(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    assert catalog.operator_group("town", Platform.TELEGRAM) == -1001000000001
    assert catalog.operator_group("town", "bale") == 5000000001
    assert catalog.operator_group("village", "bale") is None
    town = catalog.organization_by_group("bale", 5000000001)
    assert town is not None
    assert town.id == "town"
    assert catalog.organization_by_group("telegram", 5000000001) is None
    assert catalog.organization_by_group("telegram", -1001000000002).id == "village"
    assert [(c.platform, c.user_id) for c in catalog.clerks("town")] == [(Platform.BALE, 7200000001)]
    assert catalog.clerks("village") == []


def test_summary_counts(catalog_dir):
    summary = load_catalog(catalog_dir.root).summary()
    assert (summary.organizations, summary.services, summary.documents) == (2, 2, 2)


@pytest.mark.parametrize(
    "query",
    [
        "گواهی عدم خلافی",
        "گواهي عدم خلافي",  # Arabic yeh
        "گواهیعدم",  # no space
        "عدم‌خلافی",  # ZWNJ instead of a space
        "  خلافی  ",
        "No-violation",
        "بانک ها",  # summary, with a space where the text has a ZWNJ
        "بانكها",  # Arabic kaf, no separator
    ],
)
def test_search_tolerates_keyboard_variants(catalog_dir, query):
    catalog = load_catalog(catalog_dir.root)
    assert [s.id for s in catalog.search("town", query)] == ["certificate"]


def test_search_ranks_title_matches_first_and_respects_organization(catalog_dir):
    catalog = load_catalog(catalog_dir.root)
    # "پرداخت" is in the permit's title and in neither field of the certificate.
    assert [s.id for s in catalog.search("town", "پرداخت")] == ["permit"]
    # The village does not offer the permit.
    assert catalog.search("village", "پرداخت") == []
    assert catalog.search("town", "   ") == []
    # "عوارض" is in the permit's title; "گواهی" only in the certificate: both words must match.
    assert catalog.search("town", "عوارض گواهی") == []


def test_holder_keeps_the_old_catalog_when_a_reload_is_broken(catalog_dir):
    holder = CatalogHolder(catalog_dir.root)
    before = holder.catalog
    catalog_dir.edit("services/permit.yaml", "category: fees", "category: taxes")
    problems = holder.reload()
    assert [(p.file.name, p.path) for p in problems] == [("permit.yaml", "category")]
    assert holder.catalog is before
    assert [s.id for s in holder.catalog.services_for("town")] == ["certificate", "permit"]


def test_holder_swaps_in_a_good_reload(catalog_dir):
    holder = CatalogHolder(catalog_dir.root)
    catalog_dir.edit("services/permit.yaml", "duration_days: 3", "duration_days: 4")
    assert holder.reload() == []
    assert holder.catalog.service("town", "permit").duration_days == 4
