"""request identifier

The national IDs a request names, normalized and indexed, so ``/find NATIONAL_ID`` looks them up instead of
reading every request's answers (JSON). Existing requests get theirs here, read in batches of ``BATCH`` by id:
each distinct answer of 10 ASCII digits to a question of type ``national_id`` in the request's own service
definition (how filing stored it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 09:00:00.000000

"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000
"""Requests read, and their identifiers written, at a time."""

_requests = sa.table(
    "service_request",
    sa.column("id", sa.Integer),
    sa.column("service_snapshot", sa.JSON),
    sa.column("answers", sa.JSON),
)
_identifiers = sa.table(
    "request_identifier",
    sa.column("request_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("value", sa.String),
)


def _national_ids(snapshot: Any, answers: Any) -> list[str]:
    """The distinct well-formed answers to the national ID questions of one stored request."""
    snapshot = json.loads(snapshot) if isinstance(snapshot, str) else snapshot or {}
    answers = json.loads(answers) if isinstance(answers, str) else answers or {}
    found: dict[str, None] = {}
    for question in snapshot.get("form") or ():
        if question.get("type") != "national_id":
            continue
        value = answers.get(question.get("id"))
        if isinstance(value, str) and len(value) == 10 and value.isascii() and value.isdigit():
            found[value] = None
    return list(found)


def _backfill() -> None:
    connection = op.get_bind()
    after = 0
    while True:
        rows = connection.execute(
            sa.select(_requests.c.id, _requests.c.service_snapshot, _requests.c.answers)
            .where(_requests.c.id > after)
            .order_by(_requests.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        found = [
            {"request_id": row.id, "kind": "national_id", "value": value}
            for row in rows
            for value in _national_ids(row.service_snapshot, row.answers)
        ]
        if found:
            connection.execute(_identifiers.insert(), found)
        after = rows[-1].id


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
