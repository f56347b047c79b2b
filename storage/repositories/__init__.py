"""Thin async repositories over an ``AsyncSession``, one module per concern.

They add, find and update rows and flush when they need generated ids, but never commit: the caller
owns the transaction (``storage.uow.unit_of_work``), so everything one use case writes lands together.
Statuses are plain strings here; ``desk`` decides which transitions are allowed. Each repository is a
:class:`~storage.repositories.base.Repository` holding the caller's session.
"""

from storage.repositories.base import Repository
from storage.repositories.certificates import Certificates
from storage.repositories.citizens import Citizens
from storage.repositories.conversations import ConversationStates
from storage.repositories.dues import Dues
from storage.repositories.groups import GroupMessages, RegisteredClerks
from storage.repositories.inquiries import OPEN_INQUIRY_STATES, Inquiries
from storage.repositories.outbox import Outbox
from storage.repositories.payments import Payments
from storage.repositories.reports import ReportQueries
from storage.repositories.requests import OPEN_STATUSES, Events, Listed, Requests
from storage.repositories.service_versions import ServiceVersions
from storage.repositories.settlements import Settlements
from storage.repositories.surveys import SurveyAnswers
from storage.repositories.webhook_updates import WebhookUpdates

__all__ = [
    "OPEN_INQUIRY_STATES",
    "OPEN_STATUSES",
    "Certificates",
    "Citizens",
    "ConversationStates",
    "Dues",
    "Events",
    "GroupMessages",
    "Inquiries",
    "Listed",
    "Outbox",
    "Payments",
    "RegisteredClerks",
    "ReportQueries",
    "Repository",
    "Requests",
    "ServiceVersions",
    "Settlements",
    "SurveyAnswers",
    "WebhookUpdates",
]
