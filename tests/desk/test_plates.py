"""Car plates as people type them: one canonical form, or a polite refusal saying what a plate looks like."""

from __future__ import annotations

import pytest

from desk.errors import ValidationError
from desk.plates import EXAMPLE, Plate, looks_like_plate, parse_plate

CANONICAL = "12 ب 345 ایران 67"

READ_AS_12B34567 = [
    "12 ب 345 ایران 67",  # as mounted, with the country word
    "12ب34567",  # no spaces
    "12-ب-345-67",  # dashes
    "12 ب 345 - 67",
    "۱۲ ب ۳۴۵ ۶۷",  # Persian digits
    "١٢ ب ٣٤٥ ٦٧",  # Arabic digits
    "۱۲ب۳۴۵ایران۶۷",
    "67 ایران 345 ب 12",  # a Persian reader's order: region first, right to left
    "۶۷ ۳۴۵ ب ۱۲",
    "67345ب12",
    "ایران ۶۷ | ۳۴۵ ب ۱۲",
    "12 B 345 IR 67",  # an unambiguous Latin letter, the country in Latin
    "12b34567",
    "12 b 345 iran 67",
    " 12 / ب / 345 / 67 ",
]


@pytest.mark.parametrize("typed", READ_AS_12B34567)
def test_every_way_of_typing_reads_as_one_plate(typed: str) -> None:
    plate = parse_plate(typed)
    assert plate == Plate("12", "ب", "345", "67")
    assert (plate.text, plate.key) == (CANONICAL, "12ب34567")


@pytest.mark.parametrize(
    ("typed", "letter"),
    [
        ("12 الف 345 67", "الف"),  # government: a three-character letter
        ("12 ي 345 67", "ی"),  # Arabic yeh
        ("12 ك 345 67", "ک"),  # Arabic kaf
        ("12 هـ 345 67", "ه"),  # heh with a tatweel, as plates print it
        ("12 ژ 345 67", "ژ"),
        ("12 sh 345 67", "ش"),
        ("12 Q 345 67", "ق"),
        ("12 alef 345 67", "الف"),
    ],
)
def test_every_plate_letter_and_its_spellings(typed: str, letter: str) -> None:
    assert parse_plate(typed).letter == letter


@pytest.mark.parametrize(
    ("typed", "key"),
    [
        ("12 ب 3456", "dues.plate.shape"),  # one digit short
        ("1 ب 345 67", "dues.plate.shape"),  # one digit in the first group
        ("123 ب 345 67", "dues.plate.shape"),
        ("12 ب 345 678", "dues.plate.shape"),
        ("12 345 67", "dues.plate.shape"),  # no letter
        ("12 ب ج 345 67", "dues.plate.letter"),  # two letters
        ("ب 12 345 67", "dues.plate.shape"),  # the letter first
        ("12 ح 345 67", "dues.plate.letter"),  # not a plate letter
        ("12 X 345 67", "dues.plate.letter"),
        ("12 S 345 67", "dues.plate.letter_ambiguous"),  # س or ص: never guessed
        ("12 T 345 67", "dues.plate.letter_ambiguous"),  # ت or ط
        ("02 ب 345 67", "dues.plate.zero"),
        ("12 ب 045 67", "dues.plate.zero"),
        ("12 ب 345 07", "dues.plate.zero"),
        ("", "dues.plate.shape"),
        ("ایران", "dues.plate.shape"),
    ],
)
def test_impossible_plates_are_refused_with_the_right_shape(typed: str, key: str) -> None:
    with pytest.raises(ValidationError) as error:
        parse_plate(typed)
    assert error.value.key == key
    text = error.value.render("fa")
    assert "۱۲ ب ۳۴۵ ایران ۶۷" in text  # the example, in Persian digits
    assert not any(ch.isascii() and ch.isdigit() for ch in text)


def test_an_ambiguous_latin_letter_names_both_choices() -> None:
    with pytest.raises(ValidationError) as error:
        parse_plate("12 s 345 67")
    assert "س / ص" in error.value.render("fa")
    assert "write the letter in Persian" in error.value.render("en")


def test_the_example_reads_left_to_right_in_a_persian_message() -> None:
    assert EXAMPLE.shown("fa") == "\u2066۱۲ ب ۳۴۵ ایران ۶۷\u2069"
    assert EXAMPLE.shown("en") == "\u206612 ب 345 ایران 67\u2069"


@pytest.mark.parametrize(
    ("typed", "plate_like"),
    [
        ("12 ب 345 67", True),
        ("12 ب 3456", True),  # meant as a plate, though wrong
        ("67 ایران 345 ب 12", True),
        ("ایران 1", True),
        ("12-34-567", False),  # a property code
        ("a-b1", False),
        ("12B34567", False),  # could be a business code too: both are looked up
        ("الف-12", False),
    ],
)
def test_which_texts_are_meant_as_plates(typed: str, plate_like: bool) -> None:
    assert looks_like_plate(typed) is plate_like
