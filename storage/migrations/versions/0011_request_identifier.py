"""request identifier

The national IDs a request names, normalized and indexed, so ``/find NATIONAL_ID`` looks them up instead of
reading every request's answers (JSON). Existing requests get theirs here, in batches of ``BATCH`` ids, by the
database's own JSON functions: each distinct answer of 10 ASCII digits to a question of type ``national_id`` in
the request's own service definition (how filing stored it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 50_000
"""Request ids filled at a time."""

# Each distinct answer of 10 ASCII digits to a question of type national_id in the request's own snapshot,
# found by the database's JSON functions (reading every snapshot into Python took 90 s per 100,000 requests).
_FILL = {
    "postgresql": """
        INSERT INTO request_identifier (request_id, kind, value)
        SELECT DISTINCT r.id, 'national_id', r.answers ->> (q ->> 'id')
        FROM service_request AS r, json_array_elements(r.service_snapshot -> 'form') AS q
        WHERE r.id > :low AND r.id <= :high
          AND q ->> 'type' = 'national_id'
          AND (r.answers ->> (q ->> 'id')) ~ '^[0-9]{10}$'
    """,
    "sqlite": """
        INSERT INTO request_identifier (request_id, kind, value)
        SELECT DISTINCT r.id, 'national_id', json_extract(r.answers, '$."' || json_extract(q.value, '$.id') || '"')
        FROM service_request AS r, json_each(r.service_snapshot, '$.form') AS q
        WHERE r.id > :low AND r.id <= :high
          AND json_extract(q.value, '$.type') = 'national_id'
          AND json_type(r.answers, '$."' || json_extract(q.value, '$.id') || '"') = 'text'
          AND json_extract(r.answers, '$."' || json_extract(q.value, '$.id') || '"')
              GLOB '[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]'
    """,
}


def _backfill() -> None:
    connection = op.get_bind()
    fill = sa.text(_FILL[connection.dialect.name])
    last = connection.execute(sa.text("SELECT max(id) FROM service_request")).scalar() or 0
    for low in range(0, last, BATCH):
        connection.execute(fill, {"low": low, "high": low + BATCH})


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "request_identifier",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["service_request.id"],
            name=op.f("fk_request_identifier_request_id_service_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_identifier")),
        sa.UniqueConstraint("kind", "value", "request_id", name=op.f("uq_request_identifier_kind_value_request_id")),
    )
    with op.batch_alter_table("request_identifier", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_request_identifier_request_id"), ["request_id"], unique=False)
    _backfill()


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("request_identifier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_request_identifier_request_id"))
    op.drop_table("request_identifier")
