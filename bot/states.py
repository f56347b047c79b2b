"""Every conversation state of Miz and the keys of its FSM data, in one readable place."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State, StatesGroup
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as ModelError

__all__ = [
    "ANSWER_KEY",
    "COMPLETION_KEY",
    "ORG_KEY",
    "QUERY_KEY",
    "Answering",
    "Browse",
    "Completing",
    "CompletionData",
    "Dues",
    "DuesKeys",
    "FeeKeys",
    "Fees",
    "Form",
    "FormData",
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


class Answering(StatesGroup):
    """The citizen pressed "✍️ answer" on a message from the organization: their next message answers it."""

    writing = State()


class Completing(StatesGroup):
    """The citizen pressed "✍️ complete the missing answers": the questions a move to another service left open,
    one at a time (:class:`CompletionData`)."""

    answering = State()


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
    """Proving a mobile number for SMS updates: waiting for the number (asked from a request's page when none is
    known), then for the one-time code sent to it."""

    number = State()
    code = State()


class Fees(StatesGroup):
    """Calculating a fee of a tariff booklet: one input at a time; the answer ends the conversation."""

    asking = State()


ORG_KEY = "org"
"""FSM data key: the organization the citizen is browsing."""

ANSWER_KEY = "answer_req"
"""FSM data key: the request the citizen is answering (``Answering.writing``)."""

COMPLETION_KEY = "completion"
"""FSM data key: the missing answers being completed (``Completing.answering``, :class:`CompletionData`)."""

QUERY_KEY = "search"
"""FSM data key: the citizen's last typed search that found something, for paging through its results."""


class FormKeys:
    """FSM data keys of a request being filed (the data survives a restart: it is in the database); the form's
    handlers read and write them through :class:`FormData`."""

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
    ADDING = "adding"
    """The document slot whose files arrive in this visit: the next file adds to them; a file sent on a later
    visit (changing it from the review) starts the slot afresh."""
    VOUCHING = "vouching"
    """A tracking code answered to a tracking_code question, not the citizen's own: its national ID is asked next."""
    OWN_PHONES = "own_phones"
    """Mobile answers the citizen gave with the contact button, sharing their own contact: the messenger vouches
    for them, so they become the citizen's verified phone when the request is filed."""


class FormData(BaseModel):
    """A request being filed, as the form's handlers use it; stored in the FSM data under the keys of
    :class:`FormKeys`, so a conversation saved by an earlier version reads the same."""

    model_config = ConfigDict(populate_by_name=True)  # other keys of the FSM data are not the form's: ignored

    organization_id: str = Field(alias=FormKeys.ORG)
    service_id: str = Field(alias=FormKeys.SERVICE)
    version: str = Field("", alias=FormKeys.VERSION)
    """The service's version when the form began."""
    step: int = Field(0, alias=FormKeys.STEP)
    """The question (or, among the documents, the document slot) being asked; -1 before the first document."""
    answers: dict[str, Any] = Field(default_factory=dict, alias=FormKeys.ANSWERS)
    """Field id -> the validated answer as JSON (text, number, ISO date, bool, choice id, a location object)."""
    docs: dict[str, list[dict[str, Any]]] = Field(default_factory=dict, alias=FormKeys.DOCS)
    """Document slot id -> its stored files, in the order sent (``bot.documents.receive_file``); never empty."""
    adding: str | None = Field(None, alias=FormKeys.ADDING)
    editing: bool = Field(False, alias=FormKeys.EDITING)
    """Changing one answer or document from the review: the review comes back after it."""
    idempotency_key: str | None = Field(None, alias=FormKeys.IDEMPOTENCY)
    """The same for every tap on "submit" of this form: one request is filed."""
    prefilled: list[str] = Field(default_factory=list, alias=FormKeys.PREFILLED)
    own_phones: list[str] = Field(default_factory=list, alias=FormKeys.OWN_PHONES)
    vouching: str | None = Field(None, alias=FormKeys.VOUCHING)

    @field_validator("docs", mode="before")
    @classmethod
    def _files_of_old_forms(cls, value: Any) -> Any:
        """A form saved when every slot held one file (``{slot: file}``) reads as ``{slot: [file]}``."""
        if isinstance(value, Mapping):
            return {slot: [files] if isinstance(files, Mapping) else files for slot, files in value.items()}
        return value

    @classmethod
    def new(
        cls, organization_id: str, service_id: str, version: str, answers: Mapping[str, Any] | None = None
    ) -> FormData:
        """A form just begun; ``answers`` given before it began are not asked (:attr:`prefilled`)."""
        given = dict(answers or {})
        return cls(
            organization_id=organization_id,
            service_id=service_id,
            version=version,
            answers=given,
            prefilled=sorted(given),
            idempotency_key=uuid.uuid4().hex,
        )

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> FormData | None:
        """The form held in FSM ``data``; None when the data holds none, or one that cannot be read."""
        try:
            return cls.model_validate(data)
        except ModelError:
            return None

    def stored(self) -> dict[str, Any]:
        """The FSM data of this form."""
        return self.model_dump(by_alias=True)


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


class CompletionData(BaseModel):
    """The missing answers a citizen is completing: which request, under which service definition, the questions
    asked (ids, in the form's order), the one asked now and the answers given so far. Checked again by
    ``desk.completion`` when stored."""

    model_config = ConfigDict(extra="ignore")

    req: int = Field(ge=1)
    ver: str
    fields: list[str] = Field(min_length=1)
    step: int = Field(default=0, ge=0)
    answers: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def read(cls, stored: Mapping[str, Any]) -> CompletionData | None:
        """The data kept under :data:`COMPLETION_KEY`; None when it is missing or unreadable."""
        try:
            data = cls.model_validate(stored.get(COMPLETION_KEY))
        except ModelError:
            return None
        return data if data.step < len(data.fields) else None

    def stored(self) -> dict[str, Any]:
        return {COMPLETION_KEY: self.model_dump(mode="json")}
