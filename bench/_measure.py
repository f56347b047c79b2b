"""Figures: latency percentiles, the process's peak resident memory, and counters of Bot API and SQL calls."""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["ApiCounter", "PeakRss", "SqlCounter", "percentile", "rss_mb"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values`` by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _status_kb(field: str) -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    match = re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def rss_mb() -> float:
    """The resident set size of this process now, in MB (0.0 where ``/proc`` is missing)."""
    return (_status_kb("VmRSS") or 0) / 1024


class PeakRss:
    """The peak RSS of this process over a phase.

    On Linux the kernel's high-water mark (``VmHWM``) is reset at the start (``/proc/self/clear_refs``), so
    the figure is the true peak of this phase alone; elsewhere a sampler every 20 ms gives a close lower
    bound, and ``ru_maxrss`` (peak since the process began) is the last resort.
    """

    def __init__(self) -> None:
        self._reset = False
        self._sampled = 0.0
        self._task: asyncio.Task[None] | None = None

    @staticmethod
    def _reset_high_water_mark() -> bool:
        try:
            _CLEAR_REFS.write_text("5")  # a write to /proc: instant, never blocks
        except OSError:
            return False
        return True

    async def __aenter__(self) -> PeakRss:
        self._reset = self._reset_high_water_mark()
        self._sampled = rss_mb()
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sampled = max(self._sampled, rss_mb())

    async def _sample(self) -> None:
        while True:
            self._sampled = max(self._sampled, rss_mb())
            await asyncio.sleep(0.02)

    @property
    def mb(self) -> float:
        """The peak in MB (read after the block)."""
        hwm = _status_kb("VmHWM")
        if self._reset and hwm is not None:
            return max(hwm / 1024, self._sampled)
        if self._sampled:
            return self._sampled
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


MakeRequest = Callable[[Bot, TelegramMethod[Any]], Awaitable[Any]]


class ApiCounter:
    """Counts the Bot API calls the bots make, by method (an aiogram request middleware)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.enabled = True

    async def __call__(self, make_request: MakeRequest, bot: Bot, method: TelegramMethod[Any]) -> Any:
        if self.enabled:
            self.calls[type(method).__name__] += 1
        return await make_request(bot, method)

    def attach(self, bots: Sequence[Bot]) -> None:
        """Count the calls of every bot in ``bots``."""
        for bot in bots:
            bot.session.middleware(self)


class SqlCounter:
    """Counts SQL statements by their first word (SELECT, INSERT, BEGIN...), commits and rollbacks on an engine.

    ``seconds`` adds up, per first word, the time from handing a statement to the driver to its result: on
    aiosqlite that is the wait for the connection's thread, SQLite's busy wait for the write lock (a
    ``BEGIN IMMEDIATE`` waits there) and the execution itself.
    """

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()
        self.enabled = True

    def attach(self, engine: AsyncEngine) -> None:
        """Listen to ``engine``'s cursor executions and commits."""
        event.listen(engine.sync_engine, "before_cursor_execute", self._on_execute)
        event.listen(engine.sync_engine, "after_cursor_execute", self._on_executed)
        event.listen(engine.sync_engine, "commit", self._on_commit)
        event.listen(engine.sync_engine, "rollback", self._on_rollback)

    def _on_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self.enabled:
            word = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
            self.statements[word] += 1
            conn.info["bench_started"] = (word, time.perf_counter())

    def _on_executed(self, conn: Any, *_args: Any) -> None:
        started = conn.info.pop("bench_started", None)
        if self.enabled and started is not None:
            self.seconds[started[0]] += time.perf_counter() - started[1]

    def _on_commit(self, _conn: Any) -> None:
        if self.enabled:
            self.statements["COMMIT"] += 1

    def _on_rollback(self, _conn: Any) -> None:
        if self.enabled:
            self.statements["ROLLBACK"] += 1
