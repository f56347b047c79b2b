"""service version: each distinct service definition stored once

Every request carried its own copy of the service definition it was filed under (``service_snapshot``, about
13 KB with the shipped catalog); now it names a row of ``service_version``, keyed by the SHA-256 of the definition's
canonical JSON, which every request filed under the same definition shares. The existing requests are moved a
batch at a time, then the column goes.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 12:10:00.000000

"""

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
_versions = sa.table(
    "service_version",
    sa.column("id", sa.Integer),
    sa.column("sha256", sa.String),
    sa.column("service_id", sa.String),
    sa.column("version", sa.String),
    sa.column("definition", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_requests = sa.table(
    "service_request",
    sa.column("id", sa.Integer),
    sa.column("service_id", sa.String),
    sa.column("service_version", sa.String),
    sa.column("service_snapshot", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _canonical(definition: Any) -> str:
    # As storage.repositories.service_versions.canonical_definition (copied: a migration never changes).
    return json.dumps(definition, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _loaded(raw: Any) -> Any:
    return json.loads(raw) if isinstance(raw, str) else raw


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "service_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("service_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_version")),
        sa.UniqueConstraint("sha256", name=op.f("uq_service_version_sha256")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        # No table rebuild on SQLite (batch mode would rebuild service_request: slow at a county's size, and with
        # foreign keys on, dropping the old table would delete every request's events and documents).
        op.execute(
            "ALTER TABLE service_request ADD COLUMN service_version_id INTEGER "
            "CONSTRAINT fk_service_request_service_version_id_service_version REFERENCES service_version (id)"
        )
    else:
        op.add_column("service_request", sa.Column("service_version_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_service_request_service_version_id_service_version"),
            "service_request",
            "service_version",
            ["service_version_id"],
            ["id"],
        )
    _move_definitions()
    op.create_index(op.f("ix_service_request_service_version_id"), "service_request", ["service_version_id"])
    if sqlite:
        op.execute("ALTER TABLE service_request DROP COLUMN service_snapshot")  # SQLite 3.35 or later
    else:
        op.drop_column("service_request", "service_snapshot")


def _move_definitions() -> None:
    """Give every request the row of its definition, a batch of requests at a time (a county's million requests
    never sit in memory at once)."""
    connection = op.get_bind()
    known: dict[str, int] = {}
    after = 0
    while True:
        columns = _requests.c
        rows = connection.execute(
            sa.select(
                columns.id, columns.service_id, columns.service_version, columns.service_snapshot, columns.created_at
            )
            .where(columns.id > after)
            .order_by(columns.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        links = []
        for request_id, service_id, version, raw, created_at in rows:
            definition = _loaded(raw)
            sha256 = hashlib.sha256(_canonical(definition).encode("utf-8")).hexdigest()
            if sha256 not in known:
                inserted = connection.execute(
                    _versions.insert()
                    .values(
                        sha256=sha256,
                        service_id=service_id,
                        version=version,
                        definition=definition,
                        created_at=created_at,
                    )
                    .returning(_versions.c.id)
                )
                known[sha256] = inserted.scalar_one()
            links.append({"request_id": request_id, "version_id": known[sha256]})
        connection.execute(
            sa.text("UPDATE service_request SET service_version_id = :version_id WHERE id = :request_id"), links
        )
        after = rows[-1][0]


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("service_request") as batch_op:
        batch_op.add_column(sa.Column("service_snapshot", sa.JSON(), nullable=True))
    connection = op.get_bind()
    for version_id, definition in connection.execute(sa.text("SELECT id, definition FROM service_version")).all():
        connection.execute(
            sa.text("UPDATE service_request SET service_snapshot = :definition WHERE service_version_id = :id"),
            {"definition": json.dumps(_loaded(definition)), "id": version_id},
        )
    connection.execute(sa.text("UPDATE service_request SET service_snapshot = '{}' WHERE service_snapshot IS NULL"))
    with op.batch_alter_table("service_request") as batch_op:
        if connection.dialect.name != "sqlite":  # SQLite's rebuilt table simply has no such column
            batch_op.drop_constraint(
                batch_op.f("fk_service_request_service_version_id_service_version"), type_="foreignkey"
            )
        batch_op.drop_index(batch_op.f("ix_service_request_service_version_id"))
        batch_op.drop_column("service_version_id")
        batch_op.alter_column("service_snapshot", existing_type=sa.JSON(), nullable=False)
    op.drop_table("service_version")
