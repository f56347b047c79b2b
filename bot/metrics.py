"""Prometheus metrics (the official ``prometheus-client``), served at ``/metrics`` by ``miz serve`` and by
``miz run`` on ``MIZ_HEALTH_PORT``.

Counted by this process as it works (each worker its own; Prometheus adds them up with ``sum``):

- ``miz_updates_total{platform, kind}``: updates handled (``kind``: message, callback_query, ...);
- ``miz_update_seconds{platform}``: how long handling one took (a histogram);
- ``miz_errors_total{kind}``: failures: ``outage`` (the database or Redis unreachable), ``handler`` (a bug met by
  an update), ``outbox`` (a bug met by a send);
- ``miz_sends_total{channel, result}``: outbox deliveries per channel (``telegram``, ``bale``, ``sms``) by result:
  ``sent``, ``retried``, ``failed``, ``429`` (the messenger said too many);
- ``miz_sms_parts_total`` and ``miz_sms_cost_rials_total``: what the SMS sent took and cost;
- ``miz_requests_filed_total{organization}``: requests citizens filed.

Read from the database at each scrape (the same in every worker: use ``max`` across workers), each by one indexed
query (:meth:`storage.repositories.Outbox.due_by_channel`, :meth:`storage.repositories.Requests.open_by_organization`):

- ``miz_outbox_due{channel}`` and ``miz_outbox_oldest_due_seconds{channel}``: rows waiting to be sent now, and how
  long the oldest has waited (a stuck sender shows as a growing age);
- ``miz_requests_open{organization}`` and ``miz_requests_overdue{organization}``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk.persian import TEHRAN
from storage.repositories import Outbox, Requests

__all__ = [
    "ERRORS",
    "REGISTRY",
    "REQUESTS_FILED",
    "SENDS",
    "SMS_COST",
    "SMS_PARTS",
    "UPDATES",
    "UPDATE_SECONDS",
    "scrape",
    "setup_metrics",
    "timed_update",
]

logger = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
"""This process's counters (not the client's global registry: tests run several Miz in one process)."""

UPDATES = Counter("miz_updates", "Updates handled", ["platform", "kind"], registry=REGISTRY)
UPDATE_SECONDS = Histogram(
    "miz_update_seconds",
    "Time to handle one update",
    ["platform"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
ERRORS = Counter("miz_errors", "Failures by kind: outage, handler, outbox", ["kind"], registry=REGISTRY)
SENDS = Counter(
    "miz_sends",
    "Outbox deliveries by channel and result (sent, retried, failed, 429)",
    ["channel", "result"],
    registry=REGISTRY,
)
SMS_PARTS = Counter("miz_sms_parts", "SMS parts sent", registry=REGISTRY)
SMS_COST = Counter(
    "miz_sms_cost_rials", "What the SMS sent cost, in rials, as the gateway reported", registry=REGISTRY
)
REQUESTS_FILED = Counter(
    "miz_requests_filed", "Requests filed by citizens", ["organization"], registry=REGISTRY
)


@contextmanager
def timed_update(platform: str, kind: str) -> Iterator[None]:
    """Count one update of ``kind`` on ``platform`` and time its handling."""
    started = time.perf_counter()
    try:
        yield
    finally:
        UPDATES.labels(platform, kind).inc()
        UPDATE_SECONDS.labels(platform).observe(time.perf_counter() - started)


class _Snapshot(Collector):
    """The scrape-time gauges, from figures read just before."""

    def __init__(
        self,
        due: dict[str, tuple[int, datetime]],
        requests: dict[str, tuple[int, int]],
        now: datetime,
    ) -> None:
        self._due = due
        self._requests = requests
        self._now = now

    def collect(self) -> Iterator[Metric]:
        due = GaugeMetricFamily("miz_outbox_due", "Outbox rows due to be sent now", labels=["channel"])
        age = GaugeMetricFamily(
            "miz_outbox_oldest_due_seconds",
            "How long the oldest due outbox row has waited",
            labels=["channel"],
        )
        for channel in sorted({"telegram", "bale", "sms", *self._due}):
            count, oldest = self._due.get(channel, (0, self._now))
            due.add_metric([channel], count)
            age.add_metric([channel], max(0.0, (self._now - oldest).total_seconds()))
        opened = GaugeMetricFamily(
            "miz_requests_open", "Requests still to be worked on", labels=["organization"]
        )
        overdue = GaugeMetricFamily(
            "miz_requests_overdue", "Open requests past their deadline", labels=["organization"]
        )
        for organization, (open_count, overdue_count) in sorted(self._requests.items()):
            opened.add_metric([organization], open_count)
            overdue.add_metric([organization], overdue_count)
        yield from (due, age, opened, overdue)


async def scrape(
    factory: async_sessionmaker[AsyncSession], *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> bytes:
    """The metrics text: this process's counters, then the gauges read from the database now (left out, and
    counted as an outage error, when it cannot be read)."""
    now = clock()
    today: date = now.astimezone(TEHRAN).date()
    try:
        async with factory() as session:
            due = await Outbox(session).due_by_channel(now)
            requests = await Requests(session).open_by_organization(today)
    except Exception as error:
        ERRORS.labels("outage").inc()
        logger.warning("metrics: the database cannot be read (%s)", type(error).__name__)
        return generate_latest(REGISTRY)
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(due, requests, now))
    return generate_latest(REGISTRY) + generate_latest(snapshot)


def setup_metrics(app: web.Application, *, factory: async_sessionmaker[AsyncSession]) -> None:
    """Add ``/metrics`` to ``app``."""

    async def metrics(_request: web.Request) -> web.Response:
        response = web.Response(body=await scrape(factory))
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        response.charset = "utf-8"
        return response

    app.router.add_get("/metrics", metrics)
