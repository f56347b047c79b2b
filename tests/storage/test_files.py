"""The document store: what a citizen's upload turns into on disk, and what is refused."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from desk.errors import ValidationError
from storage.files import DocumentStore, check_content, sniff


def image(kind: str, size: tuple[int, int] = (40, 30)) -> bytes:
    """A real picture (noise, so it does not compress to nothing) in Pillow's format ``kind``."""
    out = io.BytesIO()
    Image.effect_noise(size, 50).convert("RGB").save(out, kind)
    return out.getvalue()


JPEG = image("JPEG")
PNG = image("PNG")
WEBP = image("WEBP")
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
    big = JPEG + b"\x00" * (3 * 1024 * 1024)  # refused for its size before anything decodes it
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


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, in a few dozen bytes: a decompression bomb's shape."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize("data", [JPEG, PNG, WEBP], ids=["jpeg", "png", "webp"])
def test_an_image_cut_off_half_way_is_refused_as_broken(store: DocumentStore, data: bytes) -> None:
    with pytest.raises(ValidationError) as raised:
        store.store(data[: len(data) // 2])
    assert raised.value.key == "storage.file.broken_image"
    assert "لطفاً" in raised.value.render("fa")
    assert _files(store.root) == []


def test_an_image_with_damaged_bytes_is_refused_as_broken(store: DocumentStore) -> None:
    damaged = PNG[:60] + bytes(b ^ 0xFF for b in PNG[60:90]) + PNG[90:]
    with pytest.raises(ValidationError, match=r"storage\.file\.broken_image"):
        store.store(damaged)


def test_a_decompression_bomb_far_over_the_pixel_limit_is_refused(store: DocumentStore) -> None:
    with pytest.raises(ValidationError) as raised:
        store.store(png_claiming(20_000, 10_000))  # 200 million pixels: Pillow's own error
    assert raised.value.key == "storage.file.image_too_large"
    assert "بزرگ" in raised.value.render("fa")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_an_image_just_over_the_pixel_limit_is_refused_where_pillow_only_warns(store: DocumentStore) -> None:
    side = int(Image.MAX_IMAGE_PIXELS**0.5) + 10  # over the limit, under twice it: Pillow warns and goes on
    with pytest.raises(ValidationError, match=r"storage\.file\.image_too_large"):
        store.store(png_claiming(side, side))


def test_a_pdf_that_is_also_a_web_page_is_refused(store: DocumentStore) -> None:
    for tag in (b"<html>", b"<SCRIPT>alert(1)</SCRIPT>", b"<!DOCTYPE html>", b"<body onload=x()>", b"<svg>"):
        polyglot = b"%PDF-1.4\n" + tag + PDF[9:]
        with pytest.raises(ValidationError) as raised:
            store.store(polyglot)
        assert raised.value.key == "storage.file.pdf_with_html", tag
    assert "PDF" in raised.value.render("fa")
    assert _files(store.root) == []


def test_a_pdf_with_metadata_or_html_deep_inside_is_kept(store: DocumentStore) -> None:
    """The check claims the first kilobyte only: XML metadata there, or a web page's text deep in a stream, pass."""
    xmp = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/>'
    assert store.store(PDF[:9] + xmp + PDF[9:]).kind == "pdf"
    assert store.store(PDF[:9] + b"%" + b"0" * 2000 + b"\n(<html>) Tj\n" + PDF[9:]).kind == "pdf"


def test_check_content_judges_the_type_sniff_found() -> None:
    check_content(PNG, "image/png")
    with pytest.raises(ValidationError, match=r"storage\.file\.broken_image"):
        check_content(PNG, "image/jpeg")  # a PNG is not decoded as whatever else it might pass for
