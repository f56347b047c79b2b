"""Telegram's flood control for sending methods: per chat, per group and per bot.

Telegram documents "about one message per second" in a chat (short bursts pass), "no more than 20
messages per minute" in a group and "about 30 messages per second" overall; past them it answers 429
with ``retry_after``. A token bucket per chat models the burst; sliding windows model the other two.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["CHAT_BURST", "CHAT_RATE", "GROUP_PER_MINUTE", "PER_SECOND", "FloodControl"]

CHAT_RATE = 1.0  # messages per second in one chat
CHAT_BURST = 3  # messages a chat may take at once
GROUP_PER_MINUTE = 20
PER_SECOND = 30


@dataclass
class FloodControl:
    """The sending history of one bot; :meth:`admit` says whether one more message may go out now."""

    chats: dict[int, tuple[float, float]] = field(default_factory=dict)  # chat id -> (tokens, at)
    groups: dict[int, deque[float]] = field(default_factory=dict)
    overall: deque[float] = field(default_factory=deque)

    def admit(self, chat_id: int, is_group: bool, now: float) -> int | None:
        """Record a message to ``chat_id`` and return None, or return the seconds to wait (nothing recorded)."""
        waits: list[float] = []
        tokens, at = self.chats.get(chat_id, (float(CHAT_BURST), now))
        tokens = min(float(CHAT_BURST), tokens + (now - at) * CHAT_RATE)
        if tokens < 1:
            waits.append((1 - tokens) / CHAT_RATE)
        window = self.groups.setdefault(chat_id, deque()) if is_group else None
        if window is not None:
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= GROUP_PER_MINUTE:
                waits.append(window[0] + 60 - now)
        while self.overall and self.overall[0] <= now - 1:
            self.overall.popleft()
        if len(self.overall) >= PER_SECOND:
            waits.append(self.overall[0] + 1 - now)
        if waits:
            return max(1, math.ceil(max(waits)))
        self.chats[chat_id] = (tokens - 1, now)
        if window is not None:
            window.append(now)
        self.overall.append(now)
        return None
