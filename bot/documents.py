"""Receiving a citizen's document: checked before download (kind, size), then copied into the document store."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aiogram import Bot
from aiogram.types import Message

from desk.errors import ValidationError
from storage.files import DocumentStore

__all__ = ["receive_file"]

MB = 1024 * 1024


async def receive_file(
    message: Message, bot: Bot, store: DocumentStore, accepts: Collection[str]
) -> dict[str, Any]:
    """The photo or file of ``message`` stored by content hash; the fields of a ``Document`` row (but ``slot``).

    Refuses, with a ``ValidationError`` the citizen can read, a photo where only PDF is accepted and a file over
    the store's limit (judged from the size the messenger reports, before downloading anything); the store then
    refuses content of the wrong kind by its magic bytes, whatever its name says, and a truncated image, a
    decompression bomb or a PDF that is also a web page (``storage.files.check_content``).
    """
    if message.photo:
        photo = message.photo[-1]
        sent_kind, size, file_id, unique = "photo", photo.file_size, photo.file_id, photo.file_unique_id
    elif message.document is not None:
        doc = message.document
        sent_kind, size, file_id, unique = "document", doc.file_size, doc.file_id, doc.file_unique_id
    else:
        raise ValidationError("bot.docs.not_a_file")
    if sent_kind == "photo" and "photo" not in accepts:
        raise ValidationError("bot.docs.need_pdf")
    if size is not None and size > store.max_bytes:
        raise ValidationError("bot.docs.too_big", size=max(1, round(size / MB)), limit=store.max_bytes // MB)
    downloaded = await bot.download(file_id)
    content = downloaded.read() if downloaded is not None else b""
    stored = await store.store_async(content, accepts=accepts)
    return {
        "platform_file_id": file_id,
        "file_unique_id": unique,
        "stored_path": stored.stored_path,
        "sha256": stored.sha256,
        "size": stored.size,
        "mime": stored.mime,
        "kind": str(stored.kind),
    }
