"""Reading QR codes back in tests: a PNG decoded to grey pixels, then scanned by zxing-cpp.

The PNG reader takes what QR encoders write: 8-bit-or-less greyscale or palette images, not
interlaced, with any of the five row filters. zxing-cpp (a dev dependency) does the scanning.
"""

from __future__ import annotations

import struct
import zlib

import zxingcpp

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREYSCALE, PALETTE = 0, 3


def _chunks(png: bytes) -> dict[bytes, bytes]:
    """The image's chunks by type (IDAT chunks joined)."""
    assert png.startswith(PNG_SIGNATURE), "not a PNG"
    found: dict[bytes, bytes] = {}
    position = len(PNG_SIGNATURE)
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        found[kind] = found.get(kind, b"") + png[position + 8 : position + 8 + length]
        position += 12 + length
    return found


def _paeth(left: int, up: int, up_left: int) -> int:
    estimate = left + up - up_left
    distances = (abs(estimate - left), abs(estimate - up), abs(estimate - up_left))
    return (left, up, up_left)[distances.index(min(distances))]


def _unfilter(kind: int, row: bytearray, previous: bytes, step: int) -> bytearray:
    for i in range(len(row)):
        left = row[i - step] if i >= step else 0
        up = previous[i]
        up_left = previous[i - step] if i >= step else 0
        predictor = (0, left, up, (left + up) // 2, _paeth(left, up, up_left))[kind]
        row[i] = (row[i] + predictor) & 0xFF
    return row


def png_to_grey(png: bytes) -> tuple[bytes, int, int]:
    """The PNG's pixels as one grey byte each (0 black, 255 white), its width and height."""
    chunks = _chunks(png)
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    if color not in (GREYSCALE, PALETTE) or depth > 8 or interlace != 0:
        raise ValueError("only non-interlaced greyscale or palette PNGs are read")
    palette = chunks.get(b"PLTE", b"")
    stride = (width * depth + 7) // 8
    raw = zlib.decompress(chunks[b"IDAT"])
    previous, pixels = bytes(stride), bytearray()
    for y in range(height):
        start = y * (stride + 1)
        row = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, 1)
        previous = bytes(row)
        for x in range(width):
            bit_offset = x * depth
            value = (row[bit_offset // 8] >> (8 - depth - bit_offset % 8)) & ((1 << depth) - 1)
            if color == PALETTE:
                pixels.append(palette[value * 3])
            else:
                pixels.append(value * 255 // ((1 << depth) - 1))
    return bytes(pixels), width, height


def decode_png_qr(png: bytes) -> list[str]:
    """The texts of the QR codes in a PNG image."""
    pixels, width, height = png_to_grey(png)
    view = zxingcpp.ImageView(memoryview(pixels), width, height, zxingcpp.ImageFormat.Lum)
    return [found.text for found in zxingcpp.read_barcodes(view)]
