"""request about organization

A request records the organization it is about apart from the one that handles it: an anonymous complaint is
about a municipality or dehyari but handled by the governorate alone (``organization_id``, which every access
check, list and digest uses). Existing rows are about the organization that handles them; anonymous complaints
filed before this are moved to the governorate when the bot starts (it knows the governorate from the catalog).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 06:20:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("about_organization_id", sa.String(length=64), nullable=True))
    op.execute("UPDATE service_request SET about_organization_id = organization_id")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("service_request", schema=None) as batch_op:
        batch_op.drop_column("about_organization_id")
