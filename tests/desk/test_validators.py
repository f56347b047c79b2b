"""Validators of typed answers: the public test vectors of docs/RULES.md and property tests of the checksums."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk import validators as v
from desk.errors import ValidationError
from desk.i18n import translator
from desk.persian import TypedDate, format_jalali_typed, tehran_today, to_persian_digits


def error_key(func: object, raw: str) -> str:
    assert callable(func)
    with pytest.raises(ValidationError) as info:
        func(raw)
    return info.value.key


def accepts(func: Callable[[str], object], raw: str) -> bool:
    try:
        func(raw)
    except ValidationError:
        return False
    return True


class TestNationalId:
    @pytest.mark.parametrize("valid", ["0499370899", "0790419904", "1583250689", "0684159414"])
    def test_public_valid_vectors(self, valid: str) -> None:
        assert v.national_id(valid) == valid

    @pytest.mark.parametrize("invalid", ["0684159415", "1234567890"])
    def test_public_invalid_vectors(self, invalid: str) -> None:
        assert error_key(v.national_id, invalid) == "desk.national_id.invalid"

    def test_persian_digits_spaces_and_dashes(self) -> None:
        assert v.national_id("۰۴۹-۹۳۷۰ ۸۹۹") == "0499370899"
        assert v.national_id("٠٤٩٩٣٧٠٨٩٩") == "0499370899"

    def test_short_input_is_left_padded(self) -> None:
        assert v.national_id("499370899") == "0499370899"
        assert v.national_id("۷۹۰۴۱۹۹۰۴") == "0790419904"

    @pytest.mark.parametrize("digit", "0123456789")
    def test_all_same_digits_is_refused(self, digit: str) -> None:
        assert error_key(v.national_id, digit * 10) == "desk.national_id.invalid"

    @pytest.mark.parametrize("raw", ["", "1234567", "12345678901", "04993708x9", "کد ملی"])
    def test_wrong_shape(self, raw: str) -> None:
        assert error_key(v.national_id, raw) == "desk.national_id.format"

    @given(st.text(alphabet="0123456789", min_size=9, max_size=9).filter(lambda s: len(set(s)) > 1))
    def test_exactly_one_last_digit_completes_any_nine(self, first9: str) -> None:
        accepted = [d for d in "0123456789" if accepts(v.national_id, first9 + d)]
        assert len(accepted) == 1


class TestLegalId:
    @pytest.mark.parametrize("valid", ["10380284790", "10100387143"])
    def test_public_valid_vectors(self, valid: str) -> None:
        assert v.legal_id(valid) == valid
        assert v.legal_id(to_persian_digits(valid)) == valid

    def test_public_invalid_vector(self) -> None:
        assert error_key(v.legal_id, "10380284792") == "desk.legal_id.invalid"

    def test_zero_registration_number_is_refused(self) -> None:
        assert error_key(v.legal_id, "00000000000") == "desk.legal_id.invalid"

    @pytest.mark.parametrize("raw", ["1038028479", "103802847901", "1038028479a"])
    def test_wrong_shape(self, raw: str) -> None:
        assert error_key(v.legal_id, raw) == "desk.legal_id.format"

    @given(st.text(alphabet="0123456789", min_size=10, max_size=10).filter(lambda s: s[3:9] != "000000"))
    def test_exactly_one_last_digit_completes_any_ten(self, first10: str) -> None:
        accepted = [d for d in "0123456789" if accepts(v.legal_id, first10 + d)]
        assert len(accepted) == 1


class TestMobile:
    @pytest.mark.parametrize(
        "raw",
        ["09123456789", "9123456789", "+989123456789", "989123456789", "00989123456789",
         "۰۹۱۲ ۳۴۵ ۶۷۸۹", "+98 912-345-6789", "(0912) 345 6789", "٠٩١٢٣٤٥٦٧٨٩"],
    )  # fmt: skip
    def test_every_prefix_is_stored_as_09(self, raw: str) -> None:
        assert v.mobile(raw) == "09123456789"

    @pytest.mark.parametrize(
        "raw", ["", "0912345678", "091234567890", "08123456789", "02137422020", "+19123456789", "0912345678x"]
    )
    def test_refused(self, raw: str) -> None:
        assert error_key(v.mobile, raw) == "desk.mobile.format"

    @given(
        st.text(alphabet="0123456789", min_size=9, max_size=9),
        st.sampled_from(["0", "98", "+98", "0098", ""]),
    )
    def test_property_any_prefix(self, rest: str, prefix: str) -> None:
        assert v.mobile(prefix + "9" + rest) == "09" + rest


class TestPostalCode:
    def test_valid(self) -> None:
        assert v.postal_code("۸۴۹۱۷-۵۳۹۸۱") == "8491753981"

    @pytest.mark.parametrize("raw", ["849175398", "84917539811", "849175398a"])
    def test_wrong_length(self, raw: str) -> None:
        assert error_key(v.postal_code, raw) == "desk.postal_code.format"

    @pytest.mark.parametrize(
        "raw",
        [
            "1111753981",  # four same digits at the start
            "2491753981",  # 2 never appears in the first five digits
            "8491553981",  # nor 5 in the fifth
            "8491752981",  # nor 2 in the last five
            "0491753981",
        ],
    )
    def test_heuristic_refuses(self, raw: str) -> None:
        assert error_key(v.postal_code, raw) == "desk.postal_code.invalid"


class TestSheba:
    def test_public_valid_vector(self) -> None:
        assert v.sheba("IR820540102680020817909002") == "IR820540102680020817909002"

    def test_lowercase_spaces_and_missing_ir(self) -> None:
        assert v.sheba("ir82 0540 1026 8002 0817 9090 02") == "IR820540102680020817909002"
        assert v.sheba("۸۲۰۵۴۰۱۰۲۶۸۰۰۲۰۸۱۷۹۰۹۰۰۲") == "IR820540102680020817909002"

    def test_one_digit_off(self) -> None:
        assert error_key(v.sheba, "IR820540102680020817909003") == "desk.sheba.invalid"

    @pytest.mark.parametrize("raw", ["IR82054010268002081790900", "DE820540102680020817909002", "IR"])
    def test_wrong_shape(self, raw: str) -> None:
        assert error_key(v.sheba, raw) == "desk.sheba.format"

    @given(st.integers(0, 23), st.integers(1, 9))
    def test_any_single_digit_change_fails(self, position: int, delta: int) -> None:
        digits = list("820540102680020817909002")
        digits[position] = str((int(digits[position]) + delta) % 10)
        with pytest.raises(ValidationError):
            v.sheba("IR" + "".join(digits))


class TestNumber:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("120", 120), ("۱۲۰", 120), ("١٢٠", 120), ("۱٬۲۵۰٬۰۰۰", 1250000), ("1,250,000", 1250000),
         (" ۱ ۲۵۰ ۰۰۰ ", 1250000), ("0", 0), ("۰۰۷", 7)],
    )  # fmt: skip
    def test_accepted(self, raw: str, expected: int) -> None:
        assert v.number(raw) == expected

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("۲۵۰ متر", 250), ("۲۵۰متر", 250), ("۲۵۰ متر مربع", 250), ("۲۵۰ متر‌مربع", 250), ("250 m²", 250),
         ("250㎡", 250), ("250 M2", 250), ("۳ طبقه", 3), ("۱۲۰٬۰۰۰ ریال", 120000), ("12 trees", 12)],
    )  # fmt: skip
    def test_a_unit_after_the_number_is_dropped(self, raw: str, expected: int) -> None:
        assert v.number(raw) == expected

    @pytest.mark.parametrize("raw", ["۱۲۰ تومان", "120 toman", "۱۲۰ تومن"])
    def test_tomans_are_refused_with_a_word_on_rials(self, raw: str) -> None:
        assert error_key(v.number, raw) == "desk.number.toman"

    @pytest.mark.parametrize("raw", ["۲۵۰ کیلو", "متر ۲۵۰", "۲۵۰ متر ۳۰", "250 m2 approx"])
    def test_other_words_are_still_refused(self, raw: str) -> None:
        assert error_key(v.number, raw) == "desk.number.format"

    def test_negative(self) -> None:
        assert error_key(v.number, "-5") == "desk.number.negative"
        assert error_key(v.number, "−۵") == "desk.number.negative"

    @pytest.mark.parametrize("raw", ["", "دوازده", "12.5", "۱۲٫۵", "12a", "1e5", "--5"])
    def test_not_a_whole_number(self, raw: str) -> None:
        assert error_key(v.number, raw) == "desk.number.format"

    def test_too_large(self) -> None:
        assert error_key(v.number, "9" * 30) == "desk.number.too_large"

    @given(st.integers(min_value=0, max_value=v.NUMBER_MAX))
    def test_round_trip_of_persian_grouping(self, n: int) -> None:
        assert v.number(to_persian_digits(f"{n:,}".replace(",", "٬"))) == n


class TestText:
    def test_trimmed_and_normalized(self) -> None:
        assert v.text("  علي   رضايي ") == "علی رضایی"

    def test_empty(self) -> None:
        assert error_key(v.text, "  \u200c \n ") == "desk.text.empty"

    def test_limits(self) -> None:
        assert v.text("ا" * v.TEXT_MAX) == "ا" * v.TEXT_MAX
        with pytest.raises(ValidationError) as info:
            v.text("ا" * (v.TEXT_MAX + 1))
        assert info.value.key == "desk.text.too_long"
        assert "۲۰۰" in info.value.render("fa")
        assert v.long_text("ب" * v.LONG_TEXT_MAX) == "ب" * v.LONG_TEXT_MAX
        assert error_key(v.long_text, "ب" * (v.LONG_TEXT_MAX + 1)) == "desk.text.too_long"

    def test_long_text_keeps_lines(self) -> None:
        assert v.long_text("سلام\nدیوار   ترک دارد") == "سلام\nدیوار ترک دارد"
        assert v.text("سلام\nدیوار") == "سلام دیوار"


class TestValidateField:
    @pytest.mark.parametrize(
        ("kind", "raw", "expected"),
        [
            ("text", " نام ", "نام"),
            ("long_text", "الف\n\nب", "الف\n\nب"),
            ("number", "۲۵۰", 250),
            ("national_id", "۰۴۹۹۳۷۰۸۹۹", "0499370899"),
            ("legal_id", "10380284790", "10380284790"),
            ("mobile", "+989123456789", "09123456789"),
            ("postal_code", "8491753981", "8491753981"),
            ("date", "۱۴۰۵/۰۹/۰۶", date(2026, 11, 27)),
            ("tracking_code", "۱۲۳۴-۵۶۷۸-۹۰۱۸", "123456789018"),
        ],
    )
    def test_dispatches_every_typed_kind(self, kind: str, raw: str, expected: object) -> None:
        assert v.validate_field(kind, raw) == expected

    def test_table_covers_every_typed_kind(self) -> None:
        samples = {"text": "x", "long_text": "x", "number": "1", "national_id": "0499370899",
                   "legal_id": "10380284790", "mobile": "09123456789", "postal_code": "8491753981",
                   "date": "1405/1/1", "tracking_code": "123456789018"}  # fmt: skip
        assert set(samples) == v.TYPED_FIELD_KINDS
        for kind, raw in samples.items():
            v.validate_field(kind, raw)

    @pytest.mark.parametrize("kind", sorted(v.BUTTON_FIELD_KINDS))
    def test_typing_into_a_button_field_asks_for_buttons(self, kind: str) -> None:
        with pytest.raises(ValidationError) as info:
            v.validate_field(kind, "بله")
        assert info.value.key == "desk.field.use_buttons"

    def test_unknown_kind_is_a_bug(self) -> None:
        with pytest.raises(ValueError, match="unknown form field kind"):
            v.validate_field("colour", "red")

    def test_errors_carry_the_wrong_field_key(self) -> None:
        with pytest.raises(ValidationError) as info:
            v.validate_field("national_id", "123")
        assert info.value.key == "desk.national_id.format"


class TestDateRule:
    """Dates held to a field's ``when`` and ``within_years``, on 6 Azar 1405 (2026-11-27) in Tehran."""

    TODAY = date(2026, 11, 27)
    BIRTH = v.DateRule(v.DateWhen.PAST)
    PICKUP = v.DateRule(v.DateWhen.FUTURE, within_years=1)

    def check(self, rule: v.DateRule, raw: str) -> object:
        return v.validate_field("date", raw, date_rule=rule, today=self.TODAY)

    def refusal(self, rule: v.DateRule, raw: str) -> ValidationError:
        with pytest.raises(ValidationError) as info:
            self.check(rule, raw)
        return info.value

    @pytest.mark.parametrize("raw", ["1405/09/07", "۱۴۰۶/۰۱/۰۱", "1499/12/29"])
    def test_future_birth_date_is_refused_naming_today(self, raw: str) -> None:
        error = self.refusal(self.BIRTH, raw)
        assert error.key == "desk.date.after_today"
        assert "۶ آذر ۱۴۰۵" in error.render("fa")
        assert "6 Azar 1405" in error.render("en")

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("۱۳۷۰/۰۵/۲۰", date(1991, 8, 11)),
            ("1405/09/06", date(2026, 11, 27)),
            ("1300/01/01", date(1921, 3, 21)),
        ],
    )
    def test_birth_date_in_the_past_or_today_is_accepted(self, raw: str, expected: date) -> None:
        assert self.check(self.BIRTH, raw) == expected

    def test_past_date_of_a_future_field_is_refused(self) -> None:
        error = self.refusal(self.PICKUP, "1405/09/05")
        assert error.key == "desk.date.before_today"
        assert "۶ آذر ۱۴۰۵" in error.render("fa")

    def test_within_years_bounds_both_sides_of_today(self) -> None:
        assert self.check(self.PICKUP, "1405/09/06") == self.TODAY
        assert self.check(self.PICKUP, "1406/09/06") == date(2027, 11, 27)
        error = self.refusal(self.PICKUP, "1406/09/07")
        assert error.key == "desk.date.too_far_ahead"
        assert "۶ آذر ۱۴۰۶" in error.render("fa")
        recent = v.DateRule(v.DateWhen.PAST, within_years=5)
        assert self.check(recent, "1400/09/06") == date(2021, 11, 27)
        error = self.refusal(recent, "1400/09/05")
        assert error.key == "desk.date.too_long_ago"
        assert "۶ آذر ۱۴۰۰" in error.render("fa")

    def test_without_a_rule_any_date_of_the_window_is_accepted(self) -> None:
        assert v.validate_field("date", "1300/01/01", today=self.TODAY) == date(1921, 3, 21)
        assert v.validate_field("date", "1499/12/29", today=self.TODAY) == date(2121, 3, 20)

    @pytest.mark.parametrize("raw", ["1299/12/29", "1500/01/01", "1504/09/06", "1205/01/01"])
    def test_absurd_year_is_refused_even_without_a_rule(self, raw: str) -> None:
        with pytest.raises(ValidationError) as info:
            v.validate_field("date", raw, today=self.TODAY)
        assert info.value.key == "desk.date.out_of_range"
        assert "۱ فروردین ۱۳۰۰" in info.value.render("fa")
        assert "۲۹ اسفند ۱۴۹۹" in info.value.render("fa")

    def test_calendar_errors_come_before_the_rule(self) -> None:
        assert self.refusal(self.BIRTH, "1405/13/01").key == "desk.date.invalid"
        assert self.refusal(self.BIRTH, "2026/11/27").key == "desk.date.gregorian"


class TestMessages:
    def test_national_id_message_shows_the_expected_form(self) -> None:
        text = ValidationError("desk.national_id.format").render("fa")
        assert "۱۰ رقم" in text
        assert "۰۴۹۹۳۷۰۸۹۹" in text

    @pytest.mark.parametrize("lang", ["fa", "en"])
    @pytest.mark.parametrize(
        ("key", "validator"),
        [
            ("desk.national_id.format", v.national_id),
            ("desk.legal_id.format", v.legal_id),
            ("desk.mobile.format", v.mobile),
            ("desk.postal_code.format", v.postal_code),
            ("desk.sheba.format", v.sheba),
            ("desk.number.format", v.number),
            ("desk.date.format", v.jalali_date),
        ],
    )
    def test_the_example_in_each_message_is_accepted(
        self, key: str, validator: Callable[[str], object], lang: str
    ) -> None:
        message = ValidationError(key, example=TypedDate(tehran_today())).render(
            lang
        )  # a date's example: today
        # The example is the last number in the message, after "مثال:" / "for example".
        examples = re.findall(r"(?:IR)?[0-9۰-۹][0-9۰-۹/]*[0-9۰-۹]", message)
        assert examples, message
        validator(examples[-1])

    @pytest.mark.parametrize("typed", ["1405/13/01", "2026/11/27", "فردا"])
    def test_a_refused_dates_example_is_today_which_a_future_question_accepts(self, typed: str) -> None:
        today, future = date(2026, 12, 5), v.DateRule(v.DateWhen.FUTURE)
        with pytest.raises(ValidationError) as refused:
            v.validate_field("date", typed, date_rule=future, today=today)
        assert format_jalali_typed(today) == "۱۴۰۵/۰۹/۱۴"
        assert "۱۴۰۵/۰۹/۱۴" in refused.value.render("fa")
        assert "1405/09/14" in refused.value.render("en")
        assert v.validate_field("date", "۱۴۰۵/۰۹/۱۴", date_rule=future, today=today) == today

    def test_english_message_is_english(self) -> None:
        assert translator("en")("desk.mobile.format").startswith("This mobile number")


class TestCoordinates:
    @pytest.mark.parametrize(
        "raw",
        ["32.5555, 51.5102", "۳۲٫۵۵۵۵، ۵۱٫۵۱۰۲", "32.5555 51.5102", "51.5102, 32.5555",
         "https://www.google.com/maps/@32.5555,51.5102,17z", "https://maps.google.com/?q=32.5555,51.5102",
         "https://www.openstreetmap.org/?mlat=32.5555&mlon=51.5102#map=17/32.5555/51.5102",
         "https://balad.ir/location?latitude=32.5555&longitude=51.5102&zoom=16",
         "https://neshan.org/maps/@32.5555,51.5102,16z,0p", "geo:32.5555,51.5102"],
    )  # fmt: skip
    def test_numbers_and_map_links_give_the_point(self, raw: str) -> None:
        assert v.coordinates(raw) == v.Coordinates(latitude=32.5555, longitude=51.5102)

    @pytest.mark.parametrize(
        "raw", ["اینجا", "https://nshn.ir/abc", "https://maps.app.goo.gl/x7Kq2", "32.5555"]
    )
    def test_no_point_to_read(self, raw: str) -> None:
        assert error_key(v.coordinates, raw) == "desk.location.format"

    @pytest.mark.parametrize("raw", ["48.85, 2.35", "0, 0", "-32.5, 51.5"])
    def test_a_point_outside_iran(self, raw: str) -> None:
        assert error_key(v.coordinates, raw) == "desk.location.outside_iran"


class TestStoredAnswer:
    CHOICE: ClassVar[dict[str, Any]] = {
        "id": "use",
        "type": "choice",
        "choices": [{"id": "residential"}, {"id": "commercial"}],
    }

    @pytest.mark.parametrize(
        ("question", "value"),
        [({"type": "national_id"}, "0499370899"), ({"type": "number"}, 120), ({"type": "text"}, "کوچه 5"),
         (CHOICE, "residential"), ({"type": "yes_no"}, False), ({"type": "date"}, "2026-12-05"),
         ({"type": "location"}, {"latitude": 32.5, "longitude": 51.5}), ({"type": "tracking_code"}, "135383963681")],
    )  # fmt: skip
    def test_what_the_form_stores_is_taken_as_it_is(self, question: dict[str, Any], value: Any) -> None:
        assert v.stored_answer(question, value) == value

    @pytest.mark.parametrize(
        ("question", "value", "key"),
        [({"type": "national_id"}, "yes", "desk.national_id.format"), ({"type": "national_id"}, True, "desk.field.use_buttons"),
         (CHOICE, "industrial", "desk.field.use_buttons"), ({"type": "yes_no"}, "yes", "desk.field.use_buttons"),
         ({"type": "location"}, {"latitude": 132.5, "longitude": 51.5}, "desk.field.use_buttons"),
         ({"type": "location"}, "here", "desk.field.use_buttons"), ({"type": "date"}, "1405/09/14", "desk.field.use_buttons")],
    )  # fmt: skip
    def test_a_value_no_question_of_its_kind_gives_is_refused(
        self, question: dict[str, Any], value: Any, key: str
    ) -> None:
        assert error_key(lambda raw: v.stored_answer(question, raw), value) == key
