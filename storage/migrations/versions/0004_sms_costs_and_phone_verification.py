"""sms costs and phone verification

What each SMS cost (per organization, from the outbox) and one-time codes that verify a mobile number.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 02:38:42.046570

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "phone_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("citizen_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=11), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizen.id"],
            name=op.f("fk_phone_verification_citizen_id_citizen"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phone_verification")),
    )
    with op.batch_alter_table("phone_verification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_phone_verification_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index("ix_phone_verification_phone_created_at", ["phone", "created_at"], unique=False)

    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost_rials", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("parts", sa.Integer(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox_message", schema=None) as batch_op:
        batch_op.drop_column("parts")
        batch_op.drop_column("cost_rials")

    with op.batch_alter_table("phone_verification", schema=None) as batch_op:
        batch_op.drop_index("ix_phone_verification_phone_created_at")
        batch_op.drop_index(batch_op.f("ix_phone_verification_citizen_id"))

    op.drop_table("phone_verification")
