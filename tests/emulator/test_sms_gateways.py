"""The emulated SMS gateways (Kavenegar, SMS.ir) on their real paths, their shared account and their faults."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from emulator import EmulatorClient, RunningEmulator
from emulator.client import EmulatorError
from emulator.sms import PRICE_PER_PART, sms_parts

PHONE = "09121234567"
PHONE_INTL = "+989121234567"
CODE_TEXT = "کد تأیید میز: 4711"


@pytest.fixture(autouse=True)
def persian_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rendered one-time-code text is the emulator's Persian one, whatever the machine's MIZ_LOCALE."""
    monkeypatch.setenv("MIZ_LOCALE", "fa")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> tuple[int, str, Any]:
    """HTTP status, content type and JSON body (None when not JSON) of one gateway call."""
    async with http.request(method, url, **kwargs) as response:
        body = await response.json(content_type=None) if response.content_type == "application/json" else None
        return response.status, response.content_type, body


def kavenegar(emu: RunningEmulator, path: str, key: str = "any-key") -> str:
    return f"{emu.base_url}/v1/{key}/{path}"


def smsir(emu: RunningEmulator, path: str) -> str:
    return f"{emu.base_url}/v1/send/{path}"


def smsir_headers(key: str = "any-key") -> dict[str, str]:
    return {"X-API-KEY": key}


# ------------------------------------------------------------------------------------------------ parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("س" * 70, 1),
        ("س" * 71, 2),
        ("س" * 134, 2),
        ("س" * 135, 3),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 69 + "س", 1),
    ],
)
def test_parts_follow_ucs2_for_persian_and_gsm_for_ascii(text: str, parts: int) -> None:
    assert sms_parts(text) == parts


# -------------------------------------------------------------------------------------------- Kavenegar


async def test_kavenegar_send_by_form_answers_entries_and_fills_the_inbox(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    text = "درخواست شما ثبت شد"
    status, _, body = await call(
        http, "POST", kavenegar(emu, "sms/send.json"), data={"receptor": PHONE, "message": text}
    )
    assert status == 200
    assert body["return"] == {"status": 200, "message": "تایید شد"}
    [entry] = body["entries"]
    assert set(entry) == {
        "messageid",
        "message",
        "status",
        "statustext",
        "sender",
        "receptor",
        "date",
        "cost",
    }
    assert entry["receptor"] == PHONE
    assert entry["message"] == text
    assert entry["sender"] == "10004346"
    assert entry["cost"] == PRICE_PER_PART
    assert isinstance(entry["messageid"], int)
    [sms] = await client.sms_messages()
    assert (sms["to"], sms["text"], sms["provider"]) == (PHONE_INTL, text, "kavenegar")


async def test_kavenegar_send_by_query_string_to_several_receptors(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    params = {"receptor": f"{PHONE},09351112233", "message": "س" * 80, "sender": "30004554"}
    status, _, body = await call(http, "GET", kavenegar(emu, "sms/send.json"), params=params)
    assert status == 200
    assert [e["receptor"] for e in body["entries"]] == [PHONE, "09351112233"]
    assert {e["sender"] for e in body["entries"]} == {"30004554"}
    assert [e["cost"] for e in body["entries"]] == [2 * PRICE_PER_PART] * 2
    assert len({e["messageid"] for e in body["entries"]}) == 2
    assert [m["to"] for m in await client.sms_messages()] == [PHONE_INTL, "+989351112233"]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"message": "سلام"}, 400),
        ({"receptor": "0912123", "message": "سلام"}, 411),
        ({"receptor": f"{PHONE},12", "message": "سلام"}, 411),
        ({"receptor": PHONE, "message": "  "}, 413),
        ({"receptor": PHONE, "message": "س" * 901}, 413),
        ({"receptor": PHONE, "message": "سلام", "sender": "miz"}, 412),
    ],
)
async def test_kavenegar_refuses_bad_input_with_its_status_as_http_status(
    emu: RunningEmulator,
    client: EmulatorClient,
    http: aiohttp.ClientSession,
    form: dict[str, str],
    expected: int,
) -> None:
    status, _, body = await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form)
    assert status == expected
    assert body["return"]["status"] == expected
    assert body["return"]["message"]
    assert body["entries"] is None
    assert await client.sms_messages() == []


async def test_kavenegar_lookup_renders_the_code_and_knows_its_templates(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    form = {"receptor": PHONE, "template": "miz-verify", "token": "4711"}
    status, _, body = await call(http, "POST", kavenegar(emu, "verify/lookup.json"), data=form)
    assert status == 200
    [entry] = body["entries"]
    assert entry["message"] == CODE_TEXT
    assert (await client.expect_sms(PHONE, "4711"))["text"] == CODE_TEXT

    await client.configure_sms_gateway(templates=["other"])
    status, _, body = await call(http, "POST", kavenegar(emu, "verify/lookup.json"), data=form)
    assert (status, body["return"]["status"]) == (424, 424)
    status, _, body = await call(
        http,
        "POST",
        kavenegar(emu, "verify/lookup.json"),
        data={**form, "template": "other", "token": "47 11"},
    )
    assert status == 431
    status, _, _ = await call(http, "POST", kavenegar(emu, "verify/lookup.json"), data={"receptor": PHONE})
    assert status == 400
    assert len(await client.sms_messages()) == 1


async def test_kavenegar_entries_as_one_object_when_asked(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.configure_sms_gateway(entries_as_object=True)
    _, _, body = await call(
        http, "POST", kavenegar(emu, "sms/send.json"), data={"receptor": PHONE, "message": "سلام"}
    )
    assert isinstance(body["entries"], dict)
    assert body["entries"]["receptor"] == PHONE


async def test_kavenegar_blacklisted_receptor_gets_status_14_and_nothing_is_sent(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.configure_sms_gateway(blacklist=[PHONE_INTL], credit=10_000)
    _, _, body = await call(
        http, "POST", kavenegar(emu, "sms/send.json"), data={"receptor": PHONE, "message": "سلام"}
    )
    [entry] = body["entries"]
    assert (entry["status"], entry["cost"]) == (14, 0)
    assert await client.sms_messages() == []
    assert (await client.configure_sms_gateway())["credit"] == 10_000
    _, _, body = await call(
        http,
        "POST",
        kavenegar(emu, "verify/lookup.json"),
        data={"receptor": PHONE, "template": "t", "token": "1"},
    )
    assert body["entries"][0]["status"] == 1  # one-time codes go through


# ----------------------------------------------------------------------------------------------- SMS.ir


async def test_smsir_bulk_answers_pack_ids_and_cost_and_fills_the_inbox(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    payload = {"lineNumber": 30007732, "messageText": "س" * 100, "mobiles": [PHONE, "09351112233"]}
    status, _, body = await call(http, "POST", smsir(emu, "bulk"), json=payload, headers=smsir_headers())
    assert status == 200
    assert (body["status"], body["message"]) == (1, "موفق")
    data = body["data"]
    uuid.UUID(data["packId"])
    assert len(data["messageIds"]) == 2
    assert all(isinstance(i, int) and i > 0 for i in data["messageIds"])
    assert data["cost"] == 4.0
    assert [(m["to"], m["provider"]) for m in await client.sms_messages()] == [
        (PHONE_INTL, "smsir"),
        ("+989351112233", "smsir"),
    ]


async def test_smsir_verify_renders_the_code_parameter(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    payload = {"mobile": PHONE, "templateId": 100001, "parameters": [{"name": "Code", "value": "4711"}]}
    status, _, body = await call(http, "POST", smsir(emu, "verify"), json=payload, headers=smsir_headers())
    assert status == 200
    assert set(body["data"]) == {"messageId", "cost"}
    assert body["data"]["cost"] == 1.0
    assert (await client.expect_sms("0912 123 4567"))["text"] == CODE_TEXT


@pytest.mark.parametrize(
    ("path", "payload", "expected"),
    [
        ("bulk", {"lineNumber": "3000x", "messageText": "سلام", "mobiles": [PHONE]}, 101),
        ("bulk", {"lineNumber": 3000, "messageText": " ", "mobiles": [PHONE]}, 103),
        ("bulk", {"lineNumber": 3000, "messageText": "سلام", "mobiles": []}, 107),
        ("bulk", {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE] * 101}, 105),
        ("bulk", {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE, "0912"]}, 104),
        ("verify", {"mobile": "0912", "templateId": 1, "parameters": [{"name": "CODE", "value": "1"}]}, 104),
        ("verify", {"mobile": PHONE, "templateId": "x", "parameters": [{"name": "CODE", "value": "1"}]}, 16),
        ("verify", {"mobile": PHONE, "templateId": 1, "parameters": []}, 116),
        ("verify", {"mobile": PHONE, "templateId": 1, "parameters": [{"name": "", "value": "1"}]}, 116),
        (
            "verify",
            {"mobile": PHONE, "templateId": 1, "parameters": [{"name": "CODE", "value": "1" * 26}]},
            114,
        ),
    ],
)
async def test_smsir_refuses_bad_input_with_status_and_http_400(
    emu: RunningEmulator,
    client: EmulatorClient,
    http: aiohttp.ClientSession,
    path: str,
    payload: dict[str, Any],
    expected: int,
) -> None:
    status, _, body = await call(http, "POST", smsir(emu, path), json=payload, headers=smsir_headers())
    assert status == 400
    assert body["status"] == expected
    assert body["data"] is None
    assert await client.sms_messages() == []


async def test_smsir_key_missing_or_wrong_is_status_10_with_http_401(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    payload = {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE]}
    status, _, body = await call(http, "POST", smsir(emu, "bulk"), json=payload)
    assert (status, body["status"]) == (401, 10)
    await client.configure_sms_gateway(api_key="right")
    status, _, body = await call(
        http, "POST", smsir(emu, "bulk"), json=payload, headers=smsir_headers("wrong")
    )
    assert (status, body["status"]) == (401, 10)
    status, _, body = await call(
        http, "POST", smsir(emu, "bulk"), json=payload, headers=smsir_headers("right")
    )
    assert (status, body["status"]) == (200, 1)


async def test_smsir_templates_and_blacklist(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.configure_sms_gateway(templates=["100001"], blacklist=["9121234567"])
    verify = {"mobile": PHONE, "templateId": 100002, "parameters": [{"name": "CODE", "value": "1"}]}
    _, _, body = await call(http, "POST", smsir(emu, "verify"), json=verify, headers=smsir_headers())
    assert body["status"] == 113
    bulk = {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE, "09351112233"]}
    _, _, body = await call(http, "POST", smsir(emu, "bulk"), json=bulk, headers=smsir_headers())
    assert body["data"]["messageIds"][0] == 0
    assert body["data"]["messageIds"][1] > 0
    assert body["data"]["cost"] == 1.0
    assert [m["to"] for m in await client.sms_messages()] == ["+989351112233"]


# ---------------------------------------------------------------------------------------- the account


async def test_credit_is_spent_per_part_and_an_uncovered_sms_takes_nothing(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.configure_sms_gateway(credit=3 * PRICE_PER_PART)
    form = {"receptor": PHONE, "message": "س" * 71}  # two parts
    assert (await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form))[0] == 200
    status, _, body = await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form)
    assert (status, body["return"]["status"]) == (418, 418)
    bulk = {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE]}
    _, _, body = await call(http, "POST", smsir(emu, "bulk"), json=bulk, headers=smsir_headers())
    assert body["status"] == 1
    status, _, body = await call(http, "POST", smsir(emu, "bulk"), json=bulk, headers=smsir_headers())
    assert (status, body["status"]) == (400, 102)
    account = await client.request("GET", "/sim/sms/gateway")
    assert (account["credit"], account["spent"]) == (0, 3 * PRICE_PER_PART)
    assert len(await client.sms_messages()) == 2


async def test_kavenegar_wrong_key_is_403(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.configure_sms_gateway(api_key="right")
    form = {"receptor": PHONE, "message": "سلام"}
    status, _, body = await call(http, "POST", kavenegar(emu, "sms/send.json", key="wrong"), data=form)
    assert (status, body["return"]["status"]) == (403, 403)
    status, _, _ = await call(http, "POST", kavenegar(emu, "sms/send.json", key="right"), data=form)
    assert status == 200


async def test_gateway_settings_are_checked_and_reset_with_the_world(client: EmulatorClient) -> None:
    with pytest.raises(EmulatorError, match="unknown settings"):
        await client.configure_sms_gateway(balance=5)
    changed = await client.configure_sms_gateway(
        credit=0, api_key="k", templates=["1"], blacklist=["09121234567"]
    )
    assert changed["blacklist"] == [PHONE_INTL]
    await client.inject_sms_fault("http", count=3)
    await client.reset()
    account = await client.request("GET", "/sim/sms/gateway")
    assert account == {
        "credit": None,
        "api_key": None,
        "templates": None,
        "blacklist": [],
        "entries_as_object": False,
        "spent": 0,
    }
    assert (await client.request("GET", "/sim/sms/faults"))["faults"] == []


async def test_inbox_filter_accepts_any_form_of_the_number(client: EmulatorClient) -> None:
    await client.request("POST", "/sim/sms", json={"to": PHONE_INTL, "text": "یک"})
    await client.request("POST", "/sim/sms", json={"to": "09351112233", "text": "دو"})
    assert [m["text"] for m in await client.sms_messages(to=PHONE)] == ["یک"]
    assert [m["text"] for m in await client.sms_messages(to="+989351112233")] == ["دو"]


# ---------------------------------------------------------------------------------------------- faults


async def test_status_fault_answers_the_providers_error_then_passes(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.inject_sms_fault("status", provider="kavenegar", status=409, count=2)
    form = {"receptor": PHONE, "message": "سلام"}
    for _ in range(2):
        status, _, body = await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form)
        assert (status, body["return"]["status"]) == (409, 409)
    assert (await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form))[0] == 200
    await client.inject_sms_fault("status", provider="smsir", status=20)
    bulk = {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE]}
    status, _, body = await call(http, "POST", smsir(emu, "bulk"), json=bulk, headers=smsir_headers())
    assert (status, body["status"]) == (429, 20)
    assert len(await client.sms_messages()) == 1  # the faulted calls sent nothing


async def test_http_fault_answers_html_on_either_gateway_and_is_listed(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    fault = await client.inject_sms_fault("http", status=502, count=2)
    assert (fault["provider"], fault["count"]) == ("*", 2)
    status, content_type, _ = await call(
        http, "POST", kavenegar(emu, "sms/send.json"), data={"receptor": PHONE, "message": "سلام"}
    )
    assert (status, content_type) == (502, "text/html")
    [left] = (await client.request("GET", "/sim/sms/faults"))["faults"]
    assert left["count"] == 1
    bulk = {"lineNumber": 3000, "messageText": "سلام", "mobiles": [PHONE]}
    status, content_type, _ = await call(http, "POST", smsir(emu, "bulk"), json=bulk, headers=smsir_headers())
    assert (status, content_type) == (502, "text/html")
    assert (await client.request("GET", "/sim/sms/faults"))["faults"] == []


async def test_fault_of_one_provider_leaves_the_other_alone(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.inject_sms_fault("http", provider="smsir")
    form = {"receptor": PHONE, "message": "سلام"}
    assert (await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form))[0] == 200
    assert len((await client.request("GET", "/sim/sms/faults"))["faults"]) == 1
    await client.clear_sms_faults()
    assert (await client.request("GET", "/sim/sms/faults"))["faults"] == []


async def test_drop_closes_the_connection(emu: RunningEmulator, client: EmulatorClient) -> None:
    await client.inject_sms_fault("drop", provider="kavenegar")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            await call(
                session, "POST", kavenegar(emu, "sms/send.json"), data={"receptor": PHONE, "message": "x"}
            )
    assert await client.sms_messages() == []


async def test_delay_serves_late_and_timeout_never_sends(
    emu: RunningEmulator, client: EmulatorClient, http: aiohttp.ClientSession
) -> None:
    await client.inject_sms_fault("delay", provider="kavenegar", delay=0.3)
    form = {"receptor": PHONE, "message": "سلام"}
    started = asyncio.get_running_loop().time()
    assert (await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form))[0] == 200
    assert asyncio.get_running_loop().time() - started >= 0.25
    await client.inject_sms_fault("timeout", provider="kavenegar", delay=0.2)
    status, content_type, _ = await call(http, "POST", kavenegar(emu, "sms/send.json"), data=form)
    assert (status, content_type) == (504, "text/html")
    assert len(await client.sms_messages()) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"kind": "explode"}, "unknown SMS fault kind"),
        ({"kind": "status", "provider": "kavenegar"}, "needs the provider and its status"),
        ({"kind": "status", "status": 418}, "needs the provider and its status"),
        ({"kind": "http", "provider": "magfa"}, "unknown SMS provider"),
        ({"kind": "http", "status": 200}, "4xx or 5xx"),
    ],
)
async def test_bad_fault_requests_are_refused(
    client: EmulatorClient, body: dict[str, Any], reason: str
) -> None:
    with pytest.raises(EmulatorError, match=reason):
        await client.request("POST", "/sim/sms/faults", json=body)
