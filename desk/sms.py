"""Which SMS a citizen gets about a request, what it says, and how many SMS parts it takes.

The governorate asked for an SMS at every stage (the seed): when a request is filed (with its tracking code), at
each public status change, and when it is finished. An SMS goes to the citizen's *verified* mobile only (shared
with the messenger's contact button, or proved with a one-time code), and only while they keep SMS on; an
organization can turn SMS off in the catalog, which the sender checks when it sends (so a change applies to
what is still queued). Texts are short locale messages (``locales/*/LC_MESSAGES/sms.po``), rendered as plain
text when sent; every one fits two parts (checked by the tests with the longest names).

The SMS that send the citizen back to the bot (information asked, a payment, a completed or rejected request, a
message they missed) have a second text, ``<key>.link``, with the link that opens the bot at the request's
tracking (``desk.deeplinks``) in place of "in the bot". It is sent when the bot's link is known and the text with
it still fits :data:`MAX_PARTS`; otherwise the text without it goes, so a link never costs a third part. The filing
SMS stays without one: it comes while the citizen is in the bot, and most fit one part that a link would double.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from desk.deeplinks import tracking_payload
from desk.i18n import LANGUAGES, Translator, translator
from desk.lifecycle import Status
from desk.notifications import enqueue_sms
from desk.persian import for_sms, format_number
from desk.tracking import format_tracking_code
from storage.models import Citizen, ServiceRequest
from storage.repositories import Citizens

__all__ = [
    "MAX_PARTS",
    "SmsPayloadError",
    "StartLinks",
    "queue_request_sms",
    "render_sms",
    "sms_key_for",
    "sms_parts",
    "switch_sms",
]

MAX_PARTS = 2
"""The most parts a stage SMS may take (a Persian part holds 70 characters, 67 when there are several)."""

_STATUS_KEYS = {
    Status.SUBMITTED: "sms.submitted",
    Status.NEEDS_INFO: "sms.needs_info",
    Status.AWAITING_PAYMENT: "sms.awaiting_payment",
    Status.COMPLETED: "sms.completed",
    Status.REJECTED: "sms.rejected",
}

_GSM7 = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


StartLinks = Callable[[str, str], str | None]
"""``(platform, payload) -> link``: the link that opens the platform's bot with a ``start`` payload, or None while
the bot's name is not known (``bot.app.Miz``)."""


class SmsPayloadError(ValueError):
    """An SMS row's payload cannot be rendered (malformed, or a parameter is missing): retrying won't help."""


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` takes: GSM-7 160/153 characters, otherwise (Persian) UCS-2 70/67."""
    if not text:
        return 1
    single, multi = (160, 153) if set(text) <= _GSM7 else (70, 67)
    return 1 if len(text) <= single else math.ceil(len(text) / multi)


def sms_key_for(status: Status) -> str:
    """The SMS text of a status change."""
    return _STATUS_KEYS.get(status, "sms.status")


async def queue_request_sms(
    session: AsyncSession,
    citizen: Citizen,
    request: ServiceRequest,
    *,
    key: str,
    dedupe_key: str,
    amount_rials: int | None = None,
) -> bool:
    """Queue the SMS ``key`` about ``request`` to the citizen, in the caller's transaction.

    Nothing is queued (False) without a verified mobile or when the citizen turned SMS off.
    """
    if not citizen.phone or not citizen.phone_verified or not citizen.sms_enabled:
        return False
    lang = citizen.locale if citizen.locale in LANGUAGES else "fa"
    params: dict[str, str | int] = {
        "code": format_tracking_code(request.tracking_code, lang),
        "org": request.organization_id,
    }
    if amount_rials is not None:
        params["amount"] = format_number(amount_rials, lang)
    payload: dict[str, Any] = {
        "type": "sms",
        "key": key,
        "lang": lang,
        "params": params,
        "labels": {"status": Status(request.status).label_key},
        "start": {"platform": citizen.platform, "payload": tracking_payload(request.tracking_code)},
    }
    return await enqueue_sms(
        session,
        phone=citizen.phone,
        organization_id=request.organization_id,
        payload=payload,
        dedupe_key=dedupe_key,
        request_id=request.id,
    )


def _with_link(
    t: Translator, key: str, params: dict[str, Any], payload: Mapping[str, Any], links: StartLinks, lang: str
) -> str | None:
    """The text ``<key>.link`` with the bot's link (as sent: ``for_sms``), if there is one and it fits
    :data:`MAX_PARTS`."""
    start = payload.get("start")
    if not isinstance(start, Mapping) or not t.has(f"{key}.link"):
        return None
    link = links(str(start.get("platform")), str(start.get("payload")))
    if link is None:
        return None
    # Without its scheme: phones make "t.me/..." a link all the same, and 8 characters are a lot in Persian.
    text = for_sms(t(f"{key}.link", **params, link=link.removeprefix("https://")), lang)
    return text if sms_parts(text) <= MAX_PARTS else None


def render_sms(
    payload: Mapping[str, Any],
    org_names: Callable[[str, str], str] | None = None,
    links: StartLinks | None = None,
) -> str:
    """The plain text of an ``sms`` payload; the organization id in ``params["org"]`` becomes its name, and with
    ``links`` the text carries the bot's link where it has one that fits (see the module docstring).

    Codes are isolated left-to-right as in chats, with marks instead of isolates (``desk.persian.for_sms``)."""
    try:
        lang = str(payload.get("lang") or "fa")
        t = translator(lang)
        key = str(payload["key"])
        if not key.startswith("sms.") or not t.has(key):
            raise KeyError(key)
        params: dict[str, Any] = dict(payload.get("params") or {})
        if org_names is not None and isinstance(params.get("org"), str):
            params["org"] = org_names(params["org"], lang)
        for name, label in (payload.get("labels") or {}).items():
            params[name] = t(str(label))
        linked = _with_link(t, key, params, payload, links, lang) if links is not None else None
        return linked or for_sms(t(key, **params), lang)
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise SmsPayloadError(f"cannot render SMS {payload.get('key')!r}: {type(error).__name__}") from error


async def switch_sms(session: AsyncSession, platform: str, user_id: int, on: bool) -> Citizen | None:
    """Turn the citizen's stage SMS on or off, which takes a verified mobile (nothing changes without one).

    Answers the citizen as they are now, or None for someone who never used the bot."""
    citizens = Citizens(session)
    citizen = await citizens.find(platform, user_id)
    if citizen is not None and citizen.phone_verified:
        await citizens.set_sms_enabled(citizen, on)
    return citizen
