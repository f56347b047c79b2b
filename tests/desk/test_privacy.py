"""Masks and log redaction: a national ID or a mobile number never appears whole in a log line."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desk.persian import to_persian_digits
from desk.privacy import RedactingFilter, mask_mobile, mask_national_id, redact


class TestMasks:
    def test_national_id(self) -> None:
        assert mask_national_id("0499370899") == "049****899"
        assert mask_national_id("۰۴۹۹۳۷۰۸۹۹") == "049****899"

    @pytest.mark.parametrize(
        "raw", ["09123456789", "+989123456789", "00989123456789", "9123456789", "۰۹۱۲-۳۴۵-۶۷۸۹"]
    )
    def test_mobile(self, raw: str) -> None:
        assert mask_mobile(raw) == "0912***6789"

    def test_short_values_are_hidden_entirely(self) -> None:
        assert mask_national_id("123") == "***"
        assert mask_mobile("0912") == "****"


class TestRedact:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("citizen 0499370899 filed", "citizen 049****899 filed"),
            ("sms to 09123456789", "sms to 0912***6789"),
            ("sms to +989123456789.", "sms to +98912***6789."),
            ("id=۰۴۹۹۳۷۰۸۹۹", "id=۰۴۹****۸۹۹"),
            ("mobile:۰۹۱۲۳۴۵۶۷۸۹", "mobile:۰۹۱۲***۶۷۸۹"),
            ("a 0499370899, b 1583250689", "a 049****899, b 158****689"),
        ],
    )
    def test_masks_identifiers(self, text: str, expected: str) -> None:
        assert redact(text) == expected

    @pytest.mark.parametrize(
        "text",
        [
            "tracking 468474121689",  # 12 digits
            "office 03137422020",  # an 11-digit landline
            "amount 1250000 rials",
            "card 6037991234567890",
            "request 42 took 3 days",
        ],
    )
    def test_leaves_other_numbers_alone(self, text: str) -> None:
        assert redact(text) == text

    @given(
        st.text(alphabet="0123456789", min_size=10, max_size=10), st.text(max_size=20), st.text(max_size=20)
    )
    def test_no_ten_digit_run_survives(self, digits: str, before: str, after: str) -> None:
        out = redact(f"{before} {digits} {after}")
        assert digits not in out
        assert to_persian_digits(digits) not in redact(f"{before} {to_persian_digits(digits)} {after}")

    @given(
        st.text(alphabet="0123456789", min_size=9, max_size=9),
        st.sampled_from(["0", "98", "+98", "0098", ""]),
    )
    def test_no_mobile_survives(self, rest: str, prefix: str) -> None:
        assert "9" + rest not in redact(f"tel {prefix}9{rest}")


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.desk.privacy")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


class TestFilter:
    def test_message_and_args_are_masked(self, logged: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = logged
        logger.info("citizen %s with mobile %s", "0499370899", 9123456789)
        logger.info("plain 09123456789")
        out = stream.getvalue()
        assert "0499370899" not in out
        assert "09123456789" not in out
        assert "9123456789" not in out
        assert "049****899" in out
        assert "912***6789" in out

    def test_mapping_args(self, logged: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = logged
        logger.info("nid=%(nid)s", {"nid": "0790419904"})
        assert "079****904" in stream.getvalue()

    def test_exception_text_is_masked(self, logged: tuple[logging.Logger, io.StringIO]) -> None:
        logger, stream = logged
        try:
            raise RuntimeError("lookup failed for 0684159414")
        except RuntimeError:
            logger.exception("oops")
        out = stream.getvalue()
        assert "0684159414" not in out
        assert "068****414" in out

    def test_never_drops_a_record(self) -> None:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "broken %s %s", ("0499370899",), None)
        assert RedactingFilter().filter(record) is True
        assert "0499370899" not in str(record.args)
