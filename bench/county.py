"""A generated county history: requests, citizens, events and outbox rows in bulk, for ``bench.scale`` and tests.

The history is deterministic (request ``i`` decides everything about itself), written with bulk ``INSERT``s of
thousands of rows (``executemany``) in short transactions, straight into the tables Miz's migrations made, so a
million requests take minutes, not hours. What it holds, per :class:`Shape`:

- ``requests`` requests spread round-robin over ``organizations``, created over the last five years, each with the
  real service definition of its organization (the catalog's, as filing stores it) and answers naming its
  citizen's national ID; every ``open_every``-th request of an organization is still open, the others closed;
- of each organization's open requests, two in five are overdue (deadline 1 to 30 days ago), the rest due from
  today to 20 days ahead, and they are assigned in turn to ``assignees`` (None: not claimed yet);
- ``citizens`` citizens, request ``i`` filed by citizen ``i % citizens``, except that every ``frequent_every``-th
  request of each organization is filed by citizen 0, for a service asking their national ID (someone who files
  often, so ``/find`` by their national ID finds many);
- ``events_per_request`` events per request and ``outbox_per_request`` outbox rows, all sent but those of the
  newest ``pending_outbox`` requests, which are still pending (a sender's claim has work to find).

When the database has the ``request_identifier`` table (the normalized national IDs ``/find`` looks up), it is
filled too, as filing would.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Table, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from catalog.index import Catalog
from desk.tracking import damm_check_digit
from storage.repositories.service_versions import definition_sha256

__all__ = ["Generated", "Shape", "citizen_of", "describe", "generate", "national_id_of", "tracking_code_of"]

CHUNK = 20_000
"""Rows per ``COPY`` or ``executemany``, and per transaction."""
_YEARS = timedelta(days=5 * 365)
_CLOSED = ("completed", "rejected", "withdrawn")
_FIRST_USER_ID = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Shape:
    """How big the history is and how its requests are spread (see the module docstring)."""

    requests: int
    citizens: int
    organizations: tuple[str, ...]
    open_every: int = 100
    assignees: tuple[tuple[str, int] | None, ...] = (None,)
    frequent_every: int = 1_000
    events_per_request: int = 5
    outbox_per_request: int = 2
    pending_outbox: int = 1_000

    @classmethod
    def county(cls, requests: int, catalog: Catalog) -> Shape:
        """The county of issue #19 scaled to ``requests``: 3 requests per 10 citizens, 5 events and 2 outbox rows
        a request, 1 in 100 open, each organization's open ones shared by its two catalog clerks and the unclaimed.
        """
        organizations = tuple(org.id for org in catalog.organizations if org.kind.value != "governorate")
        clerks = catalog.clerks(organizations[0])
        assignees: list[tuple[str, int] | None] = [(c.platform.value, c.user_id) for c in clerks[:1]]
        return cls(
            requests=requests,
            citizens=max(1, requests * 3 // 10),
            organizations=organizations,
            assignees=(*assignees, None, None),
        )


@dataclass(frozen=True, slots=True)
class Generated:
    """What was written, and what a benchmark needs to look things up in it."""

    requests: int
    citizens: int
    events: int
    outbox: int
    frequent_national_id: str
    """The national ID of citizen 0, who filed every ``frequent_every``-th request."""
    some_tracking_code: str
    """The tracking code of the newest request (filed by citizen 0's neighbour), for tracking."""
    some_citizen: tuple[str, int]
    """(platform, user id) of the citizen who filed the newest request, for "my requests"."""


def national_id_of(citizen: int) -> str:
    """A valid national ID (checksum right) for the generated citizen number ``citizen``."""
    body = f"{100_000_000 + citizen * 7 % 800_000_000:09d}"
    s = sum(int(d) * (10 - i) for i, d in enumerate(body)) % 11
    return body + str(s if s < 2 else 11 - s)


def tracking_code_of(request: int) -> str:
    """A unique tracking code with a right check digit for the generated request number ``request``."""
    payload = f"{10_000_000_000 + request:011d}"
    return payload + damm_check_digit(payload)


class _Services:
    """The catalog's service definitions per organization (serialized once), and which questions ask a national ID."""

    def __init__(self, catalog: Catalog, organizations: Sequence[str]) -> None:
        self.by_org: dict[str, list[_Service]] = {}
        self.version_ids: dict[str, int] = {}
        """Each distinct definition's row id in ``service_version``, by its SHA-256."""
        for org_id in organizations:
            entries = []
            for service in catalog.services_for(org_id):
                answers: dict[str, Any] = {}
                nid_fields: list[str] = []
                for form_field in service.form:
                    kind = form_field.type.value
                    if kind == "national_id":
                        nid_fields.append(form_field.id)
                    else:
                        answers[form_field.id] = False if kind == "yes_no" else "1"
                definition = service.model_dump(mode="json")
                snapshot = json.dumps(definition)
                sha256 = definition_sha256(definition)
                version_id = self.version_ids.setdefault(sha256, len(self.version_ids) + 1)
                entries.append(
                    _Service(
                        service.id, service.version, snapshot, sha256, version_id, tuple(nid_fields), answers
                    )
                )
            self.by_org[org_id] = entries

    def pick(self, org_id: str, n: int, *, naming_national_id: bool) -> _Service:
        """The ``n``-th request's service, one asking a national ID when ``naming_national_id``."""
        entries = self.by_org[org_id]
        if naming_national_id:
            entries = [entry for entry in entries if entry.nid_fields] or entries
        return entries[n % len(entries)]


@dataclass(frozen=True, slots=True)
class _Service:
    id: str
    version: str
    snapshot: str
    sha256: str
    version_id: int
    nid_fields: tuple[str, ...]
    answers: dict[str, Any]


async def generate(engine: AsyncEngine, catalog: Catalog, shape: Shape, *, today: date) -> Generated:
    """Write the history of ``shape`` into the (migrated, empty) database of ``engine``; returns what it holds."""
    tables = await _tables(engine)
    now = datetime.combine(today, datetime.min.time(), tzinfo=UTC) + timedelta(hours=6)
    services = _Services(catalog, shape.organizations)

    def citizen_rows() -> Iterator[dict[str, Any]]:
        for c in range(shape.citizens):
            user = _FIRST_USER_ID + c
            yield {
                "id": c + 1,
                "platform": "telegram" if c % 2 == 0 else "bale",
                "user_id": user,
                "chat_id": user,
                "first_name": "شهروند",
                "locale": "fa",
                "phone_verified": False,
                "sms_enabled": False,
                "created_at": now - _YEARS,
            }

    await _insert(engine, tables["citizen"], citizen_rows())
    versioned = "service_version" in tables  # each distinct definition stored once (migration 0018)
    if versioned:
        stored: dict[int, _Service] = {}
        for entries in services.by_org.values():
            for entry in entries:
                stored.setdefault(entry.version_id, entry)
        await _insert(
            engine,
            tables["service_version"],
            (
                {
                    "id": version_id,
                    "sha256": entry.sha256,
                    "service_id": entry.id,
                    "version": entry.version,
                    "definition": entry.snapshot,
                    "created_at": now - _YEARS,
                }
                for version_id, entry in sorted(stored.items())
            ),
        )

    per_org_open: dict[str, int] = dict.fromkeys(shape.organizations, 0)
    per_org_count: dict[str, int] = dict.fromkeys(shape.organizations, 0)
    identifiers: list[tuple[int, str]] = []

    def request_rows() -> Iterator[dict[str, Any]]:
        for i in range(shape.requests):
            org_id = shape.organizations[i % len(shape.organizations)]
            n = per_org_count[org_id]
            per_org_count[org_id] = n + 1
            created = now - _YEARS * ((shape.requests - i) / shape.requests)
            service = services.pick(org_id, n, naming_national_id=_frequent(shape, n))
            citizen = citizen_of(shape, i)
            answers = dict(service.answers)
            for field_id in service.nid_fields:
                answers[field_id] = national_id_of(citizen)
            if service.nid_fields:
                identifiers.append((i + 1, national_id_of(citizen)))
            row: dict[str, Any] = {
                "id": i + 1,
                "tracking_code": tracking_code_of(i),
                "citizen_id": citizen + 1,
                "organization_id": org_id,
                "about_organization_id": org_id,
                "service_id": service.id,
                "service_version": service.version,
                **(
                    {"service_version_id": service.version_id}
                    if versioned
                    else {"service_snapshot": service.snapshot}
                ),
                "answers": json.dumps(answers),
                "created_at": created,
                "updated_at": created,
                "submitted_at": created,
            }
            if n % shape.open_every == 0:
                k = per_org_open[org_id]
                per_org_open[org_id] = k + 1
                assignee = shape.assignees[k % len(shape.assignees)]
                late = k % 5 < 2
                row |= {
                    "status": "in_progress" if assignee else "submitted",
                    "deadline": today - timedelta(days=1 + k % 30)
                    if late
                    else today + timedelta(days=k % 21),
                    "assignee_platform": assignee[0] if assignee else None,
                    "assignee_user_id": assignee[1] if assignee else None,
                    "closed_at": None,
                }
            else:
                row |= {
                    "status": _CLOSED[n % len(_CLOSED)],
                    "deadline": (created + timedelta(days=14)).date(),
                    "assignee_platform": None,
                    "assignee_user_id": None,
                    "closed_at": created + timedelta(days=7),
                }
            yield row

    await _insert(engine, tables["service_request"], request_rows())
    if "request_identifier" in tables:
        await _insert(
            engine,
            tables["request_identifier"],
            (
                {"request_id": request_id, "kind": "national_id", "value": value}
                for request_id, value in identifiers
            ),
        )

    def event_rows() -> Iterator[dict[str, Any]]:
        for i in range(shape.requests):
            created = now - _YEARS * ((shape.requests - i) / shape.requests)
            for e in range(shape.events_per_request):
                yield {
                    "request_id": i + 1,
                    "at": created + timedelta(hours=e),
                    "actor_kind": "citizen" if e == 0 else "clerk",
                    "actor_id": None,
                    "from_status": None,
                    "to_status": "submitted" if e == 0 else None,
                    "text": None if e == 0 else "یادداشت",
                    "public": e == 0,
                }

    await _insert(engine, tables["request_event"], event_rows())

    pending_from = shape.requests - shape.pending_outbox

    def outbox_rows() -> Iterator[dict[str, Any]]:
        for i in range(shape.requests):
            created = now - _YEARS * ((shape.requests - i) / shape.requests)
            org_id = shape.organizations[i % len(shape.organizations)]
            pending = i >= pending_from
            for o in range(shape.outbox_per_request):
                yield {
                    "channel": "chat",
                    "platform": "telegram",
                    "chat_id": _FIRST_USER_ID + citizen_of(shape, i) if o else -100_000,
                    "organization_id": org_id,
                    "request_id": i + 1,
                    "payload": '{"type": "text", "key": "notify.status"}',
                    "dedupe_key": f"request:{i + 1}:{'submitted' if o == 1 else f'card:{o}'}",
                    "status": "pending" if pending else "sent",
                    "attempts": 0 if pending else 1,
                    "next_attempt_at": created,
                    "created_at": created,
                    "sent_at": None if pending else created,
                }

    await _insert(engine, tables["outbox_message"], outbox_rows())
    await _after_explicit_ids(
        engine, ("citizen", "service_request", *(("service_version",) if versioned else ()))
    )
    return describe(shape)


def describe(shape: Shape) -> Generated:
    """What ``generate`` writes for ``shape`` (it is deterministic): also for a history generated earlier."""
    newest = shape.requests - 1
    citizen = citizen_of(shape, newest)
    return Generated(
        requests=shape.requests,
        citizens=shape.citizens,
        events=shape.requests * shape.events_per_request,
        outbox=shape.requests * shape.outbox_per_request,
        frequent_national_id=national_id_of(0),
        some_tracking_code=tracking_code_of(newest),
        some_citizen=("telegram" if citizen % 2 == 0 else "bale", _FIRST_USER_ID + citizen),
    )


def _frequent(shape: Shape, n: int) -> bool:
    """Whether an organization's ``n``-th request is filed by citizen 0."""
    return bool(shape.frequent_every) and n % shape.frequent_every == 0


def citizen_of(shape: Shape, i: int) -> int:
    """The generated citizen number who filed request ``i``."""
    return 0 if _frequent(shape, i // len(shape.organizations)) else i % shape.citizens


async def _tables(engine: AsyncEngine) -> Mapping[str, Table]:
    """The model tables that exist in the database (a database of an older revision may lack some)."""
    async with engine.connect() as connection:
        names = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    return {name: table for name, table in SQLModel.metadata.tables.items() if name in names}


async def _insert(engine: AsyncEngine, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Insert ``rows`` in chunks of ``CHUNK``, each in its own transaction, by the driver's fastest way: ``COPY`` on
    PostgreSQL, ``executemany`` on SQLite. JSON values come serialized; SQLite gets timestamps as SQLAlchemy
    stores them there (naive UTC text)."""
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        columns = list(chunk[0])
        async with engine.begin() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            assert driver is not None
            if engine.dialect.name == "postgresql":
                records = [tuple(row[c] for c in columns) for row in chunk]
                await driver.copy_records_to_table(table.name, records=records, columns=columns)
            else:
                marks = ", ".join("?" * len(columns))
                sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({marks})"
                await driver.executemany(sql, [tuple(_sqlite(row[c]) for c in columns) for row in chunk])


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _after_explicit_ids(engine: AsyncEngine, names: Sequence[str]) -> None:
    """On PostgreSQL, move the id sequences past the ids given explicitly, so the next insert gets a fresh one."""
    if engine.dialect.name != "postgresql":
        return
    async with engine.begin() as connection:
        for name in names:
            await connection.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
