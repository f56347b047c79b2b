"""What a log line is about, and the JSON lines of ``MIZ_LOG_FORMAT=json``.

The handling of an update, and the delivery of an outbox row, each run in their own asyncio task, so context
variables carry what is known of the event to every line logged on its way: the update id and platform (set by
``bot.dispatcher.MizDispatcher.feed_update``), the organization and request (set by the outbox senders for the row
they deliver, and by the form when a request is filed). :class:`JsonFormatter` writes one JSON object per line with
those fields, after ``desk.privacy.RedactingFilter`` has masked national IDs, phone numbers and bot tokens in the
message and the traceback; the fields themselves are ids, never a person's data.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["FIELDS", "JsonFormatter", "bind", "log_context"]

FIELDS = ("update_id", "platform", "organization", "request_id")
"""The context a line carries where it is known."""

_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar("miz_log_context", default=None)


def bind(**fields: Any) -> None:
    """Add ``fields`` to the context of the current task from here on (None values are left out)."""
    current = dict(_CONTEXT.get() or {})
    current.update({key: value for key, value in fields.items() if value is not None})
    _CONTEXT.set(current)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """``fields`` added to the context within the block only."""
    token = _CONTEXT.set({**(_CONTEXT.get() or {}), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC), level, logger, message, the context fields known, and the
    traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in (_CONTEXT.get() or {}).items():
            if key in FIELDS:
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)
