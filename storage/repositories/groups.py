"""Operator groups: which group message is about which request, and the clerks added in a group."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import col, select

from storage.models import GroupMessage, RegisteredClerk, ServiceRequest
from storage.repositories.base import Repository

__all__ = ["GroupMessages", "RegisteredClerks", "inquiry_card_kind"]


class GroupMessages(Repository):
    """Links between the bot's messages and the requests they are about: in operator groups (cards, relays,
    documents), and in citizens' private chats (``kind="citizen"``: what the organization told them), so a
    reply to any of them finds its request."""

    async def link(
        self, *, platform: str, chat_id: int, message_id: int, request_id: int, kind: str
    ) -> GroupMessage:
        """Remember that this message (a request card, a relayed reply, a document, a notice to the citizen) is
        about a request."""
        link = GroupMessage(
            platform=platform, chat_id=chat_id, message_id=message_id, request_id=request_id, kind=kind
        )
        self.session.add(link)
        await self.session.flush()
        return link

    async def find_request(self, platform: str, chat_id: int, message_id: int) -> ServiceRequest | None:
        """The request a message is about (a clerk or a citizen replying to it), whoever may act on it."""
        stmt = (
            select(ServiceRequest)
            .join(GroupMessage, col(GroupMessage.request_id) == col(ServiceRequest.id))
            .where(
                col(GroupMessage.platform) == platform,
                col(GroupMessage.chat_id) == chat_id,
                col(GroupMessage.message_id) == message_id,
            )
        )
        return (await self.session.scalars(stmt)).first()

    async def of_request(self, request_id: int, *, kind: str | None = None) -> Sequence[GroupMessage]:
        """The group messages about a request (for instance its cards, to edit them on a status change)."""
        stmt = select(GroupMessage).where(col(GroupMessage.request_id) == request_id)
        if kind is not None:
            stmt = stmt.where(col(GroupMessage.kind) == kind)
        return (await self.session.scalars(stmt.order_by(col(GroupMessage.id)))).all()

    async def cards(self, request_id: int) -> dict[tuple[str, int], int]:
        """``(platform, chat id) -> message id`` of the request's card in each operator group it was drawn in."""
        return {(g.platform, g.chat_id): g.message_id for g in await self.of_request(request_id, kind="card")}

    async def inquiry_cards(self, inquiry_id: int) -> dict[tuple[str, int], int]:
        """``(platform, chat id) -> message id`` of an inquiry's card in each group of the agency asked (linked
        to its request with the kind ``inq:<inquiry id>``)."""
        stmt = select(GroupMessage).where(col(GroupMessage.kind) == inquiry_card_kind(inquiry_id))
        return {(g.platform, g.chat_id): g.message_id for g in (await self.session.scalars(stmt)).all()}


def inquiry_card_kind(inquiry_id: int) -> str:
    """The ``GroupMessage.kind`` of an inquiry's card in an agency's group."""
    return f"inq:{inquiry_id}"


class RegisteredClerks(Repository):
    """Clerks added in an operator group (``/addclerk``); the catalog lists the others."""

    async def all(self) -> Sequence[RegisteredClerk]:
        """Every registered clerk of every organization (a county has a few dozen)."""
        stmt = select(RegisteredClerk).order_by(col(RegisteredClerk.organization_id), col(RegisteredClerk.id))
        return (await self.session.scalars(stmt)).all()

    async def add(self, clerk: RegisteredClerk) -> bool:
        """Register ``clerk``; False when they already were (nothing changes)."""
        insert = await self._insert(RegisteredClerk)
        values = clerk.model_dump(exclude={"id"})
        stmt = (
            insert.values(**values)
            .on_conflict_do_nothing(index_elements=["organization_id", "platform", "user_id"])
            .returning(col(RegisteredClerk.id))
        )
        return (await self.session.execute(stmt)).scalar_one_or_none() is not None

    async def remove(self, organization_id: str, platform: str, user_id: int) -> bool:
        """Unregister a clerk; False when they were not registered here."""
        stmt = delete(RegisteredClerk).where(
            col(RegisteredClerk.organization_id) == organization_id,
            col(RegisteredClerk.platform) == platform,
            col(RegisteredClerk.user_id) == user_id,
        )
        result = await self.session.execute(stmt.execution_options(synchronize_session=False))
        return bool(getattr(result, "rowcount", 0))
