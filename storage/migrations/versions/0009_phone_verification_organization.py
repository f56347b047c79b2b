"""phone verification organization

A one-time code records the organization that pays for its SMS (that of the request the number came with), so
``desk.verification`` can hold each organization to an hourly ceiling of codes. Codes sent before this have
none and count against no organization (they are older than the ceiling's hour within minutes anyway).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("phone_verification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organization_id", sa.String(length=64), nullable=True))
        batch_op.create_index(
            "ix_phone_verification_organization_id_created_at",
            ["organization_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("phone_verification", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_verification_organization_id_created_at")
        batch_op.drop_column("organization_id")
