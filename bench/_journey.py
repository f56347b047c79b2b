"""The citizen's journey, as actions a person takes, and the actor that times each one.

A :class:`Step` is one action (a text, a button press, a location) and what ends it (the bot's last message
for that action). :class:`Actor` sends the action through the emulator's control API and waits on the chat's
``/changes`` long poll, as ``emulator.client.Person.expect`` does; the latency of the action is the time from
just before the control call to the arrival of the first bot message or edit after it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from emulator.client import EmulatorClient

__all__ = [
    "ECHO_DATA",
    "MIZ_DISTRICT",
    "MIZ_ORG",
    "Actor",
    "Kind",
    "Step",
    "echo_journey",
    "miz_journey",
]

Message = dict[str, Any]
Matcher = str | Callable[[Message], bool]
Choose = str | Callable[[Message | None], str]

MIZ_ORG = "دهیاری اشترجان"
"""The organization every simulated citizen files with (a dehyari, possibly on a later page)."""

MIZ_DISTRICT = "central"
"""Its district: the picker lists the county's dehyaris behind one 🏡 button per district."""

VILLAGES = "🏡"
"""How a district's button of dehyaris starts."""

ECHO_DATA = "echo"
"""The callback data of the echo bot's single inline button."""


class Kind(StrEnum):
    """How an action reaches the bot: each kind is one update of the same Bot API type for Miz and echo."""

    TEXT = "text"  # a typed message
    REPLY = "reply"  # a reply-keyboard button: a text message
    BUTTON = "button"  # an inline button: a callback query
    LOCATION = "location"  # the reply keyboard's location button: a location message


@dataclass(frozen=True, slots=True)
class Step:
    """One action and the bot messages that end it (all of ``until`` must be seen; empty: any one)."""

    kind: Kind
    value: Choose
    until: tuple[Matcher, ...] = ()
    repeat_while: Callable[[Message | None], bool] | None = None


def _text(message: Message) -> str:
    return str(message.get("text") or message.get("caption") or "")


def _labels(message: Message | None) -> list[str]:
    return [b["text"] for row in (message or {}).get("buttons", []) for b in row]


def _is_code(message: Message) -> bool:
    return _text(message).strip().isdigit()


def _next_page(message: Message | None) -> str:
    return next(label for label in _labels(message) if label.startswith("بعدی"))


def _villages(message: Message | None) -> str:
    return next(label for label in _labels(message) if label.startswith(VILLAGES) and "مرکزی" in label)


def _lighting(message: Message | None) -> str:
    return next(label for label in _labels(message) if "روشنایی" in label)


def miz_journey() -> list[Step]:
    """A dehyari problem report from /start to the tracking code (as tests/e2e/test_request.py files it)."""
    orgs = "شهر یا روستای خود"
    return [
        Step(Kind.TEXT, "/start", ("میز خدمت",)),
        Step(Kind.REPLY, "🗂 خدمات و ثبت درخواست", (orgs,)),
        Step(
            Kind.BUTTON,
            _next_page,
            (orgs,),
            repeat_while=lambda m: not any(label.startswith(VILLAGES) for label in _labels(m)),
        ),
        Step(Kind.BUTTON, _villages, (orgs,)),
        Step(Kind.BUTTON, _next_page, (orgs,), repeat_while=lambda m: MIZ_ORG not in _labels(m)),
        Step(Kind.BUTTON, MIZ_ORG, ("گروه خدمت",)),
        Step(Kind.TEXT, "گزارش", ("پیدا شد",)),
        Step(Kind.BUTTON, "گزارش مشکلات شهری و روستایی", ("مدارک لازم",)),
        Step(Kind.BUTTON, "📝 ثبت درخواست", ("یکی از گزینه‌ها",)),
        Step(Kind.BUTTON, _lighting, ("پرسش ۲ از ۴",)),
        Step(Kind.TEXT, "چراغ کوچه خاموش است", ("پرسش ۳ از ۴",)),
        Step(Kind.LOCATION, "📍 ارسال موقعیت", ("یکی از گزینه‌ها",)),
        Step(Kind.BUTTON, "بله", ("مدرک ۱ از ۱",)),
        Step(Kind.REPLY, "⏭ رد کردن", ("بازبینی درخواست",)),
        Step(Kind.BUTTON, "✅ ثبت نهایی", ("کد رهگیری", _is_code)),
    ]


def echo_journey(kinds: list[Kind]) -> list[Step]:
    """The same updates, one per kind in ``kinds``, for the echo bot (each answered by one message)."""
    values = {Kind.TEXT: "سلام", Kind.REPLY: "🗂", Kind.BUTTON: ECHO_DATA, Kind.LOCATION: ""}
    return [Step(kind, values[kind]) for kind in kinds]


def expand_kinds(steps: list[Step], repeats: Sequence[int]) -> list[Kind]:
    """The kinds of the actions of ``steps`` when the n-th ``repeat_while`` step runs ``repeats[n]`` times."""
    counts = iter(repeats)
    return [s.kind for s in steps for _ in range(next(counts) if s.repeat_while else 1)]


@dataclass
class Actor:
    """One simulated person in a private chat; times every action into ``latencies`` (seconds)."""

    client: EmulatorClient
    bot_token: str
    user_id: int
    callback_data: bool = False  # press inline buttons by callback data (the echo bot) instead of label
    wait_timeout: float = 30.0
    latencies: list[float] = field(default_factory=list)
    think: float = 0.0
    """Mean pause between actions, drawn uniformly in [0.5, 1.5] x ``think``: a person reads before acting."""
    last: Message | None = None

    @property
    def _path(self) -> str:
        return f"/sim/bots/{self.bot_token}/chats/{self.user_id}"

    async def run(self, steps: list[Step]) -> None:
        """Take every step in order (a ``repeat_while`` step as long as its condition holds).

        With think time, citizens also arrive spread over one think time instead of all at the same instant.
        """
        if self.think > 0:
            await asyncio.sleep(random.uniform(0, self.think))
        for step in steps:
            if step.repeat_while is None:
                await self.take(step)
                await self._pause()
                continue
            while step.repeat_while(self.last):
                await self.take(step)
                await self._pause()

    async def _pause(self) -> None:
        if self.think > 0:
            await asyncio.sleep(random.uniform(0.5, 1.5) * self.think)

    async def take(self, step: Step) -> None:
        """Act, then wait for the bot's answer; the first bot message or edit stops the clock."""
        value = step.value if isinstance(step.value, str) else step.value(self.last)
        body: dict[str, Any] = {"user_id": self.user_id}
        path = "/messages"
        if step.kind is Kind.LOCATION and self.callback_data:
            body["location"] = {"latitude": 32.55, "longitude": 51.51}
        elif step.kind in (Kind.BUTTON, Kind.LOCATION):
            path = "/press"
            body["callback_data" if self.callback_data else "text"] = value
        else:
            body["text"] = value
        started = time.perf_counter()
        result = await self.client.request("POST", self._path + path, json=body)
        await self._wait(int(result["version"]), started, step.until)

    async def _wait(self, since: int, started: float, until: tuple[Matcher, ...]) -> None:
        pending = list(until)
        first: float | None = None
        deadline = time.monotonic() + self.wait_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"user {self.user_id}: no answer matching {pending!r} in {self.wait_timeout}s"
                )
            result = await self.client.request(
                "GET", self._path + "/changes", params={"since": since, "timeout": f"{remaining:.3f}"}
            )
            arrived = time.perf_counter()
            for message in result["messages"]:
                if not message.get("outgoing") or message.get("deleted"):
                    continue
                if first is None:
                    first = arrived
                    self.latencies.append(first - started)
                pending = [m for m in pending if not _matches(m, message)]
                if not pending:
                    self.last = message
                    return
            since = int(result["version"])


def _matches(matcher: Matcher, message: Message) -> bool:
    return matcher(message) if callable(matcher) else matcher in _text(message)
