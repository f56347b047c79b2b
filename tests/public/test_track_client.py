"""The web tracking page counts guesses per client address, as the trusted reverse proxy saw it; a client cannot
choose its own key with a forged X-Forwarded-For."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from aiohttp.test_utils import make_mocked_request

from public.track import Tracking, trusted_proxies


def _tracking(setting: str) -> Tracking:
    unused: Any = None
    return Tracking(unused, unused, unused, unused, trusted_proxies(setting))


def _request(remote: str, forwarded: str | None = None) -> Any:
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (
        (remote, 40000) if name == "peername" else default
    )
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return make_mocked_request("POST", "/track", headers=headers, transport=transport)


def test_behind_the_trusted_proxy_the_client_is_the_last_forwarded_address() -> None:
    tracking = _tracking("127.0.0.1,::1,172.16.0.0/12")
    assert tracking.client(_request("127.0.0.1", "203.0.113.7")) == "web:203.0.113.7"
    assert tracking.client(_request("172.18.0.5", "10.9.9.9, 203.0.113.7")) == "web:203.0.113.7", (
        "what the client put first is not believed: the proxy appends the address it saw"
    )


def test_a_client_that_is_not_a_proxy_cannot_name_itself() -> None:
    tracking = _tracking("127.0.0.1")
    assert tracking.client(_request("198.51.100.4", "203.0.113.7")) == "web:198.51.100.4"
    assert tracking.client(_request("127.0.0.1", "not an address")) == "web:127.0.0.1"


def test_a_mistyped_trusted_proxy_stops_the_start() -> None:
    with pytest.raises(ValueError, match="does not appear to be"):
        trusted_proxies("127.0.0.1,nginx")
