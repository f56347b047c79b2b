"""due payments

Dues paid in the Bale wallet: a payment names the due it pays (or none, for a request's payment) and the
citizen it was offered to, who gets the receipt; a payment no longer needs a request.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 03:20:07.987421

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("citizen_id", sa.Integer(), nullable=True))
        batch_op.alter_column("request_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index(batch_op.f("ix_payment_citizen_id"), ["citizen_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payment_due_id"), ["due_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_citizen_id_citizen"),
            "citizen",
            ["citizen_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_payment_due_id_due"), "due", ["due_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    """Downgrade schema."""
    # Payments of dues have no request: they cannot stay once request_id is required again.
    op.execute(sa.text("DELETE FROM payment WHERE request_id IS NULL"))
    with op.batch_alter_table("payment", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_payment_due_id_due"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_payment_citizen_id_citizen"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_payment_due_id"))
        batch_op.drop_index(batch_op.f("ix_payment_citizen_id"))
        batch_op.alter_column("request_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("citizen_id")
        batch_op.drop_column("due_id")
