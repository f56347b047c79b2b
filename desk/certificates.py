"""Certificates (گواهی‌ها) and their verification codes: issue, revoke, and verify (تصدیق گواهی).

A certificate an organization issues (a building permit, a completion or no-violation certificate) carries a
verification code. Whoever is shown the paper (a bank, a notary, a buyer) sends the code to the bot and sees
whether it is valid, expired or revoked, with the holder's name masked.

Verification codes
    12 characters of Crockford's base 32 (``0-9`` and ``A-Z`` without ``I``, ``L``, ``O``, ``U``, so no two
    characters look alike): 11 drawn with ``secrets`` (55 bits: a guess hits one of a million certificates with
    probability 3 x 10^-11, and look-ups are throttled) and a check character. Shown as ``K7QM-2XPD-9HRK``.
    The check character is a Damm-style checksum over GF(32) (each step ``x -> 2x + c``): it catches every single
    wrong character and every swap of two characters up to 30 apart, so a typo is told apart from an unknown code
    before any look-up.

Certificates of completed requests
    A service of the catalog may declare ``certificate`` (``catalog/FORMAT.md``): completing one of its requests
    (``desk.handling.complete``) then issues one certificate, in the same transaction, filled in from the
    request's answers as filed (:func:`issue_for_request`). A request has at most one valid certificate: an
    existing one (issued earlier by ``miz certificate issue --request``) is kept, not doubled. A certificate
    issued with a mistake is revoked, then its correction issued by hand (:func:`issue_by_admin`), which tells
    the citizen of a completed request the new code.

What people type
    Persian or Arabic digits, lower case, spaces and dashes are fine; ``O`` is read as ``0`` and ``I``/``L`` as
    ``1`` (Crockford's rule). Letters typed on a Persian keyboard layout (``ن`` for ``K``) are read as the Latin
    letter on the same key, so nobody has to switch keyboards to type a code.
"""

from __future__ import annotations

import math
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk.certificate_types import CertificateType
from desk.errors import NotFound, ValidationError
from desk.i18n import LANGUAGES, translator
from desk.lifecycle import Status
from desk.notifications import answer_buttons, enqueue_chat, text_payload
from desk.persian import format_decimal, normalize_identifier
from desk.privacy import mask_name
from desk.requests import Title
from desk.throttle import Throttle
from desk.tracking import format_tracking_code
from desk.validators import national_id as validate_national_id
from desk.validators import text as validate_text
from storage.columns import utcnow
from storage.errors import VerificationCodeTakenError
from storage.models import Certificate, ServiceRequest
from storage.repositories import Certificates, Citizens

__all__ = [
    "ALPHABET",
    "CODE_ATTEMPTS",
    "CODE_LENGTH",
    "ENTROPY_BITS",
    "PROPERTY_MAX",
    "REASON_MAX",
    "CertificateStatus",
    "CertificateType",
    "CertificateView",
    "VerifyStatus",
    "certificate_throttle",
    "format_certificate_code",
    "is_valid_code",
    "issue_by_admin",
    "issue_certificate",
    "issue_for_request",
    "new_certificate_code",
    "normalize_certificate_code",
    "property_of",
    "revoke_certificate",
    "verify_certificate",
]

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
"""Crockford's base 32: digits and upper-case letters without I, L, O and U."""
CODE_LENGTH: Final = 12
"""Characters in a verification code, the check character included."""
_RANDOM_LENGTH: Final = CODE_LENGTH - 1
ENTROPY_BITS: Final = _RANDOM_LENGTH * math.log2(len(ALPHABET))
"""Bits of randomness in a code: 55."""
CODE_ATTEMPTS: Final = 5
"""Fresh codes drawn when one is taken before giving up (a clash is a one-in-10^10 event)."""
PROPERTY_MAX: Final = 255
REASON_MAX: Final = 500
CERTIFICATE_FAILURE_LIMIT: Final = 5
CERTIFICATE_WINDOW_SECONDS: Final = 600.0

_VALUE: Final = {char: index for index, char in enumerate(ALPHABET)}
_GF32_POLY: Final = 0b100101  # x^5 + x^2 + 1, primitive: x (= 2) has order 31
_GROUP: Final = 4
# Crockford's reading of look-alikes, and the Latin letter on the same key of the Persian keyboard (ISIRI 9147).
_TYPED: Final = str.maketrans(
    {
        "O": "0",
        "I": "1",
        "L": "1",
        "ض": "Q",
        "ص": "W",
        "ث": "E",
        "ق": "R",
        "ف": "T",
        "غ": "Y",
        "ع": "U",
        "ه": "1",  # the I key
        "خ": "0",  # the O key
        "ح": "P",
        "ش": "A",
        "س": "S",
        "ی": "D",
        "ب": "F",
        "ل": "G",
        "ا": "H",
        "ت": "J",
        "ن": "K",
        "م": "1",  # the L key
        "ظ": "Z",
        "ط": "X",
        "ز": "C",
        "ر": "V",
        "ذ": "B",
        "د": "N",
        "پ": "M",
    }
)
_SEPARATORS: Final = re.compile(r"[\s._/\\]+")


class CertificateStatus(StrEnum):
    """What is stored: a certificate stays valid until revoked."""

    VALID = "valid"
    REVOKED = "revoked"


class VerifyStatus(StrEnum):
    """What a verification says: valid, expired (past ``valid_until``), revoked, or no such certificate."""

    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


def _times_two(value: int) -> int:
    value <<= 1
    return value ^ _GF32_POLY if value & 0b100000 else value


def _fold(values: list[int]) -> int:
    interim = 0
    for value in values:
        interim = _times_two(interim) ^ value
    return interim


def _check_character(payload: str) -> str:
    # The character c that makes the whole code fold to 0: 2 * interim + c = 0, so c = 2 * interim (in GF(32)).
    return ALPHABET[_times_two(_fold([_VALUE[char] for char in payload]))]


def new_certificate_code() -> str:
    """A fresh random verification code (12 characters, unformatted: store it like this)."""
    payload = "".join(secrets.choice(ALPHABET) for _ in range(_RANDOM_LENGTH))
    return payload + _check_character(payload)


def normalize_certificate_code(text: str) -> str:
    """The verification code in ``text`` as 12 upper-case characters of ``ALPHABET``.

    Raises ``ValidationError`` with ``certificate.code.format`` when it is not 12 such characters, and
    ``certificate.code.typo`` when its check character does not match (a mistyped code), before any look-up.
    """
    code = _SEPARATORS.sub("", normalize_identifier(text)).upper().translate(_TYPED)
    if len(code) != CODE_LENGTH or any(char not in _VALUE for char in code):
        raise ValidationError("certificate.code.format", length=CODE_LENGTH)
    if _fold([_VALUE[char] for char in code]) != 0:
        raise ValidationError("certificate.code.typo")
    return code


def is_valid_code(text: str) -> bool:
    """Whether ``text`` is a well-formed verification code with a matching check character."""
    try:
        normalize_certificate_code(text)
    except ValidationError:
        return False
    return True


def format_certificate_code(code: str) -> str:
    """``K7QM2XPD9HRK`` -> ``K7QM-2XPD-9HRK``, for reading aloud and printing."""
    return "-".join(code[i : i + _GROUP] for i in range(0, len(code), _GROUP))


@dataclass(frozen=True, slots=True)
class CertificateView:
    """What a verification shows: never the holder's whole name or national ID."""

    status: VerifyStatus
    code: str
    type: CertificateType | None = None
    holder: str = ""
    """The holder's name, masked (``ز*** ا****``)."""
    property: str = ""
    organization_id: str = ""
    issued_on: date | None = None
    valid_until: date | None = None
    revoked_reason: str | None = None
    revoked_at: datetime | None = None


async def verify_certificate(session: AsyncSession, code_text: str, today: date) -> CertificateView:
    """Verify the code a person typed; ``today`` is the local date, which an expiry date is compared with.

    A malformed or mistyped code raises ``ValidationError`` (not a miss); a well-formed code no certificate has
    gives ``VerifyStatus.UNKNOWN``, which callers count with :func:`certificate_throttle`.
    """
    code = normalize_certificate_code(code_text)
    certificate = await Certificates(session).by_code(code)
    if certificate is None:
        return CertificateView(VerifyStatus.UNKNOWN, code)
    if certificate.status == CertificateStatus.REVOKED:
        status = VerifyStatus.REVOKED
    elif certificate.valid_until is not None and certificate.valid_until < today:
        status = VerifyStatus.EXPIRED
    else:
        status = VerifyStatus.VALID
    return CertificateView(
        status=status,
        code=code,
        type=CertificateType(certificate.type),
        holder=mask_name(certificate.holder_name),
        property=certificate.property,
        organization_id=certificate.organization_id,
        issued_on=certificate.issued_on,
        valid_until=certificate.valid_until,
        revoked_reason=certificate.revoked_reason,
        revoked_at=certificate.revoked_at,
    )


def _text(raw: str, limit: int, missing_key: str) -> str:
    try:
        value = validate_text(raw)
    except ValidationError as error:
        if error.key == "desk.text.empty":
            raise ValidationError(missing_key) from None
        raise
    if len(value) > limit:
        raise ValidationError("desk.text.too_long", limit=limit, length=len(value))
    return value


async def issue_certificate(
    session: AsyncSession,
    *,
    organization_id: str,
    type: str,
    holder_name: str,
    holder_national_id: str,
    property: str,
    issued_on: date,
    valid_until: date | None = None,
    request_id: int | None = None,
    issued_by: str,
    code_source: Callable[[], str] = new_certificate_code,
) -> Certificate:
    """Store a new valid certificate with a fresh verification code; the caller's transaction commits.

    Raises ``ValidationError`` for an unknown type, an empty name or property, a bad national ID, or a
    ``valid_until`` before ``issued_on``.
    """
    try:
        kind = CertificateType(type)
    except ValueError:
        raise ValidationError(
            "certificate.type.unknown", allowed=", ".join(t.value for t in CertificateType)
        ) from None
    name = _text(holder_name, 200, "certificate.holder_missing")
    national_id = validate_national_id(holder_national_id)
    where = _text(property, PROPERTY_MAX, "certificate.property_missing")
    if valid_until is not None and valid_until < issued_on:
        raise ValidationError("certificate.valid_until_before_issue")
    repository = Certificates(session)
    for _ in range(CODE_ATTEMPTS):
        certificate = Certificate(
            organization_id=organization_id,
            request_id=request_id,
            type=kind.value,
            holder_name=name,
            holder_national_id=national_id,
            property=where,
            issued_on=issued_on,
            valid_until=valid_until,
            verification_code=code_source(),
            status=CertificateStatus.VALID.value,
            issued_by=issued_by[:64],
        )
        try:
            return await repository.add(certificate)
        except VerificationCodeTakenError:
            continue
    raise RuntimeError(f"{CODE_ATTEMPTS} verification codes in a row were taken: is the generator broken?")


def _answer_text(value: Any) -> str:
    """A stored answer as the text a certificate shows: a location as its coordinates in Persian digits and
    separators (۳۲٫۵۵۱۲۳، ۵۱٫۵۰۴۲۱), blank when unanswered."""
    if isinstance(value, Mapping):
        latitude, longitude = value.get("latitude"), value.get("longitude")
        if isinstance(latitude, int | float) and isinstance(longitude, int | float):
            return "، ".join(
                format_decimal(Decimal(f"{x:.5f}"), "fa", places=5) for x in (latitude, longitude)
            )
        return ""
    if value is None or isinstance(value, bool):
        return ""
    return str(value).strip()


def property_of(request: ServiceRequest, field_id: str | None) -> str:
    """What a certificate of ``request`` says of its property: the answer to the property question ``field_id``,
    or the request's tracking code when there is none.

    The answer alone, as an admin's ``--property`` is: the certificate's own line already says "property", and
    the question's label glued before it read "property: address of the property: …" (in Persian even to an
    English reader).
    """
    form = request.service_snapshot.get("form") or []
    question = next((item for item in form if item.get("id") == field_id), None) if field_id else None
    answer = _answer_text(request.answers.get(field_id)) if question is not None and field_id else ""
    if answer:
        return answer[:PROPERTY_MAX]
    code = format_tracking_code(request.tracking_code, "fa")
    return translator("fa")("certificate.property.request", code=code)


async def issue_for_request(
    session: AsyncSession, request: ServiceRequest, *, issued_by: str, today: date
) -> Certificate | None:
    """Issue the certificate that completing ``request`` gives, per its service's ``certificate`` as filed.

    None when the service issues none. When the request already has a certificate, nothing is issued: the
    valid one is returned (a revoked one is not replaced here, and None is returned). The holder is the answer
    to ``holder_field`` (the citizen's messenger name only for a request filed before services had to ask it),
    the national ID the answer to ``national_id_field``, the
    property the answer to ``property_field`` (:func:`property_of`); ``today`` (the local date)
    is the day of issue, and ``valid_days`` later it expires. Raises ``ValidationError`` as
    :func:`issue_certificate` does (a blank name, a malformed national ID).
    """
    spec = request.service_snapshot.get("certificate")
    if not isinstance(spec, Mapping):
        return None
    assert request.id is not None
    existing = await Certificates(session).by_request(request.id)
    if existing is not None:
        return existing if existing.status == CertificateStatus.VALID else None
    holder_field = spec.get("holder_field")
    if holder_field:
        holder = _answer_text(request.answers.get(holder_field))
    else:  # a request filed before the catalog had to ask the holder's name
        citizen = await Citizens(session).get(request.citizen_id)
        parts = (citizen.first_name, citizen.last_name) if citizen is not None else ()
        holder = " ".join(part for part in parts if part)
    valid_days = spec.get("valid_days")
    return await issue_certificate(
        session,
        organization_id=request.organization_id,
        type=str(spec.get("type")),
        holder_name=holder,
        holder_national_id=_answer_text(request.answers.get(str(spec.get("national_id_field")))),
        property=property_of(request, spec.get("property_field")),
        issued_on=today,
        valid_until=today + timedelta(days=int(valid_days)) if valid_days else None,
        request_id=request.id,
        issued_by=issued_by,
    )


async def issue_by_admin(
    session: AsyncSession,
    request: ServiceRequest,
    *,
    organization_id: str,
    type: str,
    holder_name: str,
    holder_national_id: str,
    property: str,
    issued_on: date,
    valid_until: date | None = None,
    issued_by: str,
) -> tuple[Certificate, bool]:
    """Issue a certificate for ``request`` by hand (``miz certificate issue --request``): the certificate and
    whether its citizen is told; the caller's transaction commits.

    This is how a certificate issued with a mistake is corrected: it is revoked (its code keeps answering
    "revoked" with the reason), then the right one is issued here. A request has at most one valid certificate,
    so while it has one this raises ``ValidationError`` (``certificate.request_has_valid``); a request of another
    organization raises ``certificate.request_other_org``. When the request is completed, its citizen gets the
    new code through the outbox (with the revoked code it replaces, if any), as completing it does; an open
    request's completion notice will carry the code. Raises ``ValidationError`` as :func:`issue_certificate`.
    """
    assert request.id is not None
    if organization_id != request.organization_id:
        raise ValidationError("certificate.request_other_org", org=request.organization_id)
    previous = await Certificates(session).by_request(request.id)
    if previous is not None and previous.status == CertificateStatus.VALID:
        shown = format_certificate_code(previous.verification_code)
        raise ValidationError("certificate.request_has_valid", code=shown)
    certificate = await issue_certificate(
        session,
        organization_id=organization_id,
        type=type,
        holder_name=holder_name,
        holder_national_id=holder_national_id,
        property=property,
        issued_on=issued_on,
        valid_until=valid_until,
        request_id=request.id,
        issued_by=issued_by,
    )
    if request.status != Status.COMPLETED.value:
        return certificate, False
    return certificate, await _tell_citizen(session, request, certificate, replaced=previous)


async def _tell_citizen(
    session: AsyncSession, request: ServiceRequest, certificate: Certificate, *, replaced: Certificate | None
) -> bool:
    """Queue the message that gives the citizen of ``request`` the code of ``certificate``."""
    assert request.id is not None
    citizen = await Citizens(session).get(request.citizen_id)
    if citizen is None:
        return False
    lang = citizen.locale if citizen.locale in LANGUAGES else "fa"
    params = {
        "code": format_tracking_code(request.tracking_code, lang),
        "title": Title.of(request.service_snapshot).text(lang),
        "org": request.organization_id,
        "certificate": format_certificate_code(certificate.verification_code),
    }
    key = "notify.citizen.certificate_issued"
    if replaced is not None:
        params["revoked"] = format_certificate_code(replaced.verification_code)
        key = "notify.citizen.certificate_replaced"
    labels = {"certificate_type": CertificateType(certificate.type).label_key}
    return await enqueue_chat(
        session,
        platform=citizen.platform,
        chat_id=citizen.chat_id,
        organization_id=request.organization_id,
        payload=text_payload(key, lang, params=params, labels=labels, buttons=answer_buttons(request.id)),
        dedupe_key=f"certificate:{certificate.id}:citizen",
        request_id=request.id,
    )


async def revoke_certificate(session: AsyncSession, code_text: str, reason: str) -> Certificate:
    """Revoke the certificate with this code for ``reason`` (shown to whoever verifies it).

    Raises ``ValidationError`` for a malformed code or an empty reason, ``NotFound`` (``certificate.not_found``)
    for an unknown code, and ``ValidationError`` (``certificate.already_revoked``) when it was revoked before.
    """
    code = normalize_certificate_code(code_text)
    why = _text(reason, REASON_MAX, "certificate.reason_missing")
    repository = Certificates(session)
    certificate = await repository.by_code(code)
    if certificate is None:
        raise NotFound("certificate.not_found")
    if certificate.status == CertificateStatus.REVOKED:
        raise ValidationError("certificate.already_revoked")
    await repository.revoke(certificate, why, at=utcnow())
    return certificate


def certificate_throttle(clock: Callable[[], float] = time.monotonic) -> Throttle:
    """The throttle of verifications: 5 unknown codes per 10 minutes per person (mistyped ones do not count)."""
    return Throttle(
        CERTIFICATE_FAILURE_LIMIT, CERTIFICATE_WINDOW_SECONDS, clock, message_key="certificate.throttled"
    )
