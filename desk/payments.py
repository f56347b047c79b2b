"""Payments for requests: a clerk asks for an amount, the citizen pays at any bank or in the Bale wallet.

When a clerk asks for payment (:func:`ask_payment`) and the organization has a company code in the catalog
(``billing.company_code``), :func:`request_payment` writes a :class:`~storage.models.Payment` with a bill ID
and a payment ID (``desk.billing``; docs/RULES.md, "Bill and payment identifiers") and queues the citizen's
payment notice with both, in the same transaction as the status change. On Bale, when the bot has a wallet
provider token, an in-chat invoice follows (an outbox row ``{"type": "invoice", ...}``, sent by
``bot/payments.py``). A payment confirmed by the wallet or the bank is recorded by :func:`record_payment`,
which moves the request back to ``in_progress`` (actor: the system) and tells the citizen and the clerks.

Identifiers
    Bill ID: file number ``5 * FILE_RANGE + request id`` (first digit 5: dues use 1 to 4, see ``desk.dues``),
    so a request keeps one bill ID for all its payments and never shares one with a due. Payment ID: the
    amount (a multiple of 1,000 rials), the last digit of the Jalali year it was asked in, and as the period
    the payment's number within its request (1 for the first, 2 when the clerk asks again...), so two payments
    of a request never share a payment ID even for the same amount.

Wallet payments
    The invoice's payload is the payment's random token (``invoice_payload``). The pre-checkout answer is
    :func:`check_checkout`; the receipt is recorded with :func:`note_transaction` (committed first, so the
    wallet's transaction id is never lost) and then :func:`record_payment`, which is idempotent. A payment whose
    transaction id is known but which is still pending (the process stopped in between) is settled later by
    :func:`reconcile`, which asks the wallet (Bale's ``inquireTransaction``).

Dues paid in the wallet
    On Bale, a citizen who looked up their dues (``desk.dues``) may pay one in the chat: :func:`offer_due_payment`
    writes a payment of the due (its own bill ID and payment ID, ``due_id`` and the citizen set, no request) and
    queues the invoice, the same outbox row as a request's. The same pre-checkout answer, transaction note,
    :func:`record_payment` and :func:`reconcile` serve it: the wallet may take it only while the due is unpaid
    and for its amount, and once paid the due is marked paid (``paid_at``) and the citizen gets a receipt.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from persiantools.jdatetime import JalaliDate
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from desk import billing, handling
from desk.dues import AMOUNT_MAX, FILE_RANGE, DueKind, Period
from desk.errors import NotFound, ValidationError
from desk.handling import GROUP_LANG, ActorRef, Change
from desk.i18n import LANGUAGES, translator
from desk.lifecycle import Status
from desk.notifications import answer_buttons, enqueue_chat, text_payload
from desk.persian import TEHRAN, format_identifier, format_number
from desk.platforms import Platform
from desk.requests import Title
from desk.tracking import format_tracking_code
from storage.columns import utcnow
from storage.models import Citizen, Due, Payment, ServiceRequest
from storage.repositories import Citizens, Dues, Payments, Requests
from storage.uow import unit_of_work

__all__ = [
    "BANK",
    "REQUEST_FILE_DIGIT",
    "WALLET",
    "Checkout",
    "Inquire",
    "ask_payment",
    "check_amount",
    "check_checkout",
    "file_number",
    "note_transaction",
    "offer_due_payment",
    "reconcile",
    "record_payment",
    "request_payment",
]

logger = logging.getLogger(__name__)

REQUEST_FILE_DIGIT: Final = 5
"""First digit of the file numbers of requests' payments (dues use 1 to 4)."""
BANK: Final = "bank"
"""Channel of a payment made at a bank with the bill ID and payment ID."""
WALLET: Final = "bale_wallet"
"""Channel of a payment made in the Bale wallet from an in-chat invoice."""
_PERIODS: Final = range(1, 100)


def file_number(request_id: int) -> int:
    """The file number (first part of the bill ID) of a request's payments: ``5`` then the id on 7 digits."""
    if not 0 < request_id < FILE_RANGE:
        raise ValueError(f"request id {request_id} does not fit a file number")
    return REQUEST_FILE_DIGIT * FILE_RANGE + request_id


def check_amount(amount_rials: int) -> int:
    """``amount_rials`` if a payment ID can carry it: a positive multiple of 1,000 rials, at most 8 digits of
    thousands; ``ValidationError("payments.amount_thousands")`` otherwise."""
    if (
        isinstance(amount_rials, bool)
        or not isinstance(amount_rials, int)
        or amount_rials <= 0
        or amount_rials % 1000
        or amount_rials > AMOUNT_MAX
    ):
        raise ValidationError("payments.amount_thousands")
    return amount_rials


def _lang(locale: str | None) -> str:
    return locale if locale in LANGUAGES else "fa"


async def request_payment(
    session: AsyncSession,
    request: ServiceRequest,
    amount_rials: int,
    company_code: int,
    *,
    bale_invoice: bool = False,
    today: date | None = None,
) -> Payment:
    """Write the payment of ``amount_rials`` for ``request`` and queue how to pay it; the caller commits.

    Earlier pending payments of the request are cancelled (the clerk asked again). The citizen gets the amount,
    bill ID and payment ID (``payments.notice``); a citizen on a platform with in-chat invoices (Bale, see
    ``desk.platforms``) also gets a wallet invoice when ``bale_invoice`` (the bot has a provider token).
    Raises ``ValidationError("payments.amount_thousands")`` and ``ValidationError("payments.too_many")`` (99
    payments for one request) before writing anything.
    """
    assert request.id is not None
    check_amount(amount_rials)
    payments = Payments(session)
    number = await payments.count_of_request(request.id) + 1
    if number not in _PERIODS:
        raise ValidationError("payments.too_many")
    year = JalaliDate(today or datetime.now(TEHRAN).date()).year  # type: ignore[no-untyped-call]
    bill = billing.bill_id(file_number(request.id), company_code)
    pay = billing.payment_id(amount_rials, year, number, bill)
    citizen = await Citizens(session).get(request.citizen_id)
    assert citizen is not None
    wallet = bale_invoice and Platform(citizen.platform).spec.invoices
    for earlier in await payments.pending_of_request(request.id):
        earlier.status = "cancelled"
        session.add(earlier)
    payment = await payments.add(
        Payment(
            request_id=request.id,
            organization_id=request.organization_id,
            amount_rials=amount_rials,
            bill_id=bill,
            payment_id=pay,
            invoice_payload=secrets.token_urlsafe(24),
            channel=WALLET if wallet else BANK,
        )
    )
    lang = _lang(citizen.locale)
    params: dict[str, str | int] = {
        "code": format_tracking_code(request.tracking_code, lang),
        "title": Title.of(request.service_snapshot).text(lang),
        "org": request.organization_id,
    }
    notice = {**params, "amount": format_number(amount_rials, lang), "bill_id": bill, "payment_id": pay}
    key = "payments.notice_wallet" if wallet else "payments.notice"
    await enqueue_chat(
        session,
        platform=citizen.platform,
        chat_id=citizen.chat_id,
        organization_id=request.organization_id,
        payload=text_payload(key, lang, params=notice, buttons=answer_buttons(request.id)),
        dedupe_key=f"payment:{payment.id}:notice",
        request_id=request.id,
    )
    if wallet:
        await enqueue_chat(
            session,
            platform=citizen.platform,
            chat_id=citizen.chat_id,
            organization_id=request.organization_id,
            payload={
                "type": "invoice",
                "lang": lang,
                "title": "payments.invoice.title",
                "description": "payments.invoice.description",
                "params": params,
                "payload": payment.invoice_payload,
                "amount_rials": amount_rials,
            },
            dedupe_key=f"payment:{payment.id}:invoice",
            request_id=request.id,
        )
    return payment


async def ask_payment(
    session: AsyncSession,
    request_id: int,
    actor: ActorRef,
    amount_rials: int,
    *,
    company_code: int | None,
    bale_invoice: bool = False,
    seen_status: Status,
    groups: Mapping[str, int],
    today: date | None = None,
) -> Change:
    """``desk.handling.ask_payment``, then, when the organization has a ``company_code``, :func:`request_payment`.

    With a company code the amount must be a multiple of 1,000 rials (checked first, nothing is written
    otherwise); without one the citizen is only told the amount, as before.
    """
    if company_code is not None:
        check_amount(amount_rials)
    change = await handling.ask_payment(
        session, request_id, actor, amount_rials, seen_status=seen_status, groups=groups
    )
    if company_code is not None:
        request = await Requests(session).get(change.request_id)
        assert request is not None
        await request_payment(
            session, request, amount_rials, company_code, bale_invoice=bale_invoice, today=today
        )
    return change


def _due_params(due: Due, lang: str) -> dict[str, str | int]:
    return {
        "kind": translator(lang)(DueKind(due.kind).label_key),
        "period": Period(due.period_year, due.period_number).label(lang),
        "code": format_identifier(due.property_or_business_code, lang),
        "org": due.organization_id,
    }


async def offer_due_payment(
    session: AsyncSession, due_id: int, citizen: Citizen, *, payment_id: str
) -> Payment:
    """Write a wallet payment of the due ``due_id`` for ``citizen`` and queue its invoice; the caller commits.

    ``payment_id`` is the due's payment ID as the citizen was shown it: a due replaced by a later import (a new
    amount, or the id reused for another due) no longer matches. Every press makes a new payment with a fresh
    token (an earlier invoice stays payable while the due is unpaid: the pre-checkout answer checks the due, not
    the invoice's age). Raises ``NotFound("payments.due.gone")`` for a due no longer there and
    ``ValidationError("payments.due.paid")`` for a due already paid, before writing anything.
    """
    assert citizen.id is not None
    due = await Dues(session).get(due_id, for_update=True)
    if due is None or due.payment_id != payment_id:
        raise NotFound("payments.due.gone")
    if due.paid_at is not None:
        raise ValidationError("payments.due.paid")
    check_amount(due.amount_rials)
    payment = await Payments(session).add(
        Payment(
            due_id=due_id,
            citizen_id=citizen.id,
            organization_id=due.organization_id,
            amount_rials=due.amount_rials,
            bill_id=due.bill_id,
            payment_id=due.payment_id,
            invoice_payload=secrets.token_urlsafe(24),
            channel=WALLET,
        )
    )
    lang = _lang(citizen.locale)
    params = _due_params(due, lang)
    await enqueue_chat(
        session,
        platform=citizen.platform,
        chat_id=citizen.chat_id,
        organization_id=due.organization_id,
        payload={
            "type": "invoice",
            "lang": lang,
            "title": "payments.due_invoice.title",
            "description": "payments.due_invoice.description",
            "params": params,
            "payload": payment.invoice_payload,
            "amount_rials": due.amount_rials,
        },
        dedupe_key=f"payment:{payment.id}:invoice",
    )
    return payment


@dataclass(frozen=True, slots=True)
class Checkout:
    """The answer to a wallet's pre-checkout query: ``ok``, or the locale key of the reason to refuse."""

    ok: bool
    error_key: str | None = None


async def check_checkout(session: AsyncSession, token: str, total_amount: int, currency: str) -> Checkout:
    """Whether the wallet may take ``total_amount`` for the invoice ``token``: only for a pending payment of
    exactly that amount in rials, whose request still waits for it, or whose due is still unpaid."""
    payment = await Payments(session).by_token(token)
    if payment is None or payment.status != "pending":
        return Checkout(False, "payments.checkout.not_pending")
    if currency != "IRR" or total_amount != payment.amount_rials:
        return Checkout(False, "payments.checkout.amount")
    if payment.request_id is None:
        due = await Dues(session).get(payment.due_id) if payment.due_id is not None else None
        if due is None:
            return Checkout(False, "payments.checkout.not_pending")
        if due.paid_at is not None:
            return Checkout(False, "payments.checkout.due_paid")
        if due.amount_rials != payment.amount_rials:
            return Checkout(False, "payments.checkout.amount")
        return Checkout(True)
    request = await Requests(session).get(payment.request_id)
    if request is None or request.status != Status.AWAITING_PAYMENT.value:
        return Checkout(False, "payments.checkout.not_pending")
    return Checkout(True)


async def note_transaction(session: AsyncSession, token: str, transaction_id: str) -> Payment | None:
    """Remember the wallet's transaction id of the invoice ``token`` (before recording it), so a payment whose
    recording is interrupted can be settled by :func:`reconcile`; the payment, or None for an unknown token."""
    payment = await Payments(session).by_token(token, for_update=True)
    if payment is None:
        return None
    if payment.status == "pending" and payment.provider_transaction_id is None:
        payment.provider_transaction_id = transaction_id[:128]
        session.add(payment)
    return payment


async def record_payment(
    session: AsyncSession,
    payment: Payment,
    transaction_id: str,
    amount_rials: int,
    *,
    channel: str = BANK,
    groups: Mapping[str, int],
) -> bool:
    """Mark ``payment`` paid (``channel``: ``bank`` or ``bale_wallet``) and move its request on, or mark its due
    paid (:func:`_record_due_payment`); the caller commits.

    Idempotent: False when the payment was already recorded paid (nothing is written). A request awaiting
    this payment moves to ``in_progress`` as the system (``desk.handling.payment_received``: the citizen's
    receipt, the cards redrawn); a request that no longer waits (the clerk resumed it, the citizen withdrew)
    stays as it is and the citizen gets a plain receipt. Either way the operator groups are told. Raises
    ``ValidationError("payments.amount_mismatch")`` when ``amount_rials`` is not the amount asked.
    """
    locked = await Payments(session).by_token(payment.invoice_payload, for_update=True)
    assert locked is not None
    if locked.status == "paid":
        return False
    if amount_rials != locked.amount_rials:
        raise ValidationError("payments.amount_mismatch")
    if locked.request_id is None:
        await _record_due_payment(session, locked, transaction_id, channel)
        return True
    request = await Requests(session).get_for_update(locked.request_id)
    assert request is not None
    assert request.id is not None
    locked.status = "paid"
    locked.paid_at = utcnow()
    locked.provider_transaction_id = transaction_id[:128]
    locked.channel = channel
    session.add(locked)
    if request.status == Status.AWAITING_PAYMENT.value:
        await handling.payment_received(
            session, request.id, amount_rials=locked.amount_rials, reference=transaction_id, groups=groups
        )
    else:
        citizen = await Citizens(session).get(request.citizen_id)
        assert citizen is not None
        lang = _lang(citizen.locale)
        await enqueue_chat(
            session,
            platform=citizen.platform,
            chat_id=citizen.chat_id,
            organization_id=request.organization_id,
            payload=text_payload(
                "payments.receipt",
                lang,
                params={
                    "code": format_tracking_code(request.tracking_code, lang),
                    "amount": format_number(locked.amount_rials, lang),
                    "text": transaction_id,
                },
                buttons=answer_buttons(request.id),
            ),
            dedupe_key=f"payment:{locked.id}:receipt",
            request_id=request.id,
        )
    for platform, chat_id in sorted(groups.items()):
        await enqueue_chat(
            session,
            platform=platform,
            chat_id=chat_id,
            organization_id=request.organization_id,
            payload=text_payload(
                "payments.group.paid",
                GROUP_LANG,
                params={
                    "code": format_tracking_code(request.tracking_code, GROUP_LANG),
                    "amount": format_number(locked.amount_rials, GROUP_LANG),
                    "text": transaction_id,
                },
                labels={"channel": f"payments.channel.{channel}"},
            ),
            dedupe_key=f"payment:{locked.id}:group:{platform}",
            request_id=request.id,
        )
    return True


async def _record_due_payment(
    session: AsyncSession, payment: Payment, transaction_id: str, channel: str
) -> None:
    """The due side of :func:`record_payment`: the payment and its due paid, the citizen's receipt queued.

    The money was taken, so the payment is recorded even when its due was paid meanwhile (at a bank, or by an
    earlier invoice: logged for the finance office to refund) or replaced by a later import.
    """
    due = await Dues(session).get(payment.due_id, for_update=True) if payment.due_id is not None else None
    payment.status = "paid"
    payment.paid_at = utcnow()
    payment.provider_transaction_id = transaction_id[:128]
    payment.channel = channel
    session.add(payment)
    if due is not None and due.paid_at is None:
        due.paid_at = payment.paid_at
        session.add(due)
    else:
        logger.warning(
            "payments: payment %s paid a due already paid or gone (due %s)", payment.id, payment.due_id
        )
    citizen = await Citizens(session).get(payment.citizen_id) if payment.citizen_id is not None else None
    if citizen is None:
        return
    lang = _lang(citizen.locale)
    params: dict[str, str | int] = {
        "amount": format_number(payment.amount_rials, lang),
        "bill_id": payment.bill_id,
        "payment_id": payment.payment_id,
        "text": transaction_id,
    }
    key = "payments.due_receipt_plain"
    if due is not None:
        described = _due_params(due, lang)
        params.update(kind=described["kind"], period=described["period"], code=described["code"])
        key = "payments.due_receipt"
    await enqueue_chat(
        session,
        platform=citizen.platform,
        chat_id=citizen.chat_id,
        organization_id=payment.organization_id,
        payload=text_payload(key, lang, params=params),
        dedupe_key=f"payment:{payment.id}:receipt",
    )


Inquire = Callable[[str], Awaitable[Mapping[str, Any] | None]]
"""Asks the wallet about a transaction id: its answer (``{"status": "succeed", "amount": ...}``) or None."""


async def reconcile(
    factory: async_sessionmaker[AsyncSession],
    inquire: Inquire,
    *,
    groups_of: Callable[[str], Mapping[str, int]],
    older_than: timedelta = timedelta(minutes=15),
) -> int:
    """Record the pending wallet payments (with a known transaction id, asked more than ``older_than`` ago)
    that the wallet says succeeded, each in its own transaction; how many were recorded.

    ``groups_of(organization id)`` gives the operator groups to tell. A failed inquiry is logged and skipped.
    """
    async with factory() as session:
        pending = list(await Payments(session).pending_wallet(created_before=utcnow() - older_than))
    recorded = 0
    for payment in pending:
        assert payment.provider_transaction_id is not None
        try:
            answer = await inquire(payment.provider_transaction_id)
        except Exception:
            logger.exception("payments: inquiry of payment %s failed", payment.id)
            continue
        if not answer or answer.get("status") != "succeed":
            continue
        if int(answer.get("amount", 0)) != payment.amount_rials:
            logger.warning("payments: the wallet paid another amount for payment %s", payment.id)
            continue
        async with unit_of_work(factory, write=True) as session:
            done = await record_payment(
                session,
                payment,
                payment.provider_transaction_id,
                payment.amount_rials,
                channel=WALLET,
                groups=groups_of(payment.organization_id),
            )
        recorded += int(done)
    return recorded
