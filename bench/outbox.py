"""``python -m bench.outbox``: how fast the outbox sender drains a backlog under Telegram's flood limits.

N text notifications (``--messages``, default 10,000) are committed to the outbox, each to a different
citizen's private chat, and one :class:`bot.outbox.OutboxSender` delivers them to the emulator speaking the
Telegram dialect with its ``rate_limits`` option on (30 messages/s per bot, 1/s per chat, 20/min per group,
answered with 429 beyond). The report gives the achieved rate against the 30/s limit, the 429s received, the
messages lost or repeated (both must be 0: checked in the database and in the emulator's chats) and the wall
time. 10,000 messages at 30/s take about six minutes; ``--messages 1000`` is a quick run.

Everything runs in this process (emulator, SQLite database, sender), like ``python -m bench``. The citizens'
chats are created directly in the emulator's state (as if each had sent /start), which is set-up, not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from bot.app import BotSpec, make_bot
from bot.outbox import OutboxSender
from bot.platforms import Platform
from bot.ratelimit import TELEGRAM
from desk.notifications import enqueue_chat, text_payload
from emulator.limits import FloodControl
from emulator.server import running_emulator
from storage.db import create_engine, session_factory
from storage.migrate import upgrade_async
from storage.repositories import Outbox
from storage.uow import unit_of_work

__all__ = ["OutboxBenchResult", "main", "run_outbox_benchmark"]

TOKEN = "1100000001:BENCH-OUTBOX-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
LIMIT_PER_SECOND = 30
_FIRST_USER_ID = 500_000_000
_ENQUEUE_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class OutboxBenchResult:
    """The figures of one run."""

    messages: int
    wall_s: float
    messages_per_s: float
    limit_per_s: int
    sender_rate_per_s: float
    received_429: int
    emulator_429: int
    retried: int
    lost: int
    duplicated: int
    enqueue_s: float


async def run_outbox_benchmark(messages: int, *, batch: int = 50) -> OutboxBenchResult:
    """Queue ``messages`` notifications to distinct chats and time the sender delivering all of them."""
    with tempfile.TemporaryDirectory(prefix="miz-bench-outbox-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'outbox.sqlite3'}"
        await upgrade_async(url)
        engine = create_engine(url)
        factory = session_factory(engine)
        async with running_emulator() as emu:
            account = emu.add_bot(TOKEN, "telegram", username="miz_bench_bot", rate_limits=True)
            chat_ids = []
            for n in range(messages):
                user = emu.state.add_user(f"شهروند {n}", user_id=_FIRST_USER_ID + n)
                emu.state.private_chat(account, user).started = True
                chat_ids.append(user.id)

            started = time.perf_counter()
            for first in range(0, messages, _ENQUEUE_CHUNK):
                async with unit_of_work(factory) as session:
                    for chat_id in chat_ids[first : first + _ENQUEUE_CHUNK]:
                        await enqueue_chat(
                            session,
                            platform="telegram",
                            chat_id=chat_id,
                            organization_id="falavarjan",
                            payload=text_payload(
                                "bot.duration.days", "fa", params={"days": 3}, dates={"date": date.today()}
                            ),
                            dedupe_key=f"bench:{chat_id}",
                        )
            enqueue_s = time.perf_counter() - started

            bot = make_bot(BotSpec(Platform.TELEGRAM, TOKEN, emu.base_url))
            sender = OutboxSender(factory, {"telegram": bot}, batch=batch)
            emulator_429 = _Count429(account.flood)
            started = time.perf_counter()
            task = asyncio.create_task(sender.run())
            try:
                await sender.drain(timeout=messages / 10 + 60)
            finally:
                await sender.stop()
                await task
            wall_s = time.perf_counter() - started
            await bot.session.close()

            async with factory() as session:
                by_status = await Outbox(session).count_by_status()
            received = [
                sum(1 for m in emu.state.private_chats[(account.id, chat_id)].messages.values() if m.outgoing)
                for chat_id in chat_ids
            ]
        await engine.dispose()

    sent_rows = by_status.get("sent", 0)
    bot_rate = TELEGRAM.bot_rate or float(LIMIT_PER_SECOND)
    return OutboxBenchResult(
        messages=messages,
        wall_s=round(wall_s, 2),
        messages_per_s=round(sent_rows / wall_s, 2),
        limit_per_s=LIMIT_PER_SECOND,
        sender_rate_per_s=bot_rate,
        received_429=sender.stats.throttled,
        emulator_429=emulator_429.count,
        retried=sender.stats.retried,
        lost=messages - sum(1 for count in received if count >= 1),
        duplicated=sum(count - 1 for count in received if count > 1),
        enqueue_s=round(enqueue_s, 2),
    )


class _Count429:
    """Counts the 429 answers of the emulator's flood control (the only 429s here: no faults are injected)."""

    def __init__(self, flood: FloodControl) -> None:
        self.count = 0
        self._admit = flood.admit
        flood.admit = self._counted  # type: ignore[method-assign]

    def _counted(self, chat_id: int, is_group: bool, now: float) -> int | None:
        wait = self._admit(chat_id, is_group, now)
        if wait is not None:
            self.count += 1
        return wait


def _format(result: OutboxBenchResult) -> str:
    share = 100 * result.messages_per_s / result.limit_per_s
    return "\n".join(
        [
            f"Outbox benchmark: {result.messages} text messages to distinct private chats, Telegram dialect, "
            "emulator rate limits on, SQLite, one process",
            f"  wall time           {result.wall_s:10.2f} s   (queueing them took {result.enqueue_s:.2f} s)",
            f"  delivered           {result.messages_per_s:10.2f} msg/s  = {share:.1f}% of the {result.limit_per_s}/s "
            f"limit (the sender paces at {result.sender_rate_per_s:g}/s)",
            f"  429s received       {result.received_429:10d}   (emulator answered {result.emulator_429})",
            f"  retried (5xx, net)  {result.retried:10d}",
            f"  lost                {result.lost:10d}",
            f"  duplicated          {result.duplicated:10d}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures (``--json`` for machine-readable output); 1 if any was lost."""
    parser = argparse.ArgumentParser(prog="python -m bench.outbox", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000, help="notifications to queue (default 10000)")
    parser.add_argument("--batch", type=int, default=50, help="rows the sender claims at a time (default 50)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(run_outbox_benchmark(args.messages, batch=args.batch))
    print(json.dumps(asdict(result), indent=2) if args.json else _format(result), flush=True)
    return 0 if result.lost == 0 and result.duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
