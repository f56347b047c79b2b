"""Typed callback data of every inline button; handlers never compare raw strings.

Telegram and Bale both cap callback data at 64 bytes; ids in the catalog are short ASCII, so these fit.
Buttons of a form carry the service version they were made for, so a button from an older form (or an
older catalog) is recognized as stale instead of answering the wrong question.

Callback data comes from the client and a modified one can send anything, so every field is typed as narrowly
as its buttons are made: database ids positive and within a BIGINT (``RowId``), pages and steps small and not
negative (``Index``), actions and statuses from their fixed sets. Data that does not fit fails to unpack, no
handler takes it, and the catch-all answers it as a stale button (``bot.handlers.fallback``); it never reaches
a handler, let alone the database, as a 40-digit id, ``-1`` or a status that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import AfterValidator, Field

from bot.clerk_actions import CLERK_ACTIONS
from desk.inquiries import InquiryAct
from desk.lifecycle import Status
from desk.notifications import ANSWER_PREFIX, COMPLETE_PREFIX
from desk.worklists import ListKind

__all__ = [
    "AnswerOrg",
    "CardAct",
    "CardAction",
    "CategoryPage",
    "CategoryPick",
    "ComplaintOrg",
    "CompleteAnswers",
    "DuesOrgPage",
    "DuesOrgPick",
    "DuesPay",
    "FaqOpen",
    "FeeAnswer",
    "FeeOrgPage",
    "FeeOrgPick",
    "FeePick",
    "FormAnswer",
    "FormEdit",
    "FormRestart",
    "FormResume",
    "FormSubmit",
    "FoundPage",
    "InquiryAgency",
    "InquiryButton",
    "InquiryDocument",
    "InquiryOpen",
    "InquiryRecord",
    "InquiryRecordNow",
    "InquiryStep",
    "ListPage",
    "MenuOpen",
    "MineWithdraw",
    "Objection",
    "OrgPage",
    "OrgPick",
    "PlaceOpen",
    "Rate",
    "RequestStart",
    "SearchPage",
    "ServiceOrgs",
    "ServicePage",
    "ServicePick",
    "SmsOffer",
    "SmsSwitch",
    "TransferPage",
    "TransferPick",
    "TransferService",
    "TransferServicePick",
    "TransferServices",
]

RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
"""A database id: what a BIGINT column holds, from 1."""
Index = Annotated[int, Field(ge=0, le=9_999)]
"""A page, a question's step or an item's position: far more than any list or form has."""


def _clerk_action(act: str) -> str:
    if act not in CLERK_ACTIONS:
        raise ValueError(f"not a clerk action: {act!r}")
    return act


CardAct = Annotated[str, AfterValidator(_clerk_action)]
"""The actions a request card's buttons offer: an id of ``bot.clerk_actions.CLERK_ACTIONS``."""


class MenuOpen(CallbackData, prefix="menu"):
    """Back to the main menu."""


class OrgPage(CallbackData, prefix="orgs"):
    """A page of the list of organizations (``complaint``: the list that leads to the complaint form); with a
    ``district``, a page of that district's dehyaris (a long list is grouped so the towns come first)."""

    page: Index = 0
    complaint: bool = False
    district: str = ""


class OrgPick(CallbackData, prefix="org"):
    """The citizen chose a municipality or dehyari: show its categories."""

    org: str


class ComplaintOrg(CallbackData, prefix="corg"):
    """The citizen chose the organization to complain about: show the complaint service's card."""

    org: str


class CategoryPage(CallbackData, prefix="cats"):
    """A page of the categories of one organization."""

    org: str
    page: Index = 0


class CategoryPick(CallbackData, prefix="cat"):
    """The citizen chose a category of an organization: show its services."""

    org: str
    cat: str


class ServicePage(CallbackData, prefix="svcs"):
    """A page of the services of one category of one organization."""

    org: str
    cat: str
    page: Index = 0


class ServicePick(CallbackData, prefix="svc"):
    """Show the card of a service as an organization offers it."""

    org: str
    svc: str


class SearchPage(CallbackData, prefix="found"):
    """A page of the services a typed search found in organization ``org``.

    The query itself stays in the FSM data (a Persian query may not fit in 64 bytes); ``q`` is a short digest
    of it, so a button of an older search is recognized instead of paging through the newer one.
    """

    org: str
    q: str
    page: Index = 0


class FoundPage(CallbackData, prefix="anyq"):
    """A page of the services a search typed at the main menu found in every organization; ``q`` is a digest
    of the query, which stays in the FSM data (as for :class:`SearchPage`)."""

    q: str
    page: Index = 0


class ServiceOrgs(CallbackData, prefix="svcorgs"):
    """A page of the organizations that offer service ``svc``: the citizen picks theirs to see its card; with a
    ``district``, a page of that district's dehyaris offering it (grouped as :class:`OrgPage`'s list)."""

    svc: str
    page: Index = 0
    district: str = ""


class FaqOpen(CallbackData, prefix="faq"):
    """Show the frequently asked questions of a service."""

    org: str
    svc: str


class PlaceOpen(CallbackData, prefix="place"):
    """Send the location of an organization's office (public: anyone may press it, forged or not)."""

    org: str


class RequestStart(CallbackData, prefix="req"):
    """Start filing a request for a service of an organization."""

    org: str
    svc: str


class FormResume(CallbackData, prefix="resume"):
    """Go on with the unfinished form ``form`` (the start of its idempotency key), asked about on a new start."""

    form: str


class FormRestart(CallbackData, prefix="renew"):
    """Drop the unfinished form ``form`` and start filing a request for service ``svc`` of ``org`` instead."""

    org: str
    svc: str
    form: str


class FormAnswer(CallbackData, prefix="ans"):
    """A button answer (a choice or yes/no) to question ``step`` of the form of service version ``ver``."""

    ver: str
    step: Index
    value: str


class FormEdit(CallbackData, prefix="edit"):
    """From the review: change answer ``index`` (``what`` = field) or document ``index`` (``what`` = doc)."""

    ver: str
    what: str
    index: Index


class FormSubmit(CallbackData, prefix="submit"):
    """From the review: file the request (``go``), go to the edit list (``edit``) or cancel (``cancel``)."""

    ver: str
    action: str


class CardAction(CallbackData, prefix="card"):
    """A clerk's action on the card of request ``req``, pressed while the card showed status ``seen``.

    ``seen`` lets ``desk`` refuse an action taken on an old card, or raced by another clerk.
    """

    req: RowId
    act: CardAct
    seen: Status


class TransferPick(CallbackData, prefix="xfer"):
    """A clerk picked organization ``org`` to transfer request ``req`` to, from a picker opened on a card that
    showed ``seen``; ``desk.transfers`` checks all three again (a forged one is refused there)."""

    req: RowId
    org: str = Field(max_length=24, pattern=r"^[a-z][a-z0-9_]*$")
    seen: Status


class TransferPage(CallbackData, prefix="xferpage"):
    """A page of the organizations a request may be transferred to."""

    req: RowId
    seen: Status
    page: Index


class TransferServices(CallbackData, prefix="xfersvcs"):
    """A page of the services request ``req`` may be moved to ("🔀 another service" in the transfer picker)."""

    req: RowId
    seen: Status
    page: Index


class TransferService(CallbackData, prefix="xfersvc"):
    """A page of the organizations offering service number ``svc`` (its place in ``bot.transfers.service_choices``:
    a service id would not fit the 64 bytes of a button with the organization's and the status)."""

    req: RowId
    seen: Status
    svc: Index
    page: Index


class TransferServicePick(CallbackData, prefix="xfers"):
    """A clerk picked organization ``org`` to receive request ``req`` under service number ``svc``; ``desk``
    checks the organization, the service and the status again (a forged one is refused there)."""

    req: RowId
    org: str = Field(max_length=24, pattern=r"^[a-z][a-z0-9_]*$")
    seen: Status
    svc: Index


class InquiryButton(CallbackData, prefix="inq"):
    """A button under an inquiry: the agency's answer, need more or not ours, or the asking clerk's reply to
    "need more" (``desk.inquiries`` writes these buttons, ``inq:<id>:<act>``, and checks who presses them)."""

    inq: RowId
    act: InquiryAct


class InquiryAgency(CallbackData, prefix="inqto"):
    """A clerk ticks (or unticks) organization ``org`` among those to ask about request ``req``."""

    req: RowId
    org: str = Field(max_length=24, pattern=r"^[a-z][a-z0-9_]*$")


class InquiryPage(CallbackData, prefix="inqpg"):
    """A page of the organizations a clerk may ask about request ``req``, counted from 0."""

    req: RowId
    page: Index


class InquiryDocument(CallbackData, prefix="inqdoc"):
    """A clerk ticks (or unticks) the request's document ``doc`` to attach to the inquiry of request ``req``."""

    req: RowId
    doc: RowId


class InquiryStep(CallbackData, prefix="inqgo"):
    """The clerk moves the inquiry of request ``req`` on: to the question, to the letter, skips it, or cancels."""

    req: RowId
    step: Literal["question", "letter", "send", "cancel"]


class InquiryRecord(CallbackData, prefix="inqrec"):
    """A clerk records by hand the answer to inquiry ``inq`` (an agency without a group answered by letter)."""

    inq: RowId


class InquiryRecordNow(CallbackData, prefix="inqnow"):
    """The clerk records the answer to inquiry ``inq`` by hand without an incoming letter number."""

    inq: RowId


class InquiryAnswerDone(CallbackData, prefix="inqdone"):
    """The answer to inquiry ``inq`` (its texts and files, sent one message at a time) is complete."""

    inq: RowId


class InquiryOpen(CallbackData, prefix="inqcard"):
    """Draw the card of inquiry ``inq`` again, from the agency's ``/open`` list; ``desk.inquiries.show_card``
    checks that the presser's organization is the agency asked."""

    inq: RowId


class ListPage(CallbackData, prefix="worklist"):
    """A page of a clerk's work list (``/open``, ``/mine``, ``/overdue``; an agency's inquiries), counted from 0.

    It names no organization: the list is always the one of the group it is pressed in (``desk.worklists``).
    """

    kind: ListKind
    page: Index


class AnswerOrg(CallbackData, prefix=ANSWER_PREFIX):
    """The citizen answers the organization's message about request ``req`` ("✍️ answer"): whose request it is
    is checked again in ``desk.bridge.own_request``."""

    req: RowId


class CompleteAnswers(CallbackData, prefix=COMPLETE_PREFIX):
    """The citizen completes the answers request ``req``'s new service still needs ("✍️ complete the missing
    answers"): whose request it is, and what is missing, is checked again in ``desk.completion``."""

    req: RowId


class Rate(CallbackData, prefix="rate"):
    """The citizen's satisfaction score (1..5) for a finished request (``rate:<request id>:<score>``)."""

    req: RowId
    score: Annotated[int, Field(ge=1, le=5)]


class Objection(CallbackData, prefix="object"):
    """The citizen objects to the outcome of request ``req``: a complaint linked to it."""

    req: RowId


class FeeOrgPage(CallbackData, prefix="fees"):
    """A page of the organizations whose tariff booklet the fee calculators use."""

    page: Index = 0


class FeeOrgPick(CallbackData, prefix="feeorg"):
    """The citizen chose whose tariff booklet to calculate with: show a page of its fees (``fresh``: in a new
    message, as from under a calculation's answer, which must stay in the chat)."""

    org: str
    page: Index = 0
    fresh: bool = False


class FeePick(CallbackData, prefix="fee"):
    """Start (or start again, with other figures) calculating fee ``fee`` of organization ``org``'s booklet."""

    org: str
    fee: str


class FeeAnswer(CallbackData, prefix="feeans"):
    """A button answer (a choice or a zone) to input ``step`` of the calculation ``run``.

    ``run`` is a token of one calculation, so a button of a finished or abandoned one is recognized as stale.
    """

    run: str
    step: Index
    value: str


class DuesOrgPage(CallbackData, prefix="dorgs"):
    """A page of the organizations whose dues a citizen can look up."""

    page: Index = 0


class DuesOrgPick(CallbackData, prefix="dorg"):
    """The citizen chose whose dues to look up: ask for the property or business code."""

    org: str


class DuesPay(CallbackData, prefix="dpay"):
    """Pay one due in the Bale wallet: its id and payment ID as shown. ``key`` ties the button to the citizen
    it was shown to (an HMAC made with the bot's token, ``bot.dialogs.dues``), so a forged button cannot reveal
    another holder's due."""

    due: RowId
    pid: str
    key: str


class MinePage(CallbackData, prefix="mine"):
    """A page of "my requests" (0 = the newest); ``fresh``: in a new message, as from under a request's page."""

    page: Index = 0
    fresh: bool = False


class MineOpen(CallbackData, prefix="mineopen"):
    """The own page of request ``req`` from "my requests" (``page``: the list to go back to); the presser must
    have filed it, checked again on every press."""

    req: RowId
    page: Index = 0


class MineWithdraw(CallbackData, prefix="minewd"):
    """The citizen gives up request ``req`` from its own page: ``ask`` (the button on the page) asks them to
    confirm, ``yes`` withdraws it (``desk.handling.withdraw``), ``no`` keeps it; ``page``: the list to go back to.
    Whose request it is and whether it is still open are checked again in ``desk`` on every press."""

    req: RowId
    act: Literal["ask", "yes", "no"]
    page: Index = 0


class SmsOffer(CallbackData, prefix="smsoffer"):
    """After filing request ``req``: send a one-time code to its mobile number (``yes``), or not now (``no``);
    from the request's own page, stage SMS for it (``on``: to a number of the citizen's, asked for if need be).

    ``yes`` also asks for a new code when the last one expired or was used up.
    """

    req: RowId
    act: Literal["yes", "no", "on"]


class SmsSwitch(CallbackData, prefix="smsset"):
    """The citizen turns stage SMS on or off (``on``: the new setting)."""

    on: bool
