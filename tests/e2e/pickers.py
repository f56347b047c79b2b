"""Finding an organization in the citizen's picker, wherever it is: on any page of the towns, or among a
district's villages (a long list groups the dehyaris by district behind a 🏡 button)."""

from __future__ import annotations

from typing import Any

VILLAGES = "🏡"
"""How a district's button of villages starts, in both languages."""


def labels(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message["buttons"] for b in row]


async def _page_to(person: Any, label: str, prompt: str, seen: list[str]) -> bool:
    """Page forward until ``label`` shows (True) or the pages end (False), noting the villages' buttons passed."""
    while True:
        shown = labels(person.last_message)
        seen += [b for b in shown if b.startswith(VILLAGES) and b not in seen]
        if label in shown:
            return True
        following = [b for b in shown if b.startswith(("بعدی", "Next"))]
        if not following:
            return False
        await person.press(following[0])
        await person.expect(prompt)


async def pick_organization(person: Any, name: str, prompt: str = "شهر یا روستای خود") -> None:
    """Press ``name`` in the picker showing now: among the towns first, then in each district's villages."""
    groups: list[str] = []
    if await _page_to(person, name, prompt, groups):
        await person.press(name)
        return
    for number, group in enumerate(groups):
        if number:  # back from the previous district's villages to the first page of the towns
            await person.press(next(b for b in labels(person.last_message) if b.startswith("↩")))
            await person.expect(prompt)
        assert await _page_to(person, group, prompt, []), group
        await person.press(group)
        await person.expect(prompt)
        if await _page_to(person, name, prompt, []):
            await person.press(name)
            return
    raise AssertionError(f"{name} is nowhere in the picker")
