"""The SMS gateways Miz can use, emulated on the emulator's port: Kavenegar and SMS.ir (REST v1).

Each gateway answers on its real paths, so a provider client only needs its base URL pointed here:
Kavenegar at ``/v1/{API_KEY}/sms/send.json`` and ``/v1/{API_KEY}/verify/lookup.json`` (form body or query
string) and its credit at ``/v1/{API_KEY}/account/info.json``, SMS.ir at ``/v1/send/bulk`` and ``/v1/send/verify``
(JSON, key in ``X-API-KEY``) and its credit at ``GET /v1/credit``. An accepted SMS
lands in the phone inbox of ``/sim/sms`` (``to`` in the ``+989...`` form the emulated users have), so tests and
the web page's phone panel see it. Input is checked as the real services check it, replies carry their
status codes and messages, and both gateways share one account (:class:`emulator.state.SmsGateway`): credit
in rials, an API key that may be required, the templates that exist, numbers that refuse plain SMS, and the
failures scheduled through ``POST /sim/sms/faults``. CONTROL_API.md ("SMS gateways") is the contract.

The providers' Persian status messages below are their wire protocol, not the emulator's own texts, so they
live in code; the one-time-code text the emulator renders for a template is its own and lives in the
``emulator`` locale catalog.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from aiohttp import web

from emulator._i18n import gettext
from emulator.state import EmulatorState, SmsFault, SmsGateway, mobile_key

__all__ = ["PRICE_PER_PART", "setup_sms", "sms_parts"]

_SMS_STATE: web.AppKey[EmulatorState] = web.AppKey("emulator_sms_state", EmulatorState)

PRICE_PER_PART: Final = 1_200
"""What one SMS part costs on the emulated account, in rials (Kavenegar reports it as ``cost``)."""

_UCS2_SINGLE, _UCS2_PART = 70, 67  # Persian text: 70 characters in one SMS, 67 per part when split
_GSM_SINGLE, _GSM_PART = 160, 153  # plain ASCII text (GSM 7-bit; the extension table is ignored)
_KAVENEGAR_MAX_LENGTH: Final = 900  # Kavenegar answers 413 for a longer message
_SMSIR_MAX_MOBILES: Final = 100
_SMSIR_MAX_PARAMETER: Final = 25
_DEFAULT_TIMEOUT_HOLD: Final = 60.0
KAVENEGAR_SENDER: Final = "10004346"  # the shared line Kavenegar uses when no sender is given
KAVENEGAR_VERIFY_LINE: Final = "10008663"  # the service line one-time codes leave from (invented)
_LINE_NUMBER = re.compile(r"\d{4,16}", re.ASCII)
_MOBILE = re.compile(r"(?:\+98|0098|98|0)?9\d{9}", re.ASCII)

# Kavenegar's general result codes (https://kavenegar.com/rest.html#result-general).
_KAVENEGAR_MESSAGES: Final = {
    200: "تایید شد",
    400: "پارامترها ناقص هستند",
    401: "حساب کاربری غیرفعال شده است",
    402: "عملیات ناموفق بود",
    403: "کد شناسائی API-Key معتبر نمی‌باشد",
    409: "سرور قادر به پاسخگوئی نیست بعدا تلاش کنید",
    411: "دریافت کننده نامعتبر است",
    412: "ارسال کننده نامعتبر است",
    413: "پیام خالی است و یا طول پیام بیش از حد مجاز می‌باشد",
    418: "اعتبار شما کافی نمی‌باشد",
    424: "الگوی مورد نظر پیدا نشد",
    431: "ساختار کد صحیح نمی‌باشد",
    451: "فراخوانی بیش از حد در بازه زمانی مشخص IP محدود شده",
}
# Kavenegar's per-message statuses used here: 1 queued, 14 blocked by the receiver.
_KAVENEGAR_QUEUED = (1, "در صف ارسال")
_KAVENEGAR_BLOCKED = (14, "بلاک شده، عدم تمایل گیرنده به دریافت پیامک از خطوط تبلیغاتی")

# SMS.ir v1 status codes (https://sms.ir/rest-api/).
_SMSIR_MESSAGES: Final = {
    0: "خطای سیستمی، با پشتیبانی تماس بگیرید",
    1: "موفق",
    10: "کلید وب سرویس نامعتبر است",
    16: "مقدار پارامتر نامعتبر است",
    20: "تعداد درخواست بیش از حد مجاز است",
    101: "شماره خط نامعتبر است",
    102: "اعتبار کافی نیست",
    103: "متن پیام خالی است",
    104: "شماره موبایل نامعتبر است",
    105: "تعداد موبایل‌ها بیش از ۱۰۰ است",
    107: "لیست موبایل‌ها خالی است",
    113: "قالب یافت نشد",
    114: "طول مقدار پارامتر بیش از ۲۵ کاراکتر است",
    116: "نام پارامتر نمی‌تواند خالی باشد",
}


def sms_parts(text: str) -> int:
    """How many SMS parts ``text`` takes: Persian (UCS-2) 70 characters, 67 per part when longer; ASCII 160/153."""
    single, part = (_GSM_SINGLE, _GSM_PART) if text.isascii() else (_UCS2_SINGLE, _UCS2_PART)
    length = len(text)
    return 1 if length <= single else -(-length // part)


def _state(request: web.Request) -> EmulatorState:
    return request.app[_SMS_STATE]


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False), status=status, content_type="application/json"
    )


def _charge(gateway: SmsGateway, rials: int) -> bool:
    """Take ``rials`` from the account; False (and nothing taken) when the credit does not cover them."""
    if gateway.credit is not None:
        if gateway.credit < rials:
            return False
        gateway.credit -= rials
    gateway.spent += rials
    return True


async def _apply_fault(
    request: web.Request, fault: SmsFault, error: Callable[[int], web.Response]
) -> web.StreamResponse | None:
    """The scheduled failure's answer; None when the call should then proceed (a mere delay)."""
    if fault.kind == "delay":
        await asyncio.sleep(fault.delay if fault.delay is not None else 1.0)
        return None
    if fault.kind == "status":
        return error(fault.status or 0)
    if fault.kind == "http":
        return _html_error(fault.status or 500)
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay if fault.delay is not None else _DEFAULT_TIMEOUT_HOLD)
        return _html_error(504)
    # "drop": close the connection without an answer.
    if request.transport is not None:
        request.transport.abort()
    raise asyncio.CancelledError


def _html_error(status: int) -> web.Response:
    """What a proxy in front of a gateway answers when the gateway is down: HTML, not the provider's JSON."""
    reason = {
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
        504: "Gateway Timeout",
    }
    title = f"{status} {reason.get(status, 'Error')}"
    return web.Response(
        text=f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>",
        status=status,
        content_type="text/html",
    )


# ------------------------------------------------------------------------------------------ Kavenegar


def _kavenegar_error(status: int) -> web.Response:
    """Kavenegar's error reply: ``return.status`` is also the HTTP status."""
    message = _KAVENEGAR_MESSAGES.get(status, "خطا")
    return _json({"return": {"status": status, "message": message}, "entries": None}, status=status)


def _kavenegar_ok(gateway: SmsGateway, entries: list[dict[str, Any]]) -> web.Response:
    listed: Any = entries[0] if gateway.entries_as_object and len(entries) == 1 else entries
    return _json({"return": {"status": 200, "message": _KAVENEGAR_MESSAGES[200]}, "entries": listed})


async def _kavenegar_params(request: web.Request) -> dict[str, str]:
    """The call's parameters from the query string and a form body, as Kavenegar reads them."""
    params = {key: str(value) for key, value in request.query.items()}
    if request.body_exists:
        form = await request.post()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


async def _kavenegar_start(request: web.Request) -> dict[str, str] | web.StreamResponse:
    """Fault, API key and parameters of a Kavenegar call: the parameters, or the answer to give instead."""
    state = _state(request)
    fault = state.take_sms_fault("kavenegar")
    if fault is not None:
        answer = await _apply_fault(request, fault, _kavenegar_error)
        if answer is not None:
            return answer
    required = state.sms_gateway.api_key
    if required is not None and request.match_info["key"] != required:
        return _kavenegar_error(403)
    return await _kavenegar_params(request)


def _kavenegar_entry(
    gateway: SmsGateway, receptor: str, message: str, sender: str, cost: int, status: tuple[int, str]
) -> dict[str, Any]:
    return {
        "messageid": next(gateway.message_ids),
        "message": message,
        "status": status[0],
        "statustext": status[1],
        "sender": sender,
        "receptor": receptor,
        "date": int(time.time()),
        "cost": cost,
    }


async def kavenegar_send(request: web.Request) -> web.StreamResponse:
    """``sms/send.json``: one text to one or more (comma-separated) receptors."""
    params = await _kavenegar_start(request)
    if isinstance(params, web.StreamResponse):
        return params
    state = _state(request)
    gateway = state.sms_gateway
    if "receptor" not in params:
        return _kavenegar_error(400)
    receptors = [r.strip() for r in params["receptor"].split(",")]
    if not all(_MOBILE.fullmatch(r) for r in receptors):
        return _kavenegar_error(411)
    message = params.get("message", "")
    if not message.strip() or len(message) > _KAVENEGAR_MAX_LENGTH:
        return _kavenegar_error(413)
    sender = params.get("sender") or KAVENEGAR_SENDER
    if not _LINE_NUMBER.fullmatch(sender):
        return _kavenegar_error(412)
    cost = sms_parts(message) * PRICE_PER_PART
    willing = [r for r in receptors if mobile_key(r) not in gateway.blacklist]
    if not _charge(gateway, cost * len(willing)):
        return _kavenegar_error(418)
    entries = []
    for receptor in receptors:
        if receptor in willing:
            state.add_sms(mobile_key(receptor), message, "kavenegar")
            entries.append(_kavenegar_entry(gateway, receptor, message, sender, cost, _KAVENEGAR_QUEUED))
        else:
            entries.append(_kavenegar_entry(gateway, receptor, message, sender, 0, _KAVENEGAR_BLOCKED))
    return _kavenegar_ok(gateway, entries)


async def kavenegar_lookup(request: web.Request) -> web.StreamResponse:
    """``verify/lookup.json``: a one-time code through a template, on a service line (blacklists do not apply)."""
    params = await _kavenegar_start(request)
    if isinstance(params, web.StreamResponse):
        return params
    state = _state(request)
    gateway = state.sms_gateway
    receptor, template, token = (params.get(k, "").strip() for k in ("receptor", "template", "token"))
    if not receptor or not template or not token:
        return _kavenegar_error(400)
    if not _MOBILE.fullmatch(receptor):
        return _kavenegar_error(411)
    if gateway.templates is not None and template not in gateway.templates:
        return _kavenegar_error(424)
    if any(c.isspace() for c in token) or len(token) > 100:
        return _kavenegar_error(431)
    message = gettext("emulator.sms_verify").format(code=token)
    cost = sms_parts(message) * PRICE_PER_PART
    if not _charge(gateway, cost):
        return _kavenegar_error(418)
    state.add_sms(mobile_key(receptor), message, "kavenegar")
    entry = _kavenegar_entry(gateway, receptor, message, KAVENEGAR_VERIFY_LINE, cost, _KAVENEGAR_QUEUED)
    return _kavenegar_ok(gateway, [entry])


# --------------------------------------------------------------------------------------------- SMS.ir


def _smsir_reply(status: int, data: Any = None) -> web.Response:
    """SMS.ir's envelope; errors come with 401 (key), 429 (too many requests), 500 (server) or 400."""
    if status == 1:
        http = 200
    elif 10 <= status <= 14:
        http = 401
    else:
        http = {0: 500, 20: 429}.get(status, 400)
    return _json({"status": status, "message": _SMSIR_MESSAGES.get(status, "خطا"), "data": data}, status=http)


async def _smsir_start(request: web.Request) -> dict[str, Any] | web.StreamResponse:
    """Fault, API key and JSON body of an SMS.ir call: the body, or the answer to give instead."""
    state = _state(request)
    fault = state.take_sms_fault("smsir")
    if fault is not None:
        answer = await _apply_fault(request, fault, _smsir_reply)
        if answer is not None:
            return answer
    key = request.headers.get("X-API-KEY", "")
    required = state.sms_gateway.api_key
    if not key or (required is not None and key != required):
        return _smsir_reply(10)
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return _smsir_reply(16)
    return body


def _digits(value: Any) -> str | None:
    """A number given as a JSON number or a string of digits, as a string; None otherwise."""
    if isinstance(value, bool):
        return None
    text = str(value) if isinstance(value, int | str) else ""
    return text if text.isdigit() and text.isascii() else None


async def smsir_bulk(request: web.Request) -> web.StreamResponse:
    """``send/bulk``: one text to up to 100 mobiles from a line of the account."""
    body = await _smsir_start(request)
    if isinstance(body, web.StreamResponse):
        return body
    state = _state(request)
    gateway = state.sms_gateway
    line = _digits(body.get("lineNumber"))
    if line is None or not _LINE_NUMBER.fullmatch(line):
        return _smsir_reply(101)
    text = body.get("messageText")
    if not isinstance(text, str) or not text.strip():
        return _smsir_reply(103)
    mobiles = body.get("mobiles")
    if not isinstance(mobiles, list) or not mobiles:
        return _smsir_reply(107)
    if len(mobiles) > _SMSIR_MAX_MOBILES:
        return _smsir_reply(105)
    if not all(isinstance(m, str) and _MOBILE.fullmatch(m.strip()) for m in mobiles):
        return _smsir_reply(104)
    parts = sms_parts(text)
    willing = [m for m in mobiles if mobile_key(m) not in gateway.blacklist]
    if not _charge(gateway, parts * PRICE_PER_PART * len(willing)):
        return _smsir_reply(102)
    message_ids = []
    for mobile in mobiles:
        if mobile in willing:
            state.add_sms(mobile_key(mobile), text, "smsir")
            message_ids.append(next(gateway.message_ids))
        else:
            message_ids.append(0)  # SMS.ir's id for a blacklisted recipient
    data = {"packId": str(uuid.uuid4()), "messageIds": message_ids, "cost": float(parts * len(willing))}
    return _smsir_reply(1, data)


async def smsir_verify(request: web.Request) -> web.StreamResponse:
    """``send/verify``: a one-time code through a template (service line, blacklists do not apply)."""
    body = await _smsir_start(request)
    if isinstance(body, web.StreamResponse):
        return body
    state = _state(request)
    gateway = state.sms_gateway
    mobile = body.get("mobile")
    if not isinstance(mobile, str) or not _MOBILE.fullmatch(mobile.strip()):
        return _smsir_reply(104)
    template = _digits(body.get("templateId"))
    if template is None:
        return _smsir_reply(16)
    if gateway.templates is not None and template not in gateway.templates:
        return _smsir_reply(113)
    parameters = body.get("parameters")
    if not isinstance(parameters, list) or not parameters:
        return _smsir_reply(116)
    values: dict[str, str] = {}
    for parameter in parameters:
        name = parameter.get("name") if isinstance(parameter, dict) else None
        if not isinstance(name, str) or not name.strip():
            return _smsir_reply(116)
        value = str(parameter.get("value") or "")
        if len(value) > _SMSIR_MAX_PARAMETER:
            return _smsir_reply(114)
        values[name.strip().upper()] = value
    code = values.get("CODE") or next(iter(values.values()))
    text = gettext("emulator.sms_verify").format(code=code)
    parts = sms_parts(text)
    if not _charge(gateway, parts * PRICE_PER_PART):
        return _smsir_reply(102)
    state.add_sms(mobile_key(mobile), text, "smsir")
    return _smsir_reply(1, {"messageId": next(gateway.message_ids), "cost": float(parts)})


UNLIMITED_CREDIT_RIALS: Final = 1_000_000_000
"""What the account reports as its credit while the emulator's credit is unlimited (None)."""


def _credit_rials(gateway: SmsGateway) -> int:
    return UNLIMITED_CREDIT_RIALS if gateway.credit is None else gateway.credit


async def kavenegar_account_info(request: web.Request) -> web.StreamResponse:
    """``account/info.json``: the credit left, in rials (``remaincredit``), and the account's expiry and type."""
    started = await _kavenegar_start(request)
    if isinstance(started, web.StreamResponse):
        return started
    gateway = _state(request).sms_gateway
    entries = {"remaincredit": _credit_rials(gateway), "expiredate": 1_893_456_000, "type": "Master"}
    return _json({"return": {"status": 200, "message": _KAVENEGAR_MESSAGES[200]}, "entries": entries})


async def smsir_credit(request: web.Request) -> web.StreamResponse:
    """``GET /v1/credit``: the credit left, in SMS.ir's credits (one per SMS part here)."""
    state = _state(request)
    fault = state.take_sms_fault("smsir")
    if fault is not None:
        answer = await _apply_fault(request, fault, _smsir_reply)
        if answer is not None:
            return answer
    key = request.headers.get("X-API-KEY", "")
    required = state.sms_gateway.api_key
    if not key or (required is not None and key != required):
        return _smsir_reply(10)
    return _smsir_reply(1, _credit_rials(state.sms_gateway) // PRICE_PER_PART)


def setup_sms(app: web.Application, state: EmulatorState) -> None:
    """Add both gateways' paths to ``app``, acting on ``state``."""
    app[_SMS_STATE] = state
    for method in ("GET", "POST"):  # Kavenegar takes either, parameters in the query string or the body
        app.router.add_route(method, "/v1/{key}/sms/send.json", kavenegar_send)
        app.router.add_route(method, "/v1/{key}/verify/lookup.json", kavenegar_lookup)
        app.router.add_route(method, "/v1/{key}/account/info.json", kavenegar_account_info)
    app.router.add_post("/v1/send/bulk", smsir_bulk)
    app.router.add_post("/v1/send/verify", smsir_verify)
    app.router.add_get("/v1/credit", smsir_credit)
