"""Tracking codes: a mistyped code (one digit wrong, two neighbours swapped) is refused before any look-up."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk import tracking
from desk.errors import ValidationError
from desk.persian import to_persian_digits
from desk.tracking import (
    TRACKING_CODE_LENGTH,
    damm_check_digit,
    format_tracking_code,
    is_well_formed,
    new_tracking_code,
    normalize_tracking_code,
    tracking_code_readings,
)

codes = st.text(
    alphabet="0123456789", min_size=TRACKING_CODE_LENGTH - 1, max_size=TRACKING_CODE_LENGTH - 1
).map(lambda payload: payload + damm_check_digit(payload))


def single_digit_changes(code: str) -> list[str]:
    return [code[:i] + d + code[i + 1 :] for i in range(len(code)) for d in "0123456789" if d != code[i]]


def adjacent_swaps(code: str) -> list[str]:
    return [
        code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        for i in range(len(code) - 1)
        if code[i] != code[i + 1]
    ]


class TestCheckDigit:
    def test_table_is_a_weakly_totally_antisymmetric_quasigroup(self) -> None:
        # The algebraic reason Damm catches every single error and every adjacent swap.
        table = tracking._DAMM_TABLE
        for row in table:
            assert sorted(row) == list(range(10))
        for col in range(10):
            assert sorted(row[col] for row in table) == list(range(10))
        for c, x, y in itertools.product(range(10), repeat=3):
            if x != y:
                assert table[table[c][x]][y] != table[table[c][y]][x]

    def test_every_single_digit_change_and_adjacent_swap_of_every_4_digit_code_is_caught(self) -> None:
        for n in range(10_000):
            payload = f"{n:04d}"
            code = payload + damm_check_digit(payload)
            for wrong in single_digit_changes(code) + adjacent_swaps(code):
                assert damm_check_digit(wrong[:-1]) != wrong[-1], (code, wrong)

    @given(codes)
    def test_full_length_codes_catch_every_typo(self, code: str) -> None:
        assert is_well_formed(code)
        for wrong in single_digit_changes(code) + adjacent_swaps(code):
            assert not is_well_formed(wrong)

    def test_known_vector(self) -> None:
        # The Damm algorithm's published example: 572 -> check digit 4.
        assert damm_check_digit("572") == "4"

    def test_payload_must_be_ascii_digits(self) -> None:
        with pytest.raises(ValueError, match="ASCII digits"):
            damm_check_digit("۵۷۲")


class TestNewCode:
    def test_shape(self) -> None:
        for _ in range(200):
            code = new_tracking_code()
            assert len(code) == TRACKING_CODE_LENGTH
            assert code.isascii()
            assert code.isdigit()
            assert code[0] in "12345678"
            assert is_well_formed(code)
            assert normalize_tracking_code(code) == code

    def test_codes_are_random(self) -> None:
        assert len({new_tracking_code() for _ in range(1000)}) == 1000

    def test_all_leading_digits_occur(self) -> None:
        assert {new_tracking_code()[0] for _ in range(2000)} == set("12345678")


class TestNormalize:
    @given(codes)
    def test_persian_arabic_digits_spaces_and_dashes_are_accepted(self, code: str) -> None:
        arabic = code.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
        for typed in (
            to_persian_digits(code),
            arabic,
            f" {code[:4]} {code[4:8]}-{code[8:]} ",
            format_tracking_code(code),
        ):
            assert normalize_tracking_code(typed) == code

    @pytest.mark.parametrize("typed", ["", "12345", "1234567890180", "abcd-efgh-ijkl", "کد من"])
    def test_wrong_shape(self, typed: str) -> None:
        with pytest.raises(ValidationError) as info:
            normalize_tracking_code(typed)
        assert info.value.key == "desk.tracking.format"
        assert not is_well_formed(typed)

    def test_wrong_check_digit(self) -> None:
        with pytest.raises(ValidationError) as info:
            normalize_tracking_code("123456789019")
        assert info.value.key == "desk.tracking.check_digit"

    def test_format_message_says_how_many_digits_with_a_valid_example(self) -> None:
        with pytest.raises(ValidationError) as info:
            normalize_tracking_code("12345")
        text = info.value.render("fa")
        assert "۱۲ رقم" in text
        example = text.rsplit(" ", 1)[-1]
        assert example == "\u2066۱۲۳۴-۵۶۷۸-۹۰۱۸\u2069", "isolated, so it is not drawn in reverse"
        assert is_well_formed(example)
        english = info.value.render("en")
        assert english.endswith("for example \u20661234-5678-9018\u2069.")


class TestFormat:
    def test_persian_grouping_isolated_left_to_right(self) -> None:
        assert format_tracking_code("123456789018") == "\u2066۱۲۳۴-۵۶۷۸-۹۰۱۸\u2069"

    def test_english_grouping_isolated_left_to_right(self) -> None:
        assert format_tracking_code("123456789018", "en") == "\u20661234-5678-9018\u2069"

    def test_a_shown_code_copied_back_is_understood(self) -> None:
        for lang in ("fa", "en"):
            assert normalize_tracking_code(format_tracking_code("123456789018", lang)) == "123456789018"


class TestTypedAsDrawn:
    """A code typed back in the order an app without isolates drew its groups (reversed) is understood."""

    @given(codes)
    def test_groups_typed_in_reverse_are_read_both_ways(self, code: str) -> None:
        a, b, c = code[:4], code[4:8], code[8:]
        persian = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
        for typed in (f"{c}-{b}-{a}", f"{c} {b} {a}".translate(persian)):
            readings = tracking_code_readings(typed)
            assert code in readings
            assert readings[0] == (c + b + a if is_well_formed(c + b + a) else code)  # as typed comes first

    def test_the_issues_example_is_read_both_ways(self) -> None:
        # '۸۱۶۴-۷۴۲۴-۹۲۵۹' was drawn '۹۲۵۹-۷۴۲۴-۸۱۶۴'; that order is itself a well-formed code (1 in 10 are).
        assert tracking_code_readings("۹۲۵۹-۷۴۲۴-۸۱۶۴") == ("925974248164", "816474249259")

    def test_a_code_typed_in_order_has_one_reading(self) -> None:
        assert tracking_code_readings("5555-1234-1236") == ("555512341236",)
        assert tracking_code_readings("1236-1234-5555") == ("555512341236",)

    def test_twelve_digits_without_breaks_are_never_reordered(self) -> None:
        with pytest.raises(ValidationError):
            tracking_code_readings("123612345555")  # 5555-1234-1236 with its groups reversed, typed unbroken

    def test_a_mistyped_reversed_code_is_still_refused(self) -> None:
        with pytest.raises(ValidationError):
            tracking_code_readings("1236-1234-5556")

    def test_code_cannot_be_mistaken_for_a_national_id_or_a_mobile(self) -> None:
        from desk.privacy import redact

        for _ in range(500):
            code = new_tracking_code()
            assert redact(f"request {code} filed") == f"request {code} filed"
