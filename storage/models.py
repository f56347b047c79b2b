"""The tables of Miz, as SQLModel classes.

Statuses, platforms and kinds are plain strings (VARCHAR) rather than database enums: ``desk`` owns the
lifecycle and checks transitions, and adding a status then needs no migration. Column types are the
generic ones (``JSON``, ``BigInteger``, ``DateTime``) so the same schema works on SQLite and PostgreSQL.
Every timestamp is timezone-aware UTC (see ``storage.columns.UTCDateTime``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from storage.columns import UTCDateTime, utcnow

# Named constraints, so migrations can refer to them and the names are the same on every back-end.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

__all__ = [
    "Certificate",
    "Citizen",
    "ConversationState",
    "Document",
    "Due",
    "DuesImport",
    "GroupMessage",
    "Inquiry",
    "OutboxMessage",
    "Payment",
    "PhoneVerification",
    "RegisteredClerk",
    "RequestEvent",
    "RequestIdentifier",
    "ServiceRequest",
    "ServiceVersion",
    "Settlement",
    "SettlementImport",
    "SurveyAnswer",
    "WebhookUpdate",
]


def _utc_column(*, nullable: bool, index: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable, index=index)


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _request_fk(*, nullable: bool = False) -> Any:
    # An outbox row may outlive its request (SET NULL); documents, events and cards go with it (CASCADE).
    on_delete = "SET NULL" if nullable else "CASCADE"
    return Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("service_request.id", ondelete=on_delete), nullable=nullable, index=True
        ),
    )


class Citizen(SQLModel, table=True):
    """A person who talks to the bot in a private chat, identified per platform by (platform, user_id)."""

    __tablename__ = "citizen"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16, description="'telegram' or 'bale'")
    user_id: int = Field(sa_type=BigInteger)
    chat_id: int = Field(sa_type=BigInteger, description="the private chat with the bot")
    first_name: str | None = Field(default=None, max_length=128)
    last_name: str | None = Field(default=None, max_length=128)
    username: str | None = Field(default=None, max_length=64)
    locale: str = Field(default="fa", max_length=8)
    phone: str | None = Field(default=None, max_length=11, description="normalized mobile, 09xxxxxxxxx")
    phone_verified: bool = Field(
        default=False, description="came from the messenger's contact button or a code"
    )
    sms_enabled: bool = Field(default=False, description="the citizen agreed to stage notifications by SMS")
    created_at: datetime = _created()


class ServiceVersion(SQLModel, table=True):
    """A service definition as requests were filed under it, stored once: keyed by the SHA-256 of its canonical
    JSON (``storage.repositories.service_versions.definition_sha256``), so every request filed under the same
    definition names one row instead of carrying its own copy (about 13 KB each with the shipped catalog)."""

    __tablename__ = "service_version"

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(max_length=64, unique=True)
    service_id: str = Field(max_length=64)
    version: str = Field(max_length=64, description="the catalog's version string of the service")
    definition: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    created_at: datetime = _created()


class ServiceRequest(SQLModel, table=True):
    """A citizen's request for a service, followed by its tracking code (کد رهگیری).

    ``service_snapshot`` is the resolved service definition the request was filed under (its ``ServiceVersion``,
    loaded with it), so later catalog edits never change what an old request asked for.
    """

    __tablename__ = "service_request"
    __table_args__ = (
        Index("ix_service_request_org_status_deadline", "organization_id", "status", "deadline"),
        Index("ix_service_request_status_deadline", "status", "deadline"),
        # Reports count the requests filed, and finished, in a period (desk.reports): of every organization at
        # once, so the time leads (an index led by the organization could not serve the governorate's report).
        Index("ix_service_request_submitted_at", "submitted_at"),
        Index("ix_service_request_closed_at", "closed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tracking_code: str = Field(max_length=32, unique=True)
    citizen_id: int = Field(foreign_key="citizen.id", index=True)
    organization_id: str = Field(
        max_length=64, description="the organization that handles it: every access check, list and digest"
    )
    about_organization_id: str | None = Field(
        default=None,
        max_length=64,
        description="the organization it is about (the chosen one); differs for an anonymous complaint",
    )
    service_id: str = Field(max_length=64)
    service_version: str = Field(max_length=64)
    service_version_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("service_version.id"), nullable=True, index=True),
        description="the definition it was filed under; None only for a request built without one (tests)",
    )
    definition: ServiceVersion | None = Relationship(
        sa_relationship=relationship(ServiceVersion, lazy="selectin")
    )
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    status: str = Field(max_length=32)
    assignee_platform: str | None = Field(default=None, max_length=16)
    assignee_user_id: int | None = Field(default=None, sa_type=BigInteger)
    deadline: date | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()
    submitted_at: datetime | None = _utc_column(nullable=True)
    closed_at: datetime | None = _utc_column(nullable=True)
    idempotency_key: str | None = Field(
        default=None,
        max_length=64,
        unique=True,
        description="sent with the citizen's submit: a double tap files once",
    )

    @property
    def service_snapshot(self) -> dict[str, Any]:
        """The service definition the request was filed under (empty when it has none)."""
        return self.definition.definition if self.definition is not None else {}


class RequestIdentifier(SQLModel, table=True):
    """An identifier a request names, normalized, so clerks find requests by it (``/find NATIONAL_ID``).

    Today the only ``kind`` is ``national_id``: each distinct answer to one of the request's national ID questions,
    as 10 ASCII digits. Written with the request when it is filed (and for older requests by migration 0011), and
    looked up by the unique index on ``(kind, value, request_id)``: every request naming it, however old, without
    reading the answers (JSON) of any other.
    """

    __tablename__ = "request_identifier"
    __table_args__ = (UniqueConstraint("kind", "value", "request_id"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = _request_fk()
    kind: str = Field(max_length=16, description="'national_id'")
    value: str = Field(max_length=32, description="normalized: a national ID as 10 ASCII digits")


class Document(SQLModel, table=True):
    """A file a citizen sent for one document slot of a request, copied into the document store."""

    __tablename__ = "document"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = _request_fk()
    slot: str = Field(max_length=64, description="the service's document id this file answers")
    platform: str = Field(max_length=16)
    platform_file_id: str = Field(max_length=255)
    file_unique_id: str = Field(max_length=128)
    stored_path: str = Field(
        max_length=255,
        index=True,  # retention asks whether another request still names a file it would remove
        description="relative to the document store's root",
    )
    sha256: str = Field(max_length=64)
    size: int
    mime: str = Field(max_length=64)
    kind: str = Field(max_length=8, description="'photo' or 'pdf'")
    created_at: datetime = _created()


class RequestEvent(SQLModel, table=True):
    """One step in a request's history: a status change or a note, by whom and when.

    ``public`` events are shown to the citizen; internal notes of clerks are not. A ``notice`` is Miz's own
    words (a message id and its parameters, ``desk.notices``), so each reader sees it in their language.
    """

    __tablename__ = "request_event"

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = _request_fk()
    at: datetime = _created()
    actor_kind: str = Field(max_length=16, description="citizen, clerk, supervisor or system")
    actor_id: str | None = Field(
        default=None, max_length=64, description="'<platform>:<user id>' of a person"
    )
    from_status: str | None = Field(default=None, max_length=32)
    to_status: str | None = Field(default=None, max_length=32, description="None for a note without a change")
    text: str | None = None
    notice: dict[str, Any] | None = Field(
        default=None,
        sa_type=JSON,
        description="an event Miz itself writes, shown in each reader's language instead of text: "
        "{'key': msgid, **params} (documents removed after the retention period)",
    )
    public: bool = True
    from_organization_id: str | None = Field(
        default=None, max_length=64, description="a transfer: the organization that handed the request over"
    )
    to_organization_id: str | None = Field(
        default=None, max_length=64, description="a transfer: the organization that handles the request now"
    )
    from_service_version_id: int | None = Field(
        default=None, description="a transfer to another service: the definition it was handled under before"
    )
    to_service_version_id: int | None = Field(
        default=None, description="a transfer to another service: the definition it is handled under now"
    )


class GroupMessage(SQLModel, table=True):
    """A message the bot posted about a request (in an operator group, or to the citizen), so a reply to it
    finds the request."""

    __tablename__ = "group_message"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)
    request_id: int = _request_fk()
    kind: str = Field(
        max_length=16, description="'card', 'relay', 'document', 'location' (groups) or 'citizen'"
    )
    created_at: datetime = _created()


class OutboxMessage(SQLModel, table=True):
    """A notification to deliver after its transaction commits: a chat message or an SMS.

    Written in the same transaction as the change it announces, so it exists only if that change does;
    ``dedupe_key`` makes a repeated enqueue of the same notification a no-op.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_outbox_message_channel_sent_at", "channel", "sent_at"),  # reports count the SMS sent
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=8, description="'chat' or 'sms'")
    platform: str | None = Field(default=None, max_length=16)
    chat_id: int | None = Field(default=None, sa_type=BigInteger)
    phone: str | None = Field(default=None, max_length=11)
    organization_id: str = Field(max_length=64)
    request_id: int | None = _request_fk(nullable=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    dedupe_key: str = Field(max_length=191, unique=True)
    status: str = Field(default="pending", max_length=16, description="pending, sending, sent or failed")
    attempts: int = 0
    next_attempt_at: datetime = _created()
    locked_until: datetime | None = _utc_column(nullable=True)
    locked_by: str | None = Field(
        default=None, max_length=64, description="the process holding the lease: machine, pid and a nonce"
    )
    created_at: datetime = _created()
    sent_at: datetime | None = _utc_column(nullable=True)
    last_error: str | None = None
    cost_rials: int | None = Field(default=None, description="what the SMS gateway charged, when it says")
    parts: int | None = Field(default=None, description="SMS parts (or gateway credits) the message took")


class SurveyAnswer(SQLModel, table=True):
    """The citizen's satisfaction with a finished request: a score from 1 to 5 and an optional comment.

    One per request (a second rating replaces the first), kept with the request (CASCADE), so an organization's
    figures come from joining its requests.
    """

    __tablename__ = "survey_answer"
    __table_args__ = (CheckConstraint("score >= 1 AND score <= 5", name="score_range"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("service_request.id", ondelete="CASCADE"), nullable=False, unique=True
        ),
    )
    score: int = Field(description="1 (very poor) to 5 (excellent)")
    comment: str | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ConversationState(SQLModel, table=True):
    """The bot's conversation (FSM) state of one user in one chat, so a restart never loses a half-filled form."""

    __tablename__ = "conversation_state"

    key: str = Field(primary_key=True, max_length=191, description="e.g. 'bale:<chat id>:<user id>'")
    state: str | None = Field(default=None, max_length=191)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = _created()


class RegisteredClerk(SQLModel, table=True):
    """A clerk an organization's supervisor or group administrator added with ``/addclerk`` (the catalog lists
    the others): who may act on that organization's requests from its operator group."""

    __tablename__ = "registered_clerk"
    __table_args__ = (UniqueConstraint("organization_id", "platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=16)
    user_id: int = Field(sa_type=BigInteger)
    name: str = Field(max_length=128)
    added_by: str = Field(max_length=64, description="'platform:user id' of who added them")
    created_at: datetime = _created()


class PhoneVerification(SQLModel, table=True):
    """A one-time code sent by SMS to prove a citizen reads the mobile they gave (a relative's, say).

    Only a hash of the code is kept. Each row is one code: it expires, counts wrong tries, and its
    ``created_at`` is what the limits per phone, per citizen and per organization count.
    """

    __tablename__ = "phone_verification"
    __table_args__ = (
        Index("ix_phone_verification_phone_created_at", "phone", "created_at"),
        Index("ix_phone_verification_organization_id_created_at", "organization_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    citizen_id: int = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("citizen.id", ondelete="CASCADE"), nullable=False, index=True),
    )
    phone: str = Field(max_length=11, description="normalized mobile, 09xxxxxxxxx")
    organization_id: str | None = Field(
        default=None,
        max_length=64,
        description="who pays for the code's SMS (None: sent before migration 0009)",
    )
    code_hash: str = Field(max_length=64, description="HMAC-SHA256 of the code, hex")
    attempts: int = Field(default=0, description="wrong codes entered so far")
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    verified_at: datetime | None = _utc_column(nullable=True)


class DuesImport(SQLModel, table=True):
    """One dues file an admin imported (``miz dues import``): which file, by whom, and what it changed."""

    __tablename__ = "dues_import"

    id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(max_length=64, index=True)
    kind: str = Field(max_length=16, description="'renovation', 'business' or 'vehicle'")
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64, description="of the file's bytes, to notice a file imported twice")
    rows: int = Field(description="dues written")
    replaced: int = Field(default=0, description="unpaid dues of the same periods it replaced")
    skipped_paid: int = Field(default=0, description="rows left out because that due was already paid")
    imported_by: str = Field(max_length=64)
    at: datetime = _created()


class Due(SQLModel, table=True):
    """A due (بدهی عوارض) of a property (renovation fee) or a business (business fee) for one period.

    Imported from the organization's finance system; a citizen finds it by code and national ID and pays it
    through any bank channel with its bill ID and payment ID. One row per code and period: a newer import
    replaces the unpaid ones, and a paid one (``paid_at``) is kept as it was.
    """

    __tablename__ = "due"
    __table_args__ = (
        UniqueConstraint("organization_id", "kind", "code_key", "period_year", "period_number"),
        Index("ix_due_organization_id_code_key", "organization_id", "code_key"),
        CheckConstraint("amount_rials > 0", name="amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(max_length=64)
    kind: str = Field(max_length=16, description="'renovation', 'business' or 'vehicle'")
    property_or_business_code: str = Field(max_length=64, description="as the organization writes it")
    code_key: str = Field(max_length=64, description="the code without separators, what look-ups compare")
    national_id: str = Field(max_length=10, description="of the owner or the business holder")
    amount_rials: int = Field(sa_type=BigInteger)
    period_year: int = Field(description="Jalali year")
    period_number: int = Field(default=0, description="0 for the whole year, else the instalment 1..99")
    bill_id: str = Field(max_length=13)
    payment_id: str = Field(max_length=13)
    imported_at: datetime = _created()
    import_batch_id: int = Field(foreign_key="dues_import.id", index=True)
    paid_at: datetime | None = _utc_column(nullable=True)


class Certificate(SQLModel, table=True):
    """A certificate an organization issued (a permit, a completion or no-violation certificate).

    Anyone holding the paper can check it with its ``verification_code`` (``/verify``); a revoked one says so
    and why. It may name the request it answered (kept if that request is ever deleted).
    """

    __tablename__ = "certificate"

    id: int | None = Field(default=None, primary_key=True)
    organization_id: str = Field(max_length=64, index=True)
    request_id: int | None = _request_fk(nullable=True)
    type: str = Field(max_length=64, description="a desk.certificates.CertificateType")
    holder_name: str = Field(max_length=200)
    holder_national_id: str = Field(max_length=10)
    property: str = Field(max_length=255, description="the property it is about: address, plate or code")
    issued_on: date
    valid_until: date | None = None
    verification_code: str = Field(max_length=16, unique=True)
    status: str = Field(default="valid", max_length=16, description="'valid' or 'revoked'")
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_at: datetime | None = _utc_column(nullable=True)
    issued_by: str = Field(max_length=64)
    created_at: datetime = _created()


class Payment(SQLModel, table=True):
    """A payment of a request (a clerk asked for it) or of a due (the citizen chose to pay it in the Bale
    wallet), and how it was paid (``desk.payments``).

    Exactly one of ``request_id`` and ``due_id`` is set when the row is written; a due payment also names the
    citizen it was offered to (``citizen_id``), who gets the receipt. A due replaced by a later import leaves
    its payments with ``due_id`` NULL; a request's payments go with it.

    The bill ID and payment ID let it be paid through any bank channel; on Bale an in-chat invoice carries
    ``invoice_payload`` (a random token, unique), which the wallet's pre-checkout query and receipt send back.
    ``channel`` is how the citizen was offered to pay (``bale_wallet`` when an invoice was sent, else ``bank``)
    and, once ``paid``, how they paid. ``provider_transaction_id`` is the wallet's or the bank's reference.
    """

    __tablename__ = "payment"
    __table_args__ = (
        Index("ix_payment_status_channel_created_at", "status", "channel", "created_at"),
        CheckConstraint("amount_rials > 0", name="amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("service_request.id", ondelete="CASCADE"), nullable=True, index=True
        ),
    )
    due_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("due.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    citizen_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("citizen.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    organization_id: str = Field(max_length=64)
    amount_rials: int = Field(sa_type=BigInteger)
    bill_id: str = Field(max_length=13)
    payment_id: str = Field(max_length=13)
    status: str = Field(default="pending", max_length=16, description="'pending', 'paid' or 'cancelled'")
    invoice_payload: str = Field(max_length=64, unique=True, description="random token of the Bale invoice")
    channel: str = Field(default="bank", max_length=16, description="'bank' or 'bale_wallet'")
    provider_transaction_id: str | None = Field(default=None, max_length=128)
    paid_at: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _created()


class SettlementImport(SQLModel, table=True):
    """One bank report of bills paid that an admin imported (``miz payments import``), and what it did."""

    __tablename__ = "settlement_import"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=255)
    sha256: str = Field(max_length=64, description="of the file's bytes, to notice a report imported twice")
    rows: int = Field(description="payments the report holds")
    applied: int = Field(default=0, description="rows that marked a due or a request's payment paid")
    duplicates: int = Field(default=0, description="rows already imported, or twice in the report")
    mismatches: int = Field(default=0, description="rows listed and skipped: nothing payable matches them")
    imported_by: str = Field(max_length=64)
    at: datetime = _created()


class Settlement(SQLModel, table=True):
    """A bill a bank reported paid (``desk.settlements``): one per trace number and bill ID, so a report imported
    again changes nothing. It names the due or the request's payment it paid (``outcome`` says which, or
    ``already_paid`` when that was paid before, by the wallet or another bank, for the finance office to refund).
    """

    __tablename__ = "settlement"
    __table_args__ = (
        UniqueConstraint("trace_number", "bill_id"),
        CheckConstraint("amount_rials > 0", name="amount_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="settlement_import.id", index=True)
    trace_number: str = Field(max_length=32, description="the bank's trace number (شماره پیگیری)")
    bill_id: str = Field(max_length=13)
    payment_id: str = Field(max_length=13)
    amount_rials: int = Field(sa_type=BigInteger)
    paid_on: date = Field(description="the day the bank took the money, as its report says")
    outcome: str = Field(max_length=16, description="'due', 'request' or 'already_paid'")
    due_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("due.id", ondelete="SET NULL"), nullable=True, index=True),
    )
    paid_payment_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("payment.id", ondelete="SET NULL"), nullable=True, index=True),
        description="the request's payment it paid",
    )
    recorded_at: datetime = _created()


class Inquiry(SQLModel, table=True):
    """A question one organization sent another (an agency, or a municipality) about a request, and its answer.

    The request stays ``waiting_external`` while any of its inquiries is ``open`` or ``need_more`` (the agency
    asked the clerk for more); ``answered`` and ``not_ours`` close it, and ``cancelled`` when the request no longer
    needs it (finished, or transferred away from the asker: ``desk.inquiry_ends``). ``document_ids`` are the request's
    documents the clerk chose to attach: the agency sees those and nothing else of the citizen. ``thread`` keeps
    the exchanges of "need more" (``[{"kind": "need_more"|"more", "text", "by", "at"}]``) and why it was cancelled
    (``{"kind": "cancelled", "reason", "at"}``). ``files`` are the new
    files the clerk sent with the question and ``answer_files`` those of the answer, each kept in the document
    store (``[{"platform", "chat_id", "message_id", "platform_file_id", "stored_path", "sha256", "size", "mime",
    "kind"}]``; answers recorded before migration 0020 have only the first three and ``kind``).
    """

    __tablename__ = "inquiry"
    __table_args__ = (
        Index("ix_inquiry_state_due_date", "state", "due_date"),
        Index("ix_inquiry_agency_id_state", "agency_id", "state"),
        Index("ix_inquiry_asking_organization_id_state", "asking_organization_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = _request_fk()
    asking_organization_id: str = Field(max_length=64)
    agency_id: str = Field(max_length=64, description="the catalog id of the agency (or organization) asked")
    question: str
    document_ids: list[int] = Field(default_factory=list, sa_type=JSON)
    files: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    asked_by: str = Field(max_length=64, description="'platform:user id' of the clerk who sent it")
    asked_at: datetime = _created()
    due_date: date
    letter_number: str | None = Field(default=None, max_length=64, description="the outgoing letter's number")
    letter_date: date | None = None
    state: str = Field(
        default="open", max_length=16, description="open, need_more, answered, not_ours or cancelled"
    )
    thread: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    answer_text: str | None = None
    answer_files: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    answered_by: str | None = Field(default=None, max_length=64)
    answered_at: datetime | None = _utc_column(nullable=True)
    answer_letter_number: str | None = Field(default=None, max_length=64)
    answer_letter_date: date | None = None
    reminded_on: date | None = Field(default=None, description="the last day it was listed as overdue")
    escalated_at: datetime | None = _utc_column(nullable=True)


class WebhookUpdate(SQLModel, table=True):
    """An update ``miz serve`` has answered 200 for and not yet handled, kept whole, when there is no Redis.

    The messenger does not deliver an update again once it was answered, so a worker that dies before handling it
    would lose it: the row is written before the answer and deleted once the update is handled, and a worker that
    starts replays the rows that a dead process left (``bot.update_ledger.DatabaseLedger``). With Redis the same
    copy is kept there instead.
    """

    __tablename__ = "webhook_update"

    platform: str = Field(primary_key=True, max_length=16)
    bot_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    body: str = Field(description="the update as the messenger delivered it (JSON)")
    owner: str = Field(
        max_length=64, index=True, description="the process handling it (bot.worker.lease_owner)"
    )
    taken_at: datetime = _created()
