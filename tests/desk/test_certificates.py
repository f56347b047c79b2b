"""Verification codes (unguessable, typo-proof, forgiving of how people type) and certificates' life: issue, verify, revoke."""

from __future__ import annotations

import math
from datetime import date

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk.certificates import (
    ALPHABET,
    CODE_LENGTH,
    ENTROPY_BITS,
    CertificateType,
    VerifyStatus,
    certificate_throttle,
    format_certificate_code,
    is_valid_code,
    issue_certificate,
    new_certificate_code,
    normalize_certificate_code,
    revoke_certificate,
    verify_certificate,
)
from desk.errors import NotFound, Throttled, ValidationError
from desk.persian import to_persian_digits
from desk.privacy import mask_name
from storage.uow import unit_of_work

Factory = async_sessionmaker[AsyncSession]

CODE = "K7QM2XPD9HRK"  # the example of the locale texts


def _codes(n: int = 200) -> list[str]:
    return [new_certificate_code() for _ in range(n)]


def test_codes_are_unguessable() -> None:
    assert len(set(ALPHABET)) == 32
    assert not set("ILOU") & set(ALPHABET), "no look-alike letters"
    random_part = CODE_LENGTH - 1
    assert ENTROPY_BITS == random_part * math.log2(len(ALPHABET)) >= 50
    codes = _codes(2000)
    assert len(set(codes)) == len(codes)
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) for code in codes)
    # every character of the alphabet turns up in every random position (drawn from all 32)
    for position in range(random_part):
        assert {code[position] for code in codes} == set(ALPHABET)


def test_the_example_code_is_valid() -> None:
    assert is_valid_code(CODE)
    assert format_certificate_code(CODE) == "K7QM-2XPD-9HRK"


def test_every_single_wrong_character_is_caught() -> None:
    for code in [*_codes(50), CODE]:
        assert normalize_certificate_code(code) == code
        for i in range(CODE_LENGTH):
            for char in ALPHABET:
                if char != code[i]:
                    typo = code[:i] + char + code[i + 1 :]
                    with pytest.raises(ValidationError) as error:
                        normalize_certificate_code(typo)
                    assert error.value.key == "certificate.code.typo"


def test_every_swap_of_two_characters_is_caught() -> None:
    for code in [*_codes(50), CODE]:
        for i in range(CODE_LENGTH):
            for j in range(i + 1, CODE_LENGTH):
                if code[i] != code[j]:
                    chars = list(code)
                    chars[i], chars[j] = chars[j], chars[i]
                    assert not is_valid_code("".join(chars))


@pytest.mark.parametrize(
    "typed",
    [
        "K7QM-2XPD-9HRK",
        "k7qm 2xpd 9hrk",
        "  K7QM_2XPD.9HRK ",
        "K7QM‐2XPD–9HRK",  # Unicode hyphen and en dash
        "K"
        + to_persian_digits("7")
        + "QM-"
        + to_persian_digits("2")
        + "XPD-"
        + to_persian_digits("9")
        + "HRK",
    ],
)
def test_what_people_type_is_normalized(typed: str) -> None:
    assert normalize_certificate_code(typed) == CODE


def test_persian_keyboard_letters_read_as_the_latin_key() -> None:
    # The same keys typed with the Persian layout on: K=ن, Q=ض, M=پ, X=ط, P=ح, D=ی, H=ا, R=ق
    assert normalize_certificate_code("ن۷ضپ-۲طحی-۹اقن") == CODE


def test_crockford_look_alikes() -> None:
    code = next(c for c in iter(new_certificate_code, None) if "0" in c and "1" in c)
    assert normalize_certificate_code(code.replace("0", "O").replace("1", "l")) == code


@pytest.mark.parametrize("typed", ["", "K7QM2XPD9HR", "K7QM2XPD9HRKK", "K7QM2XPD9HR!", "UUUUUUUUUUUU"])
def test_malformed_codes(typed: str) -> None:
    with pytest.raises(ValidationError) as error:
        normalize_certificate_code(typed)
    assert error.value.key == "certificate.code.format"
    assert "۱۲" in error.value.render("fa")


def test_names_are_masked() -> None:
    assert mask_name("زهرا احمدی") == "ز*** ا****"
    assert mask_name("  Ali   Rezaei ") == "A** R*****"
    assert mask_name("م") == "م"


# Issuing, verifying and revoking (SQLite and PostgreSQL)


async def _issue(factory: Factory, **fields: object) -> str:
    values: dict[str, object] = {
        "organization_id": "falavarjan",
        "type": "completion_certificate",
        "holder_name": "زهرا احمدی",
        "holder_national_id": "۰۴۹۹۳۷۰۸۹۹",
        "property": "فلاورجان، خیابان امام، پلاک ۱۲",
        "issued_on": date(2026, 11, 27),
        "issued_by": "tester",
    }
    values.update(fields)
    async with unit_of_work(factory, write=True) as session:
        certificate = await issue_certificate(session, **values)  # type: ignore[arg-type]
        return certificate.verification_code


async def _verify(factory: Factory, code: str, today: date = date(2026, 12, 1)):
    async with factory() as session:
        return await verify_certificate(session, code, today)


async def test_a_valid_certificate_shows_the_holder_masked(factory: Factory) -> None:
    code = await _issue(factory, valid_until=date(2027, 11, 27))
    assert is_valid_code(code)
    view = await _verify(factory, format_certificate_code(code).lower())
    assert view.status is VerifyStatus.VALID
    assert view.type is CertificateType.COMPLETION
    assert view.holder == "ز*** ا****"
    assert "زهرا" not in view.holder
    assert view.organization_id == "falavarjan"
    assert (view.issued_on, view.valid_until) == (date(2026, 11, 27), date(2027, 11, 27))

    expired = await _verify(factory, code, today=date(2027, 11, 28))
    assert expired.status is VerifyStatus.EXPIRED


async def test_a_revoked_certificate_says_why(factory: Factory) -> None:
    code = await _issue(factory)
    async with unit_of_work(factory, write=True) as session:
        await revoke_certificate(session, code, "صدور اشتباه")
    view = await _verify(factory, code)
    assert view.status is VerifyStatus.REVOKED
    assert view.revoked_reason == "صدور اشتباه"
    assert view.revoked_at is not None

    with pytest.raises(ValidationError) as again:
        async with unit_of_work(factory, write=True) as session:
            await revoke_certificate(session, code, "دوباره")
    assert again.value.key == "certificate.already_revoked"


async def test_unknown_and_mistyped_codes(factory: Factory) -> None:
    await _issue(factory)
    unknown = await _verify(factory, new_certificate_code())
    assert unknown.status is VerifyStatus.UNKNOWN
    assert unknown.holder == ""
    with pytest.raises(ValidationError) as typo:
        await _verify(factory, CODE[:-1] + ("A" if CODE[-1] != "A" else "B"))
    assert typo.value.key == "certificate.code.typo"
    with pytest.raises(NotFound):
        async with unit_of_work(factory, write=True) as session:
            await revoke_certificate(session, new_certificate_code(), "دلیل")


async def test_issuing_checks_what_it_is_given(factory: Factory) -> None:
    cases = [
        ({"type": "parking_permit"}, "certificate.type.unknown"),
        ({"holder_name": "  "}, "certificate.holder_missing"),
        ({"property": ""}, "certificate.property_missing"),
        ({"holder_national_id": "0684159415"}, "desk.national_id.invalid"),
        ({"valid_until": date(2026, 1, 1)}, "certificate.valid_until_before_issue"),
    ]
    for fields, key in cases:
        with pytest.raises(ValidationError) as error:
            await _issue(factory, **fields)
        assert error.value.key == key


async def test_a_taken_code_draws_another(factory: Factory) -> None:
    first = await _issue(factory)
    fresh = new_certificate_code()
    draws = iter([first, first, fresh])
    second = await _issue(factory, code_source=lambda: next(draws))
    assert second == fresh


async def test_the_certificate_throttle_counts_unknown_codes() -> None:
    now = [0.0]
    throttle = certificate_throttle(lambda: now[0])
    for _ in range(5):
        await throttle.attempt("telegram:1")
    with pytest.raises(Throttled) as error:
        await throttle.attempt("telegram:1")
    assert error.value.key == "certificate.throttled"
