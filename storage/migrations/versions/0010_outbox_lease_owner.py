"""outbox lease owner

An outbox row being sent names the process holding its lease (machine, process id and a nonce), so a sender
restarting on the same machine ends its dead predecessor's leases at once instead of waiting for them to run
out (``bot.outbox``). Rows claimed before this have none and wait for their lease, as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locked_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("locked_by")
