"""Shared test configuration.

`MIZ_TEST_REQUIRE_SERVICES=1` (set by `.ci/run`) turns the "PostgreSQL/Redis/Chromium not available" skips into
failures, so CI can never pass by silently skipping the tests that need the machine's services.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_SERVICES = os.environ.get("MIZ_TEST_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's machine without the service; fail in CI, where the service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (CI requires it: MIZ_TEST_REQUIRE_SERVICES=1)")
    pytest.skip(reason)
