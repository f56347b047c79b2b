"""The SMS sender: delivers the SMS rows of the outbox through the configured gateway (:mod:`bot.sms`).

It shares the outbox with the chat sender (:mod:`bot.outbox`) and its guarantees: a row exists only if the
change it announces committed; it is claimed under a lease (a sender that died leaves it to the next one);
it is marked sent in its own short transaction right after the gateway accepted it, with what the gateway
charged, so the costs per organization are a sum over these rows; a restart never sends it again. The one
window left is the same as for chat messages: a gateway that accepted an SMS but whose answer never arrived
(a timeout) gets it again on the retry, since neither gateway takes an idempotency key. One SMS at most is in
flight (sent, its outcome not yet committed), so a hard kill repeats at most one. Leases work as in
:mod:`bot.worker`: they name their owner, are renewed (before a send, once half of :attr:`SmsSender.lease` is
gone), and a sender ends those of this machine's dead processes when it starts.

Outcomes (:class:`bot.sms.SmsOutcome`): ``retry`` (timeouts, 5xx, a busy gateway) waits with capped exponential
backoff and jitter; ``no_credit`` waits :attr:`SmsSender.no_credit_wait` (someone must top the account up, and
the log says so loudly); ``failed`` (an invalid number, a wrong key, a refused sender line) is final. An
organization that turned SMS off in the catalog gets its queued rows marked failed, unsent and free.
Rows go one at a time, at most :attr:`SmsSender.per_second` a second: gateways throttle bursts, and the
volume of a county's desk is a few SMS a minute.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.log_context import bind
from bot.metrics import ERRORS, SENDS, SMS_COST, SMS_PARTS
from bot.outbox import OrgNames
from bot.sms import SmsOutcome, SmsProvider, SmsResult
from bot.worker import LEASE_MARGIN, Backoff, Clock, Worker, lease_owner
from desk.privacy import mask_mobile
from desk.sms import SmsPayloadError, StartLinks, render_sms, sms_parts
from storage.columns import utcnow
from storage.models import OutboxMessage
from storage.repositories import Outbox

__all__ = ["SmsSender", "SmsSenderStats"]

logger = logging.getLogger(__name__)

_CODE_WIPED = "•••••"


@dataclass
class SmsSenderStats:
    """Counters since the sender was created."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    no_credit: int = 0
    cost_rials: int = 0


@dataclass
class SmsSender(Worker):
    """The long-running task that sends the outbox's SMS rows (see the module docstring).

    ``sms_allowed(organization_id)`` says whether that organization still sends SMS (the catalog's switch).
    Start, notify and stop it as any :class:`bot.worker.Worker`; stop it before closing the provider.
    """

    name: ClassVar[str] = "sms"
    channel: ClassVar[str] = "sms"

    factory: async_sessionmaker[AsyncSession]
    provider: SmsProvider
    sms_allowed: Callable[[str], bool] = lambda _org: True
    org_names: OrgNames | None = None
    start_links: StartLinks | None = None
    """The bots' links, so the SMS that send citizens to the bot carry one (``desk.sms``)."""
    clock: Clock = utcnow
    batch: int = 10
    lease: timedelta = timedelta(seconds=90)
    """How long a claim holds a row; renewed while the batch is being sent (at least twice ``send_timeout``)."""
    owner: str = field(default_factory=lease_owner)
    """The lease owner written on the rows this sender claims (:func:`bot.worker.lease_owner`)."""
    poll_interval: float = 2.0
    per_second: float = 5.0
    send_timeout: float = 30.0
    """Longest a gateway call may take (the provider's own timeout is shorter); a row is only sent while its
    lease has at least this much left."""
    backoff: Backoff = field(default_factory=lambda: Backoff(base=5.0, cap=1800.0, max_attempts=12))
    no_credit_wait: timedelta = timedelta(minutes=30)
    rng: random.Random = field(default_factory=random.Random)
    stats: SmsSenderStats = field(default_factory=SmsSenderStats, init=False)

    def __post_init__(self) -> None:
        if self.lease < timedelta(seconds=2 * self.send_timeout):
            raise ValueError("the lease must be at least twice send_timeout")
        super().__post_init__()

    async def _round(self) -> bool:
        """Send the due rows one at a time; if stopping, hand back those not sent yet."""
        try:
            claimed = await self._claim()
        except Exception:
            logger.exception("sms: claiming due rows failed; trying again shortly")
            claimed = []
        for index, row in enumerate(claimed):
            if self._stopping.is_set():
                await self._hand_back(claimed[index:])
                break
            await self._keep_leases(claimed[index:])
            await asyncio.shield(self._deliver(row))
            await asyncio.sleep(1 / self.per_second)
        return len(claimed) == self.batch

    async def _claim(self) -> list[OutboxMessage]:
        async with self._write() as session:
            return await self._claim_due(session, self.batch, self.clock())

    async def _keep_leases(self, rows: list[OutboxMessage]) -> None:
        """Before a send, once half the lease is gone, extend the leases of the rows not yet sent."""
        now = self.clock()
        mine = [
            row for row in rows if row.locked_until is not None and row.locked_until - now >= LEASE_MARGIN
        ]
        if not mine or min(row.locked_until or now for row in mine) - now > self.lease / 2:
            return
        until = now + self.lease
        if await self._renew([row.id for row in mine if row.id], until):
            for row in mine:
                row.locked_until = until

    async def _deliver(self, row: OutboxMessage) -> None:
        assert row.id is not None
        locked = row.locked_until
        if locked is not None and self.clock() > locked - timedelta(seconds=self.send_timeout):
            return  # the lease is nearly over: whoever claims it next sends it
        payload = row.payload or {}
        bind(organization=row.organization_id, request_id=row.request_id)
        if not self.sms_allowed(row.organization_id):
            await self._finish(row, failed="the organization turned SMS off")
            return
        try:
            result, text = await self._send(row, payload)
        except SmsPayloadError as error:
            await self._finish(row, failed=str(error))
            return
        except Exception:  # a bug must not stop the sender; the row is tried again later
            ERRORS.labels("outbox").inc()
            logger.exception("sms: unexpected error sending row %s", row.id)
            result, text = SmsResult(SmsOutcome.RETRY, "error", "unexpected error"), None
        await self._record(row, result, text)

    async def _send(self, row: OutboxMessage, payload: dict[str, Any]) -> tuple[SmsResult, str | None]:
        """The gateway's answer, and the text sent (None for a one-time code: the gateway's template)."""
        phone = str(row.phone or "")
        kind = payload.get("type")
        if kind == "sms_code":
            code = str(payload.get("code") or "")
            if not code.isdigit():
                raise SmsPayloadError("a one-time code row without its code")
            return await self.provider.send_code(phone, code), None
        if kind == "sms":
            text = render_sms(payload, self.org_names, self.start_links)
            return await self.provider.send(phone, text), text
        raise SmsPayloadError(f"not an SMS payload: {kind!r}")

    async def _record(self, row: OutboxMessage, result: SmsResult, text: str | None) -> None:
        assert row.id is not None
        now = self.clock()
        if result.outcome is SmsOutcome.SENT:
            wiped = {**row.payload, "code": _CODE_WIPED} if row.payload.get("type") == "sms_code" else None
            # Kavenegar reports the cost, not the parts: count them from the text (a code's template is 1).
            parts = result.parts if result.parts is not None else (sms_parts(text) if text is not None else 1)
            async with self._write() as session:
                await Outbox(session).mark_sent(
                    row.id, at=now, cost_rials=result.cost_rials, parts=parts, payload=wiped
                )
            self.stats.sent += 1
            self.stats.cost_rials += result.cost_rials or 0
            SENDS.labels("sms", "sent").inc()
            SMS_PARTS.inc(parts)
            SMS_COST.inc(result.cost_rials or 0)
            return
        if result.outcome is SmsOutcome.FAILED:
            await self._finish(row, failed=f"{result.status}: {result.detail}")
            return
        if row.attempts >= self.backoff.max_attempts:
            await self._finish(
                row, failed=f"gave up after {row.attempts} attempts: {result.status}: {result.detail}"
            )
            return
        if result.outcome is SmsOutcome.NO_CREDIT:
            logger.error("sms: the gateway account has no credit; SMS wait until it is topped up")
            at = now + self.no_credit_wait
            self.stats.no_credit += 1
            SENDS.labels("sms", "retried").inc()
        else:
            at = self._retry_at(row, now)
            self.stats.retried += 1
            SENDS.labels("sms", "retried").inc()
        async with self._write() as session:
            await Outbox(session).mark_retry(row.id, at=at, error=f"{result.status}: {result.detail}"[:500])

    async def _finish(self, row: OutboxMessage, *, failed: str) -> None:
        assert row.id is not None
        async with self._write() as session:
            await Outbox(session).mark_failed(row.id, error=failed[:500])
        self.stats.failed += 1
        SENDS.labels("sms", "failed").inc()
        logger.info(
            "sms: row %s to %s failed for good: %s", row.id, mask_mobile(str(row.phone or "")), failed
        )

    async def _hand_back(self, rows: list[OutboxMessage]) -> None:
        """Rows claimed but not sent (shutdown): pending again at once, the attempt not counted."""
        ids = [row.id for row in rows if row.id is not None]
        if not ids:
            return
        async with self._write() as session:
            await Outbox(session).release(ids, at=self.clock())
