"""settlements

Bank reports of bills paid (``miz payments import``): each import, and each bill a bank reported paid, one per
trace number and bill ID, naming the due or the request's payment it paid.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 12:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "settlement_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("mismatches", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_import")),
    )
    op.create_table(
        "settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("trace_number", sa.String(length=32), nullable=False),
        sa.Column("bill_id", sa.String(length=13), nullable=False),
        sa.Column("payment_id", sa.String(length=13), nullable=False),
        sa.Column("amount_rials", sa.BigInteger(), nullable=False),
        sa.Column("paid_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("due_id", sa.Integer(), nullable=True),
        sa.Column("paid_payment_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_rials > 0", name=op.f("ck_settlement_amount_positive")),
        sa.ForeignKeyConstraint(
            ["import_id"], ["settlement_import.id"], name=op.f("fk_settlement_import_id_settlement_import")
        ),
        sa.ForeignKeyConstraint(
            ["due_id"], ["due.id"], name=op.f("fk_settlement_due_id_due"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["paid_payment_id"],
            ["payment.id"],
            name=op.f("fk_settlement_paid_payment_id_payment"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement")),
        sa.UniqueConstraint("trace_number", "bill_id", name=op.f("uq_settlement_trace_number_bill_id")),
    )
    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settlement_import_id"), ["import_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_due_id"), ["due_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_settlement_paid_payment_id"), ["paid_payment_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("settlement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_paid_payment_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_due_id"))
        batch_op.drop_index(batch_op.f("ix_settlement_import_id"))
    op.drop_table("settlement")
    op.drop_table("settlement_import")
