"""inquiry files: new files a clerk sends with an inquiry

Besides the request's own documents, a clerk may attach files of their own to an inquiry (a map, a letter): each
is kept in the document store by content hash like a citizen's file, and listed on the inquiry (``files``).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-05 13:10:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # A plain ADD COLUMN with a default on both databases: no table rebuild, the inquiries sent so far have none.
    op.add_column("inquiry", sa.Column("files", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("inquiry") as batch_op:
        batch_op.drop_column("files")
