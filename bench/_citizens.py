"""The other side of the wire: the emulator and the simulated citizens, in a process of their own.

In production the Bot API server is Telegram's or Bale's machine, not the bot's; a benchmark that ran the
emulator and a few hundred HTTP clients on the bot's event loop would charge their CPU to the bot under test
(it did: the first version of ``make bench`` ran everything in one process). So each phase starts this
process with ``spawn``: it runs the emulator on a free port, tells the parent the address, waits until the
parent's bot polls, then drives the citizens and sends back their latencies.

Messages on the pipe, child to parent: ``("ready", base_url)``, ``("measure", on)`` around the measured part,
``("done", latencies, wall_s, cpu_s)`` or ``("error", text)``. Parent to child: ``"go"`` once the bot is
polling, ``"stop"`` once it stopped (the emulator must outlive the bot's last ``getUpdates``).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

from bench._journey import Actor, Kind, Step, echo_journey, miz_journey
from emulator.client import EmulatorClient
from emulator.dialects import DialectName
from emulator.server import RunningEmulator, running_emulator

__all__ = ["TOKENS", "DriveSpec", "citizens_main"]

TOKENS = {
    "telegram": "1100000001:BENCH-TELEGRAM-aaaaaaaaaaaaaaaaaaaaaaaaaa",
    "bale": "2200000002:BENCH-BALE-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
}


@dataclass(frozen=True, slots=True)
class DriveSpec:
    """What the citizens' process runs (plain data: it crosses the process boundary by pickle)."""

    citizens: int
    rounds: int
    platforms: tuple[DialectName, ...]
    warmup: bool
    wait_timeout: float
    think: float
    journey: str  # "miz" or "echo"
    kinds: tuple[Kind, ...] = ()  # the echo journey's update kinds (the same updates as Miz's)
    chat_instance: bool = False  # Bale callbacks carry chat_instance (a bare aiogram needs it)

    def steps(self) -> list[Step]:
        """The journey each citizen takes."""
        return miz_journey() if self.journey == "miz" else echo_journey(list(self.kinds))


def citizens_main(conn: Connection, spec: DriveSpec) -> None:
    """The child process's entry point."""
    try:
        asyncio.run(_run(conn, spec))
    except BaseException as error:  # the parent must hear of any failure, not wait forever
        with contextlib.suppress(OSError):
            conn.send(("error", f"{type(error).__name__}: {error}"))
        raise
    finally:
        conn.close()


async def _recv(conn: Connection) -> object:
    return await asyncio.get_running_loop().run_in_executor(None, conn.recv)


@contextlib.asynccontextmanager
async def _emulator(spec: DriveSpec) -> AsyncIterator[RunningEmulator]:
    async with running_emulator() as emu:
        for platform in spec.platforms:
            options = {"chat_instance": True} if spec.chat_instance and platform == "bale" else {}
            emu.add_bot(TOKENS[platform], platform, username=f"bench_{platform}_bot", **options)
        yield emu


async def _run(conn: Connection, spec: DriveSpec) -> None:
    async with _emulator(spec) as emu:
        conn.send(("ready", emu.base_url))
        if await _recv(conn) != "go":
            return
        actors, wall, cpu = await _drive(emu, spec, lambda on: conn.send(("measure", on)))
        conn.send(("done", [a.latencies for a in actors], wall, cpu))
        await _recv(conn)  # "stop": the bot has stopped polling


async def _drive(
    emu: RunningEmulator, spec: DriveSpec, on_measure: Callable[[bool], None]
) -> tuple[list[Actor], float, float]:
    """Warm up, then run ``spec.citizens`` actors at once; answers the actors, the wall and CPU time."""
    journey = spec.steps()
    by_data = spec.journey == "echo"
    async with EmulatorClient(emu.base_url) as client:

        async def actor(index: int, think: float = spec.think) -> Actor:
            user = await client.create_user(f"شهروند {index}")
            platform = spec.platforms[index % len(spec.platforms)]
            return Actor(client, TOKENS[platform], int(user["id"]), by_data, spec.wait_timeout, think=think)

        if spec.warmup:  # the warm-up needs no pauses: it only loads the code paths
            warm = [await actor(i, think=0.0) for i in range(len(spec.platforms))]
            await asyncio.gather(*(a.run(journey) for a in warm))
        actors = [await actor(i) for i in range(spec.citizens)]

        async def one(a: Actor) -> None:
            for _ in range(spec.rounds):
                await a.run(journey)

        on_measure(True)
        started, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(one(a) for a in actors))
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        on_measure(False)
        return actors, wall, cpu
