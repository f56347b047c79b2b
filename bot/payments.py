"""Bale wallet payments of requests and dues: the invoice the outbox sends, the pre-checkout answer, the receipt.

``desk.payments`` decides what a payment is and when it may be taken; this module only speaks the Bot API:

* :func:`invoice_sender` sends an outbox row ``{"type": "invoice", ...}`` with ``sendInvoice`` (the wallet's
  provider token, currency IRR, the price in rials, the payment's token as the invoice payload). It goes
  through the outbox, like a card, so it follows the payment notice in order and is retried like any message;
* :func:`router` answers ``pre_checkout_query`` at once (Bale allows 10 s) from one read of the database, and
  records a ``successful_payment``: first the wallet's transaction id (its own commit), then the payment, which
  moves the request on; a repeated receipt records nothing;
* :class:`InquireTransaction` is Bale's ``inquireTransaction``, which :func:`inquirer` wraps for
  ``desk.payments.reconcile``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.methods.base import TelegramMethod
from aiogram.types import LabeledPrice, Message, PreCheckoutQuery
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notifier import Notifier
from bot.outbox import OrgNames, PayloadError, PayloadHandler
from bot.platforms import Platform
from bot.render import Renderer
from catalog.index import NotInCatalogError
from catalog.loader import CatalogHolder
from desk import payments
from desk.errors import MizError
from desk.payments import Inquire, reconcile
from storage.models import OutboxMessage
from storage.uow import unit_of_work

__all__ = ["InquireTransaction", "inquirer", "invoice_sender", "router"]

logger = logging.getLogger(__name__)

_TITLE_MAX = 32
_DESCRIPTION_MAX = 255


class InquireTransaction(TelegramMethod[dict[str, Any]]):
    """Bale: the state of a wallet payment by its transaction id (``{"status": "succeed", "amount", ...}``)."""

    __returning__ = dict[str, Any]
    __api_method__ = "inquireTransaction"

    transaction_id: str


def inquirer(bot: Bot) -> Inquire:
    """Asks Bale's wallet about a transaction; None when Bale does not know it (a 400)."""

    async def inquire(transaction_id: str) -> Mapping[str, Any] | None:
        try:
            return await bot(InquireTransaction(transaction_id=transaction_id))
        except TelegramBadRequest:
            return None

    return inquire


def invoice_sender(provider_token: str, org_names: OrgNames | None = None) -> PayloadHandler:
    """The outbox handler of ``invoice`` rows (see ``desk.payments.request_payment`` for the payload)."""

    async def send(bot: Bot, row: OutboxMessage) -> Message:
        payload = row.payload or {}
        try:
            lang = str(payload.get("lang") or "fa")
            renderer = Renderer.get(Platform(str(row.platform)), lang)
            params: dict[str, Any] = dict(payload["params"])
            if org_names is not None and isinstance(params.get("org"), str):
                params["org"] = org_names(params["org"], lang)
            title = renderer.plain(str(payload["title"]), **params)[:_TITLE_MAX]
            description = renderer.plain(str(payload["description"]), **params)[:_DESCRIPTION_MAX]
            token, amount = str(payload["payload"]), int(payload["amount_rials"])
        except (KeyError, TypeError, ValueError) as error:
            raise PayloadError(f"cannot render invoice: {type(error).__name__}: {error}") from error
        return await bot.send_invoice(
            chat_id=int(row.chat_id or 0),
            title=title,
            description=description,
            payload=token,
            provider_token=provider_token,
            currency="IRR",
            prices=[LabeledPrice(label=title, amount=amount)],
        )

    return send


async def pre_checkout(
    query: PreCheckoutQuery, r: Renderer, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    try:
        async with session_factory() as session:
            checkout = await payments.check_checkout(
                session, query.invoice_payload, query.total_amount, query.currency
            )
    except Exception:
        logger.exception("payments: checking pre-checkout query %s failed", query.id)
        checkout = payments.Checkout(False, "payments.checkout.error")
    try:
        if checkout.ok:
            await query.answer(ok=True)
        else:
            await query.answer(
                ok=False, error_message=r.plain(checkout.error_key or "payments.checkout.error")
            )
    except TelegramAPIError as error:
        # Too late (Bale allows 10 s) or already answered: the wallet takes nothing, nothing is recorded.
        logger.warning("payments: pre-checkout query %s could not be answered: %s", query.id, error)


async def paid(
    message: Message,
    catalogs: CatalogHolder,
    session_factory: async_sessionmaker[AsyncSession],
    outbox: Notifier,
) -> None:
    receipt = message.successful_payment
    assert receipt is not None
    transaction_id = receipt.provider_payment_charge_id or receipt.telegram_payment_charge_id
    async with unit_of_work(session_factory, write=True) as session:
        payment = await payments.note_transaction(session, receipt.invoice_payload, transaction_id)
    if payment is None:
        logger.error("payments: a receipt for an unknown invoice (transaction %s)", transaction_id)
        return
    try:
        async with unit_of_work(session_factory, write=True) as session:
            await payments.record_payment(
                session,
                payment,
                transaction_id,
                receipt.total_amount,
                channel=payments.WALLET,
                groups=catalogs.catalog.operator_groups(payment.organization_id),
            )
    except MizError:
        logger.exception("payments: the receipt of payment %s was not recorded", payment.id)
        return
    outbox.notify()


def router() -> Router:
    """The wallet's pre-checkout queries and the citizens' receipts (private chats)."""
    r_ = Router(name="payments")
    r_.pre_checkout_query.register(pre_checkout)
    r_.message.register(paid, F.chat.type == "private", F.successful_payment)
    return r_


async def reconcile_periodically(
    factory: async_sessionmaker[AsyncSession],
    bot: Bot,
    catalogs: CatalogHolder,
    *,
    every: timedelta = timedelta(minutes=10),
) -> None:
    """Run :func:`desk.payments.reconcile` every ``every`` until cancelled: a wallet payment whose
    ``successful_payment`` update was lost (the bot was down) is still recorded, within minutes."""
    inquire = inquirer(bot)
    while True:
        try:
            recorded = await reconcile(factory, inquire, groups_of=lambda org: _groups(catalogs, org))
            if recorded:
                logger.info("payments: reconciliation recorded %d wallet payments", recorded)
        except Exception:
            logger.exception("payments: reconciliation failed; trying again later")
        await asyncio.sleep(every.total_seconds())


def _groups(catalogs: CatalogHolder, org_id: str) -> dict[str, int]:
    try:
        return catalogs.catalog.operator_groups(org_id)
    except NotInCatalogError:
        return {}
