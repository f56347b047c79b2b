"""Recognising uploaded files: image dimensions and MIME types, without third-party imaging libraries."""

from __future__ import annotations

import mimetypes
import struct

__all__ = ["MAX_DOWNLOAD", "MAX_PHOTO", "MAX_UPLOAD", "guess_mime", "image_size", "plain_webp"]

MAX_UPLOAD = 50 * 1024 * 1024  # bots upload documents up to 50 MB
MAX_PHOTO = 10 * 1024 * 1024  # and photos up to 10 MB
MAX_DOWNLOAD = 20 * 1024 * 1024  # and download (getFile) up to 20 MB


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF, JPEG or WebP image, or None when ``data`` is none of them."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            width = int.from_bytes(data[24:27], "little") + 1
            height = int.from_bytes(data[27:30], "little") + 1
            return width, height
        if chunk == b"VP8 ":
            width, height = struct.unpack("<HH", data[26:30])
            return int(width) & 0x3FFF, int(height) & 0x3FFF
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return None


def plain_webp(width: int, height: int, argb: tuple[int, int, int, int] = (255, 255, 204, 0)) -> bytes:
    """A lossless WebP of one colour, the format of a static sticker; a few dozen bytes whatever its size.

    The VP8L bitstream has no transform, no colour cache and five prefix codes of one symbol each
    (green, red, blue, alpha, distance), so every pixel takes zero bits.
    """
    fields = [(width - 1, 14), (height - 1, 14), (1, 1), (0, 3), (0, 1), (0, 1), (0, 1)]
    alpha, red, green, blue = argb
    for symbol in (green, red, blue, alpha):
        fields += [(1, 1), (0, 1), (1, 1), (symbol, 8)]
    fields += [(1, 1), (0, 1), (0, 1), (0, 1)]
    bits = shift = 0
    for value, width_in_bits in fields:
        bits |= value << shift
        shift += width_in_bits
    payload = b"\x2f" + bits.to_bytes((shift + 7) // 8, "little")
    chunk = b"VP8L" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) % 2)
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def guess_mime(file_name: str | None, declared: str | None, data: bytes) -> str:
    """The MIME type of a document: from its content when recognisable, else its name, else declared."""
    if data.startswith(b"%PDF"):
        return "application/pdf"
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if file_name:
        guessed, _ = mimetypes.guess_type(file_name)
        if guessed:
            return guessed
    if declared and declared != "application/octet-stream":
        return declared
    return "application/octet-stream"
