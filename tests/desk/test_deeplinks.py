"""Links that open the bot: built and read in one place, within the messengers' payload limits."""

from __future__ import annotations

import re

import pytest

from catalog.schema import SHORT_ID_MAX
from desk.deeplinks import (
    PAYLOAD_MAX,
    DeepLink,
    deep_link,
    organization_payload,
    read_payload,
    service_payload,
    tracking_payload,
)
from desk.platforms import Platform
from desk.tracking import new_tracking_code


def test_every_payload_reads_back_as_what_it_opens() -> None:
    code = new_tracking_code()
    assert read_payload(tracking_payload(code)) == DeepLink(code=code)
    assert read_payload(service_payload("falavarjan", "building_permit")) == DeepLink(
        organization="falavarjan", service="building_permit"
    )
    assert read_payload(organization_payload("oshtorjan")) == DeepLink(organization="oshtorjan")


def test_the_longest_ids_fit_telegrams_payload() -> None:
    longest = service_payload("o" * SHORT_ID_MAX, "s" * SHORT_ID_MAX)
    assert len(longest) <= PAYLOAD_MAX
    assert re.fullmatch(r"[A-Za-z0-9_-]+", longest), "only the characters Telegram accepts"
    assert read_payload(longest) == DeepLink(organization="o" * SHORT_ID_MAX, service="s" * SHORT_ID_MAX)


@pytest.mark.parametrize(
    "payload",
    [
        "",
        "t-12345",
        "t-1234123412345",
        "x-falavarjan",
        "o-Falavarjan",
        "s-falavarjan",
        "o-" + "o" * 25,
        "t-۱۲۳",
    ],
)
def test_anything_else_opens_nothing(payload: str) -> None:
    assert read_payload(payload) is None


def test_each_platform_has_its_own_link() -> None:
    assert (
        deep_link(Platform.TELEGRAM, "miz_bot", "t-123412341234")
        == "https://t.me/miz_bot?start=t-123412341234"
    )
    assert deep_link("bale", "miz_bot", "o-falavarjan") == "https://ble.ir/miz_bot?start=o-falavarjan"
    with pytest.raises(ValueError, match="64"):
        deep_link(Platform.TELEGRAM, "miz_bot", "o-" + "x" * 63)
