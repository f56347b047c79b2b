"""report time indexes

The reports' indexes of 0012 were led by the organization, which the governorate's report of every organization
does not name: SQLite then read the requests through the status index instead, row by row (9 s for a month of a
100,000-request county). The requests filed and finished in a period are found by time alone.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:15:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_service_request_org_submitted_at", table_name="service_request")
    op.drop_index("ix_service_request_org_closed_at", table_name="service_request")
    op.create_index("ix_service_request_submitted_at", "service_request", ["submitted_at"])
    op.create_index("ix_service_request_closed_at", "service_request", ["closed_at"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_service_request_closed_at", table_name="service_request")
    op.drop_index("ix_service_request_submitted_at", table_name="service_request")
    op.create_index("ix_service_request_org_closed_at", "service_request", ["organization_id", "closed_at"])
    op.create_index(
        "ix_service_request_org_submitted_at", "service_request", ["organization_id", "submitted_at"]
    )
