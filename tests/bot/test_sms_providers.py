"""The SMS provider clients against the emulated Kavenegar and SMS.ir gateways, over real HTTP.

Each behaviour runs once per provider (the ``provider`` fixture); the gateway's account and faults are set
through the emulator's control API, and what reached the phone is read from its inbox (``/sim/sms``).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from bot.sms import (
    KavenegarProvider,
    NoSmsProvider,
    SmsIrProvider,
    SmsOutcome,
    SmsProvider,
    create_sms_provider,
)
from config.settings import Settings
from emulator import EmulatorClient, RunningEmulator
from emulator.sms import PRICE_PER_PART

PHONE = "09121234567"
MASKED = "0912***4567"
API_KEY = "test-key"
TEMPLATE_ID = "100001"

Make = Callable[..., SmsProvider]


@pytest.fixture(autouse=True)
def persian_texts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateways' one-time-code text is the emulator's Persian one, whatever the machine's MIZ_LOCALE."""
    monkeypatch.setenv("MIZ_LOCALE", "fa")


def settings(name: str, base_url: str | None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sms_provider": name,
        "sms_api_base": base_url,
        "sms_api_key": API_KEY,
        "sms_sender": "30007732",
        "sms_verify_template": "miz-verify" if name == "kavenegar" else TEMPLATE_ID,
        "sms_timeout_seconds": 5,
    }
    return Settings(_env_file=None, **{**values, **overrides})


@pytest.fixture
async def make(emu: RunningEmulator) -> AsyncIterator[Make]:
    """Build providers on the emulator (``name``, then settings to override); all are closed afterwards."""
    made: list[SmsProvider] = []

    def build(name: str, base_url: str | None = None, **overrides: Any) -> SmsProvider:
        provider = create_sms_provider(settings(name, base_url or emu.base_url, **overrides))
        made.append(provider)
        return provider

    yield build
    for provider in made:
        await provider.close()


@pytest.fixture(params=["kavenegar", "smsir"])
def provider(request: pytest.FixtureRequest, make: Make) -> SmsProvider:
    """Each test using it runs once per gateway."""
    return make(str(request.param))


def codes(provider: SmsProvider, kavenegar: str, smsir: str) -> str:
    return kavenegar if provider.name == "kavenegar" else smsir


# -------------------------------------------------------------------------------------------- success


async def test_send_reaches_the_phone_with_message_id_and_cost(
    provider: SmsProvider, client: EmulatorClient
) -> None:
    text = "درخواست ۱۴۰۵-۰۰۱۲ شما به مرحله بررسی رسید."
    result = await provider.send(PHONE, text)
    assert result.outcome is SmsOutcome.SENT
    assert result.sent
    assert result.status == codes(provider, "200", "1")
    assert len(result.message_ids) == 1
    assert result.message_ids[0].isdigit()
    if provider.name == "kavenegar":
        assert (result.cost_rials, result.parts) == (PRICE_PER_PART, None)
    else:
        assert (result.cost_rials, result.parts) == (None, 1)
    [sms] = await client.sms_messages(to=PHONE)
    assert (sms["text"], sms["provider"], sms["to"]) == (text, provider.name, "+989121234567")


async def test_long_persian_text_is_charged_per_part(provider: SmsProvider) -> None:
    result = await provider.send(PHONE, "س" * 140)  # 67 characters a part: three parts
    assert result.sent
    if provider.name == "kavenegar":
        assert result.cost_rials == 3 * PRICE_PER_PART
    else:
        assert result.parts == 3


async def test_send_code_goes_through_the_template(provider: SmsProvider, client: EmulatorClient) -> None:
    result = await provider.send_code(PHONE, "58213")
    assert result.sent
    assert result.message_ids
    sms = await client.expect_sms(PHONE, "58213", timeout=2)
    assert sms["text"] == "کد تأیید میز: 58213"
    assert sms["provider"] == provider.name


async def test_unknown_template_is_a_permanent_failure(provider: SmsProvider, client: EmulatorClient) -> None:
    await client.configure_sms_gateway(templates=["some-other-template", "999"])
    result = await provider.send_code(PHONE, "58213")
    assert result.outcome is SmsOutcome.FAILED
    assert result.status == codes(provider, "424", "113")
    assert "template not found" in result.detail
    assert await client.sms_messages() == []


async def test_kavenegar_entries_as_one_object_still_give_id_and_cost(
    make: Make, client: EmulatorClient
) -> None:
    await client.configure_sms_gateway(entries_as_object=True)
    provider = make("kavenegar")
    for result in (await provider.send(PHONE, "سلام"), await provider.send_code(PHONE, "7")):
        assert result.sent
        assert len(result.message_ids) == 1
        assert result.cost_rials == PRICE_PER_PART


async def test_kavenegar_sends_from_the_configured_sender_or_its_default(
    make: Make, emu: RunningEmulator
) -> None:
    assert (await make("kavenegar").send(PHONE, "سلام")).sent
    assert (await make("kavenegar", sms_sender=None).send(PHONE, "سلام")).sent
    invalid = await make("kavenegar", sms_sender="MIZ").send(PHONE, "سلام")
    assert (invalid.outcome, invalid.status) == (SmsOutcome.FAILED, "412")


# ------------------------------------------------------------------------------------- error classes


async def test_no_credit(provider: SmsProvider, client: EmulatorClient) -> None:
    await client.configure_sms_gateway(credit=PRICE_PER_PART)
    assert (await provider.send(PHONE, "اول")).sent
    result = await provider.send(PHONE, "دوم")
    assert result.outcome is SmsOutcome.NO_CREDIT
    assert result.status == codes(provider, "418", "102")
    code = await provider.send_code(PHONE, "1234")
    assert code.outcome is SmsOutcome.NO_CREDIT
    assert [m["text"] for m in await client.sms_messages()] == ["اول"]


@pytest.mark.parametrize("phone", ["0912123456", "09121234567890", "12345"])
async def test_invalid_number_is_a_permanent_failure_and_the_detail_masks_it(
    provider: SmsProvider, phone: str
) -> None:
    result = await provider.send(phone, "سلام")
    assert result.outcome is SmsOutcome.FAILED
    assert result.status == codes(provider, "411", "104")
    assert phone not in result.detail
    assert result.detail.startswith(f"{provider.name} {result.status}: invalid")


async def test_empty_message_is_a_permanent_failure(provider: SmsProvider) -> None:
    result = await provider.send(PHONE, "   ")
    assert (result.outcome, result.status) == (SmsOutcome.FAILED, codes(provider, "413", "103"))


async def test_wrong_api_key_is_a_permanent_failure(provider: SmsProvider, client: EmulatorClient) -> None:
    await client.configure_sms_gateway(api_key="the-real-key")
    result = await provider.send(PHONE, "سلام")
    assert (result.outcome, result.status) == (SmsOutcome.FAILED, codes(provider, "403", "10"))
    assert "invalid API key" in result.detail
    assert API_KEY not in result.detail
    await client.configure_sms_gateway(api_key=API_KEY)
    assert (await provider.send(PHONE, "سلام")).sent


@pytest.mark.parametrize(
    ("name", "status", "outcome"),
    [
        ("kavenegar", 409, SmsOutcome.RETRY),  # the server cannot answer now
        ("kavenegar", 451, SmsOutcome.RETRY),  # too many calls from this IP
        ("kavenegar", 401, SmsOutcome.FAILED),  # account disabled
        ("kavenegar", 429, SmsOutcome.FAILED),  # Kavenegar's 429 is "IP restricted", not a rate limit
        ("kavenegar", 499, SmsOutcome.FAILED),  # unknown to the table, with HTTP 499
        ("kavenegar", 503, SmsOutcome.RETRY),  # unknown to the table, but HTTP 503
        ("smsir", 0, SmsOutcome.RETRY),  # server error
        ("smsir", 20, SmsOutcome.RETRY),  # too many requests
        ("smsir", 13, SmsOutcome.FAILED),  # account inactive
        ("smsir", 115, SmsOutcome.FAILED),  # mobile blacklisted
        ("smsir", 999, SmsOutcome.FAILED),  # unknown to the table, with HTTP 400
    ],
)
async def test_provider_status_codes_map_to_outcomes(
    make: Make, client: EmulatorClient, name: str, status: int, outcome: SmsOutcome
) -> None:
    provider = make(name)
    await client.inject_sms_fault("status", provider=name, status=status)
    result = await provider.send(PHONE, "سلام")
    assert (result.outcome, result.status) == (outcome, str(status))
    assert MASKED in result.detail
    assert (await provider.send(PHONE, "سلام")).sent  # the fault was used up


@pytest.mark.parametrize(
    ("http", "outcome"), [(500, SmsOutcome.RETRY), (502, SmsOutcome.RETRY), (404, SmsOutcome.FAILED)]
)
async def test_html_error_pages_are_judged_by_http_status(
    provider: SmsProvider, client: EmulatorClient, http: int, outcome: SmsOutcome
) -> None:
    await client.inject_sms_fault("http", provider=provider.name, status=http)
    result = await provider.send_code(PHONE, "1234")
    assert (result.outcome, result.status) == (outcome, str(http))
    assert "without a gateway reply" in result.detail


async def test_a_reply_slower_than_the_timeout_is_retried(make: Make, client: EmulatorClient) -> None:
    for name in ("kavenegar", "smsir"):
        provider = make(name, sms_timeout_seconds=0.3)
        await client.inject_sms_fault("delay", provider=name, delay=1.5)
        result = await provider.send(PHONE, "سلام")
        assert (result.outcome, result.status) == (SmsOutcome.RETRY, "timeout")
        assert result.detail == f"{name} timeout: no answer within 0.3s; to {MASKED}"
        assert (await provider.send(PHONE, "سلام")).sent  # the session survives a timeout


async def test_a_dropped_connection_is_retried(provider: SmsProvider, client: EmulatorClient) -> None:
    await client.inject_sms_fault("drop", provider=provider.name)
    result = await provider.send(PHONE, "سلام")
    assert (result.outcome, result.status) == (SmsOutcome.RETRY, "connection")
    assert await client.sms_messages() == []


async def test_an_unreachable_gateway_is_retried_and_the_key_stays_out_of_the_detail(make: Make) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for name in ("kavenegar", "smsir"):
        result = await make(name, base_url=f"http://127.0.0.1:{port}").send(PHONE, "سلام")
        assert (result.outcome, result.status) == (SmsOutcome.RETRY, "connection")
        assert API_KEY not in result.detail
        assert str(port) not in result.detail


async def test_blacklisted_number_is_a_permanent_failure(
    provider: SmsProvider, client: EmulatorClient
) -> None:
    await client.configure_sms_gateway(blacklist=[PHONE])
    result = await provider.send(PHONE, "سلام")
    assert result.outcome is SmsOutcome.FAILED
    assert result.status == codes(provider, "200/14", "1")
    assert result.message_ids == ()
    assert (await provider.send_code(PHONE, "1234")).sent  # one-time codes leave from a service line


async def test_close_then_send_opens_a_new_session(provider: SmsProvider) -> None:
    assert (await provider.send(PHONE, "یک")).sent
    await provider.close()
    await provider.close()
    assert (await provider.send(PHONE, "دو")).sent


# ---------------------------------------------------------------------------------- the factory, none


async def test_provider_none_refuses_without_calling_anything(client: EmulatorClient) -> None:
    provider = create_sms_provider(Settings(_env_file=None, sms_provider="none"))
    assert isinstance(provider, NoSmsProvider)
    for result in (await provider.send(PHONE, "سلام"), await provider.send_code(PHONE, "1")):
        assert (result.outcome, result.status, result.detail) == (
            SmsOutcome.FAILED,
            "disabled",
            "sms disabled",
        )
    await provider.close()
    assert await client.sms_messages() == []


def test_factory_picks_the_provider_and_its_real_base_by_default() -> None:
    kavenegar = create_sms_provider(settings("kavenegar", None))
    smsir = create_sms_provider(settings("smsir", None))
    assert isinstance(kavenegar, KavenegarProvider)
    assert isinstance(smsir, SmsIrProvider)
    assert kavenegar._base_url == "https://api.kavenegar.com"
    assert smsir._base_url == "https://api.sms.ir"
    assert API_KEY not in repr(kavenegar)


@pytest.mark.parametrize(
    ("name", "overrides", "reason"),
    [
        ("kavenegar", {"sms_api_key": None}, "MIZ_SMS_API_KEY"),
        ("smsir", {"sms_api_key": ""}, "MIZ_SMS_API_KEY"),
        ("smsir", {"sms_sender": None}, "MIZ_SMS_SENDER"),
        ("smsir", {"sms_sender": "line-1"}, "MIZ_SMS_SENDER"),
        ("smsir", {"sms_verify_template": "miz-verify"}, "MIZ_SMS_VERIFY_TEMPLATE"),
    ],
)
def test_factory_refuses_a_configuration_that_could_never_send(
    name: str, overrides: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=reason):
        create_sms_provider(settings(name, None, **overrides))
