"""webhook updates in flight: the copy a worker without Redis keeps until it has handled an update

``miz serve`` answers a webhook delivery before it has handled the update, and the messenger never delivers it
again; without Redis, the update is written to ``webhook_update`` before that answer and deleted once handled, so
a worker killed in between leaves it for the next one to replay.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 14:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "webhook_update",
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "bot_id", "update_id", name=op.f("pk_webhook_update")),
    )
    op.create_index(op.f("ix_webhook_update_owner"), "webhook_update", ["owner"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_webhook_update_owner"), table_name="webhook_update")
    op.drop_table("webhook_update")
