"""The bot's conversation state survives a restart."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.repositories import ConversationStates
from storage.uow import unit_of_work

KEY = "bale:7000000123:7000000123"


async def test_state_and_data_round_trip_and_are_forgotten_on_delete(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    form = {"service": "renovation_fee", "answers": {"address": "ایمانشهر، بلوار شهید بهشتی"}, "step": 3}
    async with unit_of_work(factory) as session:
        await ConversationStates(session).set(KEY, state="RequestForm:address", data=form)
    async with factory() as session:  # a new session: as after a restart
        stored = await ConversationStates(session).get(KEY)
        assert stored is not None
        assert (stored.state, stored.data) == ("RequestForm:address", form)
        assert stored.updated_at.tzinfo is not None

    async with unit_of_work(factory) as session:
        await ConversationStates(session).set_state(KEY, "RequestForm:documents")
    async with unit_of_work(factory) as session:
        await ConversationStates(session).set_data(KEY, {**form, "step": 4})
    async with factory() as session:
        stored = await ConversationStates(session).get(KEY)
        assert stored is not None
        assert stored.state == "RequestForm:documents"
        assert stored.data["step"] == 4
        assert stored.data["answers"]["address"] == "ایمانشهر، بلوار شهید بهشتی"

    async with unit_of_work(factory) as session:
        await ConversationStates(session).delete(KEY)
    async with factory() as session:
        assert await ConversationStates(session).get(KEY) is None


async def test_setting_only_data_for_a_new_key_leaves_no_state(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(factory) as session:
        states = ConversationStates(session)
        await states.set_data("telegram:1:1", {"lang": "en"})
        await states.set_state("telegram:2:2", "Menu:main")
    async with factory() as session:
        only_data = await ConversationStates(session).get("telegram:1:1")
        only_state = await ConversationStates(session).get("telegram:2:2")
    assert only_data is not None
    assert only_state is not None
    assert (only_data.state, only_data.data) == (None, {"lang": "en"})
    assert (only_state.state, only_state.data) == ("Menu:main", {})


async def test_many_conversations_are_stored_and_updated_in_one_call(
    factory: async_sessionmaker[AsyncSession],
) -> None:
    async with unit_of_work(factory) as session:
        await ConversationStates(session).set(KEY, state="RequestForm:address", data={"step": 1})
    async with unit_of_work(factory) as session:
        await ConversationStates(session).set_many(
            [
                (KEY, "RequestForm:documents", {"step": 2, "answers": {"name": "زهرا"}}),
                ("telegram:5:5", None, {"lang": "en"}),
            ]
        )
    async with factory() as session:
        updated = await ConversationStates(session).get(KEY)
        added = await ConversationStates(session).get("telegram:5:5")
    assert updated is not None
    assert added is not None
    assert (updated.state, updated.data) == (
        "RequestForm:documents",
        {"step": 2, "answers": {"name": "زهرا"}},
    )
    assert (added.state, added.data) == (None, {"lang": "en"})
