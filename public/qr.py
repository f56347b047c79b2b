"""QR codes of the deep links, as images a page embeds (no file to copy, no request to any server).

segno is pure Python and writes SVG itself, so a QR code needs neither Pillow nor a browser. Error correction
level M (15 % of the code may be lost) survives a poster's creases and glare and still keeps a service's link
(about 70 characters) to a version 4 code, large modules that an old phone camera reads from a metre away.
"""

from __future__ import annotations

from functools import cache

import segno

__all__ = ["qr_data_uri"]


@cache
def qr_data_uri(url: str, *, scale: int = 4) -> str:
    """A ``data:image/svg+xml`` URI of the QR code of ``url`` (black on white, with its quiet zone)."""
    return str(segno.make(url, error="m").svg_data_uri(scale=scale, dark="#000", light="#fff"))
