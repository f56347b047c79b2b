"""What differs between the Telegram and the Bale Bot API, and their text-formatting parsers.

Telegram reads ``parse_mode=HTML`` text with tdlib's strict HTML parser; Bale has no ``parse_mode`` and
reads every text as its own Markdown. Both parsers here return the plain text and its entities (offsets in
UTF-16 code units, as both APIs count them) or raise the 400 the platform answers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from emulator.errors import ApiError, bad_request

__all__ = [
    "BALE",
    "DIALECTS",
    "TELEGRAM",
    "Dialect",
    "DialectName",
    "parse_bale_markdown",
    "parse_html",
    "utf16_len",
]

DialectName = Literal["telegram", "bale"]


@dataclass(frozen=True)
class Dialect:
    """One platform's shape of the Bot API."""

    name: DialectName
    group_type: str
    missing_methods: frozenset[str]
    default_options: dict[str, Any] = field(default_factory=dict)
    parse_modes: frozenset[str] = frozenset()

    def has_method(self, method: str) -> bool:
        """Whether this platform serves ``method`` (lower-cased name)."""
        return method not in self.missing_methods


# Methods one platform lacks (lower-cased). A missing method answers 404 "Not Found", as an unknown one.
TELEGRAM = Dialect(
    name="telegram",
    group_type="supergroup",
    missing_methods=frozenset({"askreview", "inquiretransaction"}),
    default_options={
        "rate_limits": False,
        "chat_instance": True,
        "edit_result": "message",
        "privacy_mode": True,
        "max_pending_updates": None,
        "webhook_deliveries": 1,
        "webhook_connections": 1,
    },
    parse_modes=frozenset({"html"}),
)
BALE = Dialect(
    name="bale",
    group_type="group",
    missing_methods=frozenset(
        {
            "sendpoll",
            "stoppoll",
            "editmessagemedia",
            "setmycommands",
            "getmycommands",
            "deletemycommands",
            "createforumtopic",
            "editforumtopic",
            "closeforumtopic",
            "reopenforumtopic",
            "deleteforumtopic",
            "answerinlinequery",
        }
    ),
    default_options={
        "rate_limits": False,
        "chat_instance": False,
        "edit_result": "stub",
        "privacy_mode": False,
        "max_pending_updates": 2000,
        "webhook_deliveries": 1,
        "webhook_connections": 1,
    },
)
DIALECTS: dict[str, Dialect] = {"telegram": TELEGRAM, "bale": BALE}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _entities_error(reason: str) -> ApiError:
    return bad_request(f"can't parse entities: {reason}")


# ---------------------------------------------------------------------------------------------- HTML

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_ATTR_RE = re.compile(r"\s*([a-zA-Z_-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+))?")


def _decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    match = _ENTITY_RE.match(text, pos)
    if not match:
        return None
    name = match.group(1)
    if name.startswith("#x"):
        return chr(int(name[2:], 16)), match.end()
    if name.startswith("#"):
        return chr(int(name[1:])), match.end()
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name], match.end()
    return None


def _byte_offset(text: str, pos: int) -> int:
    return len(text[:pos].encode("utf-8"))


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML: the plain text and its entities, or the 400 Telegram answers.

    Deliberately strict where tdlib is lenient in one place: a bare ``&`` that starts no entity is refused,
    so a bot that forgets to escape user input fails in tests instead of rendering wrongly later.
    """
    out: list[str] = []
    out_len = 0  # UTF-16 length of the text produced so far
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "&":
            decoded = _decode_entity(text, i)
            if decoded is None:
                raise _entities_error(
                    f"Character '&' is reserved and must be escaped as &amp; at byte offset {_byte_offset(text, i)}"
                )
            out.append(decoded[0])
            out_len += utf16_len(decoded[0])
            i = decoded[1]
            continue
        if ch != "<":
            out.append(ch)
            out_len += utf16_len(ch)
            i += 1
            continue
        if text.startswith("</", i):
            end = text.find(">", i)
            if end == -1:
                raise _entities_error(f"Unclosed end tag at byte offset {_byte_offset(text, i)}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _entities_error(f"Unexpected end tag at byte offset {_byte_offset(text, i)}")
            open_name, start, attrs = stack.pop()
            if name and name != open_name:
                raise _entities_error(
                    f'Unmatched end tag at byte offset {_byte_offset(text, i)}, expected "</{open_name}>", '
                    f'found "</{name}>"'
                )
            language = attrs.get("class", "")
            if open_name == "code" and stack and stack[-1][0] == "pre" and language.startswith("language-"):
                # <pre><code class="language-x"> is one pre entity with a language, as Telegram makes it.
                stack[-1][2]["language"] = language[len("language-") :]
            else:
                entity = _html_entity(open_name, start, out_len - start, attrs)
                if entity is not None:
                    entities.append(entity)
            i = end + 1
            continue
        # tdlib reads the tag name up to a space or ">", then checks it, then looks for the tag's end.
        name_end = i + 1
        while name_end < n and not text[name_end].isspace() and text[name_end] != ">":
            name_end += 1
        if name_end >= n:
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
        name = text[i + 1 : name_end].lower()
        end = text.find(">", name_end)
        if name not in _HTML_TAGS:
            raise _entities_error(f'Unsupported start tag "{name}" at byte offset {_byte_offset(text, i)}')
        if end == -1:
            raise _entities_error(f"Unclosed start tag at byte offset {_byte_offset(text, i)}")
        attrs = {
            m.group(1).lower(): html.unescape((m.group(2) or "").strip("\"'"))
            for m in _ATTR_RE.finditer(text[name_end:end])
            if m.group(1)
        }
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _entities_error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(text, i)}'
            )
        if name == "tg-emoji" and "emoji-id" not in attrs:
            raise _entities_error(
                f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {_byte_offset(text, i)}'
            )
        stack.append((name, out_len, attrs))
        i = end + 1
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_entity(name: str, offset: int, length: int, attrs: dict[str, str]) -> dict[str, Any] | None:
    if length == 0:
        return None
    kind = _HTML_TAGS[name]
    entity: dict[str, Any] = {"type": kind, "offset": offset, "length": length}
    if kind == "text_link":
        href = attrs.get("href", "")
        if not href:
            return None
        entity["url"] = href
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = attrs["emoji-id"]
    elif kind == "pre" and attrs.get("language"):
        entity["language"] = attrs["language"]
    elif kind == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    return entity


# ----------------------------------------------------------------------------------------- Bale Markdown

_BALE_MARKERS = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}
_BALE_NAMES = {"bold": "Bold", "italic": "Italic", "code": "Code", "pre": "Pre"}
_LINK_RE = re.compile(r"\[([^\[\]\n]+)\]\(([^()\s]+)\)")


def parse_bale_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Parse Bale's Markdown: ``*bold*``, ``_italic_``, `` `code` ``, fenced pre and ``[text](url)``.

    An unclosed marker is refused with a 400, as a stray ``*``, ``_`` or backtick makes a Bale send fail.
    A backslash is an ordinary character: no source we found (Bale's documentation, Bale client libraries)
    says Bale honours backslash escapes, so the emulator does not either, and a bot that relied on them
    would fail here as it might on Bale. Miz never sends one: ``bot.render.bale_safe`` swaps a typed
    backslash, like a typed marker, for a look-alike.
    """
    out: list[str] = []
    out_len = 0
    entities: list[dict[str, Any]] = []
    open_marks: dict[str, tuple[int, int]] = {}  # kind -> (output offset, source byte offset)
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        code_open = "code" in open_marks or "pre" in open_marks
        if text.startswith("```", i):
            marker = "```"
        elif ch in "*_`":
            marker = ch
        else:
            marker = ""
        if marker and (not code_open or marker in ("`", "```")):
            kind = _BALE_MARKERS[marker]
            if code_open and kind not in open_marks:
                out.append(marker)
                out_len += utf16_len(marker)
            elif kind in open_marks:
                start, _ = open_marks.pop(kind)
                if out_len > start:
                    entities.append({"type": kind, "offset": start, "length": out_len - start})
            else:
                open_marks[kind] = (out_len, _byte_offset(text, i))
            i += len(marker)
            continue
        if ch == "[" and not code_open:
            link = _LINK_RE.match(text, i)
            if link:
                label = link.group(1)
                entities.append(
                    {"type": "text_link", "offset": out_len, "length": utf16_len(label), "url": link.group(2)}
                )
                out.append(label)
                out_len += utf16_len(label)
                i = link.end()
                continue
        out.append(ch)
        out_len += utf16_len(ch)
        i += 1
    if open_marks:
        kind, (_, byte_pos) = min(open_marks.items(), key=lambda item: item[1][1])
        raise _entities_error(f"Can't find end of {_BALE_NAMES[kind]} entity at byte offset {byte_pos}")
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities
