"""The table of clerk actions drives the card's buttons, the button data and the prompts (bot.clerk_actions)."""

from __future__ import annotations

import pytest

from bot.callbacks import CardAction
from bot.clerk_actions import CLERK_ACTIONS, on_card
from desk.errors import ValidationError
from desk.i18n import LANGUAGES, translator
from desk.lifecycle import Status


def test_a_card_shows_the_buttons_its_status_allows_in_their_order() -> None:
    shown = {status: [action.id for action in on_card(status)] for status in Status}
    assert shown == {
        Status.DRAFT: [],
        Status.SUBMITTED: ["claim", "ask_info", "reject", "transfer"],
        Status.IN_PROGRESS: [
            "ask_info",
            "inquire",
            "ask_payment",
            "complete",
            "reject",
            "takeover",
            "transfer",
        ],
        Status.NEEDS_INFO: [],
        Status.WAITING_EXTERNAL: ["inquire", "record_answer", "resume"],
        Status.AWAITING_PAYMENT: ["resume"],
        Status.COMPLETED: [],
        Status.REJECTED: [],
        Status.WITHDRAWN: [],
    }


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_action_has_its_button_prompt_and_done_texts(lang: str) -> None:
    t = translator(lang)
    for action in CLERK_ACTIONS.values():
        keys = [action.label_key, action.done_key] + ([action.prompt_key] if action.needs_text else [])
        assert [key for key in keys if not t.has(key)] == [], action.id


@pytest.mark.parametrize("act", list(CLERK_ACTIONS))
def test_every_action_fits_a_button_and_comes_back_as_itself(act: str) -> None:
    data = CardAction(req=2**63 - 1, act=act, seen=Status.AWAITING_PAYMENT).pack()
    assert len(data.encode()) <= 64
    assert CardAction.unpack(data) == CardAction(req=2**63 - 1, act=act, seen=Status.AWAITING_PAYMENT)


@pytest.mark.parametrize("act", ["bogus", "", "CLAIM", "claim "])
def test_a_button_naming_no_action_does_not_unpack(act: str) -> None:
    with pytest.raises(ValueError, match="act"):
        CardAction.unpack(f"card:1:{act}:submitted")


def test_only_a_mistyped_amount_keeps_the_prompt_open() -> None:
    retyped = {
        key: [a.id for a in CLERK_ACTIONS.values() if a.lets_retype(ValidationError(key))]
        for key in (
            "desk.number.format",
            "desk.number.negative",
            "desk.number.too_large",
            "desk.handling.amount",
            "payments.amount_thousands",
            "desk.text.empty",
            "desk.text.too_long",
            "desk.handling.changed",
            "desk.numbers",
        )
    }
    assert retyped == {
        "desk.number.format": ["ask_payment"],
        "desk.number.negative": ["ask_payment"],
        "desk.number.too_large": ["ask_payment"],
        "desk.handling.amount": ["ask_payment"],
        "payments.amount_thousands": ["ask_payment"],
        "desk.text.empty": [],
        "desk.text.too_long": [],
        "desk.handling.changed": [],
        "desk.numbers": [],
    }
