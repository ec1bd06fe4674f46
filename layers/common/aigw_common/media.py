"""What a document or image file is, from its first bytes: enough to refuse, at submit, a
file Textract or Rekognition cannot read, before a job is started and fails later."""

from __future__ import annotations

import struct

#: How much of a file is read to tell its format and, for PNG and JPEG, its dimensions (a
#: JPEG's frame header can follow tens of kilobytes of EXIF data).
HEAD_BYTES = 64 * 1024

_SIGNATURES = (
    (b"%PDF-", "pdf"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
)
# JPEG start-of-frame markers (they carry the height and width): C0-CF but for DHT (C4),
# JPG (C8) and DAC (CC).
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def file_format(head: bytes) -> str | None:
    """``pdf``, ``tiff``, ``png`` or ``jpeg`` from a file's signature; None for anything else."""
    for signature, name in _SIGNATURES:
        if head.startswith(signature):
            return name
    # PDF readers, Textract's among them, allow a little junk before the header.
    return "pdf" if b"%PDF-" in head[:1024] else None


def describe(head: bytes) -> str:
    """A short, safe description of an unknown file's start, for an error message."""
    if not head:
        return "an empty file"
    return f"a file starting with {head[:8].hex(' ')}"


def image_dimensions(head: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG from its first bytes; None if they do not say."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR" and len(head) >= 24:
        width, height = struct.unpack(">II", head[16:24])
        return width, height
    if head.startswith(b"\xff\xd8"):
        return _jpeg_dimensions(head)
    return None


def _jpeg_dimensions(head: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 4 <= len(head):
        if head[index] != 0xFF:
            return None  # not a marker where one must be: a damaged file
        marker = head[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            index += 2
            continue
        (length,) = struct.unpack(">H", head[index + 2 : index + 4])
        if marker in _SOF:
            if index + 9 > len(head):
                return None
            height, width = struct.unpack(">HH", head[index + 5 : index + 9])
            return width, height
        if marker == 0xDA:  # start of scan: no frame header before the image data
            return None
        index += 2 + length
    return None
