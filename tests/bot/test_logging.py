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


@pytest.mark.usefixtures("restored_logging")
def test_json_lines_carry_the_update_and_request_and_never_an_identifier_or_token_whole(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json

    from bot.log_context import bind, log_context

    logging.getLogger().handlers.clear()
    setup_logging(json_lines=True)
    log = logging.getLogger("bot.test")
    token = "1100000001:E2E-TELEGRAM-aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    with log_context(update_id=41, platform="bale"):
        bind(organization="falavarjan", request_id=7)
        log.warning("citizen %s wrote from %s", "0499370899", "09123456789")
        try:
            raise ConnectionError(f"Cannot connect to https://tapi.bale.ai/bot{token}/sendMessage")
        except ConnectionError:
            log.exception("send failed")
    log.info("outside any update")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 3, "one JSON object per line"
    first, failed, outside = lines
    assert first["level"] == "WARNING"
    assert first["logger"] == "bot.test"
    assert first["update_id"] == 41
    assert first["platform"] == "bale"
    assert first["organization"] == "falavarjan"
    assert first["request_id"] == 7
    assert first["message"] == "citizen 049****899 wrote from 0912***6789"
    assert "E2E-TELEGRAM" not in failed["exception"], "the token's secret is never logged"
    assert "E2E-TELEGRAM" not in json.dumps(failed)
    assert "ConnectionError" in failed["exception"]
    assert "update_id" not in outside
    assert "request_id" not in outside
