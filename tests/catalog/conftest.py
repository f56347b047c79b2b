"""A small, valid catalog folder built in ``tmp_path``; each test breaks one file of it on purpose."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

COUNTY = """\
county:
  id: testcounty
  name: {fa: شهرستان آزمون, en: Test County}
  province: {fa: استان آزمون}
  timezone: Asia/Tehran
  districts:
    - {id: central, name: {fa: بخش مرکزی}}
    - {id: east, name: {fa: بخش شرقی}}
calendar:
  weekend: [thursday, friday]
  holidays:
    - {date: 1405-01-01, name: {fa: عید نوروز}}
    - {date: 1405-01-02, name: {fa: عید نوروز}}
categories:
  - id: certificates
    title: {fa: گواهی‌ها و استعلام‌ها, en: Certificates}
  - id: fees
    title: {fa: عوارض و پرداخت}
"""

TOWN = """\
id: town
kind: municipality
name: {fa: شهرداری آزمون, en: Test Municipality}
place: {fa: آزمون}
district: central
popularity: 100
contact:
  address: {fa: خیابان اصلی}
  phone: "03137422020"
operator_groups:
  telegram: -1001000000001
  bale: 5000000001
clerks:
  - {platform: bale, user_id: 7200000001, name: {fa: کارشناس نمونه}, role: clerk}
"""

VILLAGE = """\
id: village
kind: dehyari
name: {fa: دهیاری آزمون}
place: {fa: روستای آزمون}
district: east
sample: true
popularity: 5
contact:
  address: {fa: میدان روستا}
operator_groups:
  telegram: -1001000000002
calendar:
  weekend: [friday]
  holidays:
    - {date: 1405-07-15, name: {fa: تعطیلی محلی}}
"""

CERTIFICATE = """\
id: certificate
category: certificates
title: {fa: گواهی عدم خلافی, en: No-violation certificate}
summary: {fa: استعلام و صدور گواهی عدم خلافی ساختمان برای بانک‌ها و دفاتر اسناد رسمی}
offered_by: [municipalities, village]
overrides:
  village:
    duration_days: 10
    fee: {kind: fixed, amount: 500000}
online: true
steps:
  - {fa: ثبت درخواست}
  - {fa: بررسی کارشناس}
documents:
  - id: deed
    title: {fa: سند مالکیت}
    kinds: [photo, pdf]
  - id: national_card
    title: {fa: کارت ملی}
    kinds: [photo]
duration_days: 5
fee: {kind: none}
complaint: {fa: از بخش شکایت همین بات}
responsible: {title: {fa: معاون شهرسازی}}
form:
  - id: owner_name
    label: {fa: نام مالک}
    type: text
  - id: usage
    label: {fa: نوع کاربری}
    type: choice
    choices:
      - {id: residential, label: {fa: مسکونی}}
      - {id: commercial, label: {fa: تجاری}}
"""

PERMIT = """\
id: permit
category: fees
title: {fa: پرداخت عوارض کسب و پیشه}
summary: {fa: محاسبه و پرداخت عوارض سالانهٔ کسب}
offered_by: [town]
online: false
visit:
  what_to_bring: {fa: کارت ملی}
  where: {fa: واحد درآمد}
steps: [{fa: مراجعه}]
duration_days: 3
fee: {kind: computed, note: {fa: بر پایهٔ تعرفهٔ مصوب شورا}}
complaint: {fa: واحد بازرسی}
responsible: {title: {fa: مسئول درآمد}}
"""


class CatalogDir:
    """A catalog folder on disk whose files a test can replace one by one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.write("county.yaml", COUNTY)
        self.write("organizations/town.yaml", TOWN)
        self.write("organizations/village.yaml", VILLAGE)
        self.write("services/certificate.yaml", CERTIFICATE)
        self.write("services/permit.yaml", PERMIT)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def edit(self, name: str, old: str, new: str) -> Path:
        """Replace ``old`` (which must be there) by ``new`` in one file."""
        path = self.root / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        return path

    def line_of(self, name: str, needle: str) -> int:
        """The 1-based line of the first line of ``name`` that contains ``needle``."""
        for number, line in enumerate((self.root / name).read_text(encoding="utf-8").splitlines(), start=1):
            if needle in line:
                return number
        raise AssertionError(f"{needle!r} not in {name}")


@pytest.fixture
def catalog_dir(tmp_path: Path) -> CatalogDir:
    return CatalogDir(tmp_path / "catalog")


@pytest.fixture
def run_check(capsys: pytest.CaptureFixture[str]) -> Callable[[Path], tuple[int, str]]:
    """Run ``miz catalog check DIR`` and return its exit code and everything it printed."""
    from catalog.cli import check

    def run(directory: Path) -> tuple[int, str]:
        code = check(directory)
        captured = capsys.readouterr()
        return code, captured.out + captured.err

    return run
