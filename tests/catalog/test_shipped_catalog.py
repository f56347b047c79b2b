"""The catalog shipped in catalog/data loads cleanly and describes Falavarjan County as the brief says."""

from __future__ import annotations

import pytest

from catalog import Catalog, FieldType, OrganizationKind, load_catalog
from config.settings import PROJECT_ROOT
from desk.validators import DateRule, DateWhen

SHIPPED = PROJECT_ROOT / "catalog" / "data"

MUNICIPALITIES = {
    "falavarjan",
    "ghahderijan",
    "imanshahr",
    "zazeran",
    "kelishad_sudarjan",
    "abrisham",
    "baharan",
    "pirbakran",
}


@pytest.fixture(scope="module")
def shipped() -> Catalog:
    return load_catalog(SHIPPED)


def test_shipped_catalog_passes_the_check(run_check):
    code, out = run_check(SHIPPED)
    assert code == 0, out
    assert out.startswith("catalog OK: ")
    assert "کاتالوگ درست است" in out


def test_county_districts_and_categories(shipped):
    assert shipped.county.name.fa == "شهرستان فلاورجان"
    assert shipped.county.province.fa == "استان اصفهان"
    assert [d.id for d in shipped.county.districts] == ["central", "pirbakran", "ghahderijan"]
    assert {d.id: [r.id for r in d.rural_districts] for d in shipped.county.districts} == {
        "central": ["abrisham", "ashtarjan"],
        "pirbakran": ["garkan_shomali", "sohr_firuzan"],
        "ghahderijan": ["golestan", "zazeran"],
    }
    assert [(c.id, c.title.fa) for c in shipped.categories] == [
        ("urban_planning", "شهرسازی و ساختمان"),
        ("fees", "عوارض و پرداخت"),
        ("certificates", "گواهی‌ها و استعلام‌ها"),
        ("urban_services", "خدمات شهری و روستایی"),
        ("complaints", "شکایات و پیشنهادها"),
    ]


def test_organizations_of_the_county(shipped):
    by_kind: dict[OrganizationKind, set[str]] = {}
    for org in shipped.organizations:
        by_kind.setdefault(org.kind, set()).add(org.id)
    assert by_kind[OrganizationKind.MUNICIPALITY] == MUNICIPALITIES
    assert by_kind[OrganizationKind.GOVERNORATE] == {"governorate"}
    assert "oshtorjan" in by_kind[OrganizationKind.DEHYARI]
    assert len(by_kind[OrganizationKind.DEHYARI]) >= 3
    assert shipped.organization("pirbakran").district == "pirbakran"
    assert shipped.organization("falavarjan").district == "central"
    assert shipped.organization("governorate").name.fa == "فرمانداری فلاورجان"


def test_only_invented_villages_are_samples(shipped):
    for org in shipped.organizations:
        invented = org.id.startswith("sample_")
        assert org.sample == invented, f"{org.id}: sample: true marks exactly the invented villages"


def test_every_real_dehyari_says_where_it_was_found(shipped):
    """The county's villages come from public sources, each named; an unconfirmed dehyari stays marked."""
    real = [o for o in shipped.organizations if o.kind is OrganizationKind.DEHYARI and not o.sample]
    sourced = [o for o in real if o.source is not None]
    assert len(sourced) >= 14
    for org in sourced:
        assert org.source is not None
        assert org.source.urls, org.id
        assert org.rural_district is not None, org.id
        assert org.contact.phone is None, f"{org.id}: no invented phone"
        assert org.contact.location is None, f"{org.id}: no invented map point"
        assert org.contact.sample is True, org.id


def test_every_organization_has_groups_on_both_platforms_and_a_clerk(shipped):
    for org in shipped.organizations:
        assert shipped.operator_group(org.id, "telegram") is not None, org.id
        assert shipped.operator_group(org.id, "bale") is not None, org.id
        assert shipped.organization_by_group("bale", shipped.operator_group(org.id, "bale")) == org
        assert {c.platform.value for c in shipped.clerks(org.id)} == {"telegram", "bale"}


def test_calendar_has_nowruz_and_a_thursday_friday_weekend(shipped):
    from datetime import date

    calendar = shipped.calendar_for("falavarjan")
    assert calendar.weekend == frozenset({3, 4})
    assert date(2026, 3, 21) in calendar.holidays  # 1405-01-01
    assert date(2027, 3, 21) in calendar.holidays  # 1406-01-01
    assert date(2027, 2, 11) in calendar.holidays  # 1405-11-22, anniversary of the revolution


def test_every_shipped_date_question_says_on_which_side_of_today_it_falls(shipped):
    rules = {
        (service.id, field.id): field.date_rule
        for org in shipped.organizations
        for service in shipped.services_for(org.id)
        for field in service.form
        if field.type is FieldType.DATE
    }
    assert rules[("complaint", "incident_date")] == DateRule(DateWhen.PAST)
    assert rules[("debris_collection", "preferred_date")] == DateRule(DateWhen.FUTURE, within_years=1)
    assert all(rule.when is not DateWhen.ANY for rule in rules.values()), rules


def test_every_service_as_stored_with_a_request_reads_back(shipped):
    # A request keeps its service as JSON (model_dump); cards, tracking and certificates read it back later.
    for org in shipped.organizations:
        for service in shipped.services_for(org.id):
            snapshot = service.model_dump(mode="json")
            assert type(service).model_validate(snapshot) == service, f"{org.id}/{service.id}"


def test_a_group_override_reaches_every_dehyari_and_an_organizations_own_comes_last(shipped):
    def responsible(org_id: str) -> str:
        return shipped.service(org_id, "debris_collection").responsible.title.get("fa")

    assert responsible("falavarjan") == "مسئول واحد خدمات شهری شهرداری", "a city's card speaks of no village"
    assert responsible("sample_golzar") == "دهیار", "the dehyaris' override"
    assert responsible("oshtorjan") == "دهیار اشترجان", "an organization's own override comes last"
