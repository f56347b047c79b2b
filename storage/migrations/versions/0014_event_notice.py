"""event notice and document path index

A request's history can hold Miz's own words (documents removed after the retention period) as a message id and
its parameters, shown in each reader's language; a clerk's text stays in ``text``. Retention asks whether another
request still names a stored file before removing it, by the new index on ``document.stored_path``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 11:45:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.add_column("request_event", sa.Column("notice", sa.JSON(), nullable=True))
    op.create_index("ix_document_stored_path", "document", ["stored_path"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_document_stored_path", table_name="document")
    with op.batch_alter_table("request_event") as batch_op:
        batch_op.drop_column("notice")
