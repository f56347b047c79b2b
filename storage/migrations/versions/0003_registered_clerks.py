"""registered clerks

Clerks added in an operator group with /addclerk, besides those the catalog lists.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 01:29:27.777548

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "registered_clerk",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_clerk")),
        sa.UniqueConstraint(
            "organization_id",
            "platform",
            "user_id",
            name=op.f("uq_registered_clerk_organization_id_platform_user_id"),
        ),
    )
    with op.batch_alter_table("registered_clerk", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registered_clerk_organization_id"), ["organization_id"], unique=False
        )



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("registered_clerk", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registered_clerk_organization_id"))

    op.drop_table("registered_clerk")
