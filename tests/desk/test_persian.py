"""Persian input normalization, Persian digits and Jalali dates, as citizens type and read them."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.errors import ValidationError
from desk.persian import (
    JALALI_FIRST_DAY,
    JALALI_LAST_DAY,
    NAME_MAX,
    ZWNJ,
    add_jalali_years,
    display_name,
    for_sms,
    format_decimal,
    format_identifier,
    format_jalali_date,
    format_jalali_datetime,
    format_number,
    ltr,
    normalize,
    normalize_identifier,
    parse_jalali_date,
    persian_digits_in_words,
    search_key,
    to_persian_digits,
    visible,
)

PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"


class TestNormalize:
    def test_arabic_yeh_and_kaf_become_persian(self) -> None:
        assert normalize("كيك") == "کیک"
        assert normalize("موسى") == "موسی"

    def test_persian_and_arabic_digits_become_ascii(self) -> None:
        assert normalize(PERSIAN_DIGITS) == "0123456789"
        assert normalize(ARABIC_DIGITS) == "0123456789"

    def test_presentation_forms_become_base_letters(self) -> None:
        # seen initial, lam-alef ligature, meem final: the presentation forms of "سلام"
        assert normalize("\ufeb3\ufefc\ufee1") == "سلام"

    def test_tatweel_harakat_and_bidi_marks_are_removed(self) -> None:
        assert normalize("شـــهرداری") == "شهرداری"
        assert normalize("مُحَمَّد") == "محمد"
        assert normalize("\u200f۰۹۱۲\u200e\u202b۳۴۵\u202c\ufeff") == "0912345"

    def test_repeated_zwnj_collapses_to_one(self) -> None:
        assert normalize(f"می{ZWNJ}{ZWNJ}{ZWNJ}خواهم") == f"می{ZWNJ}خواهم"

    def test_zwnj_next_to_a_space_is_dropped(self) -> None:
        assert normalize(f"خانه{ZWNJ} ها{ZWNJ}") == "خانه ها"

    def test_whitespace_collapses_and_ends_are_trimmed(self) -> None:
        assert normalize("  پروانه \t\n  ساختمانی  ") == "پروانه ساختمانی"

    def test_multiline_keeps_paragraphs(self) -> None:
        raw = "  سطر اول  \r\n\n\n\n  سطر   دوم \n"
        assert normalize(raw, multiline=True) == "سطر اول\n\nسطر دوم"

    @given(st.text())
    def test_is_idempotent(self, text: str) -> None:
        once = normalize(text)
        assert normalize(once) == once

    @given(st.text())
    def test_leaves_no_persian_digits_or_arabic_letters(self, text: str) -> None:
        out = normalize(text)
        assert not set(out) & set(PERSIAN_DIGITS + ARABIC_DIGITS + "يىك\u0640")
        assert ZWNJ * 2 not in out
        assert out == out.strip()


# Characters that show nothing and can disguise text: bidi overrides and isolates, zero-width space and joiner,
# the word joiner and invisible operators, BOM, soft hyphen, a control character, a Hangul filler.
DISGUISES = "\u202e\u202d\u2066\u2067\u2068\u2069\u200b\u200d\u2060\u2062\ufeff\u00ad\x07\u3164"


class TestHiddenCharacters:
    def test_a_right_to_left_override_cannot_reverse_an_answer(self) -> None:
        assert normalize("\u202eفاکتور\u202c fdp.exe") == "فاکتور fdp.exe"

    def test_every_disguise_is_dropped_and_zwnj_kept(self) -> None:
        raw = f"علی{ZWNJ}".join(DISGUISES) + f"{ZWNJ}رضا"
        assert not set(normalize(raw)) & set(DISGUISES)
        assert normalize(f"می{ZWNJ}\u2060\u200bخواهم") == f"می{ZWNJ}خواهم"

    @given(st.text())
    def test_no_format_character_but_zwnj_survives(self, text: str) -> None:
        for out in (
            normalize(text),
            normalize(text, multiline=True),
            display_name(text) or "",
            visible(text),
        ):
            assert all(c == ZWNJ or unicodedata.category(c) != "Cf" for c in out), out


class TestDisplayName:
    def test_a_name_is_cleaned_but_keeps_its_spelling_and_digits(self) -> None:
        assert display_name(f"\u202eعلی{ZWNJ}\u200bرضا\u2060  كريمى ۲") == f"علی{ZWNJ}رضا كريمى ۲"

    def test_a_name_of_nothing_visible_is_none(self) -> None:
        assert display_name("\u3164\u200b\u202e ") is None
        assert display_name(None) is None
        assert display_name("") is None

    def test_a_name_is_kept_within_the_column(self) -> None:
        assert len(display_name("ا" * 500) or "") == NAME_MAX


class TestVisible:
    def test_only_hidden_characters_go(self) -> None:
        note = f"مُحَمَّد  می{ZWNJ}خواهد\n\u202eسطر دوم\u2060"
        assert visible(note) == f"مُحَمَّد  می{ZWNJ}خواهد\nسطر دوم"


class TestNormalizeIdentifier:
    def test_removes_spaces_zwnj_and_dashes(self) -> None:
        assert normalize_identifier(f" ۰۴۹-۹۳۷ ۰{ZWNJ}۸۹۹ – ") == "0499370899"

    @given(st.text())
    def test_has_no_spaces_or_dashes(self, text: str) -> None:
        out = normalize_identifier(text)
        assert not any(c.isspace() for c in out)
        assert "-" not in out
        assert ZWNJ not in out


class TestSearchKey:
    def test_spacing_and_zwnj_differences_match(self) -> None:
        assert (
            search_key("پروانه  ساختمانی")
            == search_key(f"پروانه{ZWNJ}ساختمانی")
            == search_key("پروانهساختمانی")
        )

    def test_arabic_letters_and_alef_forms_match(self) -> None:
        assert search_key("عوارض كسب") == search_key("عوارض کسب")
        assert search_key("آب") == search_key("اب")
        assert search_key("خانهٔ من") == search_key("خانه من")

    def test_latin_is_case_insensitive(self) -> None:
        assert search_key("FAQ") == search_key("faq")

    def test_different_words_differ(self) -> None:
        assert search_key("عوارض خودرو") != search_key("عوارض نوسازی")


class TestDigits:
    def test_to_persian_digits_of_int_and_str(self) -> None:
        assert to_persian_digits(1405) == "۱۴۰۵"
        assert to_persian_digits("کد 12-٣٤") == "کد ۱۲-۳۴"

    def test_format_number_groups_with_persian_separator(self) -> None:
        assert format_number(1250000) == "۱٬۲۵۰٬۰۰۰"
        assert format_number(999) == "۹۹۹"
        assert format_number(0) == "۰"

    def test_format_number_in_english(self) -> None:
        assert format_number(1250000, "en") == "1,250,000"

    @given(st.integers(min_value=0, max_value=10**18))
    def test_format_number_round_trips_through_normalize(self, n: int) -> None:
        shown = format_number(n)
        assert all(c in PERSIAN_DIGITS + "٬" for c in shown)
        assert int(normalize(shown).replace("٬", "")) == n

    def test_format_decimal_in_persian_and_english(self) -> None:
        assert format_decimal(Decimal("1234567.896")) == "۱٬۲۳۴٬۵۶۷٫۹"
        assert format_decimal(Decimal("1234567.896"), "en") == "1,234,567.9"
        assert format_decimal(Decimal("9234000.0000")) == "۹٬۲۳۴٬۰۰۰"
        assert format_decimal(Decimal("0.01")) == "۰٫۰۱"

    def test_format_decimal_rounds_half_up_and_never_shows_minus_zero(self) -> None:
        assert format_decimal(Decimal("85.5"), places=0) == "۸۶"
        assert format_decimal(Decimal("-0.001")) == "۰"

    def test_format_decimal_of_a_year_has_no_separator(self) -> None:
        assert format_decimal(Decimal(1405), grouped=False) == "۱۴۰۵"

    @given(st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False, allow_infinity=False))
    def test_format_decimal_round_trips_through_normalize(self, value: Decimal) -> None:
        shown = format_decimal(value)
        assert Decimal(normalize(shown).replace("٬", "").replace("٫", ".")) == value


class TestFormatJalali:
    def test_date_in_persian(self) -> None:
        assert format_jalali_date(date(2026, 11, 27)) == "۶ آذر ۱۴۰۵"

    def test_date_in_english(self) -> None:
        assert format_jalali_date(date(2026, 11, 27), "en") == "6 Azar 1405"

    def test_nowruz(self) -> None:
        assert format_jalali_date(date(2024, 3, 20)) == "۱ فروردین ۱۴۰۳"

    def test_datetime_is_shown_in_tehran_time(self) -> None:
        moment = datetime(2026, 11, 27, 10, 35, tzinfo=UTC)
        assert format_jalali_datetime(moment) == "۶ آذر ۱۴۰۵، ساعت ۱۴:۰۵"
        assert format_jalali_datetime(moment, "en") == "6 Azar 1405, 14:05"

    def test_naive_datetime_is_taken_as_utc(self) -> None:
        assert format_jalali_datetime(datetime(2026, 11, 27, 10, 35)) == "۶ آذر ۱۴۰۵، ساعت ۱۴:۰۵"

    def test_late_evening_utc_is_the_next_day_in_tehran(self) -> None:
        moment = datetime(2026, 11, 26, 21, 0, tzinfo=UTC)
        assert format_jalali_date(moment) == "۶ آذر ۱۴۰۵"
        other_zone = moment.astimezone(timezone(timedelta(hours=-5)))
        assert format_jalali_datetime(other_zone) == "۶ آذر ۱۴۰۵، ساعت ۰۰:۳۰"


class TestParseJalali:
    @pytest.mark.parametrize(
        "typed",
        ["1405/09/06", "۱۴۰۵-۹-۶", "1405.9.6", "١٤٠٥/٠٩/٠٦", " ۱۴۰۵ / ۰۹ / ۰۶ ", "6/9/1405", "۶-۹-۱۴۰۵"],
    )
    def test_accepted_forms(self, typed: str) -> None:
        assert parse_jalali_date(typed) == date(2026, 11, 27)

    def test_nowruz_1403(self) -> None:
        assert parse_jalali_date("1403/01/01") == date(2024, 3, 20)

    def test_leap_day(self) -> None:
        assert parse_jalali_date("1403/12/30") == date(2025, 3, 20)

    @pytest.mark.parametrize(
        "typed", ["", "فردا", "1405", "1405/09", "14050906", "05/09/06", "1405/9/6/1", "abc/de/fg"]
    )
    def test_nonsense_is_a_format_error(self, typed: str) -> None:
        with pytest.raises(ValidationError) as info:
            parse_jalali_date(typed)
        assert info.value.key == "desk.date.format"

    @pytest.mark.parametrize("typed", ["1405/13/01", "1405/00/10", "1405/07/31", "1404/12/30", "1405/01/00"])
    def test_days_not_in_the_calendar(self, typed: str) -> None:
        with pytest.raises(ValidationError) as info:
            parse_jalali_date(typed)
        assert info.value.key == "desk.date.invalid"

    @pytest.mark.parametrize("typed", ["0999/01/01", "1299/12/29", "1500/01/01", "1899/01/01"])
    def test_years_outside_the_window_are_out_of_range(self, typed: str) -> None:
        with pytest.raises(ValidationError) as info:
            parse_jalali_date(typed)
        assert info.value.key == "desk.date.out_of_range"
        assert info.value.params == {"first": JALALI_FIRST_DAY, "last": JALALI_LAST_DAY}

    def test_adding_years_keeps_the_jalali_day(self) -> None:
        assert add_jalali_years(date(2026, 11, 27), 1) == parse_jalali_date("1406/09/06")
        assert add_jalali_years(date(2026, 11, 27), -5) == parse_jalali_date("1400/09/06")
        # 30 Esfand 1403 (a leap year) a year later is 29 Esfand 1404, the last day of that year.
        assert add_jalali_years(parse_jalali_date("1403/12/30"), 1) == parse_jalali_date("1404/12/29")

    def test_window_ends_are_accepted(self) -> None:
        assert parse_jalali_date("1300/01/01") == JALALI_FIRST_DAY == date(1921, 3, 21)
        assert parse_jalali_date("1499/12/29") == JALALI_LAST_DAY == date(2121, 3, 20)

    def test_gregorian_year_is_named(self) -> None:
        with pytest.raises(ValidationError) as info:
            parse_jalali_date("2026/11/27")
        assert info.value.key == "desk.date.gregorian"

    @given(st.dates(min_value=date(1922, 1, 1), max_value=date(2120, 1, 1)))
    def test_parse_inverts_format(self, d: date) -> None:
        shown = format_jalali_date(d, "en")
        day, month_name, year = shown.split()
        months = ["Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
                  "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand"]  # fmt: skip
        month = months.index(month_name) + 1
        assert parse_jalali_date(to_persian_digits(f"{year}/{month}/{day}")) == d


class TestLeftToRight:
    """Codes, IDs and phones are isolated left-to-right, so a right-to-left line cannot draw their parts in reverse."""

    def test_ltr_wraps_a_run_in_isolates_once(self) -> None:
        assert ltr("*780#") == "\u2066*780#\u2069"
        assert ltr(ltr("*780#")) == ltr("*780#")

    def test_identifiers_in_the_readers_digits_isolated_when_more_than_digits(self) -> None:
        assert format_identifier("049****899") == "\u2066۰۴۹****۸۹۹\u2069"
        assert format_identifier("12-34-567", "en") == "\u206612-34-567\u2069"
        assert format_identifier("1123456731161") == "۱۱۲۳۴۵۶۷۳۱۱۶۱", "digits alone need no isolate"

    def test_what_people_type_back_loses_the_isolates(self) -> None:
        assert normalize(format_identifier("12-34-567")) == "12-34-567"

    def test_an_sms_carries_marks_in_persian_and_nothing_in_english(self) -> None:
        assert for_sms(f"کد {ltr('۱۲۳۴-۵۶۷۸')} ثبت شد") == "کد \u200e۱۲۳۴-۵۶۷۸\u200e ثبت شد"
        assert for_sms(f"code {ltr('1234-5678')} filed", "en") == "code 1234-5678 filed"
        assert for_sms(f"کد {ltr('۱۲۳۴-۵۶۷۸')}") == "کد \u200e۱۲۳۴-۵۶۷۸", "a mark at the end orders nothing"


class TestPersianDigitsInWords:
    @pytest.mark.parametrize(
        ("typed", "shown"),
        [("پلاک 12", "پلاک ۱۲"), ("کوچه 5، واحد 3", "کوچه ۵، واحد ۳"), ("بلوک B2 طبقه 3", "بلوک B2 طبقه ۳"),
         ("ایمیل ali99@example.org", "ایمیل ali99@example.org"), ("https://x.ir/a/12 را ببینید", "https://x.ir/a/12 را ببینید"),
         ("ساعت 10:30", "ساعت ۱۰:۳۰"), ("", "")],
    )  # fmt: skip
    def test_digits_read_back_in_persian_except_inside_latin_words(self, typed: str, shown: str) -> None:
        assert persian_digits_in_words(typed) == shown
