"""``python -m bench.scale`` runs at a tiny size and prints every figure, so it cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.scale import OPERATIONS, main

pytestmark = pytest.mark.slow


def test_a_tiny_county_prints_every_figure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--size", "400", "--db", "sqlite", "--dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    for label in ("sqlite 400", "generate s", "start-up migration check", "longest loop block", *OPERATIONS):
        assert label in table, label
    rows = {line[:26].strip(): line[26:].split() for line in table.splitlines()}
    assert rows["/find national ID"][1] == "(1)", "citizen 0 filed the first organization's first request"
    assert rows["/open"][1] == "(1)"
    assert rows["claim 50 outbox rows"][1] == "(50)"


def test_refuses_a_county_too_small(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--size", "3"]) == 2
    assert "at least 10" in capsys.readouterr().err
