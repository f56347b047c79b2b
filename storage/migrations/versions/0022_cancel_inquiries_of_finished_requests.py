"""inquiries of finished requests: closed as cancelled, as a request's end now closes them

Before this revision a request completed, rejected or withdrawn kept its open inquiries: they stayed in the
agency's lists and reminders and were escalated to the governorate. A request's end now closes them
(``desk.inquiry_ends``); this closes those it left behind, without a notice (their requests ended long ago). Their
thread carries no reason, so their cards are never redrawn; a button pressed on one is told no answer is needed.
Inquiries a transfer handed to the new organization before this revision stay with it: it handles the request.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 15:40:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Cancel the open inquiries of finished requests."""
    op.execute(
        "UPDATE inquiry SET state = 'cancelled' WHERE state IN ('open', 'need_more') AND request_id IN"
        " (SELECT id FROM service_request WHERE status IN ('completed', 'rejected', 'withdrawn'))"
    )


def downgrade() -> None:
    """The older code knows no 'cancelled' state: every cancelled inquiry is open again, as it would have stayed."""
    op.execute("UPDATE inquiry SET state = 'open' WHERE state = 'cancelled'")
