"""SMS that send the citizen to the bot carry the link to their request, when it fits two parts."""

from __future__ import annotations

from typing import Any

import pytest

from catalog.loader import load_catalog
from config.settings import PROJECT_ROOT
from desk.deeplinks import deep_link
from desk.i18n import LANGUAGES
from desk.lifecycle import Status
from desk.persian import format_number
from desk.sms import MAX_PARTS, render_sms, sms_parts
from desk.tracking import format_tracking_code

LINKED = ("sms.needs_info", "sms.awaiting_payment", "sms.completed", "sms.rejected", "sms.blocked")
CODE = "123412341234"


def payload(key: str, lang: str, org: str) -> dict[str, Any]:
    return {
        "type": "sms",
        "key": key,
        "lang": lang,
        "params": {
            "code": format_tracking_code(CODE, lang),
            "org": org,
            "amount": format_number(2_500_000, lang),
        },
        "labels": {"status": Status.REJECTED.label_key},
        "start": {"platform": "telegram", "payload": f"t-{CODE}"},
    }


def links(username: str) -> Any:
    return lambda platform, start: deep_link(platform, username, start)


def names(lang: str) -> list[str]:
    catalog = load_catalog(PROJECT_ROOT / "catalog" / "data")
    return [org.name.get(lang) for org in catalog.organizations]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("key", LINKED)
def test_the_link_comes_when_it_fits_and_never_costs_a_third_part(lang: str, key: str) -> None:
    for org in names(lang):
        for username in ("miz_falavarjan_bot", "m" * 32):  # a usual name, and the longest Telegram allows
            text = render_sms(payload(key, lang, org), lambda org_id, _lang: org_id, links(username))
            assert sms_parts(text) <= MAX_PARTS, text
    # Falavarjan's own municipality with a usual bot name: the link is there, without its scheme.
    text = render_sms(payload(key, lang, names(lang)[0]), None, links("miz_falavarjan_bot"))
    assert f"t.me/miz_falavarjan_bot?start=t-{CODE}" in text
    assert "https://" not in text


def test_without_a_known_bot_name_the_sms_is_the_one_without_link() -> None:
    with_none = render_sms(payload("sms.rejected", "fa", "شهرداری فلاورجان"), None, lambda _p, _s: None)
    assert with_none == render_sms(payload("sms.rejected", "fa", "شهرداری فلاورجان"))
    assert "بات میز" in with_none


def test_the_filing_sms_carries_no_link() -> None:
    text = render_sms(payload("sms.submitted", "fa", "شهرداری فلاورجان"), None, links("miz_falavarjan_bot"))
    assert "t.me" not in text
    assert sms_parts(text) == 1
