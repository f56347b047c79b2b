"""SMS gateway clients: a stage notification or a one-time code, sent through Kavenegar or SMS.ir.

A provider never raises for what the gateway or the network does; it answers an :class:`SmsResult` whose
:class:`SmsOutcome` tells the outbox what to do next:

- ``sent``: the gateway accepted the SMS.
- ``retry``: a temporary failure (timeout, lost connection, HTTP 5xx, the gateway busy or rate limiting):
  try again later. A timeout is ambiguous (the SMS may have left before the answer was lost); we retry anyway,
  because a rare duplicate notification is better than a lost one.
- ``failed``: sending the same SMS again would fail again (bad number, sender line, text, API key, template,
  disabled account): give up on this SMS.
- ``no_credit``: the account is empty, so every SMS fails until someone tops it up: pause and alert rather
  than spend retries.

Phone numbers come in Miz's canonical form ``09xxxxxxxxx`` (``desk.validators.mobile``), which both gateways
accept as is. A result's ``detail`` is a short English line for logs: it masks the number
(``desk.privacy.mask_mobile``) and never holds the API key, which for Kavenegar is part of the URL, so neither
URLs nor aiohttp's exception texts go into it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final, Protocol
from urllib.parse import quote

import aiohttp

from config.settings import Settings
from desk.privacy import mask_mobile

__all__ = [
    "KAVENEGAR_BASE",
    "SMSIR_BASE",
    "KavenegarProvider",
    "NoSmsProvider",
    "SmsCredit",
    "SmsIrProvider",
    "SmsOutcome",
    "SmsProvider",
    "SmsResult",
    "create_sms_provider",
]

KAVENEGAR_BASE: Final = "https://api.kavenegar.com"
SMSIR_BASE: Final = "https://api.sms.ir"


class SmsOutcome(StrEnum):
    """What became of one SMS, as far as what to do next is concerned."""

    SENT = "sent"
    RETRY = "retry"
    FAILED = "failed"
    NO_CREDIT = "no_credit"


@dataclass(frozen=True, slots=True)
class SmsResult:
    """The gateway's answer to one SMS, reduced to what the outbox and its logs need."""

    outcome: SmsOutcome
    status: str
    """The provider's status code (Kavenegar ``"418"``, SMS.ir ``"102"``), the HTTP status when the reply
    carried none, ``"timeout"`` or ``"connection"`` when there was no reply, ``"disabled"`` without a provider."""
    detail: str
    """A short English line for logs (provider, status, meaning, masked number)."""
    message_ids: tuple[str, ...] = ()
    """The provider's id(s) of the SMS, for its delivery reports."""
    cost_rials: int | None = None
    """What the SMS cost, when the provider reports it in rials (Kavenegar does)."""
    parts: int | None = None
    """How many SMS parts were charged, when the provider reports it (SMS.ir's ``cost`` counts them)."""

    @property
    def sent(self) -> bool:
        """True when the gateway accepted the SMS."""
        return self.outcome is SmsOutcome.SENT


@dataclass(frozen=True, slots=True)
class SmsCredit:
    """What the gateway says is left on the account (``miz doctor``): ``amount`` of ``unit`` (Kavenegar: rials,
    SMS.ir: its SMS credits), or, when it could not say, ``error`` (``outcome`` tells a refused key from an outage)."""

    amount: float | None
    unit: str
    error: str | None = None
    outcome: SmsOutcome | None = None


class SmsProvider(Protocol):
    """An SMS gateway client. One instance serves the whole process; ``close`` releases its connections."""

    @property
    def name(self) -> str:
        """The provider's name, as in ``MIZ_SMS_PROVIDER``."""
        ...

    async def send(self, phone: str, text: str) -> SmsResult:
        """Send ``text`` to ``phone`` (``09xxxxxxxxx``)."""
        ...

    async def send_code(self, phone: str, code: str) -> SmsResult:
        """Send a one-time ``code`` through the provider's verification template (a service line, fast lane)."""
        ...

    async def credit(self) -> SmsCredit | None:
        """The account's credit, or None when this provider has no account (no gateway)."""
        ...

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        ...


_R, _F = SmsOutcome.RETRY, SmsOutcome.FAILED

# Kavenegar's general result codes ("جدول ۱ - کدهای برگشتی", https://kavenegar.com/rest.html#result-general,
# as transcribed in FardaDev/kavenegar-for-laravel src/Enums/ApiErrorCodeEnum.php). Only 409 (the server cannot
# answer now) and 451 (too many calls from this IP in a period) pass with time; 429 there means "IP restricted",
# a setting, not a rate limit.
_KAVENEGAR_STATUSES: Final[Mapping[int, tuple[SmsOutcome, str]]] = {
    400: (_F, "incomplete parameters"),
    401: (_F, "account disabled"),
    402: (_F, "operation failed"),
    403: (_F, "invalid API key"),
    404: (_F, "unknown method"),
    405: (_F, "wrong HTTP method"),
    406: (_F, "required parameters empty"),
    407: (_F, "access denied"),
    409: (_R, "server cannot answer now"),
    411: (_F, "invalid receptor"),
    412: (_F, "invalid sender"),
    413: (_F, "message empty or too long"),
    414: (_F, "request too large"),
    415: (_F, "start index too large"),
    416: (_F, "source IP does not match the settings"),
    417: (_F, "invalid date"),
    418: (SmsOutcome.NO_CREDIT, "not enough credit"),
    419: (_F, "array lengths differ"),
    420: (_F, "links not allowed in the text"),
    422: (_F, "invalid characters"),
    424: (_F, "template not found"),
    426: (_F, "needs the advanced service"),
    427: (_F, "line needs an access level"),
    428: (_F, "code cannot be sent by call"),
    429: (_F, "IP restricted"),
    431: (_F, "invalid code structure"),
    432: (_F, "code parameter missing in the template"),
    451: (_R, "too many calls from this IP"),
    501: (_F, "test account: only the owner's number"),
    607: (_F, "invalid tag"),
}
# Kavenegar's per-message statuses of an SMS that will not arrive (6 failed, 11 undelivered, 13 cancelled,
# 14 blocked by the receiver, 100 invalid); the others (1 queued, 2 scheduled, 4/5 sent to the carrier,
# 10 delivered) mean it is on its way.
_KAVENEGAR_REFUSED: Final = frozenset({6, 11, 13, 14, 100})

# SMS.ir v1 status codes (https://sms.ir/rest-api/, as transcribed in YouKnow-sys/smsir
# src/smsir/models/status.py and fstarlike/smsir-agent-skill references/errors.md). 1 is success; 0 (system
# problem) and 20 (too many requests) pass with time.
_SMSIR_STATUSES: Final[Mapping[int, tuple[SmsOutcome, str]]] = {
    0: (_R, "server error"),
    10: (_F, "invalid API key"),
    11: (_F, "API key disabled"),
    12: (_F, "API key restricted to other IPs"),
    13: (_F, "account inactive"),
    14: (_F, "account suspended"),
    15: (_F, "plan upgrade required"),
    16: (_F, "invalid parameter value"),
    20: (_R, "too many requests"),
    101: (_F, "invalid line number"),
    102: (SmsOutcome.NO_CREDIT, "not enough credit"),
    103: (_F, "message text empty"),
    104: (_F, "invalid mobile number"),
    105: (_F, "more than 100 mobiles"),
    106: (_F, "more than 100 texts"),
    107: (_F, "mobile list empty"),
    108: (_F, "text list empty"),
    109: (_F, "invalid send time"),
    110: (_F, "mobile and text counts differ"),
    111: (_F, "no send with this id"),
    112: (_F, "nothing to delete"),
    113: (_F, "template not found"),
    114: (_F, "parameter value longer than 25 characters"),
    115: (_F, "mobile blacklisted"),
    116: (_F, "parameter name empty"),
    117: (_F, "text not approved"),
    118: (_F, "too many messages"),
    119: (_F, "personalised templates need a plan upgrade"),
    123: (_F, "sender line needs activation"),
    124: (_F, "only one-time-code templates allowed"),
}


def _unknown_status(http: int) -> tuple[SmsOutcome, str]:
    """A status code missing from the tables: permanent, unless the gateway itself said it was in trouble."""
    return (_R if http >= 500 else _F), "unknown status"


def _http_only(http: int) -> tuple[SmsOutcome, str]:
    """A reply without the provider's envelope (a proxy's error page, an empty body): judged by HTTP alone."""
    if http >= 500 or http in (408, 429):
        return _R, f"HTTP {http} without a gateway reply"
    return _F, f"HTTP {http} without a gateway reply"


@dataclass(frozen=True, slots=True)
class _Reply:
    http: int
    body: Any
    """The parsed JSON, or None when the body was not JSON."""


def _int(value: Any) -> int | None:
    """A JSON integer (not a bool); None for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _HttpProvider:
    """The HTTP plumbing both gateways share: one lazily created session, a total timeout, failure results."""

    name: str

    def __init__(self, base_url: str, timeout: float) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self._timeout))
        return self._session

    async def close(self) -> None:
        """Close the HTTP session, if one was opened (a later send opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _result(self, outcome: SmsOutcome, status: str, meaning: str, phone: str, **extra: Any) -> SmsResult:
        detail = f"{self.name} {status}: {meaning}; to {mask_mobile(phone)}"
        return SmsResult(outcome, status, detail, **extra)

    async def _get(self, url: str, unit: str, **kwargs: Any) -> _Reply | SmsCredit:
        """GET and read the reply, or the reason no reply came."""
        try:
            async with self._client().get(url, **kwargs) as response:
                raw = await response.read()
                http = response.status
        except TimeoutError:
            return SmsCredit(None, unit, f"no answer within {self._timeout:g}s", _R)
        except aiohttp.ClientError as exc:
            return SmsCredit(
                None, unit, type(exc).__name__, _R
            )  # the class only: Kavenegar's URL holds the key
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        return _Reply(http, body)

    async def _post(self, phone: str, url: str, **kwargs: Any) -> _Reply | SmsResult:
        """POST and read the reply, or a ``retry`` result when no reply came."""
        try:
            async with self._client().post(url, **kwargs) as response:
                raw = await response.read()
                http = response.status
        except TimeoutError:
            return self._result(_R, "timeout", f"no answer within {self._timeout:g}s", phone)
        except aiohttp.ClientError as exc:
            # The class name only: the text of some aiohttp errors holds the URL, and Kavenegar's URL holds the key.
            return self._result(_R, "connection", type(exc).__name__, phone)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        return _Reply(http, body)


class KavenegarProvider(_HttpProvider):
    """Kavenegar's REST API: ``sms/send.json`` for texts, ``verify/lookup.json`` for one-time codes.

    The API key is part of the path; parameters go as a form. Errors come with the HTTP status equal to
    ``return.status``; a reply's ``entries`` is a list, or a single object on some calls.
    """

    name = "kavenegar"

    def __init__(
        self,
        api_key: str,
        *,
        sender: str | None = None,
        template: str = "miz-verify",
        base_url: str = KAVENEGAR_BASE,
        timeout: float = 10,
    ) -> None:
        super().__init__(base_url, timeout)
        self._prefix = f"{self._base_url}/v1/{quote(api_key, safe='')}"
        self._sender = sender
        self._template = template

    async def send(self, phone: str, text: str) -> SmsResult:
        """Send ``text`` to ``phone`` from the configured sender line (Kavenegar's default line when unset)."""
        form = {"receptor": phone, "message": text}
        if self._sender:
            form["sender"] = self._sender
        return await self._call(phone, "sms/send.json", form)

    async def send_code(self, phone: str, code: str) -> SmsResult:
        """Send ``code`` as ``token`` of the configured verification template."""
        form = {"receptor": phone, "template": self._template, "token": code}
        return await self._call(phone, "verify/lookup.json", form)

    async def credit(self) -> SmsCredit:
        """``account/info.json``: ``entries.remaincredit``, in rials."""
        reply = await self._get(f"{self._prefix}/account/info.json", "rials")
        if isinstance(reply, SmsCredit):
            return reply
        body = reply.body if isinstance(reply.body, dict) else {}
        returned = body.get("return")
        status = _int(returned.get("status")) if isinstance(returned, dict) else None
        entries = body.get("entries")
        remaining = entries.get("remaincredit") if isinstance(entries, dict) else None
        if status == 200 and isinstance(remaining, int | float) and not isinstance(remaining, bool):
            return SmsCredit(float(remaining), "rials")
        if status is None:
            outcome, meaning = _http_only(reply.http)
        else:
            outcome, meaning = _KAVENEGAR_STATUSES.get(status) or _unknown_status(reply.http)
        return SmsCredit(None, "rials", f"{status or reply.http}: {meaning}", outcome)

    async def _call(self, phone: str, path: str, form: dict[str, str]) -> SmsResult:
        reply = await self._post(phone, f"{self._prefix}/{path}", data=form)
        if isinstance(reply, SmsResult):
            return reply
        body = reply.body if isinstance(reply.body, dict) else {}
        returned = body.get("return")
        status = _int(returned.get("status")) if isinstance(returned, dict) else None
        if status is None:
            outcome, meaning = _http_only(reply.http)
            return self._result(outcome, str(reply.http), meaning, phone)
        if status != 200:
            outcome, meaning = _KAVENEGAR_STATUSES.get(status) or _unknown_status(reply.http)
            return self._result(outcome, str(status), meaning, phone)
        raw_entries = body.get("entries")
        listed = [raw_entries] if isinstance(raw_entries, dict) else raw_entries
        entries = [e for e in listed if isinstance(e, dict)] if isinstance(listed, list) else []
        refused = [s for e in entries if (s := _int(e.get("status"))) in _KAVENEGAR_REFUSED]
        if entries and len(refused) == len(entries):
            return self._result(_F, f"200/{refused[0]}", "refused by the receiver or the carrier", phone)
        ids = tuple(str(e["messageid"]) for e in entries if e.get("messageid") is not None)
        costs = [_int(e.get("cost")) for e in entries]
        cost = sum(c for c in costs if c is not None) if entries and None not in costs else None
        return self._result(SmsOutcome.SENT, "200", "sent", phone, message_ids=ids, cost_rials=cost)


class SmsIrProvider(_HttpProvider):
    """SMS.ir's REST API v1: ``send/bulk`` for texts, ``send/verify`` for one-time codes.

    The API key goes in the ``X-API-KEY`` header, bodies are JSON, and every reply is ``{status, message,
    data}`` with ``status == 1`` for success, whatever the HTTP status says.
    """

    name = "smsir"

    def __init__(
        self,
        api_key: str,
        *,
        line_number: str,
        template_id: int,
        base_url: str = SMSIR_BASE,
        timeout: float = 10,
    ) -> None:
        super().__init__(base_url, timeout)
        self._headers = {"X-API-KEY": api_key, "Accept": "application/json"}
        self._line: int | str = int(line_number) if line_number.isdigit() else line_number
        self._template_id = template_id

    async def send(self, phone: str, text: str) -> SmsResult:
        """Send ``text`` to ``phone`` from the configured line number."""
        body = {"lineNumber": self._line, "messageText": text, "mobiles": [phone]}
        return await self._call(phone, "send/bulk", body)

    async def send_code(self, phone: str, code: str) -> SmsResult:
        """Send ``code`` as the ``CODE`` parameter of the configured verification template."""
        body = {
            "mobile": phone,
            "templateId": self._template_id,
            "parameters": [{"name": "CODE", "value": code}],
        }
        return await self._call(phone, "send/verify", body)

    async def credit(self) -> SmsCredit:
        """``GET /v1/credit``: ``data`` is the account's credit, in SMS.ir's credits (about one per SMS part)."""
        reply = await self._get(f"{self._base_url}/v1/credit", "credits", headers=self._headers)
        if isinstance(reply, SmsCredit):
            return reply
        body = reply.body if isinstance(reply.body, dict) else {}
        status, data = _int(body.get("status")), body.get("data")
        if status == 1 and isinstance(data, int | float) and not isinstance(data, bool):
            return SmsCredit(float(data), "credits")
        if status is None:
            outcome, meaning = _http_only(reply.http)
        else:
            outcome, meaning = _SMSIR_STATUSES.get(status) or _unknown_status(reply.http)
        return SmsCredit(
            None, "credits", f"{status if status is not None else reply.http}: {meaning}", outcome
        )

    async def _call(self, phone: str, path: str, payload: dict[str, Any]) -> SmsResult:
        reply = await self._post(phone, f"{self._base_url}/v1/{path}", json=payload, headers=self._headers)
        if isinstance(reply, SmsResult):
            return reply
        body = reply.body if isinstance(reply.body, dict) else {}
        status = _int(body.get("status"))
        if status is None:
            outcome, meaning = _http_only(reply.http)
            return self._result(outcome, str(reply.http), meaning, phone)
        if status != 1:
            outcome, meaning = _SMSIR_STATUSES.get(status) or _unknown_status(reply.http)
            return self._result(outcome, str(status), meaning, phone)
        raw_data = body.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        raw_ids = data.get("messageIds") if "messageIds" in data else [data.get("messageId")]
        ids = [_int(i) for i in raw_ids] if isinstance(raw_ids, list) else []
        if not any(ids):
            # SMS.ir still says 1, but gives the id 0 to a blacklisted number and null to an invalid one.
            return self._result(_F, "1", "refused: number blacklisted or invalid", phone)
        cost = data.get("cost")
        parts = (
            int(cost) if isinstance(cost, int | float) and cost >= 1 and float(cost).is_integer() else None
        )
        message_ids = tuple(str(i) for i in ids if i)
        return self._result(SmsOutcome.SENT, "1", "sent", phone, message_ids=message_ids, parts=parts)


class NoSmsProvider:
    """``MIZ_SMS_PROVIDER=none``: no gateway is configured, so every SMS fails at once, without a network call."""

    name = "none"

    async def send(self, phone: str, text: str) -> SmsResult:
        """Refuse: SMS is disabled."""
        return SmsResult(SmsOutcome.FAILED, "disabled", "sms disabled")

    async def send_code(self, phone: str, code: str) -> SmsResult:
        """Refuse: SMS is disabled."""
        return SmsResult(SmsOutcome.FAILED, "disabled", "sms disabled")

    async def credit(self) -> None:
        """No account: nothing to ask."""
        return

    async def close(self) -> None:
        """Nothing to close."""


def create_sms_provider(settings: Settings) -> SmsProvider:
    """The provider ``settings`` choose, configured from ``MIZ_SMS_*``.

    Raises ``ValueError`` at start-up for a configuration that could never send (a missing API key, an
    SMS.ir line number or template id missing or not a number), rather than failing every SMS later.
    """
    if settings.sms_provider == "none":
        return NoSmsProvider()
    if settings.sms_api_key is None or not settings.sms_api_key.get_secret_value():
        raise ValueError(f"MIZ_SMS_API_KEY is required with MIZ_SMS_PROVIDER={settings.sms_provider}")
    api_key = settings.sms_api_key.get_secret_value()
    timeout = settings.sms_timeout_seconds
    if settings.sms_provider == "kavenegar":
        return KavenegarProvider(
            api_key,
            sender=settings.sms_sender or None,
            template=settings.sms_verify_template,
            base_url=settings.sms_api_base or KAVENEGAR_BASE,
            timeout=timeout,
        )
    if not settings.sms_sender or not settings.sms_sender.isdigit():
        raise ValueError("MIZ_SMS_SENDER must be the SMS.ir line number (digits) with MIZ_SMS_PROVIDER=smsir")
    if not settings.sms_verify_template.isdigit():
        raise ValueError(
            "MIZ_SMS_VERIFY_TEMPLATE must be the SMS.ir template id (digits) with MIZ_SMS_PROVIDER=smsir"
        )
    return SmsIrProvider(
        api_key,
        line_number=settings.sms_sender,
        template_id=int(settings.sms_verify_template),
        base_url=settings.sms_api_base or SMSIR_BASE,
        timeout=timeout,
    )
