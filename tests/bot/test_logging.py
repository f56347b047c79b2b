"""What `miz run` logs: national IDs and phones masked, and not a line per update (a flood would fill the log)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.app import setup_logging


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    event_level = logging.getLogger("aiogram.event").level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiogram.event").setLevel(event_level)


@pytest.mark.usefixtures("restored_logging")
def test_handled_updates_are_not_logged_one_line_each_but_problems_are() -> None:
    logging.getLogger().handlers.clear()
    setup_logging()
    events = logging.getLogger("aiogram.event")
    assert not events.isEnabledFor(logging.INFO), "aiogram's 'Update id=N is handled' line, once per update"
    assert events.isEnabledFor(logging.WARNING)
    assert logging.getLogger("bot.middlewares").isEnabledFor(logging.INFO)
