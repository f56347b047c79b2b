"""request transfer

An event records a transfer: the organization that handed the request over and the one that handles it now
(``request_event.from_organization_id`` and ``to_organization_id``, both null for every other event). The public
history reads "transferred to <organization>" from it, and the old group's card knows it gave the request away.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 11:45:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("from_organization_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("to_organization_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("request_event", schema=None) as batch_op:
        batch_op.drop_column("to_organization_id")
        batch_op.drop_column("from_organization_id")
