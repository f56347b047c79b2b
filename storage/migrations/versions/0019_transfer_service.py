"""transfer with another service

A transfer may also move a request to another service (one filed under the wrong one). The event records the
definitions it was handled under before and after (``request_event.from_service_version_id`` and
``to_service_version_id``, rows of ``service_version``; both null for every other event), so the history and the
card can say "filed as <old service>" and still label the answers given to the old service's questions.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 13:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_service_version_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("to_service_version_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.drop_column("to_service_version_id")
        batch_op.drop_column("from_service_version_id")
