"""Domain errors carry a locale key and render as a message in the citizen's language."""

from __future__ import annotations

from datetime import date

import pytest

from desk.errors import MizError, NotFound, Throttled, TransitionError, ValidationError
from desk.lifecycle import Status


@pytest.mark.parametrize("cls", [ValidationError, TransitionError, NotFound, Throttled])
def test_one_handler_catches_every_domain_error(cls: type[MizError]) -> None:
    with pytest.raises(MizError) as info:
        raise cls("desk.throttled")
    assert info.value.key == "desk.throttled"


def test_renders_in_persian_by_default_and_in_english() -> None:
    error = NotFound("desk.request.not_found")
    assert error.render().startswith("درخواستی با این کد رهگیری پیدا نشد")
    assert error.render("en").startswith("No request has this tracking code")


def test_unknown_language_reads_as_persian() -> None:
    assert NotFound("desk.request.not_found").render("de") == NotFound("desk.request.not_found").render("fa")


def test_integer_params_use_the_language_digits() -> None:
    error = ValidationError("desk.text.too_long", limit=2000, length=2150)
    assert "۲٬۱۵۰" in error.render("fa")
    assert "2,000" in error.render("en")


def test_date_params_are_jalali_dates_in_the_language_digits() -> None:
    error = ValidationError("desk.date.after_today", today=date(2026, 11, 27))
    assert "۶ آذر ۱۴۰۵" in error.render("fa")
    assert "6 Azar 1405" in error.render("en")


def test_labelled_params_are_translated_never_raw() -> None:
    error = TransitionError("desk.transition.unchanged", status=Status.NEEDS_INFO)
    assert "needs_info" not in error.render("fa")
    assert "نیازمند اطلاعات بیشتر" in error.render("fa")


def test_repr_and_str_name_the_key_for_logs() -> None:
    error = ValidationError("desk.mobile.format")
    assert str(error) == "desk.mobile.format"
    assert repr(error) == "ValidationError('desk.mobile.format', **{})"
