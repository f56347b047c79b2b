"""The document store: citizens' files on disk, named by content hash, checked for size and type.

A file is kept as ``root/ab/cd/<sha256>.<ext>``, so the same photo sent twice (or by two requests) is
stored once, and a name never reveals what a citizen sent. The type is read from the file's first bytes,
never from its name or the messenger's claimed MIME type: only JPEG, PNG and WebP photos and PDF
documents are accepted. Writes go to a temporary file in the target folder and are then renamed, so a
crash never leaves half a file under a real name.

The content is then checked as far as it can be cheaply (``check_content``), since a clerk opens what a stranger
sent:

* a photo is decoded whole with Pillow (``verify()``, then a full ``load()``), so a truncated or corrupt image is
  refused, and so is one of more than ``Image.MAX_IMAGE_PIXELS`` pixels (about 89 million), checked from its
  header before decoding: a decompression bomb of a few kilobytes claims billions. An image just under the
  limit still takes a few hundred megabytes while it is decoded (in a worker thread, ``store_async``);
* a PDF is refused when HTML tags (``<html``, ``<script``, ``<!doctype`` ...) appear in its first kilobyte: a
  polyglot, which content sniffers that look at a file's start (as old browsers did) open as a web page. That
  is all this check claims. A PDF parser such as pypdf was weighed and left out: a PDF is read from the
  cross-reference table at its end and bytes between objects are skipped, so a polyglot is still a well-formed
  PDF to a parser, which would cost far more and tell nothing about the HTML.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import struct
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image

from desk.errors import ValidationError

__all__ = ["KINDS", "DocumentKind", "DocumentStore", "StoredFile", "check_content", "sniff"]

DocumentKind = Literal["photo", "pdf"]
KINDS: tuple[DocumentKind, ...] = ("photo", "pdf")
"""Every kind of file the store accepts."""

_MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class _FileType:
    mime: str
    kind: DocumentKind
    extension: str


_JPEG = _FileType("image/jpeg", "photo", "jpg")
_PNG = _FileType("image/png", "photo", "png")
_WEBP = _FileType("image/webp", "photo", "webp")
_PDF = _FileType("application/pdf", "pdf", "pdf")

_PILLOW_FORMATS = {_JPEG.mime: "JPEG", _PNG.mime: "PNG", _WEBP.mime: "WEBP"}
# What Pillow raises for an image it cannot decode whole (truncated data, a bad chunk, nonsense in a header).
_UNDECODABLE = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)
_HTML_TAG = re.compile(rb"<(?:!doctype|html|head|body|script|iframe|svg)\b", re.IGNORECASE)
_PDF_HEAD = 1024


def sniff(data: bytes) -> tuple[str, DocumentKind, str] | None:
    """``(mime, kind, extension)`` of ``data`` judged by its magic bytes, or None for anything else."""
    found: _FileType | None = None
    if data.startswith(b"\xff\xd8\xff"):
        found = _JPEG
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        found = _PNG
    elif len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        found = _WEBP
    elif data.startswith(b"%PDF-"):
        found = _PDF
    return None if found is None else (found.mime, found.kind, found.extension)


def check_content(data: bytes, mime: str) -> None:
    """Refuse, with a ``ValidationError`` the citizen can read, a file of type ``mime`` (as ``sniff`` judged it)
    whose content is broken or booby-trapped: an image that does not decode whole or has too many pixels, a PDF
    with HTML in its first kilobyte (see the module's docstring for what these checks claim)."""
    if mime == _PDF.mime:
        if _HTML_TAG.search(data, 0, _PDF_HEAD):
            raise ValidationError("storage.file.pdf_with_html")
        return
    try:
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[mime]]) as image:
            if Image.MAX_IMAGE_PIXELS and image.width * image.height > Image.MAX_IMAGE_PIXELS:
                raise ValidationError("storage.file.image_too_large")
            image.verify()
        with Image.open(io.BytesIO(data), formats=[_PILLOW_FORMATS[mime]]) as image:
            image.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own check while opening: an error beyond twice the limit, a warning (an error under
        # ``-W error``, as in the tests) beyond the limit itself.
        raise ValidationError("storage.file.image_too_large") from None
    except _UNDECODABLE:
        raise ValidationError("storage.file.broken_image") from None


@dataclass(frozen=True, slots=True)
class StoredFile:
    """Where and what a stored file is: the fields a ``storage.models.Document`` row needs."""

    stored_path: str
    """Relative to the store's root, with forward slashes (``ab/cd/<sha256>.jpg``)."""
    sha256: str
    size: int
    mime: str
    kind: DocumentKind


class DocumentStore:
    """Files in a local folder (``Settings.files_dir``), at most ``max_bytes`` each.

    Refusals raise ``desk.errors.ValidationError`` with a ``storage.file.*`` message id, so the bot can
    tell the citizen what to send instead.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("max_bytes must be positive")
        self.root = root
        self.max_bytes = max_bytes

    def check_size(self, size: int | None) -> None:
        """Refuse a file the messenger says is too big, before spending time downloading it."""
        if size is not None and size > self.max_bytes:
            raise self._too_big(size)

    def store(self, data: bytes, *, accepts: Collection[str] = KINDS) -> StoredFile:
        """Check ``data`` and keep it; ``accepts`` are the kinds the document slot takes."""
        size = len(data)
        if size == 0:
            raise ValidationError("storage.file.empty")
        self.check_size(size)
        detected = sniff(data)
        if detected is None or detected[1] not in accepts:
            raise ValidationError(self._wrong_type_key(accepts))
        mime, kind, extension = detected
        check_content(data, mime)
        digest = hashlib.sha256(data).hexdigest()
        relative = f"{digest[:2]}/{digest[2:4]}/{digest}.{extension}"
        target = self.root / relative
        if not (target.is_file() and target.stat().st_size == size):
            _write_atomically(target, data)
        return StoredFile(stored_path=relative, sha256=digest, size=size, mime=mime, kind=kind)

    async def store_async(self, data: bytes, *, accepts: Collection[str] = KINDS) -> StoredFile:
        """``store`` in a worker thread, so hashing and disk writes never block the event loop."""
        return await asyncio.to_thread(self.store, data, accepts=accepts)

    def path_of(self, stored_path: str) -> Path:
        """The absolute path of a stored file; refuses paths that would leave the store's root."""
        root = self.root.resolve()
        path = (root / stored_path).resolve()
        if not path.is_relative_to(root):
            raise ValueError(f"{stored_path!r} is outside the document store")
        return path

    def remove(self, stored_path: str) -> None:
        """Delete a stored file (retention); one already gone is no error, so removing twice is harmless."""
        self.path_of(stored_path).unlink(missing_ok=True)

    def read(self, stored_path: str) -> bytes:
        """The bytes of a stored file (to send it to a clerk's group, for instance)."""
        return self.path_of(stored_path).read_bytes()

    def _too_big(self, size: int) -> ValidationError:
        if self.max_bytes >= _MB:
            return ValidationError("storage.file.too_big", size=-(-size // _MB), limit=self.max_bytes // _MB)
        return ValidationError(
            "storage.file.too_big_kb", size=-(-size // 1024), limit=max(1, self.max_bytes // 1024)
        )

    @staticmethod
    def _wrong_type_key(accepts: Collection[str]) -> str:
        if "photo" in accepts and "pdf" in accepts:
            return "storage.file.not_photo_or_pdf"
        if "pdf" in accepts:
            return "storage.file.not_pdf"
        return "storage.file.not_photo"


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".incoming-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
