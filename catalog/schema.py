"""The catalog's data model: pydantic models for every file described in ``catalog/FORMAT.md``.

Every model forbids unknown keys, so a typo in the YAML is reported instead of silently ignored. Rules that
span several fields (a choice field needs choices, a visit is needed when a service is not online) raise
``PydanticCustomError`` whose type is a message id of ``catalog.po``; the loader turns them into problems
with a file and a line. Rules that need the whole catalog (unknown category, duplicate ids) live in the loader.

Error context keys starting with ``at_`` are hints for the loader, not message parameters: ``at_field`` names
the key the problem is about (appended to the path) and ``at_near`` a sibling key whose line to show when
``at_field`` is absent from the file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from persiantools.jdatetime import JalaliDate
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

from desk.certificate_types import CertificateType
from desk.platforms import Platform
from desk.validators import DateRule, DateWhen

__all__ = [
    "DESK_KINDS",
    "GROUPS",
    "INQUIRY_DAYS_DEFAULT",
    "Billing",
    "Category",
    "Choice",
    "Clerk",
    "ClerkRole",
    "ComputedFee",
    "Contact",
    "ContactField",
    "County",
    "CountyCalendar",
    "CountyFile",
    "District",
    "Document",
    "DocumentKind",
    "Faq",
    "Fee",
    "FieldType",
    "FixedFee",
    "FormField",
    "Holiday",
    "Id",
    "IssuesCertificate",
    "Law",
    "Location",
    "NoFee",
    "OperatorGroups",
    "Organization",
    "OrganizationCalendar",
    "OrganizationKind",
    "Platform",
    "ResolvedService",
    "Responsible",
    "Service",
    "ServiceOverride",
    "Text",
    "Visit",
    "Weekday",
    "resolve_service",
]

ID_PATTERN = r"^[a-z][a-z0-9_]*$"

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""Lowercase ASCII identifier: ``^[a-z][a-z0-9_]*$``."""

SHORT_ID_MAX = 24
"""Longest id of an organization or a service. Buttons carry both (``"renew:<org>:<service>:<form mark>"``) in
a messenger's 64 bytes of callback data; 24 + 24 leaves room for the rest."""

ShortId = Annotated[str, StringConstraints(pattern=ID_PATTERN, max_length=SHORT_ID_MAX)]
"""An :data:`Id` of at most :data:`SHORT_ID_MAX` characters: an organization's, a category's or a service's."""

WITHIN_YEARS_MAX = 150
"""Most years a date question's ``within_years`` may allow (a lifetime); the calendar has no sense far beyond."""

INQUIRY_DAYS_DEFAULT = 10
"""Working days an inquiry to an organization without ``answer_days`` is given (two working weeks)."""
INQUIRY_DAYS_MAX = 90
"""Longest answer deadline an agency may declare, in working days (a typo beyond that is refused)."""

_NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A human text: Persian (required) and optionally English. YAML may give a plain string for Persian only."""

    fa: _NonEmpty
    en: _NonEmpty | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_plain_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"fa": value}
        if not isinstance(value, Mapping):
            raise PydanticCustomError(
                "catalog.expected_text", "expected a text: a string or {fa: ..., en: ...}"
            )
        return value

    def get(self, lang: str) -> str:
        """The text in ``lang``; Persian when that language is missing (Persian is always present)."""
        if lang == "en" and self.en:
            return self.en
        return self.fa

    def __str__(self) -> str:
        return self.fa


def _check_phone(value: str) -> str:
    digits = re.sub(r"[\s-]", "", value)
    if not re.fullmatch(r"\+?[0-9]{3,14}", digits, flags=re.ASCII):
        raise PydanticCustomError("catalog.phone_invalid", "not a phone number: {value}", {"value": value})
    return digits


Phone = Annotated[str, AfterValidator(_check_phone)]
"""A phone number with ASCII digits; spaces and dashes are dropped."""


def _gregorian(year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of a Jalali one; ``ValueError`` when that Jalali date does not exist."""
    gregorian: dt.date = JalaliDate(year, month, day).to_gregorian()  # type: ignore[no-untyped-call]
    return gregorian


def _check_jalali(value: str) -> str:
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value, flags=re.ASCII)
    if match is None:
        raise PydanticCustomError(
            "catalog.jalali_format", "not a Jalali date YYYY-MM-DD: {value}", {"value": value}
        )
    year, month, day = (int(part) for part in match.groups())
    try:
        _gregorian(year, month, day)
    except ValueError:
        raise PydanticCustomError(
            "catalog.jalali_invalid", "no such Jalali date: {value}", {"value": value}
        ) from None
    return value


JalaliDay = Annotated[str, AfterValidator(_check_jalali)]
"""A Jalali date written ``YYYY-MM-DD`` (e.g. ``1405-01-01``), checked to exist."""


class Weekday(StrEnum):
    """Days of the week as written in the YAML (the Iranian week starts on Saturday)."""

    SATURDAY = "saturday"
    SUNDAY = "sunday"
    MONDAY = "monday"
    TUESDAY = "tuesday"
    WEDNESDAY = "wednesday"
    THURSDAY = "thursday"
    FRIDAY = "friday"


class OrganizationKind(StrEnum):
    """What an organization is; services name the first two as the groups ``municipalities`` and ``dehyaris``.

    An ``agency`` (the land registry office, the electricity company...) offers no service to citizens through
    Miz: municipalities and dehyaris send it inquiries, and its staff answer them in its own group.
    """

    MUNICIPALITY = "municipality"
    DEHYARI = "dehyari"
    GOVERNORATE = "governorate"
    AGENCY = "agency"


DESK_KINDS: frozenset[OrganizationKind] = frozenset(
    {OrganizationKind.MUNICIPALITY, OrganizationKind.DEHYARI, OrganizationKind.GOVERNORATE}
)
"""The kinds of organization citizens file requests with (every kind but ``agency``)."""

GROUPS: Mapping[str, frozenset[OrganizationKind]] = {
    "municipalities": frozenset({OrganizationKind.MUNICIPALITY}),
    "dehyaris": frozenset({OrganizationKind.DEHYARI}),
    "all": DESK_KINDS,
}
"""Group names usable in a service's ``offered_by``, and the kinds of organization each one covers."""


class ClerkRole(StrEnum):
    """A clerk handles requests; a supervisor also handles complaints and overdue requests."""

    CLERK = "clerk"
    SUPERVISOR = "supervisor"


class DocumentKind(StrEnum):
    """How a citizen may send a document: as a photo or as a PDF file."""

    PHOTO = "photo"
    PDF = "pdf"


class FieldType(StrEnum):
    """The kinds of form field a service can ask for; each one has its own input widget and validator."""

    TEXT = "text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    NATIONAL_ID = "national_id"
    LEGAL_ID = "legal_id"
    MOBILE = "mobile"
    POSTAL_CODE = "postal_code"
    DATE = "date"
    CHOICE = "choice"
    YES_NO = "yes_no"
    LOCATION = "location"
    TRACKING_CODE = "tracking_code"
    """A request's tracking code: the citizen's own, or one whose national ID they also give (a complaint's
    related request)."""


# county.yaml


class RuralDistrict(_Model):
    """A rural district (دهستان) of a district: a dehyari names the one its village belongs to."""

    id: Id
    name: Text


class District(_Model):
    """A district (بخش) of the county; every organization belongs to one."""

    id: Id
    name: Text
    rural_districts: list[RuralDistrict] = []


class County(_Model):
    """The county the whole catalog serves."""

    id: Id
    name: Text
    province: Text
    timezone: str
    districts: Annotated[list[District], Field(min_length=1)]

    @model_validator(mode="after")
    def _known_timezone(self) -> County:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PydanticCustomError(
                "catalog.timezone_unknown",
                "unknown time zone: {value}",
                {"value": self.timezone, "at_field": "timezone"},
            ) from None
        return self


class Holiday(_Model):
    """An official holiday, given as a Jalali date."""

    date: JalaliDay
    name: Text

    @property
    def gregorian(self) -> dt.date:
        """The holiday as a Gregorian ``datetime.date``."""
        year, month, day = (int(part) for part in self.date.split("-"))
        return _gregorian(year, month, day)


class CountyCalendar(_Model):
    """The working calendar shared by every organization: weekend days and official holidays."""

    weekend: list[Weekday]
    holidays: list[Holiday] = []


class OrganizationCalendar(_Model):
    """An organization's own calendar: extra holidays, and a weekend that replaces the county's when given."""

    weekend: list[Weekday] | None = None
    holidays: list[Holiday] = []


class Category(_Model):
    """A group of services in the menus, in the order of county.yaml."""

    id: ShortId
    title: Text
    icon: str | None = None


class CountyFile(_Model):
    """The whole of county.yaml."""

    county: County
    calendar: CountyCalendar
    categories: Annotated[list[Category], Field(min_length=1)]


# organizations/<id>.yaml


class Location(_Model):
    """A point on the map (WGS 84 degrees, as the messengers' location messages and map sites take them)."""

    latitude: Annotated[float, Field(ge=-90, le=90)]
    longitude: Annotated[float, Field(ge=-180, le=180)]


class ContactField(StrEnum):
    """The values of a contact that may be marked as samples (unconfirmed) one by one."""

    ADDRESS = "address"
    PHONE = "phone"
    HOURS = "hours"
    LOCATION = "location"
    WEBSITE = "website"


class Contact(_Model):
    """How citizens reach an organization in person or by phone, and where its office is on the map.

    ``sample`` marks what nobody has confirmed yet: ``true`` for every value, or a list of the fields
    (``[phone, location]``). ``miz catalog check`` warns on each, and ``--strict`` fails, so an admin sees what
    remains to confirm before going live.
    """

    address: Text
    phone: Phone | None = None
    hours: Text | None = None
    website: str | None = None
    location: Location | None = None
    sample: bool | list[ContactField] = False

    def is_sample(self, name: ContactField) -> bool:
        """Whether the value of field ``name`` is unconfirmed."""
        if isinstance(self.sample, bool):
            return self.sample
        return name in self.sample


class OperatorGroups(RootModel[dict[Platform, int | None]]):
    """Chat ids of the clerks' group of an organization, per messenger (a name of ``desk.platforms``)."""

    model_config = ConfigDict(frozen=True)

    root: dict[Platform, int | None] = {}

    def get(self, platform: Platform) -> int | None:
        """The group's chat id on ``platform``, or None when the organization has no group there."""
        return self.root.get(platform)


class Clerk(_Model):
    """A registered clerk or supervisor of an organization on one messenger."""

    platform: Platform
    user_id: int
    name: Text
    role: ClerkRole = ClerkRole.CLERK


def _check_company_code(value: int) -> int:
    if not 1 <= value <= 999:
        raise PydanticCustomError(
            "catalog.company_code_invalid", "a company code has 1 to 3 digits: {value}", {"value": value}
        )
    return value


class Billing(_Model):
    """How citizens pay an organization's dues through any bank: its company code in bill IDs (شناسه قبض).

    The bill ID of a due is file number + this code (3 digits) + service type 6 + check digit (docs/RULES.md,
    "Bill and payment identifiers").
    The banking network assigns the code; ``sample: true`` marks an invented one, to replace before real bills.
    """

    company_code: Annotated[int, AfterValidator(_check_company_code)]
    sample: bool = False


class Source(_Model):
    """Where an organization's existence and status were found, so a county admin can check them again.

    ``sample: true`` while the sources only make it likely (a village named in a decree, with no public trace
    of its dehyari): ``miz catalog check`` warns on it like on every other unconfirmed value.
    """

    note: Text
    urls: list[_NonEmpty] = []
    sample: bool = False


class Organization(_Model):
    """A municipality, a dehyari or the governorate: the unit a citizen files requests with; or an agency, which
    only answers the inquiries they send it (``answer_days``: its usual deadline, in its working days)."""

    id: ShortId
    kind: OrganizationKind
    name: Text
    place: Text
    district: Id
    rural_district: Id | None = None
    """A dehyari's rural district (دهستان), one of its district's ``rural_districts`` in county.yaml."""
    source: Source | None = None
    sample: bool = False
    popularity: int = 0
    contact: Contact
    operator_groups: OperatorGroups = OperatorGroups()
    clerks: list[Clerk] = []
    calendar: OrganizationCalendar | None = None
    sms: bool = True
    billing: Billing | None = None
    """Dues (renovation, business) are looked up and paid only where this is set."""
    answer_days: Annotated[int, Field(ge=1, le=INQUIRY_DAYS_MAX)] | None = None
    """Working days it usually takes to answer an inquiry; required for an agency, optional for the others
    (a municipality asked by a dehyari next to it), which default to ``INQUIRY_DAYS_DEFAULT``."""

    @model_validator(mode="after")
    def _agency_answers_in_days(self) -> Organization:
        if self.kind is OrganizationKind.AGENCY and self.answer_days is None:
            raise PydanticCustomError(
                "catalog.answer_days_missing",
                "an agency needs answer_days: the working days it usually takes to answer",
                {"at_field": "answer_days", "at_near": "kind"},
            )
        return self

    @property
    def inquiry_days(self) -> int:
        """The working days an inquiry sent to this organization is given (``answer_days`` or the default)."""
        return self.answer_days if self.answer_days is not None else INQUIRY_DAYS_DEFAULT


# services/<id>.yaml


class Visit(_Model):
    """What a citizen brings, and where they go, when a service cannot be completed online."""

    what_to_bring: Text
    where: Text


MAX_FILES_PER_DOCUMENT = 10
"""The most files one document slot may take (an album holds at most ten)."""


class Document(_Model):
    """A document a citizen uploads with a request.

    ``max_files`` above 1 makes a slot of several files ("all pages of the deed", "one or two photos"): the
    citizen sends them one by one or as an album, each acknowledged with a count, until they press "done" or
    ``max_files`` have arrived. With 1, a second file replaces the first.
    """

    id: Id
    title: Text
    description: Text | None = None
    required: bool = True
    kinds: Annotated[list[DocumentKind], Field(min_length=1)] = [DocumentKind.PHOTO, DocumentKind.PDF]
    max_files: Annotated[int, Field(ge=1, le=MAX_FILES_PER_DOCUMENT)] = 1


class Law(_Model):
    """A law or regulation the service rests on, shown for transparency."""

    title: Text
    reference: Text | None = None


class Faq(_Model):
    """A frequently asked question and its answer."""

    question: Text
    answer: Text


class NoFee(_Model):
    """The service is free."""

    kind: Literal["none"]
    note: Text | None = None


class FixedFee(_Model):
    """A fixed fee in rials."""

    kind: Literal["fixed"]
    amount: Annotated[int, Field(ge=0)]
    note: Text | None = None


class ComputedFee(_Model):
    """A fee computed from the local tariff; the note tells the citizen how."""

    kind: Literal["computed"]
    note: Text


Fee = Annotated[NoFee | FixedFee | ComputedFee, Field(discriminator="kind")]
"""A service's fee, told apart by ``kind``: none, fixed or computed."""


class Responsible(_Model):
    """The official answerable for a service: a job title, and optionally the person's name and office phone,
    per organization through ``overrides``. ``sample: true`` marks a name or phone not yet confirmed."""

    title: Text
    name: Text | None = None
    phone: Phone | None = None
    sample: bool = False


class Choice(_Model):
    """One option of a choice field."""

    id: Id
    label: Text


class FormField(_Model):
    """A question of a service's request form.

    A date question may say on which side of today its answer falls (``when``) and how many years from
    today it may be at most (``within_years``); other questions may not.
    """

    id: Id
    label: Text
    type: FieldType
    required: bool = True
    help: Text | None = None
    choices: list[Choice] | None = None
    when: DateWhen = DateWhen.ANY
    within_years: Annotated[int, Field(ge=1, le=WITHIN_YEARS_MAX)] | None = None

    @property
    def date_rule(self) -> DateRule:
        """What ``desk.validators.validate_field`` holds this question's date answers to."""
        return DateRule(self.when, self.within_years)

    @model_validator(mode="after")
    def _choices_match_type(self) -> FormField:
        if self.type is FieldType.CHOICE and (self.choices is None or len(self.choices) < 2):
            raise PydanticCustomError(
                "catalog.choices_missing",
                "a choice field needs at least two choices",
                {"at_field": "choices", "at_near": "type"},
            )
        if self.type is not FieldType.CHOICE and self.choices is not None:
            raise PydanticCustomError(
                "catalog.choices_forbidden",
                "only a choice field has choices",
                {"at_field": "choices", "type": self.type.value},
            )
        if self.type is not FieldType.DATE:
            # Only a value that says something is refused: a stored request's snapshot (model_dump) carries
            # the defaults on every field, and must validate again when its card is drawn.
            for name, unset in (("when", DateWhen.ANY), ("within_years", None)):
                if getattr(self, name) != unset:
                    raise PydanticCustomError(
                        "catalog.date_rule_forbidden",
                        "only a date field has {key}",
                        {"at_field": name, "key": name, "type": self.type.value},
                    )
        return self


class IssuesCertificate(_Model):
    """A certificate that completing the service issues (``desk.certificates``), and which answers fill it in.

    The field ids name questions of the service's own form (the loader checks them): ``national_id_field`` a
    required national ID question, ``holder_field`` a required text question with the holder's name (asked in the
    form: the name on the messenger may be anyone's, a nickname, or in Latin letters), ``property_field`` the
    answer that describes the property, best its address (without it, or when left unanswered, the request's
    tracking code). ``valid_days`` after the day of issue it expires.
    """

    type: CertificateType
    national_id_field: Id
    holder_field: Id
    property_field: Id | None = None
    valid_days: Annotated[int, Field(ge=1)] | None = None


class _ServiceBody(_Model):
    """What every view of a service shares: the base definition and the one resolved for an organization."""

    id: ShortId
    category: Id
    title: Text
    summary: Text
    online: bool
    visit: Visit | None = None
    steps: Annotated[list[Text], Field(min_length=1)]
    documents: list[Document] = []
    laws: list[Law] = []
    faq: list[Faq] = []
    duration_days: Annotated[int, Field(ge=0)]
    fee: Fee
    complaint: Text
    responsible: Responsible
    form: list[FormField] = []
    certificate: IssuesCertificate | None = None
    """Completing a request of this service issues this certificate (none when absent)."""
    inquiries: list[Id] = []
    """The agencies (or organizations) whose answers this service usually needs, offered first to the clerk."""

    @property
    def needs_visit(self) -> bool:
        """Whether the citizen goes to the office at some step: the service is not online, or it names a visit
        (an online request whose permit, say, is collected in person)."""
        return not self.online or self.visit is not None

    @model_validator(mode="after")
    def _visit_when_offline(self) -> _ServiceBody:
        if not self.online and self.visit is None:
            raise PydanticCustomError(
                "catalog.visit_missing",
                "a service that is not online needs a visit",
                {"at_field": "visit", "at_near": "online"},
            )
        return self


class ServiceOverride(_Model):
    """Fields one organization replaces in a service; a field given here replaces the whole base field."""

    summary: Text | None = None
    steps: Annotated[list[Text], Field(min_length=1)] | None = None
    documents: list[Document] | None = None
    laws: list[Law] | None = None
    faq: list[Faq] | None = None
    duration_days: Annotated[int, Field(ge=0)] | None = None
    fee: Fee | None = None
    complaint: Text | None = None
    responsible: Responsible | None = None
    visit: Visit | None = None
    online: bool | None = None


class Service(_ServiceBody):
    """A service as written in services/<id>.yaml, before any organization's overrides."""

    offered_by: Annotated[list[Id], Field(min_length=1)]
    overrides: dict[Id, ServiceOverride] = {}
    """Per organization id, or per group of ``GROUPS`` (``dehyaris``: every village administration offering it)."""


class ResolvedService(_ServiceBody):
    """A service as one organization offers it: its overrides applied, with a version to file requests under.

    ``version`` is a short hash of the resolved definition: it changes whenever anything a citizen sees or
    fills in changes, so a request keeps the definition it was filed under.
    """

    organization_id: Id
    version: str

    def document(self, document_id: str) -> Document | None:
        """The document with that id, or None."""
        return next((doc for doc in self.documents if doc.id == document_id), None)

    def field(self, field_id: str) -> FormField | None:
        """The form field with that id, or None."""
        return next((item for item in self.form if item.id == field_id), None)


_HASH_EXCLUDE = frozenset({"organization_id", "version"})
# Form field and document keys added after requests were filed, left out of the hash when at their default, so
# adding them kept the version of every service that does not use them.
_LATER_FIELD_DEFAULTS: dict[str, Any] = {"when": DateWhen.ANY.value, "within_years": None}
_LATER_DOCUMENT_DEFAULTS: dict[str, Any] = {"max_files": 1}


def _overrides_for(
    service: Service, organization_id: str, kind: OrganizationKind | None
) -> list[ServiceOverride]:
    """The overrides that apply to one organization, in the order applied: those of the groups of its ``kind``
    (``municipalities``, ``dehyaris``), then its own, so an organization's own word is the last."""
    groups = [
        override
        for name, override in service.overrides.items()
        if name in GROUPS and kind is not None and kind in GROUPS[name]
    ]
    own = service.overrides.get(organization_id)
    return [*groups, *([own] if own is not None else [])]


def resolve_service(
    service: Service, organization_id: str, kind: OrganizationKind | None = None
) -> ResolvedService:
    """The service as ``organization_id`` (of ``kind``) offers it, with its overrides applied (its group's, then
    its own) and its version set.

    Raises ``pydantic.ValidationError`` when the override breaks a rule of the whole service (e.g. it
    turns ``online`` off without a visit).
    """
    data: dict[str, Any] = {
        name: getattr(service, name) for name in _ServiceBody.model_fields if name in service.model_fields_set
    }
    for override in _overrides_for(service, organization_id, kind):
        for name in override.model_fields_set:
            data[name] = getattr(override, name)
    resolved = ResolvedService.model_validate({**data, "organization_id": organization_id, "version": ""})
    definition = resolved.model_dump(mode="json", exclude=set(_HASH_EXCLUDE))
    if not definition["inquiries"]:
        del definition["inquiries"]  # added later: the services without inquiries keep their versions
    if not definition["responsible"]["sample"]:
        del definition["responsible"]["sample"]  # added later, and a mark for admins: it changes no request
    for items, later in (
        (definition["form"], _LATER_FIELD_DEFAULTS),
        (definition["documents"], _LATER_DOCUMENT_DEFAULTS),
    ):
        for item in items:
            for name, default in later.items():
                if item[name] == default:
                    del item[name]
    canonical = json.dumps(
        definition,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    version = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:12]
    return resolved.model_copy(update={"version": version})
