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


# A small tariff for the same folder: two zones, a keyed table, a table with ranges per zone, a table of
# ids (choices), an unkeyed table with ranges, and fees over them. Hand computations are in test_tariffs.py.
TARIFF_COUNTY = """\
booklet: {fa: دفترچه آزمون ۱۴۰۵, en: Test booklet 1405}
approved: {fa: مصوبه آزمون}
sample: true
rounding: {step: 1000, mode: down}
zones:
  a: {fa: پهنه الف, en: Zone A}
  b: {fa: پهنه ب, en: Zone B}
parameters:
  rate:
    label: {fa: نرخ, en: Rate}
    unit: per_mille
    value: 5
    sample: false
  factor:
    label: {fa: ضریب, en: Factor}
    unit: ratio
    value: 1.5
tables:
  price:
    label: {fa: قیمت منطقه‌ای, en: Regional price}
    key: zone
    columns:
      value: {label: {fa: ارزش}, unit: rial_per_m2}
    rows:
      - {key: a, value: 10000}
      - {key: b, value: 4000}
  plan:
    label: {fa: جدول طرح, en: Plan table}
    key: zone
    range: {label: {fa: مساحت}, unit: m2}
    columns:
      density: {label: {fa: تراکم}, unit: percent}
      floors: {label: {fa: طبقات}, unit: floors}
    rows:
      - {key: a, from: 100, to: 200, density: 100, floors: 2}
      - {key: a, from: 200, to: 300, density: 120, floors: 3}
      - {key: a, from: 300, density: 150, floors: 4}
      - {key: b, from: 100, to: 500, density: 80, floors: 2}
  uses:
    label: {fa: کاربری}
    key: id
    columns:
      k: {label: {fa: ضریب}, unit: ratio}
    rows:
      - {key: home, label: {fa: مسکونی, en: Home}, k: 1.2}
      - {key: shop, label: {fa: تجاری, en: Shop}, k: 3}
  ages:
    label: {fa: عمر}
    sample: false
    range: {label: {fa: سال}, unit: year}
    columns:
      share: {label: {fa: سهم}, unit: percent}
    rows:
      - {from: 0, to: 5, share: 100}
      - {from: 5, share: 50}
fees:
  property:
    title: {fa: عوارض ملک, en: Property fee}
    article: {fa: ماده ۱, en: Article 1}
    inputs:
      zone: {type: zone, label: {fa: پهنه, en: Zone}}
      area: {type: number, unit: m2, min: 1, max: 1000, label: {fa: مساحت, en: Area}}
    lines:
      - id: value
        label: {fa: بها, en: Value}
        unit: rial
        formula: area * lookup("price", zone)
      - id: fee
        label: {fa: عوارض, en: Fee}
        unit: rial
        formula: value * rate / 1000
    total: fee
  density:
    title: {fa: تراکم, en: Density}
    article: {fa: طرح تفصیلی}
    inputs:
      zone: {type: zone, label: {fa: پهنه}}
      plot: {type: number, unit: m2, min: 100, max: 500, label: {fa: مساحت زمین, en: Plot area}}
    lines:
      - id: density
        label: {fa: تراکم}
        unit: percent
        formula: range_lookup("plan", plot, "density", zone)
      - id: floors
        label: {fa: طبقات}
        unit: floors
        formula: range_lookup("plan", plot, "floors", zone)
      - id: permitted
        label: {fa: زیربنای مجاز}
        unit: m2
        formula: plot * density / 100
  extra:
    title: {fa: مازاد تراکم}
    article: {fa: ماده ۲}
    inputs:
      zone: {type: zone, label: {fa: پهنه}}
      plot: {type: number, unit: m2, min: 100, max: 500, label: {fa: مساحت زمین}}
      requested: {type: number, unit: m2, min: 1, max: 5000, label: {fa: زیربنای درخواستی}}
      use: {type: choice, choices_from: uses, label: {fa: کاربری, en: Use}}
    lines:
      - id: permitted
        label: {fa: زیربنای مجاز}
        unit: m2
        formula: plot * range_lookup("plan", plot, "density", zone) / 100
      - id: extra_area
        label: {fa: مازاد}
        unit: m2
        formula: max(0, requested - permitted)
      - id: fee
        label: {fa: عوارض}
        unit: rial
        formula: lookup("uses", use) * lookup("price", zone) * extra_area * factor
    total: fee
  vehicle:
    title: {fa: عوارض خودرو}
    article: {fa: ماده ۳}
    sample: false
    inputs:
      model: {type: number, unit: jalali_year, integer: true, min: 1380, max: 1406, label: {fa: مدل, en: Model year}}
      kind:
        type: choice
        label: {fa: نوع}
        choices:
          - {id: car, label: {fa: سواری}}
          - {id: bike, label: {fa: موتورسیکلت}}
    lines:
      - id: age
        label: {fa: عمر}
        unit: year
        formula: max(0, year - model)
      - id: fee
        label: {fa: عوارض}
        unit: rial
        formula: (1000000 if kind == "car" else 200000) * range_lookup("ages", age) / 100 * rate / 5
    total: fee
"""

TARIFF_TOWN = """\
booklet: {fa: دفترچه شهرداری آزمون ۱۴۰۵, en: Test Municipality booklet 1405}
parameters:
  factor: {value: 2}
tables:
  price:
    rows:
      - {key: a, value: 20000}
      - {key: b, value: 5000}
fees:
  property:
    rounding: {step: 10000, mode: up}
"""


@pytest.fixture
def tariff_dir(catalog_dir: CatalogDir) -> CatalogDir:
    """The fixture catalog with a 1405 tariff: the county default and the town's overrides."""
    catalog_dir.write("tariffs/1405/_county.yaml", TARIFF_COUNTY)
    catalog_dir.write("tariffs/1405/town.yaml", TARIFF_TOWN)
    return catalog_dir
