"""The one thing handlers need of the outbox sender: a nudge after they commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["Notifier", "NotifyAll"]


class Notifier(Protocol):
    """Wakes the outbox sender (``bot.outbox.OutboxSender``) so committed notifications leave at once."""

    def notify(self) -> None: ...


class NotifyAll:
    """One nudge for several senders (the chat outbox and the SMS sender share the outbox table)."""

    def __init__(self, targets: Sequence[Notifier]) -> None:
        self._targets = tuple(targets)

    def notify(self) -> None:
        for target in self._targets:
            target.notify()
