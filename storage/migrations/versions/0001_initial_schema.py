"""initial schema

Citizens, requests with their documents, events and group messages, the outbox and the bot's
conversation state.

Revision ID: 0001
Revises:
Create Date: 2026-11-27 23:47:06.103758

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "citizen",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("first_name", sa.String(length=128), nullable=True),
        sa.Column("last_name", sa.String(length=128), nullable=True),
        sa.Column("username", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=True),
        sa.Column("phone_verified", sa.Boolean(), nullable=False),
        sa.Column("sms_enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_citizen")),
        sa.UniqueConstraint("platform", "user_id", name=op.f("uq_citizen_platform_user_id")),
    )
    op.create_table(
        "conversation_state",
        sa.Column("key", sa.String(length=191), nullable=False),
        sa.Column("state", sa.String(length=191), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_conversation_state")),
    )
    op.create_table(
        "service_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tracking_code", sa.String(length=32), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("service_version", sa.String(length=64), nullable=False),
        sa.Column("service_snapshot", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assignee_platform", sa.String(length=16), nullable=True),
        sa.Column("assignee_user_id", sa.BigInteger(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("idempotency_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"], ["citizen.id"], name=op.f("fk_service_request_citizen_id_citizen")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_request")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_service_request_idempotency_key")),
        sa.UniqueConstraint("tracking_code", name=op.f("uq_service_request_tracking_code")),
    )
    op.create_index(op.f("ix_service_request_citizen_id"), "service_request", ["citizen_id"], unique=False)
    op.create_index(
        "ix_service_request_org_status_deadline",
        "service_request",
        ["organization_id", "status", "deadline"],
        unique=False,
    )
    op.create_index(
        "ix_service_request_status_deadline", "service_request", ["status", "deadline"], unique=False
    )

    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("platform_file_id", sa.String(length=255), nullable=False),
        sa.Column("file_unique_id", sa.String(length=128), nullable=False),
        sa.Column("stored_path", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("mime", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_document_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
    )
    op.create_index(op.f("ix_document_request_id"), "document", ["request_id"], unique=False)

    op.create_table(
        "group_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_group_message_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_message")),
        sa.UniqueConstraint(
            "platform", "chat_id", "message_id", name=op.f("uq_group_message_platform_chat_id_message_id")
        ),
    )
    op.create_index(op.f("ix_group_message_request_id"), "group_message", ["request_id"], unique=False)

    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("phone", sa.String(length=11), nullable=True),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=191), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_outbox_message_request_id_service_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_message_dedupe_key")),
    )
    op.create_index(op.f("ix_outbox_message_request_id"), "outbox_message", ["request_id"], unique=False)
    op.create_index(
        "ix_outbox_message_status_next_attempt", "outbox_message", ["status", "next_attempt_at"], unique=False
    )

    op.create_table(
        "request_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.String(length=64), nullable=True),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=True),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_event_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_event")),
    )
    op.create_index(op.f("ix_request_event_request_id"), "request_event", ["request_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_request_event_request_id"), table_name="request_event")

    op.drop_table("request_event")
    op.drop_index("ix_outbox_message_status_next_attempt", table_name="outbox_message")
    op.drop_index(op.f("ix_outbox_message_request_id"), table_name="outbox_message")

    op.drop_table("outbox_message")
    op.drop_index(op.f("ix_group_message_request_id"), table_name="group_message")

    op.drop_table("group_message")
    op.drop_index(op.f("ix_document_request_id"), table_name="document")

    op.drop_table("document")
    op.drop_index("ix_service_request_status_deadline", table_name="service_request")
    op.drop_index("ix_service_request_org_status_deadline", table_name="service_request")
    op.drop_index(op.f("ix_service_request_citizen_id"), table_name="service_request")

    op.drop_table("service_request")
    op.drop_table("conversation_state")
    op.drop_table("citizen")
