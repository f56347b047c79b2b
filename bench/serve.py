"""``python -m bench.serve``: ``miz serve`` with 1 and with 3 workers behind the emulator's webhooks, many citizens at
once: throughput, and how many replies were lost or came twice.

Each run gets a fresh PostgreSQL database (created on the server of ``--postgres``, migrated, dropped afterwards)
and an emptied Redis database (``--redis``: **the bench empties it**, give it one of its own; ``--without-redis``
runs one worker without it). The emulator runs in this process with both bots; their webhooks are delivered on
``--connections`` connections at once (as Telegram does, up to a webhook's ``max_connections``), and the workers
are ``miz serve`` processes sharing one port (``MIZ_SERVE_REUSE_PORT``: the kernel spreads the connections among
them, as a reverse proxy would). Every citizen sends ``--messages`` commands (``/help``), one after the other,
each once the previous one was answered; the citizens alternate between Telegram and Bale. After the run every
chat's transcript is read: a command with no answer is lost, an answer beyond what one command gets (measured
first, by a warm-up citizen) is a duplicate.

On a 2-core machine the workers, PostgreSQL, Redis, the emulator and the citizens share the same two cores, so more
workers cannot go faster there; the core count is printed with the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from emulator.client import Citizen, EmulatorClient
from emulator.dialects import DialectName
from emulator.server import RunningEmulator, running_emulator
from storage.migrate import upgrade_async

__all__ = ["ServeBenchResult", "main", "run_serve_benchmark"]

ROOT = Path(__file__).resolve().parent.parent
TOKENS = {
    "telegram": "1100000001:BENCH-TELEGRAM-aaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bale": "2200000002:BENCH-BALE-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
}
COMMAND = "/help"


@dataclass(frozen=True, slots=True)
class ServeBenchResult:
    """The figures of one run."""

    workers: int
    citizens: int
    commands: int
    wall_s: float
    commands_per_s: float
    lost: int
    duplicated: int
    cores: int


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def _fresh_database(postgres: str) -> AsyncIterator[str]:
    url = make_url(postgres)
    name = f"miz_bench_serve_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        database = url.set(database=name).render_as_string(hide_password=False)
        await upgrade_async(database)
        yield database
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _start_workers(
    count: int, emu: RunningEmulator, database: str, redis: str | None, port: int, data: Path
) -> list[asyncio.subprocess.Process]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("MIZ_")}
    env.update(
        PYTHONPATH=str(ROOT),
        MIZ_TELEGRAM_TOKEN=TOKENS["telegram"],
        MIZ_TELEGRAM_API_BASE=emu.base_url,
        MIZ_BALE_TOKEN=TOKENS["bale"],
        MIZ_BALE_API_BASE=emu.base_url,
        MIZ_DATABASE_URL=database,
        MIZ_FILES_DIR=str(data / "files"),
        MIZ_WEBHOOK_URL=f"http://127.0.0.1:{port}",
        MIZ_SERVE_PORT=str(port),
        MIZ_SERVE_REUSE_PORT="true",
        MIZ_FLOOD_BURST="10000",
        MIZ_WEEKLY_REPORTS="false",
    )
    if redis is not None:
        env["MIZ_REDIS_URL"] = redis
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            cwd=data,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


async def _stop_workers(workers: Sequence[asyncio.subprocess.Process]) -> None:
    for worker in workers:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            await asyncio.wait_for(worker.wait(), timeout=60)
        except TimeoutError:
            worker.kill()
            await worker.wait()


async def _until_served(emu: RunningEmulator, port: int, workers: int, timeout: float) -> None:  # noqa: ASYNC109
    """Wait until both webhooks are set and ``workers`` different processes have answered ``/healthz``... as far
    as the kernel lets us tell: until both webhooks point here and a health check passes."""
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            hooks = [emu.state.bots[token].webhook for token in TOKENS.values()]
            if all(hook is not None for hook in hooks):
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"http://127.0.0.1:{port}/readyz") as ready:
                        if ready.status == 200:
                            return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"the {workers} workers did not set their webhooks within {timeout:.0f} s")


async def _drive(
    client: EmulatorClient,
    citizens: int,
    messages: int,
    timeout: float,  # noqa: ASYNC109 (a citizen's longest wait for an answer)
) -> tuple[list[Citizen], float]:
    people = [
        await client.citizen(TOKENS["telegram" if index % 2 == 0 else "bale"], name=f"شهروند {index}")
        for index in range(citizens)
    ]

    async def one(person: Citizen) -> None:
        for _ in range(messages):
            await person.send(COMMAND)
            with contextlib.suppress(AssertionError):  # unanswered: counted as lost from the transcript
                await person.expect(timeout=timeout)

    started = time.perf_counter()
    await asyncio.gather(*(one(person) for person in people))
    return people, time.perf_counter() - started


async def _answers(person: Citizen) -> int:
    return sum(1 for message in await person.transcript() if message.get("outgoing"))


async def _answers_per_command(client: EmulatorClient, settle: float) -> int:
    """How many messages one command is answered with (sent by a warm-up citizen on each platform, before the
    measured run: it also loads every worker's code paths)."""
    counts = set()
    for token in TOKENS.values():
        person = await client.citizen(token, name="گرم‌کن")
        await person.send(COMMAND)
        await person.expect(timeout=60)
        await asyncio.sleep(settle)
        counts.add(await _answers(person))
    if len(counts) != 1:
        raise RuntimeError(f"the platforms answer {COMMAND} with different numbers of messages: {counts}")
    return counts.pop()


async def _count(people: Sequence[Citizen], expected: int, settle: float) -> tuple[int, int]:
    """Lost and duplicated answers against ``expected`` per chat, from every chat's transcript (after ``settle``
    seconds for late ones)."""
    await asyncio.sleep(settle)
    lost = duplicated = 0
    for person in people:
        answers = await _answers(person)
        lost += max(0, expected - answers)
        duplicated += max(0, answers - expected)
    return lost, duplicated


async def run_one(
    workers: int,
    *,
    citizens: int,
    messages: int,
    postgres: str,
    redis: str | None,
    connections: int = 8,
    timeout: float = 60.0,  # noqa: ASYNC109 (a citizen's longest wait for an answer)
    settle: float = 1.0,
) -> ServeBenchResult:
    """One run with ``workers`` ``miz serve`` processes (one only when ``redis`` is None: without Redis)."""
    if redis is not None:
        client = Redis.from_url(redis)
        try:
            await client.flushdb()
        finally:
            await client.aclose()
    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="miz-bench-serve-") as folder:
        async with _fresh_database(postgres) as database, running_emulator() as emu:
            dialects: tuple[DialectName, ...] = ("telegram", "bale")
            for platform in dialects:
                emu.add_bot(
                    TOKENS[platform],
                    platform,
                    username=f"bench_{platform}_bot",
                    webhook_connections=connections,
                )
            processes = await _start_workers(workers, emu, database, redis, port, Path(folder))
            try:
                await _until_served(emu, port, workers, timeout=180)
                await asyncio.sleep(1.0)  # the other workers finish starting (their webhooks are set already)
                async with EmulatorClient(emu.base_url) as emulator:
                    per_command = await _answers_per_command(emulator, settle)
                    people, wall = await _drive(emulator, citizens, messages, timeout)
                    lost, duplicated = await _count(people, messages * per_command, settle)
            finally:
                await _stop_workers(processes)
    commands = citizens * messages
    return ServeBenchResult(
        workers=workers,
        citizens=citizens,
        commands=commands,
        wall_s=round(wall, 2),
        commands_per_s=round(commands / wall, 1),
        lost=lost,
        duplicated=duplicated,
        cores=os.cpu_count() or 1,
    )


async def run_serve_benchmark(
    worker_counts: Sequence[int],
    *,
    citizens: int,
    messages: int,
    postgres: str,
    redis: str | None,
    connections: int = 8,
) -> list[ServeBenchResult]:
    """One run per worker count, one after the other."""
    return [
        await run_one(
            count,
            citizens=citizens,
            messages=messages,
            postgres=postgres,
            redis=redis,
            connections=connections,
        )
        for count in worker_counts
    ]


def _report(results: Sequence[ServeBenchResult]) -> str:
    lines = [f"miz serve behind the emulator's webhooks, on {results[0].cores} cores (os.cpu_count)"]
    for result in results:
        lines.append(
            f"  {result.workers} worker(s): {result.citizens} citizens x {result.commands // result.citizens} "
            f"commands in {result.wall_s:.1f} s = {result.commands_per_s:.1f} answered commands/s; "
            f"lost {result.lost}, duplicated {result.duplicated}"
        )
    if len(results) > 1 and results[0].commands_per_s:
        lines.append(f"  speed-up {results[-1].commands_per_s / results[0].commands_per_s:.2f}x")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", type=int, action="append", help="worker counts to run (default: 1 and 3)"
    )
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--messages", type=int, default=3, help="commands each citizen sends")
    parser.add_argument("--connections", type=int, default=8, help="webhook deliveries at once per bot")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MIZ_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"),
        help="a PostgreSQL server where a database may be created (default: MIZ_TEST_POSTGRES_URL)",
    )
    parser.add_argument(
        "--redis",
        default="redis://127.0.0.1:6379/14",
        help="a Redis database the bench may EMPTY (default: db 14)",
    )
    parser.add_argument(
        "--without-redis",
        action="store_true",
        help="one worker without MIZ_REDIS_URL (its updates in flight kept in the database)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.without_redis and (args.workers or [1]) != [1]:
        parser.error("--without-redis runs one worker: several need Redis")
    results = asyncio.run(
        run_serve_benchmark(
            [1] if args.without_redis else args.workers or [1, 3],
            citizens=args.citizens,
            messages=args.messages,
            postgres=args.postgres,
            redis=None if args.without_redis else args.redis,
            connections=args.connections,
        )
    )
    print(json.dumps([asdict(r) for r in results], indent=2) if args.json else _report(results))
    return 0 if all(r.lost == 0 and r.duplicated == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
