"""Each citizen's chosen language, kept on their ``Citizen`` row and cached in the process."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.platforms import Platform
from storage.repositories import Citizens
from storage.uow import unit_of_work

__all__ = ["CitizenLocales"]


class CitizenLocales:
    """The :class:`bot.middlewares.LocaleStore` of Miz: the database is the truth, a dict the cache."""

    def __init__(self, factory: async_sessionmaker[AsyncSession], max_cached: int = 100_000) -> None:
        self._factory = factory
        self._cache: dict[tuple[Platform, int], str | None] = {}
        self._max_cached = max_cached

    async def get(self, platform: Platform, user_id: int) -> str | None:
        key = (platform, user_id)
        if key in self._cache:
            return self._cache[key]
        async with self._factory() as session:
            citizen = await Citizens(session).find(platform.value, user_id)
        lang = citizen.locale if citizen else None
        self._remember(key, lang)
        return lang

    def known(self, platform: Platform, user_id: int) -> str | None:
        return self._cache.get((platform, user_id))

    async def set(self, platform: Platform, user_id: int, lang: str) -> None:
        async with unit_of_work(self._factory, write=True) as session:
            citizens = Citizens(session)
            citizen = await citizens.find(platform.value, user_id)
            if citizen is None:
                citizen = await citizens.get_or_create(platform.value, user_id, chat_id=user_id)
            await citizens.set_locale(citizen, lang)
        self._remember((platform, user_id), lang)

    def _remember(self, key: tuple[Platform, int], lang: str | None) -> None:
        if len(self._cache) >= self._max_cached:
            self._cache.clear()
        self._cache[key] = lang
