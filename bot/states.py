"""Every conversation state of Miz, in one readable place."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

__all__ = ["Browse"]


class Browse(StatesGroup):
    """Looking through an organization's services; typed text searches them."""

    in_organization = State()


ORG_KEY = "org"
"""FSM data key: the organization the citizen is browsing."""
