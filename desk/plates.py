"""Iranian car plates (پلاک خودرو): one canonical form for whatever people type, so a car's dues are found.

A private car's plate reads, left to right as it is mounted: two digits, a Persian letter, three digits, and
in a box at the right end the two-digit region code under the word «ایران» (``۱۲ ب ۳۴۵ ایران ۶۷``).

What :func:`parse_plate` accepts
    Persian, Arabic or Latin digits; spaces, dashes, slashes, dots or bars between the parts, or none; the word
    «ایران» (or ``IR``/``Iran``) anywhere, or not at all; and either reading order: the plate's own left to right
    (``12 ب 345 67``) or a Persian reader's right to left, region first (``67 ایران 345 ب 12``). The two orders
    never clash: left to right the letter follows two digits and precedes five, right to left the reverse.

The letter
    One of the letters plates carry (``LETTERS``), written in Persian (Arabic ي/ك and a trailing tatweel are
    folded by ``desk.persian.normalize``). A Latin transliteration is accepted only when it names one plate
    letter: ``B`` is ب, but ``S`` could be س or ص and ``T`` ت or ط, so those are refused with a message asking
    for the Persian letter instead of guessing a plate that may be someone else's.

Refused
    Any other shape, a group starting with 0, or an unknown letter: ``ValidationError`` with a ``dues.plate.*``
    key whose text shows the right shape. The error never repeats what was typed (``desk.errors``).

Canonical form
    :attr:`Plate.text` (``12 ب 345 ایران 67``, ASCII digits, as stored in a due's code) and :attr:`Plate.key`
    (``12ب34567``, what look-ups compare).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from desk.errors import ValidationError
from desk.persian import format_identifier, normalize

__all__ = ["EXAMPLE", "LATIN_LETTERS", "LETTERS", "Plate", "looks_like_plate", "parse_plate"]

LETTERS: Final = frozenset(
    {
        "الف", "ب", "پ", "ت", "ث", "ج", "د", "ز", "ژ", "س", "ش", "ص", "ط",
        "ع", "ف", "ق", "ک", "گ", "ل", "م", "ن", "و", "ه", "ی",
    }
)  # fmt: skip
"""The letters Iranian plates carry (private cars, taxis, government, police, the disabled...)."""

LATIN_LETTERS: Final[Mapping[str, str]] = {
    "b": "ب",
    "p": "پ",
    "j": "ج",
    "d": "د",
    "z": "ز",
    "zh": "ژ",
    "sh": "ش",
    "f": "ف",
    "q": "ق",
    "gh": "ق",
    "k": "ک",
    "g": "گ",
    "l": "ل",
    "m": "م",
    "n": "ن",
    "v": "و",
    "w": "و",
    "h": "ه",
    "y": "ی",
    "alef": "الف",
}
"""Latin transliterations that name exactly one plate letter."""

_AMBIGUOUS: Final[Mapping[str, str]] = {
    "s": "س / ص",
    "t": "ت / ط",
    "a": "الف / ع",
    "e": "الف / ع",
}
"""Latin letters that could be two plate letters: the choices, for the message asking for the Persian one."""

_COUNTRY: Final = frozenset({"ایران", "iran", "ir"})
_SEPARATORS: Final = re.compile(r"[\s\-/\\.|_،,:()\[\]\u2010-\u2015\u2212]+")
_RUNS: Final = re.compile(r"[0-9]+|[^0-9]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class Plate:
    """A plate in its parts, ASCII digits: ``two`` (2 digits), ``letter``, ``three`` (3), ``region`` (2)."""

    two: str
    letter: str
    three: str
    region: str

    @property
    def text(self) -> str:
        """The plate as it is written and stored: ``12 ب 345 ایران 67``."""
        return f"{self.two} {self.letter} {self.three} ایران {self.region}"

    @property
    def key(self) -> str:
        """What look-ups compare: ``12ب34567``."""
        return f"{self.two}{self.letter}{self.three}{self.region}"

    def shown(self, lang: str = "fa") -> str:
        """The plate for people: in the reader's digits, isolated left to right so it reads as it is mounted."""
        return format_identifier(self.text, lang)

    def __str__(self) -> str:
        return self.text


EXAMPLE: Final = Plate("12", "ب", "345", "67")
"""The shape of a plate, shown when one is asked for or refused."""


def _runs(text: str) -> tuple[list[str], bool]:
    """The runs of digits and of letters in ``text`` (country word dropped), and whether it had that word."""
    value = _SEPARATORS.sub(" ", normalize(text).replace("\u200c", "").lower())
    runs: list[str] = []
    country = False
    for part in value.split():
        for run in _RUNS.findall(part):
            if run in _COUNTRY:
                country = True
            elif runs and runs[-1].isdigit() == run.isdigit():  # "345 67": one group once spaces are gone
                runs[-1] += run
            else:
                runs.append(run)
    return runs, country


def _letter(run: str) -> str:
    if run in LETTERS:
        return run
    if run in LATIN_LETTERS:
        return LATIN_LETTERS[run]
    if run in _AMBIGUOUS:
        raise ValidationError("dues.plate.letter_ambiguous", choices=_AMBIGUOUS[run], example=EXAMPLE)
    raise ValidationError("dues.plate.letter", example=EXAMPLE)


def looks_like_plate(text: str) -> bool:
    """Whether ``text`` was meant as a plate: it names «ایران», or it is digits, one Persian plate letter, digits.

    Such a text is read as a plate and refused if it is not one; a property or business code never looks like
    this unless it is a single plate letter between digits (see ``desk.dues.read_code``).
    """
    runs, country = _runs(text)
    if country:
        return True
    return len(runs) == 3 and runs[0].isdigit() and runs[2].isdigit() and runs[1] in LETTERS


def parse_plate(text: str) -> Plate:
    """The plate ``text`` names, in either reading order; ``ValidationError`` (``dues.plate.*``) if none."""
    runs, _country = _runs(text)
    if len(runs) != 3 or not (runs[0].isdigit() and runs[2].isdigit()):
        raise ValidationError("dues.plate.shape", example=EXAMPLE)
    left, middle, right = runs
    if len(left) == 2 and len(right) == 5:
        two, three, region = left, right[:3], right[3:]
    elif len(left) == 5 and len(right) == 2:  # read right to left: region, three digits, letter, two digits
        region, three, two = left[:2], left[2:], right
    else:
        raise ValidationError("dues.plate.shape", example=EXAMPLE)
    letter = _letter(middle)
    if any(group.startswith("0") for group in (two, three, region)):
        raise ValidationError("dues.plate.zero", example=EXAMPLE)
    return Plate(two, letter, three, region)
