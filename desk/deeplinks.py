"""Links that open the bot at one place: a request's tracking, a service's card, an organization's services.

A messenger opens a bot's start link with a payload (``https://t.me/<bot>?start=<payload>``; each platform's form is
its ``start_link`` in ``desk.platforms``) and the citizen's app sends ``/start <payload>``. The payloads are built and read here only, because SMS texts, the
public site and printed posters all carry them:

* ``t-<tracking code>`` opens the tracking of that code (the code's twelve digits);
* ``s-<organization id>-<service id>`` opens the service's card as that organization offers it;
* ``o-<organization id>`` opens the organization's services.

Telegram accepts up to 64 characters of ``A-Z a-z 0-9 _ -`` in a payload; catalog ids are at most 24 characters of
``a-z 0-9 _`` (``catalog.schema.SHORT_ID_MAX``), so the longest payload, a service's, is 51 characters, and ``-``
never occurs inside an id. A link grants nothing: a tracking link is the code typed in, with the same guessing
limits and the same question for the national ID to anyone but the request's citizen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from desk.platforms import Platform
from desk.tracking import TRACKING_CODE_LENGTH

__all__ = [
    "PAYLOAD_MAX",
    "DeepLink",
    "deep_link",
    "organization_payload",
    "read_payload",
    "service_payload",
    "tracking_payload",
]

PAYLOAD_MAX: Final = 64
"""The longest ``start`` payload Telegram accepts."""

_ID = r"[a-z][a-z0-9_]{0,23}"
_PAYLOAD: Final = re.compile(
    rf"t-(?P<code>\d{{{TRACKING_CODE_LENGTH}}})|s-(?P<org>{_ID})-(?P<svc>{_ID})|o-(?P<only>{_ID})", re.ASCII
)


@dataclass(frozen=True, slots=True)
class DeepLink:
    """What a ``start`` payload opens: a tracking ``code``, or an ``organization`` (and one of its ``service``)."""

    code: str | None = None
    organization: str | None = None
    service: str | None = None


def tracking_payload(code: str) -> str:
    return f"t-{code}"


def service_payload(organization_id: str, service_id: str) -> str:
    return f"s-{organization_id}-{service_id}"


def organization_payload(organization_id: str) -> str:
    return f"o-{organization_id}"


def read_payload(payload: str) -> DeepLink | None:
    """What ``payload`` opens; None for anything else (an old or made-up link opens the main menu)."""
    found = _PAYLOAD.fullmatch(payload.strip())
    if found is None:
        return None
    if found["code"]:
        return DeepLink(code=found["code"])
    if found["org"]:
        return DeepLink(organization=found["org"], service=found["svc"])
    return DeepLink(organization=found["only"])


def deep_link(platform: Platform | str, bot_username: str, payload: str) -> str:
    """The link that opens bot ``bot_username`` on ``platform`` with ``payload``."""
    if len(payload) > PAYLOAD_MAX:
        raise ValueError(f"a start payload holds at most {PAYLOAD_MAX} characters: {payload!r}")
    return Platform(platform).spec.start_link.format(bot=bot_username, payload=payload)
