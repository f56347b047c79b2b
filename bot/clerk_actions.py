"""The actions clerks take from a request card, in one table: the card's buttons, the prompts and the dispatch.

An action shows as a button (``op.action.<id>``) on the cards whose status it lists, in the table's order. Pressed,
it runs its ``desk`` use case at once, or first asks for the clerk's text (``op.prompt.<id>``) when it needs some;
the clerk is then told it is done (``op.done.<id>``). Adding an action means a row here, its texts in
``locales/*/LC_MESSAGES/operator.po`` and its use case in ``desk``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from desk import handling, payments, transfers
from desk.errors import MizError
from desk.lifecycle import Status
from desk.validators import number

__all__ = ["CLERK_ACTIONS", "ActionCall", "ClerkAction", "on_card"]


@dataclass(frozen=True, slots=True)
class ActionCall:
    """An action to run: on request ``request_id``, by ``actor``, from a card that showed ``seen_status``.

    ``text`` is what the clerk typed (empty for a button alone). ``company_code`` (the group's organization's, for
    bill and payment IDs) and ``bale_invoice`` (the bot can send Bale invoices) are what asking for a payment needs.
    ``transfer_to`` (the organization the clerk picked) and ``directory`` (the catalog's side of it) are what a
    transfer needs.
    """

    request_id: int
    actor: handling.ActorRef
    seen_status: Status
    groups: Mapping[str, int]
    text: str = ""
    company_code: int | None = None
    bale_invoice: bool = False
    transfer_to: str = ""
    directory: transfers.Directory | None = None
    transfer_service: str | None = None
    """The service a transfer moves the request to, when the clerk chose another one."""


UseCase = Callable[[AsyncSession, ActionCall], Awaitable[handling.Change | transfers.Transfer]]


@dataclass(frozen=True, slots=True)
class ClerkAction:
    """One action of the card: its ``id`` (in the button's data and its texts' keys), the statuses whose card
    shows it, its use case, whether it waits for the clerk's text, and the errors of that text (keys, or the
    start of keys) after which the clerk may type it again instead of pressing the button again."""

    id: str
    shown_on: tuple[Status, ...]
    run: UseCase
    needs_text: bool = False
    retype: tuple[str, ...] = ()
    picks_organization: bool = False
    """The clerk first picks an organization from buttons (``bot.transfers``), then types the text."""
    dialog: bool = False
    """A dialog of several steps takes the press (``bot.handlers.inquiries``); ``run`` is never called."""

    @property
    def label_key(self) -> str:
        return f"op.action.{self.id}"

    @property
    def prompt_key(self) -> str:
        return f"op.prompt.{self.id}"

    @property
    def done_key(self) -> str:
        return f"op.done.{self.id}"

    def lets_retype(self, error: MizError) -> bool:
        """Whether ``error``, raised by the clerk's text, keeps the prompt open for another try."""
        return any(error.key == key or error.key.startswith(f"{key}.") for key in self.retype)


def _ask_payment(session: AsyncSession, call: ActionCall) -> Awaitable[handling.Change]:
    return payments.ask_payment(
        session,
        call.request_id,
        call.actor,
        number(call.text),
        company_code=call.company_code,
        bale_invoice=call.bale_invoice,
        seen_status=call.seen_status,
        groups=call.groups,
    )


def _transfer(session: AsyncSession, call: ActionCall) -> Awaitable[transfers.Transfer]:
    if call.directory is None:
        raise ValueError("a transfer needs the catalog's directory")
    return transfers.transfer(
        session,
        call.request_id,
        call.actor,
        call.transfer_to,
        call.text,
        seen_status=call.seen_status,
        directory=call.directory,
        service_id=call.transfer_service,
    )


def _in_dialog(session: AsyncSession, call: ActionCall) -> Awaitable[handling.Change]:
    raise ValueError("this action opens a dialog (bot.handlers.inquiries): its press never runs a use case")


_TABLE = (
    ClerkAction(
        "claim",
        shown_on=(Status.SUBMITTED,),
        run=lambda s, c: handling.claim(s, c.request_id, c.actor, seen_status=c.seen_status, groups=c.groups),
    ),
    ClerkAction(
        "ask_info",
        shown_on=(Status.SUBMITTED, Status.IN_PROGRESS),
        needs_text=True,
        run=lambda s, c: handling.ask_information(
            s, c.request_id, c.actor, c.text, seen_status=c.seen_status, groups=c.groups
        ),
    ),
    ClerkAction(
        "inquire",
        shown_on=(Status.IN_PROGRESS, Status.WAITING_EXTERNAL),
        run=_in_dialog,
        dialog=True,
    ),
    ClerkAction(
        "record_answer",
        shown_on=(Status.WAITING_EXTERNAL,),
        run=_in_dialog,
        dialog=True,
    ),
    ClerkAction(
        "ask_payment",
        shown_on=(Status.IN_PROGRESS,),
        needs_text=True,
        run=_ask_payment,
        retype=("desk.number", "desk.handling.amount", "payments.amount_thousands"),
    ),
    ClerkAction(
        "complete",
        shown_on=(Status.IN_PROGRESS,),
        needs_text=True,
        run=lambda s, c: handling.complete(
            s, c.request_id, c.actor, c.text, seen_status=c.seen_status, groups=c.groups
        ),
    ),
    ClerkAction(
        "reject",
        shown_on=(Status.SUBMITTED, Status.IN_PROGRESS),
        needs_text=True,
        run=lambda s, c: handling.reject(
            s, c.request_id, c.actor, c.text, seen_status=c.seen_status, groups=c.groups
        ),
    ),
    ClerkAction(
        "takeover",
        shown_on=(Status.IN_PROGRESS,),
        run=lambda s, c: handling.claim(s, c.request_id, c.actor, seen_status=c.seen_status, groups=c.groups),
    ),
    ClerkAction(
        "resume",
        shown_on=(Status.WAITING_EXTERNAL, Status.AWAITING_PAYMENT),
        run=lambda s, c: handling.resume(
            s, c.request_id, c.actor, seen_status=c.seen_status, groups=c.groups
        ),
    ),
    ClerkAction(
        "transfer",
        shown_on=tuple(sorted(transfers.TRANSFERABLE)),
        needs_text=True,
        run=_transfer,
        picks_organization=True,
    ),
)

CLERK_ACTIONS: Final[Mapping[str, ClerkAction]] = {action.id: action for action in _TABLE}
"""Every clerk action by its id, in the order their buttons appear on a card."""

_ON_CARD: Final[Mapping[Status, tuple[ClerkAction, ...]]] = {
    status: tuple(action for action in _TABLE if status in action.shown_on) for status in Status
}


def on_card(status: Status) -> tuple[ClerkAction, ...]:
    """The actions whose buttons the card of a request in ``status`` shows (none for final statuses and
    needs_info)."""
    return _ON_CARD[status]
