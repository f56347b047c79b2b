"""Problems found in a catalog folder, each pointing at a file, a line and a field, in English and Persian.

A problem is data (a message id of ``catalog.po`` and its parameters), so the command line, the admin
commands of the bot and the tests can all render or inspect it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from desk.i18n import translator

__all__ = ["CatalogError", "NotInCatalogError", "Problem", "format_path"]


def format_path(parts: Iterable[str | int]) -> str:
    """``('form', 2, 'type')`` -> ``'form[2].type'``: the way a field is named in problem reports."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong in the catalog.

    ``line`` is 1-based (0 when the file itself is missing), ``path`` names the field inside the file
    (``form[2].type``; empty for the whole file), ``key`` is the message id in ``catalog.po`` and ``params``
    fill its placeholders.
    """

    file: Path
    line: int
    path: str
    key: str
    params: Mapping[str, str | int] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        """The message alone, in ``lang``."""
        return translator(lang)(self.key, **self.params)

    def render(self) -> str:
        """``file:line: path: English message | پیام فارسی``: one grep-able line for editors and terminals."""
        where = f"{self.file}:{self.line}:"
        if self.path:
            where += f" {self.path}:"
        return f"{where} {self.message('en')} | {self.message('fa')}"

    def sort_key(self) -> tuple[str, int, str]:
        """Order of reports: by file, then line, then field."""
        return (str(self.file), self.line, self.path)

    def __str__(self) -> str:
        return self.render()


class NotInCatalogError(KeyError):
    """An organization, service, tariff year or fee that the catalog does not have (for that organization)."""


class CatalogError(Exception):
    """The catalog did not load; ``problems`` says every reason found, not only the first."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems, key=Problem.sort_key)
        super().__init__("\n".join(problem.render() for problem in self.problems))
