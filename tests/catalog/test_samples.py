"""`miz catalog check` warns on every value still marked as a sample, and `--strict` fails on them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from catalog.cli import check
from catalog.schema import Contact, ContactField
from config.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "catalog" / "data"


def warnings(out: str) -> list[str]:
    return [row for row in out.splitlines() if "sample value" in row]


def test_each_sample_mark_is_a_warning_with_its_line_and_the_check_passes(run_check, catalog_dir):
    catalog_dir.edit(
        "organizations/town.yaml",
        '  phone: "03137422020"',
        '  phone: "03137422020"\n  location: {latitude: 32.55, longitude: 51.5}\n  sample: [phone, location]',
    )
    code, out = run_check(catalog_dir.root)
    assert code == 0, out
    town = catalog_dir.root / "organizations" / "town.yaml"
    line = catalog_dir.line_of("organizations/town.yaml", "sample: [phone")
    assert f"{town}:{line}: contact.phone: sample value" in out
    assert f"{town}:{line}: contact.location: sample value" in out
    village = catalog_dir.line_of("organizations/village.yaml", "sample: true")
    assert f"{catalog_dir.root / 'organizations' / 'village.yaml'}:{village}: sample value" in out
    assert len(warnings(out)) == 3
    assert "3 value(s) still marked as samples" in out
    assert "۳ مقدار هنوز نمونه است" in out


def test_an_unconfirmed_source_is_a_warning(run_check, catalog_dir):
    catalog_dir.edit(
        "organizations/village.yaml",
        "sample: true\n",
        "source:\n  note: {fa: نام روستا در مصوبهٔ تقسیمات کشوری آمده است}\n"
        "  urls: [https://rc.majlis.ir/fa/law/show/828429]\n  sample: true\n",
    )
    code, out = run_check(catalog_dir.root)
    assert code == 0, out
    line = catalog_dir.line_of("organizations/village.yaml", "  sample: true")
    assert f"{catalog_dir.root / 'organizations' / 'village.yaml'}:{line}: source: sample value" in out
    assert len(warnings(out)) == 1


def test_strict_fails_while_sample_values_remain(catalog_dir, capsys: pytest.CaptureFixture[str]):
    assert check(catalog_dir.root, strict=True) == 1
    assert "--strict: 1 value(s) still marked as samples" in capsys.readouterr().out
    catalog_dir.edit("organizations/village.yaml", "sample: true", "sample: false")
    assert check(catalog_dir.root, strict=True) == 0


def test_the_shipped_catalog_says_what_remains_to_confirm(run_check):
    code, out = run_check(SHIPPED)
    assert code == 0, out
    rows = warnings(out)
    for org in ("falavarjan", "oshtorjan", "governorate"):
        assert any(f"organizations/{org}.yaml" in row and ": contact: sample value" in row for row in rows), (
            org
        )
    assert check(SHIPPED, strict=True) == 1


def test_a_contact_marks_all_or_some_values_and_a_point_must_be_on_earth():
    every = Contact.model_validate({"address": "x", "sample": True})
    some = Contact.model_validate({"address": "x", "sample": ["phone"]})
    assert every.is_sample(ContactField.ADDRESS)
    assert every.is_sample(ContactField.LOCATION)
    assert some.is_sample(ContactField.PHONE)
    assert not some.is_sample(ContactField.ADDRESS)
    with pytest.raises(ValidationError):
        Contact.model_validate({"address": "x", "location": {"latitude": 95, "longitude": 51}})
    with pytest.raises(ValidationError):
        Contact.model_validate({"address": "x", "sample": ["fax"]})
