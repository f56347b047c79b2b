"""dues and certificates

Dues (renovation and business fees) imported per organization from its finance system, the import batches,
and the certificates organizations issue, which anyone can verify by code.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 02:43:50.248446

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "dues_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("replaced", sa.Integer(), nullable=False),
        sa.Column("skipped_paid", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dues_import")),
    )
    with op.batch_alter_table("dues_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dues_import_organization_id"), ["organization_id"], unique=False)

    op.create_table(
        "due",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("property_or_business_code", sa.String(length=64), nullable=False),
        sa.Column("code_key", sa.String(length=64), nullable=False),
        sa.Column("national_id", sa.String(length=10), nullable=False),
        sa.Column("amount_rials", sa.BigInteger(), nullable=False),
        sa.Column("period_year", sa.Integer(), nullable=False),
        sa.Column("period_number", sa.Integer(), nullable=False),
        sa.Column("bill_id", sa.String(length=13), nullable=False),
        sa.Column("payment_id", sa.String(length=13), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("import_batch_id", sa.Integer(), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_rials > 0", name=op.f("ck_due_amount_positive")),
        sa.ForeignKeyConstraint(
            ["import_batch_id"], ["dues_import.id"], name=op.f("fk_due_import_batch_id_dues_import")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_due")),
        sa.UniqueConstraint(
            "organization_id",
            "kind",
            "code_key",
            "period_year",
            "period_number",
            name=op.f("uq_due_organization_id_kind_code_key_period_year_period_number"),
        ),
    )
    with op.batch_alter_table("due", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_due_import_batch_id"), ["import_batch_id"], unique=False)
        batch_op.create_index(
            "ix_due_organization_id_code_key", ["organization_id", "code_key"], unique=False
        )

    op.create_table(
        "certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=True),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_national_id", sa.String(length=10), nullable=False),
        sa.Column("property", sa.String(length=255), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("verification_code", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("revoked_reason", sa.String(length=500), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_certificate_request_id_service_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate")),
        sa.UniqueConstraint("verification_code", name=op.f("uq_certificate_verification_code")),
    )
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_organization_id"), ["organization_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_request_id"), ["request_id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("certificate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_request_id"))
        batch_op.drop_index(batch_op.f("ix_certificate_organization_id"))

    op.drop_table("certificate")
    with op.batch_alter_table("due", schema=None) as batch_op:
        batch_op.drop_index("ix_due_organization_id_code_key")
        batch_op.drop_index(batch_op.f("ix_due_import_batch_id"))

    op.drop_table("due")
    with op.batch_alter_table("dues_import", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dues_import_organization_id"))

    op.drop_table("dues_import")
