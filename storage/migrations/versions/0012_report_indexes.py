"""report indexes

Reports count each organization's requests filed and finished in a period, and the SMS sent in it, with
aggregate queries (``storage.repositories.reports``); these indexes let them read only that period's rows.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 10:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index(
        "ix_service_request_org_submitted_at", "service_request", ["organization_id", "submitted_at"]
    )
    op.create_index("ix_service_request_org_closed_at", "service_request", ["organization_id", "closed_at"])
    op.create_index("ix_outbox_message_channel_sent_at", "outbox_message", ["channel", "sent_at"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_outbox_message_channel_sent_at", table_name="outbox_message")
    op.drop_index("ix_service_request_org_closed_at", table_name="service_request")
    op.drop_index("ix_service_request_org_submitted_at", table_name="service_request")
