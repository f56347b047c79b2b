"""Every conversation state of Miz and the keys of its FSM data, in one readable place."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

__all__ = ["ORG_KEY", "Browse", "Form", "FormKeys", "Track"]


class Browse(StatesGroup):
    """Looking through an organization's services; typed text searches them."""

    in_organization = State()


class Form(StatesGroup):
    """Filing a request: one question at a time, then the documents, then the review."""

    answering = State()
    documents = State()
    review = State()


class Track(StatesGroup):
    """Following a request by its tracking code (and, for someone else's request, its national ID)."""

    code = State()
    national_id = State()


ORG_KEY = "org"
"""FSM data key: the organization the citizen is browsing."""


class FormKeys:
    """FSM data keys of a request being filed (the data survives a restart: it is in the database)."""

    ORG = "org"
    SERVICE = "svc"
    VERSION = "ver"
    STEP = "step"
    ANSWERS = "answers"
    DOCS = "docs"
    EDITING = "editing"
    IDEMPOTENCY = "key"
    TRACK_CODE = "track_code"
    PREFILLED = "prefilled"
    """Answers given before the form started (an objection names the request): their questions are not asked."""
