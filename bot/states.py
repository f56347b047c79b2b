"""Every conversation state of Miz and the keys of its FSM data, in one readable place."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup

__all__ = [
    "ORG_KEY",
    "QUERY_KEY",
    "Browse",
    "Dues",
    "DuesKeys",
    "FeeKeys",
    "Fees",
    "Form",
    "FormKeys",
    "PhoneKeys",
    "Track",
    "Verify",
    "VerifyPhone",
]


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


class Dues(StatesGroup):
    """Looking up dues: the organization is chosen with a button, then the code, then the holder's national ID."""

    code = State()
    national_id = State()


class Verify(StatesGroup):
    """Verifying a certificate: waiting for its verification code."""

    code = State()


class VerifyPhone(StatesGroup):
    """Proving a mobile number for SMS updates: waiting for the one-time code sent to it."""

    code = State()


class Fees(StatesGroup):
    """Calculating a fee of a tariff booklet: one input at a time; the answer ends the conversation."""

    asking = State()


ORG_KEY = "org"
"""FSM data key: the organization the citizen is browsing."""

QUERY_KEY = "search"
"""FSM data key: the citizen's last typed search that found something, for paging through its results."""


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
    OWN_PHONES = "own_phones"
    """Mobile answers the citizen gave with the contact button, sharing their own contact: the messenger vouches
    for them, so they become the citizen's verified phone when the request is filed."""


class FeeKeys:
    """FSM data keys of a fee being calculated."""

    ORG = "org"
    FEE = "fee"
    YEAR = "year"
    """The booklet's Jalali year when the calculation began: a calculation crossing Nowruz keeps its booklet."""
    STEP = "step"
    VALUES = "values"
    """Input name -> the choice's id, or the number as typed once normalized (e.g. "1250.5")."""
    RUN = "run"
    """A token of this calculation, carried by its buttons."""


class DuesKeys:
    """FSM data keys of a dues look-up."""

    ORG = "dues_org"
    CODE = "dues_code"


class PhoneKeys:
    """FSM data keys of a mobile number being proved by a one-time code."""

    PHONE = "vphone"
    """The number (``09xxxxxxxxx``) the code was sent to."""
    REQUEST = "vreq"
    """The request the number came with: its organization pays for the SMS."""
