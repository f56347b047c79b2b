"""The document store: what a citizen's upload turns into on disk, and what is refused."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from desk.errors import ValidationError
from storage.files import DocumentStore, sniff

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 500
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 200
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
HTML = b"<html><script>alert(1)</script></html>"


@pytest.fixture
def store(tmp_path: Path) -> DocumentStore:
    return DocumentStore(tmp_path / "files", max_bytes=2 * 1024 * 1024)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    ("data", "mime", "kind", "extension"),
    [
        (JPEG, "image/jpeg", "photo", "jpg"),
        (PNG, "image/png", "photo", "png"),
        (WEBP, "image/webp", "photo", "webp"),
        (PDF, "application/pdf", "pdf", "pdf"),
    ],
)
def test_photos_and_pdfs_are_stored_under_their_content_hash(
    store: DocumentStore, data: bytes, mime: str, kind: str, extension: str
) -> None:
    stored = store.store(data)
    digest = hashlib.sha256(data).hexdigest()
    assert stored.stored_path == f"{digest[:2]}/{digest[2:4]}/{digest}.{extension}"
    assert (stored.sha256, stored.size, stored.mime, stored.kind) == (digest, len(data), mime, kind)
    assert store.read(stored.stored_path) == data
    assert store.path_of(stored.stored_path) == (store.root / stored.stored_path).resolve()


def test_the_same_file_sent_twice_is_stored_once(store: DocumentStore) -> None:
    first = store.store(JPEG)
    second = store.store(JPEG)
    assert first == second
    assert _files(store.root) == [store.root / first.stored_path]


def test_a_file_over_the_limit_is_refused_with_its_size_in_megabytes(store: DocumentStore) -> None:
    big = JPEG + b"\x00" * (3 * 1024 * 1024)
    with pytest.raises(ValidationError) as raised:
        store.store(big)
    assert raised.value.key == "storage.file.too_big"
    assert raised.value.params == {"size": 4, "limit": 2}
    assert raised.value.render("fa") == (
        "حجم فایل ۴ مگابایت است؛ حداکثر ۲ مگابایت مجاز است. لطفاً فایل کوچک‌تری بفرستید."
    )
    assert "4 MB" in raised.value.render("en")
    assert _files(store.root) == []


def test_a_file_the_messenger_says_is_too_big_is_refused_before_download(store: DocumentStore) -> None:
    store.check_size(None)  # size unknown: download, then store() checks
    store.check_size(2 * 1024 * 1024)
    with pytest.raises(ValidationError, match=r"storage\.file\.too_big"):
        store.check_size(2 * 1024 * 1024 + 1)


def test_a_small_limit_is_shown_in_kilobytes(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as raised:
        DocumentStore(tmp_path, max_bytes=100).store(JPEG)
    assert raised.value.key == "storage.file.too_big_kb"
    assert "کیلوبایت" in raised.value.render("fa")


def test_a_page_named_photo_jpg_is_refused_by_its_bytes(store: DocumentStore, tmp_path: Path) -> None:
    upload = tmp_path / "photo.jpg"  # the name and the messenger's MIME type say JPEG; the bytes say HTML
    upload.write_bytes(HTML)
    with pytest.raises(ValidationError) as raised:
        store.store(upload.read_bytes())
    assert raised.value.key == "storage.file.not_photo_or_pdf"
    assert "PDF" in raised.value.render("fa")
    assert _files(store.root) == []


@pytest.mark.parametrize(
    ("data", "accepts", "key"),
    [
        (PDF, ("photo",), "storage.file.not_photo"),
        (JPEG, ("pdf",), "storage.file.not_pdf"),
        (b"GIF89a" + b"\x00" * 20, ("photo", "pdf"), "storage.file.not_photo_or_pdf"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", ("photo",), "storage.file.not_photo"),
    ],
)
def test_a_type_the_slot_does_not_take_is_refused(
    store: DocumentStore, data: bytes, accepts: tuple[str, ...], key: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        store.store(data, accepts=accepts)
    assert raised.value.key == key
    assert _files(store.root) == []


def test_an_empty_file_is_refused(store: DocumentStore) -> None:
    with pytest.raises(ValidationError, match=r"storage\.file\.empty"):
        store.store(b"")


def test_a_write_that_fails_leaves_neither_the_file_nor_a_temporary(
    store: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.store(PDF)
    assert _files(store.root) == []

    monkeypatch.undo()
    stored = store.store(PDF)  # the retry writes it whole
    assert store.read(stored.stored_path) == PDF


def test_a_truncated_file_under_the_final_name_is_rewritten(store: DocumentStore) -> None:
    stored = store.store(PNG)
    path = store.path_of(stored.stored_path)
    path.write_bytes(PNG[:10])  # left by an older, non-atomic writer or a damaged disk
    assert store.store(PNG) == stored
    assert path.read_bytes() == PNG


async def test_store_async_does_the_same_off_the_event_loop(store: DocumentStore) -> None:
    stored = await store.store_async(WEBP, accepts=("photo",))
    assert stored.kind == "photo"
    assert store.read(stored.stored_path) == WEBP


def test_paths_outside_the_store_are_refused(store: DocumentStore) -> None:
    with pytest.raises(ValueError, match="outside the document store"):
        store.path_of("../../etc/passwd")


def test_sniff_ignores_everything_but_the_first_bytes() -> None:
    assert sniff(JPEG) == ("image/jpeg", "photo", "jpg")
    assert sniff(b"not a pdf %PDF-1.4") is None
    assert sniff(b"RIFF") is None
