"""Citizens, one per messenger account, with the phone, language and SMS choice they gave."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from desk.persian import display_name
from storage.models import Citizen
from storage.repositories.base import Repository

__all__ = ["Citizens"]

_PHONE = re.compile(r"09\d{9}", re.ASCII)


class Citizens(Repository):
    """Citizens by their (platform, user id)."""

    async def get(self, citizen_id: int) -> Citizen | None:
        """The citizen with this database id."""
        return await self.session.get(Citizen, citizen_id)

    async def find(self, platform: str, user_id: int) -> Citizen | None:
        """The citizen known on ``platform`` as ``user_id``, if any."""
        stmt = select(Citizen).where(col(Citizen.platform) == platform, col(Citizen.user_id) == user_id)
        return (await self.session.scalars(stmt)).first()

    async def get_or_create(
        self,
        platform: str,
        user_id: int,
        *,
        chat_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        locale: str = "fa",
    ) -> Citizen:
        """The citizen for this messenger account, created on first contact.

        Names, username and chat id are refreshed from the messenger when they changed; ``locale`` only
        applies to a new citizen (a later choice in the bot's settings wins). Two first updates racing
        each other still make a single row: the loser of the unique constraint reads the winner's. Names are
        kept as ``desk.persian.display_name`` cleans them (no bidi overrides or invisible marks, not too long).
        """
        first_name, last_name = display_name(first_name), display_name(last_name)
        citizen = await self.find(platform, user_id)
        if citizen is None:
            citizen = Citizen(
                platform=platform,
                user_id=user_id,
                chat_id=chat_id,
                first_name=first_name,
                last_name=last_name,
                username=username,
                locale=locale,
            )
            try:
                async with self.session.begin_nested():
                    self.session.add(citizen)
            except IntegrityError:
                found = await self.find(platform, user_id)
                if found is None:
                    raise
                citizen = found
            else:
                return citizen
        profile = {"chat_id": chat_id, "first_name": first_name, "last_name": last_name, "username": username}
        for name, value in profile.items():
            if getattr(citizen, name) != value:
                setattr(citizen, name, value)
        return citizen

    async def set_phone(self, citizen: Citizen, phone: str, *, verified: bool) -> None:
        """Record the citizen's mobile number, already normalized to ``09xxxxxxxxx`` by ``desk``."""
        if not _PHONE.fullmatch(phone):
            raise ValueError(f"phone {phone!r} is not normalized to 09xxxxxxxxx")
        citizen.phone = phone
        citizen.phone_verified = verified
        self.session.add(citizen)

    async def set_locale(self, citizen: Citizen, locale: str) -> None:
        """Record the language the citizen chose."""
        citizen.locale = locale
        self.session.add(citizen)

    async def set_sms_enabled(self, citizen: Citizen, enabled: bool) -> None:
        """Record whether the citizen wants stage notifications by SMS."""
        citizen.sms_enabled = enabled
        self.session.add(citizen)
