"""The webhook updates a worker without Redis has answered and not yet handled (``bot.update_ledger``)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from storage.columns import utcnow
from storage.models import WebhookUpdate
from storage.repositories.base import Repository, core_insert

__all__ = ["WebhookUpdates"]


class WebhookUpdates(Repository):
    """Each row one update in flight, keyed by platform, bot and update id, under the process handling it."""

    async def take(self, platform: str, bot_id: int, update_id: int, body: str, owner: str) -> bool:
        """File the update as ``owner``'s; False when it is filed already (delivered again while in flight)."""
        connection = await self.session.connection()
        result = await connection.execute(
            _take(connection.dialect.name),
            {
                "platform": platform,
                "bot_id": bot_id,
                "update_id": update_id,
                "body": body,
                "owner": owner,
                "taken_at": utcnow(),
            },
        )
        return bool(result.rowcount)

    async def done(self, platform: str, bot_id: int, update_id: int) -> None:
        """Strike the update off: it has been handled."""
        await self.session.execute(
            delete(WebhookUpdate).where(
                col(WebhookUpdate.platform) == platform,
                col(WebhookUpdate.bot_id) == bot_id,
                col(WebhookUpdate.update_id) == update_id,
            )
        )

    async def owners(self) -> list[str]:
        """The processes that have updates in flight."""
        return list(await self.session.scalars(select(WebhookUpdate.owner).distinct()))

    async def adopt(self, owners: Sequence[str], owner: str) -> list[tuple[str, str]]:
        """Move the updates of ``owners`` to ``owner``; ``(platform, body)`` of each, oldest first. Each row moves
        once, however many processes adopt at the same moment."""
        if not owners:
            return []
        moved = await self.session.execute(
            update(WebhookUpdate)
            .where(col(WebhookUpdate.owner).in_(owners))
            .values(owner=owner)
            .returning(col(WebhookUpdate.platform), col(WebhookUpdate.body), col(WebhookUpdate.taken_at))
        )
        rows = sorted(moved.all(), key=lambda row: row[2])
        return [(platform, body) for platform, body, _taken in rows]


@functools.cache
def _take(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` of one update, for ``dialect`` (built once: it runs per update)."""
    return core_insert(dialect, WebhookUpdate).on_conflict_do_nothing()
