"""A mobile answer given with the contact button: the citizen's own contact is vouched for, anyone else's is not."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.types import Chat, Contact, Message, User

from bot.dialogs.form import _is_own_contact
from bot.forms import read_answer
from catalog.schema import FieldType, FormField

CITIZEN = User(id=1001, is_bot=False, first_name="زهرا")
MOBILE = FormField.model_validate({"id": "mobile", "label": {"fa": "شماره همراه"}, "type": FieldType.MOBILE})


def contact_message(contact_user_id: int | None, phone: str = "+989123456789") -> Message:
    return Message(
        message_id=1,
        date=datetime(2026, 4, 1, tzinfo=UTC),
        chat=Chat(id=CITIZEN.id, type="private"),
        from_user=CITIZEN,
        contact=Contact(phone_number=phone, first_name="زهرا", user_id=contact_user_id),
    )


def test_ones_own_contact_is_vouched_for_by_the_messenger() -> None:
    message = contact_message(CITIZEN.id)
    assert _is_own_contact(message)
    assert read_answer(message, MOBILE) == "09123456789"


def test_someone_elses_contact_is_only_a_number_like_a_typed_one() -> None:
    for user_id in (2002, None):  # another account, or a phone-book entry with no account
        message = contact_message(user_id, "09351234567")
        assert not _is_own_contact(message)
        assert read_answer(message, MOBILE) == "09351234567"
