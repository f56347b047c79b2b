"""Thin async repositories over an ``AsyncSession``.

They add, find and update rows and flush when they need generated ids, but never commit: the caller
owns the transaction (``storage.uow.unit_of_work``), so everything one use case writes lands together.
Statuses are plain strings here; ``desk`` decides which transitions are allowed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from desk.persian import display_name
from storage.columns import utcnow
from storage.errors import TrackingCodeTakenError, VerificationCodeTakenError
from storage.models import (
    Certificate,
    Citizen,
    ConversationState,
    Document,
    Due,
    DuesImport,
    GroupMessage,
    OutboxMessage,
    Payment,
    RegisteredClerk,
    RequestEvent,
    ServiceRequest,
    SurveyAnswer,
)

__all__ = [
    "NOT_OPEN_STATUSES",
    "Certificates",
    "Citizens",
    "ConversationStates",
    "Dues",
    "Events",
    "GroupMessages",
    "Outbox",
    "Payments",
    "RegisteredClerks",
    "Requests",
    "SurveyAnswers",
]

NOT_OPEN_STATUSES: tuple[str, ...] = ("draft", "completed", "rejected", "withdrawn")
"""Statuses of requests nobody has to work on: a draft, or a closed request."""
SCAN_PAGE = 1000
"""Rows read at a time when requests are searched by an answer (``Requests.naming``)."""

_PHONE = re.compile(r"09\d{9}", re.ASCII)


async def _dialect(session: AsyncSession) -> str:
    return (await session.connection()).dialect.name


def _dialect_insert(dialect: str, target: Any) -> Any:
    """The back-end's own INSERT into ``target`` (an ORM entity or a table), which knows ``ON CONFLICT``."""
    if dialect == "postgresql":
        return postgresql.insert(target)
    if dialect == "sqlite":
        return sqlite.insert(target)
    raise NotImplementedError(f"no upsert for the {dialect} back-end")  # storage.db accepts no other


async def _insert(session: AsyncSession, entity: Any) -> Any:
    """The back-end's own INSERT construct for ``entity``, in ``session``'s dialect."""
    return _dialect_insert(await _dialect(session), entity)


def _core_insert(dialect: str, entity: Any) -> Any:
    """A Core INSERT into ``entity``'s table (no ORM step at execution), which knows ``ON CONFLICT``.

    Hot paths build their statement once (``functools.cache``) and pass the values at execution: building an
    ORM ``insert(Entity).values(...)`` for every row cost more CPU than running it (``make bench``).
    """
    return _dialect_insert(dialect, entity.__table__)


@functools.cache
def _outbox_insert(dialect: str) -> Any:
    """Queue one outbox row unless its ``dedupe_key`` is taken; returns the new id (none for a duplicate)."""
    stmt = _core_insert(dialect, OutboxMessage)
    return stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(stmt.table.c.id)


class Citizens:
    """Citizens by their (platform, user id)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, citizen_id: int) -> Citizen | None:
        """The citizen with this database id."""
        return await self.session.get(Citizen, citizen_id)

    async def find(self, platform: str, user_id: int) -> Citizen | None:
        """The citizen known on ``platform`` as ``user_id``, if any."""
        stmt = select(Citizen).where(col(Citizen.platform) == platform, col(Citizen.user_id) == user_id)
        return (await self.session.scalars(stmt)).first()

    async def get_or_create(
        self,
        platform: str,
        user_id: int,
        *,
        chat_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        locale: str = "fa",
    ) -> Citizen:
        """The citizen for this messenger account, created on first contact.

        Names, username and chat id are refreshed from the messenger when they changed; ``locale`` only
        applies to a new citizen (a later choice in the bot's settings wins). Two first updates racing
        each other still make a single row: the loser of the unique constraint reads the winner's. Names are
        kept as ``desk.persian.display_name`` cleans them (no bidi overrides or invisible marks, not too long).
        """
        first_name, last_name = display_name(first_name), display_name(last_name)
        citizen = await self.find(platform, user_id)
        if citizen is None:
            citizen = Citizen(
                platform=platform,
                user_id=user_id,
                chat_id=chat_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                locale=locale,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(citizen)
            except IntegrityError:
                found = await self.find(platform, user_id)
                if found is None:
                    raise
                citizen = found
            else:
                return citizen
        profile = {"chat_id": chat_id, "first_name": first_name, "last_name": last_name, "username": username}
        for name, value in profile.items():
            if getattr(citizen, name) != value:
                setattr(citizen, name, value)
        return citizen

    async def set_phone(self, citizen: Citizen, phone: str, *, verified: bool) -> None:
        """Record the citizen's mobile number, already normalized to ``09xxxxxxxxx`` by ``desk``."""
        if not _PHONE.fullmatch(phone):
            raise ValueError(f"phone {phone!r} is not normalized to 09xxxxxxxxx")
        citizen.phone = phone
        citizen.phone_verified = verified
        self.session.add(citizen)

    async def set_locale(self, citizen: Citizen, locale: str) -> None:
        """Record the language the citizen chose."""
        citizen.locale = locale
        self.session.add(citizen)

    async def set_sms_enabled(self, citizen: Citizen, enabled: bool) -> None:
        """Record whether the citizen wants stage notifications by SMS."""
        citizen.sms_enabled = enabled
        self.session.add(citizen)


class Requests:
    """Service requests, by tracking code, by citizen, and as the work lists of organizations."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        request: ServiceRequest,
        *,
        events: Iterable[RequestEvent] = (),
        documents: Iterable[Document] = (),
    ) -> tuple[ServiceRequest, bool]:
        """File ``request`` with its first events and its documents; returns ``(request, created)``.

        When ``request.idempotency_key`` names a request that already exists (the citizen tapped
        "submit" twice), nothing is written and that request is returned with ``created=False``.
        Raises ``TrackingCodeTakenError`` if the tracking code is in use: draw another and call again.
        """
        key = request.idempotency_key
        if key is not None:
            existing = await self.by_idempotency_key(key)
            if existing is not None:
                return existing, False
        events = list(events)
        documents = list(documents)
        try:
            async with self.session.begin_nested():
                self.session.add(request)
                await self.session.flush()
                assert request.id is not None
                for item in [*events, *documents]:
                    item.request_id = request.id
                    self.session.add(item)
        except IntegrityError:
            if key is not None:
                existing = await self.by_idempotency_key(key)
                if existing is not None:
                    return existing, False
            if await self.by_tracking_code(request.tracking_code) is not None:
                raise TrackingCodeTakenError(request.tracking_code) from None
            raise
        return request, True

    async def get(self, request_id: int) -> ServiceRequest | None:
        """The request with this database id."""
        return await self.session.get(ServiceRequest, request_id)

    async def get_for_update(self, request_id: int) -> ServiceRequest | None:
        """The request with this id, read afresh and locked until the transaction ends (``FOR UPDATE``).

        Two clerks acting on one request at once then act one after the other, the second on what the first
        left. SQLite ignores the lock: there a writer's ``BEGIN IMMEDIATE`` (``unit_of_work(..., write=True)``)
        already serializes the transactions.
        """
        stmt = (
            select(ServiceRequest)
            .where(col(ServiceRequest.id) == request_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).first()

    async def by_tracking_code(self, tracking_code: str) -> ServiceRequest | None:
        """The request with this tracking code (already normalized and checked by ``desk``)."""
        stmt = select(ServiceRequest).where(col(ServiceRequest.tracking_code) == tracking_code)
        return (await self.session.scalars(stmt)).first()

    async def by_idempotency_key(self, key: str) -> ServiceRequest | None:
        """The request filed with this submit key, if any."""
        stmt = select(ServiceRequest).where(col(ServiceRequest.idempotency_key) == key)
        return (await self.session.scalars(stmt)).first()

    async def by_citizen(self, citizen_id: int, *, limit: int = 20) -> Sequence[ServiceRequest]:
        """The citizen's requests, newest first."""
        stmt = (
            select(ServiceRequest)
            .where(col(ServiceRequest.citizen_id) == citizen_id)
            .order_by(col(ServiceRequest.created_at).desc(), col(ServiceRequest.id).desc())
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def answered_yes(
        self, service_id: str, field_id: str, *, exclude_organization: str
    ) -> Sequence[ServiceRequest]:
        """The requests of a service whose answer to the yes/no ``field_id`` is yes, handled by any organization but
        ``exclude_organization``, oldest first."""
        stmt = (
            select(ServiceRequest)
            .where(
                col(ServiceRequest.service_id) == service_id,
                col(ServiceRequest.organization_id) != exclude_organization,
                col(ServiceRequest.answers)[field_id].as_boolean().is_(True),
            )
            .order_by(col(ServiceRequest.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def naming(self, organization_id: str, value: str, *, limit: int) -> list[ServiceRequest]:
        """The organization's filed requests with ``value`` as an answer, newest first (at most ``limit``).

        Answers are JSON, so they are read in pages of ``SCAN_PAGE`` by id and compared here: every request is
        searched, however old.
        """
        found: list[ServiceRequest] = []
        before: int | None = None
        while len(found) < limit:
            stmt = (
                select(ServiceRequest)
                .where(
                    col(ServiceRequest.organization_id) == organization_id,
                    col(ServiceRequest.status) != "draft",
                )
                .order_by(col(ServiceRequest.id).desc())
                .limit(SCAN_PAGE)
            )
            if before is not None:
                stmt = stmt.where(col(ServiceRequest.id) < before)
            page = (await self.session.scalars(stmt)).all()
            found += [r for r in page if value in {str(v) for v in r.answers.values()}]
            if len(page) < SCAN_PAGE:
                break
            before = page[-1].id
        return found[:limit]

    async def open_by_organization(
        self, organization_id: str, *, not_open: Sequence[str] = NOT_OPEN_STATUSES, limit: int = 100
    ) -> Sequence[ServiceRequest]:
        """The organization's requests still to be worked on, nearest deadline first (no deadline last)."""
        stmt = (
            select(ServiceRequest)
            .where(
                col(ServiceRequest.organization_id) == organization_id,
                col(ServiceRequest.status).not_in(not_open),
            )
            .order_by(
                col(ServiceRequest.deadline).is_(None),
                col(ServiceRequest.deadline),
                col(ServiceRequest.id),
            )
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def overdue(
        self,
        today: date,
        *,
        organization_id: str | None = None,
        not_open: Sequence[str] = NOT_OPEN_STATUSES,
    ) -> Sequence[ServiceRequest]:
        """Open requests whose deadline is before ``today`` (the organization's local date), oldest first."""
        conditions = [
            col(ServiceRequest.status).not_in(not_open),
            col(ServiceRequest.deadline) < today,
        ]
        if organization_id is not None:
            conditions.append(col(ServiceRequest.organization_id) == organization_id)
        stmt = (
            select(ServiceRequest)
            .where(*conditions)
            .order_by(col(ServiceRequest.deadline), col(ServiceRequest.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def due_by(
        self,
        day: date,
        *,
        organization_id: str | None = None,
        not_open: Sequence[str] = NOT_OPEN_STATUSES,
        limit: int | None = None,
    ) -> Sequence[ServiceRequest]:
        """Open requests whose deadline is ``day`` or earlier, most overdue first (ties by id).

        With ``day`` = today this is the morning digest's list: the requests due today and the overdue ones.
        """
        conditions = [
            col(ServiceRequest.status).not_in(not_open),
            col(ServiceRequest.deadline) <= day,
        ]
        if organization_id is not None:
            conditions.append(col(ServiceRequest.organization_id) == organization_id)
        stmt = (
            select(ServiceRequest)
            .where(*conditions)
            .order_by(col(ServiceRequest.deadline), col(ServiceRequest.id))
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()

    async def count_due_by(self, day: date, *, not_open: Sequence[str] = NOT_OPEN_STATUSES) -> dict[str, int]:
        """How many open requests of each organization have a deadline on ``day`` or earlier (none: absent)."""
        stmt = (
            select(ServiceRequest.organization_id, func.count())
            .where(col(ServiceRequest.status).not_in(not_open), col(ServiceRequest.deadline) <= day)
            .group_by(col(ServiceRequest.organization_id))
        )
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def documents(self, request_id: int) -> Sequence[Document]:
        """The request's documents in the order they arrived."""
        stmt = select(Document).where(col(Document.request_id) == request_id).order_by(col(Document.id))
        return (await self.session.scalars(stmt)).all()

    async def add_document(self, document: Document) -> Document:
        """Attach one more document to an existing request (a reply to "please send ...")."""
        self.session.add(document)
        await self.session.flush()
        return document

    async def count_by_status(self, organization_id: str | None = None) -> dict[str, int]:
        """How many requests are in each status, for one organization or all of them."""
        stmt = select(ServiceRequest.status, func.count()).group_by(col(ServiceRequest.status))
        if organization_id is not None:
            stmt = stmt.where(col(ServiceRequest.organization_id) == organization_id)
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}


class Events:
    """The history of requests."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, event: RequestEvent) -> RequestEvent:
        """Append an event (its ``request_id`` must be set)."""
        self.session.add(event)
        await self.session.flush()
        return event

    async def history(self, request_id: int, *, public_only: bool = True) -> Sequence[RequestEvent]:
        """The request's events in order; only what the citizen may see unless ``public_only=False``."""
        stmt = select(RequestEvent).where(col(RequestEvent.request_id) == request_id)
        if public_only:
            stmt = stmt.where(col(RequestEvent.public).is_(True))
        stmt = stmt.order_by(col(RequestEvent.at), col(RequestEvent.id))
        return (await self.session.scalars(stmt)).all()


class SurveyAnswers:
    """Citizens' satisfaction scores, one per finished request."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_request(self, request_id: int) -> SurveyAnswer | None:
        """The answer given for this request, if any."""
        stmt = select(SurveyAnswer).where(col(SurveyAnswer.request_id) == request_id)
        return (await self.session.scalars(stmt)).first()

    async def add(self, answer: SurveyAnswer) -> SurveyAnswer:
        """Store a first answer (its ``request_id`` must be set and have no answer yet)."""
        self.session.add(answer)
        await self.session.flush()
        return answer

    async def scores(self, organization_id: str) -> tuple[int, float | None]:
        """How many answers the organization's requests got and their average score (None when there are none)."""
        stmt = (
            select(func.count(col(SurveyAnswer.id)), func.avg(col(SurveyAnswer.score)))
            .join(ServiceRequest, col(ServiceRequest.id) == col(SurveyAnswer.request_id))
            .where(col(ServiceRequest.organization_id) == organization_id)
        )
        count, average = (await self.session.execute(stmt)).one()
        return int(count), (float(average) if average is not None else None)


class GroupMessages:
    """Links between messages in operator groups and the requests they are about."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def link(
        self, *, platform: str, chat_id: int, message_id: int, request_id: int, kind: str
    ) -> GroupMessage:
        """Remember that this group message (a request card, a relayed reply, a document) is about a request."""
        link = GroupMessage(
            platform=platform, chat_id=chat_id, message_id=message_id, request_id=request_id, kind=kind
        )
        self.session.add(link)
        await self.session.flush()
        return link

    async def find_request(self, platform: str, chat_id: int, message_id: int) -> ServiceRequest | None:
        """The request a clerk is replying to, found from the group message they replied to."""
        stmt = (
            select(ServiceRequest)
            .join(GroupMessage, col(GroupMessage.request_id) == col(ServiceRequest.id))
            .where(
                col(GroupMessage.platform) == platform,
                col(GroupMessage.chat_id) == chat_id,
                col(GroupMessage.message_id) == message_id,
            )
        )
        return (await self.session.scalars(stmt)).first()

    async def of_request(self, request_id: int, *, kind: str | None = None) -> Sequence[GroupMessage]:
        """The group messages about a request (for instance its cards, to edit them on a status change)."""
        stmt = select(GroupMessage).where(col(GroupMessage.request_id) == request_id)
        if kind is not None:
            stmt = stmt.where(col(GroupMessage.kind) == kind)
        return (await self.session.scalars(stmt.order_by(col(GroupMessage.id)))).all()


class Outbox:
    """Notifications waiting to be sent, written in the transaction of the change they announce.

    A sender claims due rows (a lease), delivers them outside any transaction, then marks each one sent,
    to retry, or failed. A sender that dies mid-way loses nothing: its lease runs out (or its successor on
    the same machine ends it, :meth:`end_leases`) and the row is claimed again.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(self, message: OutboxMessage) -> bool:
        """Add ``message`` unless one with its ``dedupe_key`` exists; True when it was added.

        Uses ``INSERT ... ON CONFLICT DO NOTHING``, so a duplicate never aborts the caller's transaction.
        """
        await self.session.flush()  # a pending request this message refers to must exist first
        connection = await self.session.connection()
        stmt = _outbox_insert(connection.dialect.name)
        new_id = (await connection.execute(stmt, message.model_dump(exclude={"id"}))).scalar_one_or_none()
        if new_id is None:
            return False
        message.id = new_id
        return True

    async def get(self, message_id: int) -> OutboxMessage | None:
        """The outbox row with this id, read afresh."""
        stmt = (
            select(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).first()

    async def has_key_like(self, pattern: str) -> bool:
        """Whether some row's ``dedupe_key`` matches the SQL ``LIKE`` ``pattern`` (was a day's digest queued?)."""
        stmt = select(col(OutboxMessage.id)).where(col(OutboxMessage.dedupe_key).like(pattern)).limit(1)
        return (await self.session.scalars(stmt)).first() is not None

    async def claim_due(
        self,
        limit: int,
        *,
        now: datetime | None = None,
        lease: timedelta = timedelta(seconds=60),
        channel: str | None = None,
        owner: str | None = None,
    ) -> Sequence[OutboxMessage]:
        """Take up to ``limit`` rows due at ``now``, oldest first, for ``lease``; counts an attempt on each.

        ``channel`` (``"chat"`` or ``"sms"``) limits the claim to one sender's rows; None takes any. ``owner``
        names the process taking them (``locked_by``), so a restart can tell its dead predecessor's leases.

        Due means pending with ``next_attempt_at <= now``, or still "sending" under an expired lease (its
        sender died). On PostgreSQL rows are locked with ``FOR UPDATE SKIP LOCKED``, so concurrent senders
        never claim the same row; SQLite has a single writer (use ``unit_of_work(..., write=True)``).
        Commit right after claiming, so the lease is visible to other senders.
        """
        now = now or utcnow()
        due = or_(
            and_(col(OutboxMessage.status) == "pending", col(OutboxMessage.next_attempt_at) <= now),
            and_(col(OutboxMessage.status) == "sending", col(OutboxMessage.locked_until) <= now),
        )
        if channel is not None:
            due = and_(col(OutboxMessage.channel) == channel, due)
        stmt = (
            select(OutboxMessage)
            .where(due)
            .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
            .limit(limit)
            .execution_options(populate_existing=True)
        )
        if await _dialect(self.session) == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        claimed = (await self.session.scalars(stmt)).all()
        for message in claimed:
            message.status = "sending"
            message.locked_until = now + lease
            message.locked_by = owner
            message.attempts += 1
        await self.session.flush()
        return claimed

    async def renew(self, message_ids: Iterable[int], *, owner: str | None, until: datetime) -> None:
        """Extend to ``until`` the lease of these rows, those still being sent under ``owner``'s lease."""
        stmt = (
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(message_ids)))
            .where(col(OutboxMessage.status) == "sending")
            .where(col(OutboxMessage.locked_by) == owner)
            .values(locked_until=until)
            .execution_options(synchronize_session=False)
        )
        await self.session.execute(stmt)

    async def lease_owners(self, channel: str) -> list[str]:
        """The owners of the rows of ``channel`` being sent (those with a lease, run out or not)."""
        stmt = (
            sa_select(col(OutboxMessage.locked_by))
            .where(col(OutboxMessage.channel) == channel, col(OutboxMessage.status) == "sending")
            .where(col(OutboxMessage.locked_by).is_not(None))
            .distinct()
        )
        return [str(owner) for owner in (await self.session.scalars(stmt)).all()]

    async def end_leases(self, owners: Sequence[str], *, channel: str, now: datetime) -> int:
        """End now the leases of ``owners`` (processes known dead) on ``channel``; the rows whose lease ended."""
        if not owners:
            return 0
        stmt = (
            update(OutboxMessage)
            .where(col(OutboxMessage.channel) == channel, col(OutboxMessage.status) == "sending")
            .where(col(OutboxMessage.locked_by).in_(list(owners)))
            .where(col(OutboxMessage.locked_until) > now)
            .values(locked_until=now)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def mark_sent(
        self,
        message_id: int,
        *,
        at: datetime | None = None,
        cost_rials: int | None = None,
        parts: int | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """The message was delivered (an SMS with what the gateway charged; ``payload`` replaces the row's,
        e.g. to wipe a one-time code once it went out)."""
        values: dict[str, Any] = {
            "status": "sent",
            "sent_at": at or utcnow(),
            "locked_until": None,
            "locked_by": None,
            "last_error": None,
        }
        if cost_rials is not None:
            values["cost_rials"] = cost_rials
        if parts is not None:
            values["parts"] = parts
        if payload is not None:
            values["payload"] = payload
        await self._set(message_id, **values)

    async def sms_costs(self, *, since: datetime | None = None) -> dict[str, tuple[int, int, int]]:
        """Per organization: (SMS sent, parts, rials charged) since ``since`` (all time when None)."""
        stmt = (
            sa_select(
                col(OutboxMessage.organization_id),
                func.count(),
                func.coalesce(func.sum(col(OutboxMessage.parts)), 0),
                func.coalesce(func.sum(col(OutboxMessage.cost_rials)), 0),
            )
            .where(col(OutboxMessage.channel) == "sms", col(OutboxMessage.status) == "sent")
            .group_by(col(OutboxMessage.organization_id))
        )
        if since is not None:
            stmt = stmt.where(col(OutboxMessage.sent_at) >= since)
        rows = (await self.session.execute(stmt)).all()
        return {str(org): (int(count), int(parts or 0), int(rials or 0)) for org, count, parts, rials in rows}

    async def mark_retry(self, message_id: int, *, at: datetime, error: str) -> None:
        """Delivery failed for now (429, network): try again at ``at``."""
        await self._set(
            message_id,
            status="pending",
            next_attempt_at=at,
            locked_until=None,
            locked_by=None,
            last_error=error,
        )

    async def mark_failed(self, message_id: int, *, error: str) -> None:
        """Delivery failed for good (blocked bot, invalid number, too many attempts)."""
        await self._set(message_id, status="failed", locked_until=None, locked_by=None, last_error=error)

    async def drop_pending(self, keys: Sequence[str]) -> None:
        """Delete the rows with these ``dedupe_key``s that no sender has taken: they were delivered another way."""
        if keys:
            await self.session.execute(
                delete(OutboxMessage)
                .where(col(OutboxMessage.dedupe_key).in_(keys), col(OutboxMessage.status) == "pending")
                .execution_options(synchronize_session=False)
            )

    async def reschedule_pending(self, keys: Sequence[str], *, at: datetime) -> None:
        """Make the rows with these ``dedupe_key``s that no sender has taken due at ``at``."""
        if keys:
            await self.session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.dedupe_key).in_(keys), col(OutboxMessage.status) == "pending")
                .values(next_attempt_at=at)
                .execution_options(synchronize_session=False)
            )

    async def count_by_status(self) -> dict[str, int]:
        """How many outbox rows are in each status (for health checks and reports)."""
        stmt = select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
        return {row[0]: row[1] for row in (await self.session.execute(stmt)).all()}

    async def _set(self, message_id: int, **values: Any) -> None:
        stmt = (
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        )
        await self.session.execute(stmt)


class ConversationStates:
    """The bot's conversation (FSM) state per key (``'<platform>:<chat id>:<user id>'``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> ConversationState | None:
        """The stored state for ``key``, read afresh, or None."""
        stmt = (
            select(ConversationState)
            .where(col(ConversationState.key) == key)
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(stmt)).first()

    async def set(self, key: str, *, state: str | None, data: dict[str, Any]) -> None:
        """Store both the state name and its data for ``key``."""
        await self.set_many([(key, state, data)])

    async def set_many(self, rows: Sequence[tuple[str, str | None, dict[str, Any]]]) -> None:
        """Store ``(key, state, data)`` for every row in one statement (the bot's flush at the end of an update).

        A Core upsert run as an executemany, its statement built once per back-end: ``make bench`` measured
        the ORM path (a ``ConversationState`` built, dumped and turned into a fresh ``INSERT``) at about a
        tenth of the bot's CPU per update.
        """
        if not rows:
            return
        now = utcnow()
        connection = await self.session.connection()
        await connection.execute(
            _conversation_upsert(connection.dialect.name),
            [{"key": key, "state": state, "data": data, "updated_at": now} for key, state, data in rows],
        )

    async def set_state(self, key: str, state: str | None) -> None:
        """Store the state name for ``key``, keeping its data."""
        await self._upsert(key, state=state)

    async def set_data(self, key: str, data: dict[str, Any]) -> None:
        """Store the data for ``key``, keeping its state name."""
        await self._upsert(key, data=data)

    async def delete(self, key: str) -> None:
        """Forget ``key`` (the conversation is over)."""
        stmt = delete(ConversationState).where(col(ConversationState.key) == key)
        await self.session.execute(stmt.execution_options(synchronize_session="fetch"))

    async def _upsert(self, key: str, **values: Any) -> None:
        values["updated_at"] = utcnow()
        row = ConversationState(key=key, **values)
        insert = await _insert(self.session, ConversationState)
        stmt = insert.values(**row.model_dump()).on_conflict_do_update(index_elements=["key"], set_=values)
        await self.session.execute(stmt)


@functools.cache
def _conversation_upsert(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` of a whole conversation row, for ``dialect``."""
    stmt = _core_insert(dialect, ConversationState)
    changed = {name: stmt.excluded[name] for name in ("state", "data", "updated_at")}
    return stmt.on_conflict_do_update(index_elements=["key"], set_=changed)


class RegisteredClerks:
    """Clerks added in an operator group (``/addclerk``); the catalog lists the others."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self) -> Sequence[RegisteredClerk]:
        """Every registered clerk of every organization (a county has a few dozen)."""
        stmt = select(RegisteredClerk).order_by(col(RegisteredClerk.organization_id), col(RegisteredClerk.id))
        return (await self.session.scalars(stmt)).all()

    async def add(self, clerk: RegisteredClerk) -> bool:
        """Register ``clerk``; False when they already were (nothing changes)."""
        insert = await _insert(self.session, RegisteredClerk)
        values = clerk.model_dump(exclude={"id"})
        stmt = (
            insert.values(**values)
            .on_conflict_do_nothing(index_elements=["organization_id", "platform", "user_id"])
            .returning(col(RegisteredClerk.id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def remove(self, organization_id: str, platform: str, user_id: int) -> bool:
        """Unregister a clerk; False when they were not registered here."""
        stmt = delete(RegisteredClerk).where(
            col(RegisteredClerk.organization_id) == organization_id,
            col(RegisteredClerk.platform) == platform,
            col(RegisteredClerk.user_id) == user_id,
        )
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))


class Dues:
    """Dues imported from organizations' finance systems, and the import batches that brought them.

    An import writes a batch, removes the unpaid dues it replaces and inserts the new ones, all in the caller's
    transaction, so citizens see either the old dues or the new ones, never a mix.
    """

    _CHUNK = 500
    """Rows per multi-row INSERT: large files go in a few hundred statements, not one per row."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_batch(self, batch: DuesImport) -> DuesImport:
        """Record an import (its id is set, for the dues to refer to)."""
        self.session.add(batch)
        await self.session.flush()
        return batch

    async def batch_by_sha256(self, organization_id: str, kind: str, sha256: str) -> DuesImport | None:
        """The latest earlier import of the same file (same bytes) for this organization and kind."""
        stmt = (
            select(DuesImport)
            .where(
                col(DuesImport.organization_id) == organization_id,
                col(DuesImport.kind) == kind,
                col(DuesImport.sha256) == sha256,
            )
            .order_by(col(DuesImport.id).desc())
            .limit(1)
        )
        return (await self.session.scalars(stmt)).first()

    async def paid_keys(
        self, organization_id: str, kind: str, periods: Iterable[tuple[int, int]]
    ) -> set[tuple[str, int, int]]:
        """``(code_key, year, number)`` of the paid dues of these periods: an import leaves them as they are."""
        wanted = set(periods)
        if not wanted:
            return set()
        stmt = select(col(Due.code_key), col(Due.period_year), col(Due.period_number)).where(
            col(Due.organization_id) == organization_id,
            col(Due.kind) == kind,
            col(Due.paid_at).is_not(None),
            col(Due.period_year).in_({year for year, _ in wanted}),
        )
        rows = (await self.session.execute(stmt)).all()
        return {(key, year, number) for key, year, number in rows if (year, number) in wanted}

    async def file_numbers(self, organization_id: str, kind: str) -> dict[str, int]:
        """The file number (the bill ID without its last five digits) each code of this kind already has."""
        stmt = (
            select(col(Due.code_key), col(Due.bill_id))
            .where(col(Due.organization_id) == organization_id, col(Due.kind) == kind)
            .order_by(col(Due.id))
        )
        return {key: int(bill[:-5]) for key, bill in (await self.session.execute(stmt)).all()}

    async def delete_unpaid(self, organization_id: str, kind: str, periods: Iterable[tuple[int, int]]) -> int:
        """Remove the unpaid dues of these periods (before an import writes their replacements); how many."""
        deleted = 0
        for year, number in sorted(set(periods)):
            stmt = delete(Due).where(
                col(Due.organization_id) == organization_id,
                col(Due.kind) == kind,
                col(Due.period_year) == year,
                col(Due.period_number) == number,
                col(Due.paid_at).is_(None),
            )
            result = await self.session.execute(stmt.execution_options(synchronize_session=False))
            deleted += int(getattr(result, "rowcount", 0) or 0)
        return deleted

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert dues given as column values, a few hundred per statement."""
        for start in range(0, len(rows), self._CHUNK):
            await self.session.execute(insert(Due), list(rows[start : start + self._CHUNK]))

    async def get(self, due_id: int, *, for_update: bool = False) -> Due | None:
        """The due with this id (read afresh and locked for this transaction with ``for_update``)."""
        stmt = select(Due).where(col(Due.id) == due_id)
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return (await self.session.scalars(stmt)).first()

    async def of_holder(self, organization_id: str, code_key: str, national_id: str) -> Sequence[Due]:
        """The dues of one code (of any kind) whose holder has this national ID, oldest period first."""
        stmt = (
            select(Due)
            .where(
                col(Due.organization_id) == organization_id,
                col(Due.code_key) == code_key,
                col(Due.national_id) == national_id,
            )
            .order_by(col(Due.period_year), col(Due.period_number), col(Due.kind))
        )
        return (await self.session.scalars(stmt)).all()

    async def count(self, organization_id: str, kind: str | None = None, *, paid: bool | None = None) -> int:
        """How many dues an organization has (of one kind; only paid or unpaid ones)."""
        stmt = select(func.count()).select_from(Due).where(col(Due.organization_id) == organization_id)
        if kind is not None:
            stmt = stmt.where(col(Due.kind) == kind)
        if paid is not None:
            stmt = stmt.where(col(Due.paid_at).is_not(None) if paid else col(Due.paid_at).is_(None))
        return int((await self.session.execute(stmt)).scalar_one())

    async def mark_paid(self, bill_id: str, payment_id: str, *, at: datetime | None = None) -> bool:
        """Record that the bank reported this bill paid; False when no unpaid due has this pair."""
        stmt = (
            update(Due)
            .where(
                col(Due.bill_id) == bill_id,
                col(Due.payment_id) == payment_id,
                col(Due.paid_at).is_(None),
            )
            .values(paid_at=at or utcnow())
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))


class Certificates:
    """Certificates organizations issued, found by their verification code."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, certificate: Certificate) -> Certificate:
        """Store a new certificate; raises ``VerificationCodeTakenError`` when its code is in use (draw another)."""
        try:
            async with self.session.begin_nested():
                self.session.add(certificate)
                await self.session.flush()
        except IntegrityError:
            if await self.by_code(certificate.verification_code) is not None:
                raise VerificationCodeTakenError(certificate.verification_code) from None
            raise
        return certificate

    async def by_code(self, verification_code: str) -> Certificate | None:
        """The certificate with this code (already normalized and checked by ``desk``)."""
        stmt = select(Certificate).where(col(Certificate.verification_code) == verification_code)
        return (await self.session.scalars(stmt)).first()

    async def by_request(self, request_id: int) -> Certificate | None:
        """The newest certificate issued for request ``request_id``, or None."""
        stmt = (
            select(Certificate)
            .where(col(Certificate.request_id) == request_id)
            .order_by(col(Certificate.id).desc())
        )
        return (await self.session.scalars(stmt)).first()

    async def revoke(self, certificate: Certificate, reason: str, *, at: datetime | None = None) -> None:
        """Mark ``certificate`` revoked for ``reason`` (``desk`` checks that it was valid)."""
        certificate.status = "revoked"
        certificate.revoked_reason = reason
        certificate.revoked_at = at or utcnow()
        self.session.add(certificate)
        await self.session.flush()


class Payments:
    """Payments of requests and of dues (``desk.payments``)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, payment: Payment) -> Payment:
        """Store a new payment (its id is set)."""
        self.session.add(payment)
        await self.session.flush()
        return payment

    async def get(self, payment_id: int) -> Payment | None:
        return await self.session.get(Payment, payment_id)

    async def by_token(self, invoice_payload: str, *, for_update: bool = False) -> Payment | None:
        """The payment an invoice carries (locked for this transaction with ``for_update``)."""
        stmt = select(Payment).where(col(Payment.invoice_payload) == invoice_payload)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).first()

    async def of_request(self, request_id: int) -> Sequence[Payment]:
        """Every payment of a request, oldest first."""
        stmt = select(Payment).where(col(Payment.request_id) == request_id).order_by(col(Payment.id))
        return (await self.session.scalars(stmt)).all()

    async def count_of_request(self, request_id: int) -> int:
        stmt = select(func.count()).select_from(Payment).where(col(Payment.request_id) == request_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def pending_of_request(self, request_id: int) -> Sequence[Payment]:
        stmt = (
            select(Payment)
            .where(col(Payment.request_id) == request_id, col(Payment.status) == "pending")
            .order_by(col(Payment.id))
        )
        return (await self.session.scalars(stmt)).all()

    async def of_due(self, due_id: int) -> Sequence[Payment]:
        """Every payment of a due, oldest first."""
        stmt = select(Payment).where(col(Payment.due_id) == due_id).order_by(col(Payment.id))
        return (await self.session.scalars(stmt)).all()

    async def pending_wallet(self, *, created_before: datetime, limit: int = 100) -> Sequence[Payment]:
        """Pending payments offered through the Bale wallet that know the wallet's transaction id, oldest first."""
        stmt = (
            select(Payment)
            .where(
                col(Payment.status) == "pending",
                col(Payment.channel) == "bale_wallet",
                col(Payment.provider_transaction_id).is_not(None),
                col(Payment.created_at) < created_before,
            )
            .order_by(col(Payment.id))
            .limit(limit)
        )
        return (await self.session.scalars(stmt)).all()
