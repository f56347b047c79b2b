"""Keeping citizens' identifiers out of sight: masks for screens and a logging filter for logs.

A clerk's card and every log line show '049****899' and '0912***6789', never a whole national ID or
mobile number. ``RedactingFilter`` masks any national-ID-shaped run of 10 digits and any Iranian
mobile number (in ASCII, Persian or Arabic-Indic digits), and the secret of any bot token, in a record's message
and arguments.
A number typed with spaces inside ('0912 345 6789') is not recognized: log normalized values.
Attach it to the *handlers* (``handler.addFilter``): a filter on a logger does not see records
propagated from child loggers.
"""

from __future__ import annotations

import logging
import re
from typing import Final

from desk.persian import normalize, normalize_identifier

__all__ = ["RedactingFilter", "mask_mobile", "mask_name", "mask_national_id", "redact"]

_DIGITS: Final = "0-9\u06f0-\u06f9\u0660-\u0669"
# A whole run of digits (ASCII, Persian or Arabic-Indic) with an optional '+': never a slice of a
# longer number, so a 12-digit tracking code or a card number is left alone.
_DIGIT_RUN: Final = re.compile(rf"(?<![{_DIGITS}+])\+?[{_DIGITS}]+(?![{_DIGITS}])")
_MOBILE: Final = re.compile(r"(?:\+98|0098|98|0)?9\d{9}", re.ASCII)
_NATIONAL_ID_LENGTH: Final = 10
# A bot token (``<bot id>:<secret>``, as in a Bot API URL an HTTP error may print): the secret is hidden.
_BOT_TOKEN: Final = re.compile(r"(?<![0-9])([0-9]{5,15}):[A-Za-z0-9_-]{20,}")


def _mask_middle(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_national_id(value: str) -> str:
    """A national ID with its middle hidden: '0499370899' -> '049****899' (keeps 3 digits each side)."""
    return _mask_middle(normalize_identifier(value), 3, 3)


def mask_mobile(value: str) -> str:
    """A mobile number with its middle hidden: '09123456789' -> '0912***6789' (prefixes normalized to '0')."""
    digits = normalize_identifier(value)
    for prefix in ("+98", "0098", "98"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = "0" + digits[len(prefix) :]
    if len(digits) == 10 and digits.startswith("9"):
        digits = "0" + digits
    return _mask_middle(digits, 4, 4)


def mask_name(value: str) -> str:
    """A person's name with all but the first letter of each word hidden: 'زهرا احمدی' -> 'ز*** ا****'.

    Enough for someone holding the paper to see that the names agree, not enough to learn a stranger's name.
    """
    return " ".join(word[0] + "*" * (len(word) - 1) for word in normalize(value).split())


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    ascii_run = normalize_identifier(run)
    if _MOBILE.fullmatch(ascii_run):
        # Keep the prefix as written, the operator digits (912) and the last four, as mask_mobile does.
        prefix, number = run[:-10], run[-10:]
        return prefix + number[:3] + "***" + number[-4:]
    if len(ascii_run.lstrip("+")) == _NATIONAL_ID_LENGTH:
        sign = run[: len(run) - _NATIONAL_ID_LENGTH]
        return sign + _mask_middle(run[len(sign) :], 3, 3)
    return run


def redact(text: str) -> str:
    """``text`` with every Iranian mobile number and every 10-digit national-ID-shaped run of digits masked, and
    every bot token's secret hidden."""
    return _DIGIT_RUN.sub(_mask_run, _BOT_TOKEN.sub(r"\1:***", text))


class RedactingFilter(logging.Filter):
    """A logging filter that masks national IDs and mobile numbers in each record; it never drops records.

    The message is formatted with its arguments first and the result redacted, so an identifier
    passed as ``%s`` argument (of any type) is masked as well; the exception text is redacted too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A broken format string: redact the pieces and let logging report the mistake.
            record.msg = redact(str(record.msg))
            if isinstance(record.args, tuple):
                record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
