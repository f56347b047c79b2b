"""Miz's persistence: SQLModel tables, the async engine, repositories, document files and migrations.

Nothing here imports aiogram: the bot and ``desk`` use these modules, never the other way round.
Repositories never commit; the caller owns the transaction (see ``storage.uow.unit_of_work``), so a
request, its events and its outbox notifications are written together or not at all.
"""

__all__: list[str] = []
