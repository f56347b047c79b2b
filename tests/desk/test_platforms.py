"""One row per platform: every capability set, in step with the emulator's dialects, and the names the domain
accepts (the catalog's are in tests/catalog/test_problems.py)."""

from __future__ import annotations

import dataclasses

from config.settings import Settings
from desk.platforms import GROUP_CHAT_TYPES, PLATFORM_IDS, SPECS, Platform, PlatformSpec
from desk.requests import PLATFORMS
from emulator.dialects import DIALECTS

_METHODS = {
    "polls": ("sendpoll", "stoppoll"),
    "commands_menu": ("setmycommands", "getmycommands", "deletemycommands"),
    "edit_media": ("editmessagemedia",),
    "forum_topics": ("createforumtopic", "closeforumtopic"),
    "inline_queries": ("answerinlinequery",),
    "invoices": ("inquiretransaction",),
}
"""Each method-gap capability and the Bot API methods it stands for."""


def test_every_platform_has_one_row_with_every_capability_set() -> None:
    assert list(SPECS) == list(Platform)
    for platform in Platform:
        spec = platform.spec
        assert spec.platform is platform
        for field in dataclasses.fields(PlatformSpec):
            assert getattr(spec, field.name) is not None, (platform, field.name)
        assert spec.group_chat_types, platform


def test_the_table_agrees_with_the_emulators_dialects() -> None:
    assert set(_METHODS) <= {field.name for field in dataclasses.fields(PlatformSpec)}
    for platform in Platform:
        dialect = DIALECTS[platform.value]
        assert dialect.group_type in platform.spec.group_chat_types
        assert platform.has_html is ("html" in dialect.parse_modes)
        for capability, methods in _METHODS.items():
            for method in methods:
                assert dialect.has_method(method) is getattr(platform.spec, capability), (platform, method)


def test_names_and_group_types_come_from_the_table() -> None:
    assert PLATFORMS == PLATFORM_IDS == {"telegram", "bale"}
    assert {"group", "supergroup"} == GROUP_CHAT_TYPES
    assert Platform.TELEGRAM.has_html
    assert not Platform.BALE.has_html


def test_every_platform_has_its_token_and_api_base_settings() -> None:
    for platform in Platform:
        assert {f"{platform.value}_token", f"{platform.value}_api_base"} <= Settings.model_fields.keys()
