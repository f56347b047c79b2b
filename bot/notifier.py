"""The one thing handlers need of the outbox sender: a nudge after they commit."""

from __future__ import annotations

from typing import Protocol

__all__ = ["Notifier"]


class Notifier(Protocol):
    """Wakes the outbox sender (``bot.outbox.OutboxSender``) so committed notifications leave at once."""

    def notify(self) -> None: ...
