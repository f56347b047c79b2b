"""Every value of a catalog folder still marked as a sample: what a county admin must confirm before going live.

The catalog ships with values nobody has confirmed yet (an office's phone, a town centre's point instead of the
office's, a demo organization, a bank company code, a tariff's figures), each marked ``sample:`` where it is
written. This module finds every such mark in the YAML files themselves, with its file and line, so
``miz catalog check`` can list them as warnings and ``miz catalog check --strict`` can refuse them. A mark is
``sample: true`` on a mapping (the organization, its contact, its billing, a tariff file, parameter or fee), or a
list of field names (``contact.sample: [phone, location]``), one warning per name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

from catalog.loader import catalog_yaml
from catalog.problems import Problem, format_path

__all__ = ["SAMPLE_KEY", "sample_marks"]

SAMPLE_KEY = "catalog.sample_value"
"""Message id (catalog.po) of the warning about one sample value."""

_Parts = tuple[str | int, ...]


def _marks(node: Any, parts: _Parts) -> Iterator[tuple[_Parts, int]]:
    """``(path of the unconfirmed value, 1-based line of its mark)`` for every mark under ``node``."""
    if isinstance(node, CommentedMap):
        for key, value in node.items():
            line = node.lc.key(key)[0] + 1
            if key == "sample":
                if value is True:
                    yield parts, line
                elif isinstance(value, CommentedSeq):
                    for index, name in enumerate(value):
                        yield (*parts, str(name)), value.lc.item(index)[0] + 1
            else:
                yield from _marks(value, (*parts, str(key)))
    elif isinstance(node, CommentedSeq):
        for index, item in enumerate(node):
            yield from _marks(item, (*parts, index))


def sample_marks(directory: Path) -> list[Problem]:
    """One warning per sample mark in the YAML files of ``directory``, in file and line order.

    Run it on a folder that loaded cleanly: a file that cannot be read here has already been reported as a
    problem by the loader, and is skipped.
    """
    yaml = catalog_yaml()
    found: list[Problem] = []
    for file in sorted(directory.rglob("*.yaml")):
        try:
            root = yaml.load(file.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, YAMLError, ValueError):
            continue
        for parts, line in _marks(root, ()):
            found.append(Problem(file, line, format_path(parts), SAMPLE_KEY, {}))
    return sorted(found, key=Problem.sort_key)
