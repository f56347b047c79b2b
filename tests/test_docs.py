"""The repository explains itself: every document it names is in it, and every section it cites exists.

A reader of a docstring that says (docs/RULES.md, "Identifiers") must find that page and that heading; a
planning document that lives outside the repository is no help to them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SKIPPED_DIRS = frozenset({"var", "build", "dist", "node_modules", "__pycache__"})
_TEXT_SUFFIXES = frozenset(
    {".py", ".md", ".yaml", ".yml", ".toml", ".po", ".html", ".j2", ".txt", ".conf", ".cfg"}
)
# Documents are named in capitals (README.md, FORMAT.md); a lower-case name is a file of some other kind.
_DOCUMENT = re.compile(r"\b[A-Z][A-Z_]*\.md\b")
# A document, then a section in quotes: 'docs/RULES.md, "Identifiers"', 'docs/RULES.md ("Identifiers")',
# also when a line break comes between the two.
_CITATION = re.compile(r'([\w/.-]+\.md)(?:,\s*|\s*\(|\s+)"([^"\n]+)"')
_HEADING = re.compile(r"^#+ (.+)$", re.MULTILINE)


def _repository_files() -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [
            d
            for d in subdirectories
            if d not in _SKIPPED_DIRS and not d.startswith(".") and not d.endswith(".egg-info")
        ]
        for name in files:
            path = Path(directory, name)
            if path.suffix in _TEXT_SUFFIXES:
                yield path


def _documents() -> dict[str, Path]:
    return {path.relative_to(ROOT).as_posix(): path for path in _repository_files() if path.suffix == ".md"}


def test_every_document_named_is_in_the_repository() -> None:
    names = {Path(relative).name for relative in _documents()}
    missing = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in _repository_files()
        for name in _DOCUMENT.findall(path.read_text(encoding="utf-8", errors="replace"))
        if name not in names
    }
    assert not missing


def test_every_section_cited_is_a_heading_of_its_document() -> None:
    documents = _documents()
    headings = {
        relative: _HEADING.findall(path.read_text(encoding="utf-8")) for relative, path in documents.items()
    }
    cited = 0
    wrong = set()
    for path in _repository_files():
        for document, section in _CITATION.findall(path.read_text(encoding="utf-8", errors="replace")):
            matches = [
                relative
                for relative in documents
                if relative == document or relative.endswith(f"/{document}")
            ]
            if len(matches) != 1:
                continue  # a name shared by several documents (README.md) or none: the test above judges it
            cited += 1
            if not any(heading.startswith(section) for heading in headings[matches[0]]):
                wrong.add(f"{path.relative_to(ROOT)}: {document}, {section!r}")
    assert cited > 10  # the pattern still finds the citations
    assert not wrong
