"""inquiry

Inquiries between organizations: a question a municipality or dehyari sends an agency (or another organization)
about a request, with its due date, letters, the agency's answer and the reminders sent about it.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 12:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "inquiry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("asking_organization_id", sa.String(length=64), nullable=False),
        sa.Column("agency_id", sa.String(length=64), nullable=False),
        sa.Column("question", sa.String(), nullable=False),
        sa.Column("document_ids", sa.JSON(), nullable=False),
        sa.Column("asked_by", sa.String(length=64), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("letter_number", sa.String(length=64), nullable=True),
        sa.Column("letter_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("thread", sa.JSON(), nullable=False),
        sa.Column("answer_text", sa.String(), nullable=True),
        sa.Column("answer_files", sa.JSON(), nullable=False),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_letter_number", sa.String(length=64), nullable=True),
        sa.Column("answer_letter_date", sa.Date(), nullable=True),
        sa.Column("reminded_on", sa.Date(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_inquiry_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry")),
    )
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inquiry_request_id"), ["request_id"], unique=False)
        batch_op.create_index("ix_inquiry_state_due_date", ["state", "due_date"], unique=False)
        batch_op.create_index("ix_inquiry_agency_id_state", ["agency_id", "state"], unique=False)
        batch_op.create_index(
            "ix_inquiry_asking_organization_id_state", ["asking_organization_id", "state"], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("inquiry", schema=None) as batch_op:
        batch_op.drop_index("ix_inquiry_asking_organization_id_state")
        batch_op.drop_index("ix_inquiry_agency_id_state")
        batch_op.drop_index("ix_inquiry_state_due_date")
        batch_op.drop_index(batch_op.f("ix_inquiry_request_id"))

    op.drop_table("inquiry")
